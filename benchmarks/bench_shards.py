"""A sharded similar-cover index, simulated small: S IVF-SQ8 `CoverIndex` shards, each searched for its top k, the
results merged by similarity, against one exact index over everything; measured in the same run.

What the 100-million-cover plan (nbs/92_scale_plan.ipynb) rests on: that an index split by rows into shards, each
approximate, queried on all shards with the top k merged, finds what one index finds (recall@10 against exact),
and how query time and memory go with the number of shards. Data: `bench_index.clustered` (1,280-d vectors in 2,000
clusters, fixed seed). Shards are contiguous row ranges (a shard per Parquet range of the embeddings); each is an
IVF-SQ8 index with `ivf_size` defaults for its size. Query time is the 1,000 queries at once on every shard in turn
(one process: the sum of what S machines would do in parallel; the slowest shard is what a fan-out waits for).

    python benchmarks/bench_shards.py [--n 200000] [--shards 1,4,8]
"""
import argparse, os, sys, time
import numpy as np
sys.path.insert(0, os.path.dirname(__file__))
from bench_index import clustered, recall, K, timed
import faiss
from covergenre.model import CoverIndex

p = argparse.ArgumentParser()
p.add_argument('--n', type=int, default=200_000)
p.add_argument('--shards', default='1,4,8')
a = p.parse_args()
print(f'load average before: {" ".join(open("/proc/loadavg").read().split()[:3])}', flush=True)

X, Q = clustered(a.n)
exact = faiss.IndexFlatIP(X.shape[1]); exact.add(X)
(_, I0), t_exact = timed(lambda: exact.search(Q, K))
print(f'{a.n:,} vectors, exact: {t_exact*1000:.0f} ms per 1,000 queries, {X.nbytes/2**20:.0f} MiB', flush=True)

def merged(shards, offsets, Q):
    "Top K over all shards: each shard's top K, ids made global, merged by similarity."
    S, I, slowest = [], [], 0.
    for ix, off in zip(shards, offsets):
        (s, i), t = timed(lambda: ix.index.search(Q, K)); slowest = max(slowest, t)
        S.append(s); I.append(np.where(i >= 0, i + off, -1))
    S, I = np.hstack(S), np.hstack(I)
    order = np.argsort(-S, axis=1, kind='stable')[:, :K]
    return np.take_along_axis(I, order, 1), slowest

for n_sh in map(int, a.shards.split(',')):
    bounds = np.linspace(0, a.n, n_sh + 1).astype(int)
    t = time.perf_counter()
    shards = [CoverIndex(X[b:e], [''] * (e - b), [''] * (e - b), kind='ivf') for b, e in zip(bounds[:-1], bounds[1:])]
    build = time.perf_counter() - t
    (I, slowest), total = timed(lambda: merged(shards, bounds[:-1], Q))
    mem = sum((ix.index.sa_code_size() + 8) * ix.index.ntotal for ix in shards) / 2**20  # codes and 64-bit ids in the lists
    print(f'{n_sh} shard(s) of {a.n // n_sh:,} ({shards[0].params}): build {build:.1f} s, recall@10 {recall(I, I0):.3f}, '
          f'queries {total*1000:.0f} ms in all ({t_exact/total:.1f}x faster than exact), slowest shard {slowest*1000:.0f} ms, '
          f'lists {mem:.0f} MiB ({mem/(X.nbytes/2**20):.3f} of exact)', flush=True)

print(f'load average after: {" ".join(open("/proc/loadavg").read().split()[:3])}')
