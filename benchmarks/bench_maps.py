"""How long UMAP and t-SNE maps take on cover embeddings, cold and warm.

Cold is the first `covergenre.maps.project` call in a fresh process; for UMAP it includes importing umap-learn and
compiling its numba code, with an empty numba cache (NUMBA_CACHE_DIR points to a new temporary folder) so that
kernels cached by an earlier run do not hide the compilation; `--keep-numba-cache` measures with the usual cache
instead. Warm is a second call in the same process. Each method runs in its own subprocess, so one method never
warms another. Both calls use the same seed, and the script reports whether they gave the same map.

    python benchmarks/bench_maps.py [--emb /tmp/emb/tf_efficientnet_lite0.npz] [--n 2861] [--methods umap tsne]
                                    [--threads N] [--keep-numba-cache]

With `--emb` pointing to an `Embeddings` file (`Embeddings.save`) its first `--n` rows are used; otherwise (or if
the file is missing) random normal vectors of shape n x 1,280 with seed 0. Random vectors have no clusters, so
times on them are indicative only; prefer real embeddings.
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')

def load(emb:str|None, n:int, d:int):
    "The embeddings to map and a description of them."
    import numpy as np
    if emb and Path(emb).is_file():
        from covergenre.embed import Embeddings
        e = Embeddings.load(emb)
        return e.X[:n], f'{Path(emb).name} ({e.backbone})'
    if emb: print(f'{emb}: not found; using random data', file=sys.stderr)
    return np.random.default_rng(0).standard_normal((n, d), dtype=np.float32), 'random normal, seed 0'

def child(a):
    "Time one method in this (fresh) process and print one JSON line."
    import numpy as np
    X,_ = load(a.emb, a.n, a.d)
    from covergenre.maps import project
    res = {'method': a.child, 'n': len(X), 'd': X.shape[1]}
    if a.child == 'umap':
        t = time.perf_counter(); import umap; res['import_s'] = time.perf_counter() - t
    t = time.perf_counter(); Y1 = project(X, a.child, n_threads=a.threads); res['cold_s'] = time.perf_counter() - t
    t = time.perf_counter(); Y2 = project(X, a.child, n_threads=a.threads); res['warm_s'] = time.perf_counter() - t
    res['same'] = bool(np.array_equal(Y1, Y2))
    print(json.dumps(res))

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--emb', help='an Embeddings .npz file (default: random data)')
    p.add_argument('--n', type=int, default=2861, help='rows (default 2,861, the size of covers8-dev)')
    p.add_argument('--d', type=int, default=1280, help='dimensions of random data (default 1,280)')
    p.add_argument('--methods', nargs='+', default=['umap', 'tsne'], choices=['pca', 'umap', 'tsne'])
    p.add_argument('--threads', type=int, default=None, help='cap on OpenMP/BLAS threads (default: no cap)')
    p.add_argument('--keep-numba-cache', action='store_true', help="use numba's usual cache (cold UMAP may skip compilation)")
    p.add_argument('--child', help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child: return child(a)
    X,desc = load(a.emb, a.n, a.d)
    print(f'{X.shape[0]:,} x {X.shape[1]:,} embeddings: {desc}; {os.cpu_count()} CPUs, threads {a.threads or "uncapped"}, '
          f'numba cache {"kept" if a.keep_numba_cache else "empty"}')
    args = [a2 for k in ('emb', 'n', 'd', 'threads') if getattr(a, k) is not None for a2 in (f'--{k}', str(getattr(a, k)))]
    for m in a.methods:
        with tempfile.TemporaryDirectory() as cache:
            env = os.environ if a.keep_numba_cache else {**os.environ, 'NUMBA_CACHE_DIR': cache}
            t = time.perf_counter()
            r = subprocess.run([sys.executable, __file__, '--child', m, *args], env=env, capture_output=True, text=True)
            total = time.perf_counter() - t
        if r.returncode: print(f'{m}: failed\n{r.stderr[-2000:]}'); continue
        res = json.loads(r.stdout.strip().splitlines()[-1])
        imp = f" + import {res['import_s']:.1f} s" if 'import_s' in res else ''
        print(f"{m:<5}: cold {res['cold_s']:6.1f} s{imp}, warm {res['warm_s']:6.1f} s; whole process {total:.1f} s; "
              f"same map both times: {res['same']}")

if __name__ == '__main__': main()
