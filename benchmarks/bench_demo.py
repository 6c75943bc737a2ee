"""`covergenre demo` twice, each in a fresh folder with an empty covergenre cache: seconds per stage, and whether the scores are the same.

Each run is a new process (`covergenre demo --out TMP/runN/demo`, COVERGENRE_CACHE=TMP/runN/cache), so nothing that
covergenre caches (embeddings, OCR) carries over from one run to the next or from earlier work. Prints `uptime` before
and after, the per-stage seconds from each run's metrics.json, its total and the whole process's wall time, and
whether the two runs' scores (micro/macro-F1 and per-genre scores of every method) are identical.

numba's own cache is left as it is (it holds what a machine compiled once, e.g. umap-learn's kernels); `--cold-numba`
points NUMBA_CACHE_DIR at a new empty folder shared by both runs, so the first run pays what the very first demo on a
machine pays (pynndescent's and umap-learn's kernels compiled) and the second what every later one pays.

    HF_HUB_OFFLINE=1 python benchmarks/bench_demo.py [--cold-numba] [--runs 2] [demo arguments, e.g. --methods knn,probe]
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
ROOT = Path(__file__).resolve().parents[1]

def uptime() -> str: return subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()

def run_demo(tmp:Path, env:dict, extra:list) -> tuple[dict, float]:
    "One `covergenre demo` in `tmp` with an empty cache there: its metrics.json and the process's wall seconds."
    env = {**env, 'COVERGENRE_CACHE': str(tmp/'cache'), 'PYTHONPATH': os.pathsep.join([str(ROOT), env.get('PYTHONPATH', '')]).rstrip(os.pathsep)}
    cmd = [sys.executable, '-c', 'from covergenre.cli import main; main()', 'demo', '--out', str(tmp/'demo'), *extra]  # the console script's entry point
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp)
    wall = time.perf_counter() - t
    if r.returncode: sys.exit(f'demo failed ({r.returncode}):\n{r.stdout[-1500:]}\n{r.stderr[-3000:]}')
    return json.loads((tmp/'demo'/'metrics.json').read_text()),wall

def scores(m:dict) -> dict: return {k: {s: r[s] for s in ('n', 'micro_f1', 'macro_f1', 'per_class')} for k,r in m['results'].items()}

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--cold-numba', action='store_true', help="an empty numba cache for the runs (as on a new machine)")
    p.add_argument('--runs', type=int, default=2, help='how many demos (default: %(default)s)')
    a,extra = p.parse_known_args()
    print(f'{os.cpu_count()} CPUs; before: {uptime()}', flush=True)
    with tempfile.TemporaryDirectory() as top:
        env = dict(os.environ)
        if a.cold_numba: env['NUMBA_CACHE_DIR'] = str(Path(top)/'numba')
        res = []
        for i in range(a.runs):
            tmp = Path(top)/f'run{i + 1}'; tmp.mkdir()
            m,wall = run_demo(tmp, env, extra); res.append(m)
            sec = m['seconds']
            print(f"run {i + 1}: " + ', '.join(f'{k} {v:.1f}' for k,v in sec.items() if k != 'total') +
                  f" s; total {sec['total']:.1f} s (metrics.json), process {wall:.1f} s (drawing the covers and imports too); "
                  + ', '.join(f"{k} {r['micro_f1']:.3f}" for k,r in m['results'].items()), flush=True)
    print(f'after: {uptime()}')
    same = all(scores(m) == scores(res[0]) for m in res[1:])
    print(f"numba cache: {'empty at the start' if a.cold_numba else 'as it was'}; scores identical in all {a.runs} runs: {same}")
    if not same:
        for i,m in enumerate(res): print(f'  run {i + 1}:', {k: (r['micro_f1'], r['macro_f1']) for k,r in m['results'].items()})
    sys.exit(0 if same else 1)

if __name__ == '__main__': main()
