"""Exact against approximate `CoverIndex` on random-but-clustered vectors: build time, memory, query time, recall@10.

Data (fixed seed): `--n` vectors of 1,280 numbers (the width of a Lite0 embedding) in 2,000 Gaussian clusters:
centres drawn at random, and within each cluster noise with a power-law spectrum (variance of the i-th
direction ~ 1/i, in one random rotation shared by all clusters, as embeddings share their main directions),
generated in blocks and L2-normalised. 1,000 queries are data vectors plus half as much noise again.
recall@10 is the share of the exact top 10 (`IndexFlatIP`) that an index returns. Query time is FAISS's search of
the 1,000 queries at once (what `predict` does for a batch); `single` is the mean of 100 queries one at a time
(what the app does). Memory is the size of index.faiss (what the index holds) and the growth of the process
RSS while building it; `mmap RSS` is the RSS an index read back with `CoverIndex.load(mmap=True)` adds after the
queries. Ratios are against exact, measured in the same run; `uptime` before and after says how busy the
machine was.

    python benchmarks/bench_index.py [--n 1000000] [--kinds ivf:sq8,ivf:sq6] [--sweep 10000,30000,100000]

`--sweep` times exact and IVF search at each size instead (for `EXACT_BELOW`). 1M vectors take 5.1 GB as float32,
and the exact index another 5.1 GB; on 2 cores the full run takes about a quarter of an hour.
"""
import argparse, shutil, subprocess, tempfile, time
from pathlib import Path
import numpy as np
import faiss
from covergenre.model import CoverIndex, ivf_size

D,CLUSTERS,NQ,K = 1280,2000,1000,10

def rss() -> int:
    "This process's resident memory, bytes."
    return int(Path('/proc/self/status').read_text().split('VmRSS:')[1].split()[0]) * 1024

def clustered(n:int, seed:int=0, block:int=50_000):
    "`n` normalised clustered vectors (float32, generated in blocks) and `NQ` queries near them."
    rng = np.random.default_rng(seed)
    C = (rng.standard_normal((CLUSTERS, D)) / np.sqrt(D)).astype(np.float32)
    R = np.linalg.qr(rng.standard_normal((D, D)))[0].astype(np.float32)
    s = np.arange(1, D + 1, dtype=np.float32)**-0.5; s *= 0.7/np.linalg.norm(s)
    X = np.empty((n, D), np.float32)
    for i in range(0, n, block):
        m = min(block, n - i); X[i:i+m] = C[rng.integers(CLUSTERS, size=m)] + (rng.standard_normal((m, D), dtype=np.float32)*s) @ R
        faiss.normalize_L2(X[i:i+m])
    Q = X[rng.integers(n, size=NQ)] + (rng.standard_normal((NQ, D), dtype=np.float32)*(s/2)) @ R
    faiss.normalize_L2(Q)
    return X,Q

def timed(f):
    t = time.perf_counter(); r = f(); return r,time.perf_counter() - t

def recall(I, I0) -> float: return float(np.mean([len(set(a) & set(b))/K for a,b in zip(I, I0)]))

def single(ix, Q) -> float:
    "Mean seconds of one query at a time (100 queries)."
    t = time.perf_counter()
    for q in Q[:100]: ix.index.search(q[None], K)
    return (time.perf_counter() - t)/100

def measure(name, build, Q, I0=None, tmp=None):
    "Build an index, time its queries, its memory and its recall against `I0`; one row of figures."
    r0 = rss(); ix,tb = timed(build); grown = rss() - r0
    (D_,I),tq = timed(lambda: ix.index.search(Q, K))
    row = dict(name=name, params=ix.params, build=tb, rss=grown, query=tq, single=single(ix, Q), recall=1.0 if I0 is None else recall(I, I0))
    if tmp is not None:
        d = Path(tmp)/name.replace(':', '-'); d.mkdir(); ix.save(d); row['bytes'] = (d/'index.faiss').stat().st_size
        r0 = rss(); back = CoverIndex.load(d, mmap=True); same = np.array_equal(back.index.search(Q, K)[1], I)
        row['mmap_rss'] = rss() - r0; row['mmap_same'] = same; del back; shutil.rmtree(d)
    return ix,I,row

def show(r, ex):
    mb = lambda b: f'{b/1e6:8.0f}'
    print(f"{r['name']:9s} build {r['build']:7.1f} s | index.faiss {mb(r.get('bytes', 0))} MB, RSS +{mb(r['rss'])} MB, mmap RSS +{mb(r.get('mmap_rss', 0))} MB"
          f" | {r['query']*1000:8.0f} ms/1000 queries, single {r['single']*1000:6.2f} ms | recall@10 {r['recall']:.3f}"
          + ('' if r is ex else f" | x{ex['query']/r['query']:.1f} faster, memory {r.get('bytes', r['rss'])/ex.get('bytes', ex['rss']):.3f} of exact")
          + f" | {r['params']}" + ('' if r.get('mmap_same', True) else ' | MMAP RESULTS DIFFER'), flush=True)

def kind_args(spec:str) -> dict:
    "'ivf:sq6' -> dict(kind='ivf', codes='sq6'); 'hnsw' -> dict(kind='hnsw')."
    kind,_,codes = spec.partition(':'); return dict(kind=kind) | (dict(codes=codes) if codes else {})

def main(n:int, kinds:list[str], nprobes:list[int]):
    X,Q = clustered(n); paths,genres = [str(i) for i in range(n)],['x']*n
    print(f'{n:,} x {D} float32 ({X.nbytes/1e9:.2f} GB) in {CLUSTERS} clusters, {NQ} queries; faiss {faiss.__version__}, '
          f'{faiss.omp_get_max_threads()} threads; IVF defaults for n: nlist, nprobe = {ivf_size(n)}', flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        ex,I0,e = measure('exact', lambda: CoverIndex(X, paths, genres, kind='exact'), Q, tmp=tmp); show(e, e); del ex
        for spec in kinds:
            ix,_,r = measure(spec, lambda: CoverIndex(X, paths, genres, **kind_args(spec)), Q, I0, tmp=tmp); show(r, e)
            if 'nprobe' in ix.params:
                for p in nprobes:
                    ix.index.nprobe = p; (_,I),tq = timed(lambda: ix.index.search(Q, K))
                    print(f'    nprobe {p:4d}: {tq*1000:8.0f} ms/1000 queries, x{e["query"]/tq:5.1f} faster, recall@10 {recall(I, I0):.3f}', flush=True)
            del ix

def sweep(sizes:list[int]):
    "Exact against IVF (sq8, default sizes) at each size: query times and recall."
    for n in sizes:
        X,Q = clustered(n); paths,genres = [str(i) for i in range(n)],['x']*n
        ex,I0,e = measure('exact', lambda: CoverIndex(X, paths, genres, kind='exact'), Q)
        print(f'n={n:>9,}:', end=' '); show(e, e)
        ix,_,r = measure('ivf:sq8', lambda: CoverIndex(X, paths, genres, kind='ivf'), Q, I0)
        print(f'n={n:>9,}:', end=' '); show(r, e)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=1_000_000, help='vectors in the collection')
    p.add_argument('--kinds', default='ivf:sq8,ivf:sq6', help='approximate indexes to compare with exact: ivf[:codes], hnsw')
    p.add_argument('--nprobes', default='10,20,40', help='IVF: nprobe values to time on the built index besides its default')
    p.add_argument('--sweep', default='', help='sizes to time exact against IVF at, instead (e.g. 10000,30000,100000)')
    a = p.parse_args()
    print(subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip(), flush=True)
    if a.sweep: sweep([int(s) for s in a.sweep.split(',')])
    else: main(a.n, a.kinds.split(','), [int(s) for s in a.nprobes.split(',') if s])
    print(subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip())
