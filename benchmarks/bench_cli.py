"""Command-line latency and the demo's time per stage.

- `covergenre --help` and `covergenre predict --help` wall time (median of 5 runs; target <= 0.5 s);
- `covergenre predict MODEL COVER` in a cold process (median of 3), against the same prediction warm in one process
  (`load_model` once, then `predict` timed, median of 10), for a probe and a fine-tuned model trained on synthetic covers;
- `covergenre demo` at its default settings with an empty cache (as on a new machine): total and per-stage seconds
  (from its metrics.json), unless --no-demo.

    HF_HUB_OFFLINE=1 python benchmarks/bench_cli.py [--no-demo | --only-demo]
"""
import json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')

def wall(cmd, n):
    ts = []
    for _ in range(n):
        t = time.perf_counter(); r = subprocess.run(cmd, capture_output=True, text=True); ts.append(time.perf_counter() - t)
        if r.returncode: sys.exit(f'{" ".join(map(str, cmd))} failed: {r.stderr[-500:]}')
    return statistics.median(ts)

def main(demo=True, only_demo=False):
    from covergenre.synth import synth_covers
    from covergenre.model import train_model, load_model
    print(f'{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at start')
    if not only_demo:
        print(f"covergenre --help          {wall(['covergenre', '--help'], 5):.3f} s")
        print(f"covergenre predict --help  {wall(['covergenre', 'predict', '--help'], 5):.3f} s")
    tmp = Path(tempfile.mkdtemp())
    data = synth_covers(tmp/'covers', n_per_genre=12, size=128)
    cover = sorted(data.rglob('*.png'))[0]
    for method,kw in [] if only_demo else [('probe', {}), ('finetune', dict(size=128, epochs=1))]:
        d = tmp/method
        t = time.perf_counter(); train_model(data, d, method=method, progress=False, **kw); tt = time.perf_counter() - t
        cold = wall(['covergenre', 'predict', str(d), str(cover), '--json'], 3)
        t = time.perf_counter(); m = load_model(d); load = time.perf_counter() - t
        m.predict([cover])
        ts = []
        for _ in range(10):
            t = time.perf_counter(); m.predict([cover]); ts.append(time.perf_counter() - t)
        warm = statistics.median(ts)
        ts = []
        for _ in range(10):
            t = time.perf_counter(); m.similar(cover, k=5); ts.append(time.perf_counter() - t)
        print(f'{method:<9} train {tt:5.1f} s | predict one cover: cold process {cold:.2f} s, load_model {load:.2f} s, '
              f'warm predict {warm*1000:.0f} ms (cold/warm x{cold/warm:.0f}), warm similar {statistics.median(ts)*1000:.0f} ms')
    if demo:
        out = tmp/'demo'
        t = time.perf_counter()
        env = {**os.environ, 'COVERGENRE_CACHE': str(tmp/'fresh-cache')}  # as on a new machine: nothing cached
        r = subprocess.run(['covergenre', 'demo', '--out', str(out), '-q'], capture_output=True, text=True, env=env)
        if r.returncode: sys.exit(f'demo failed: {r.stderr[-1000:]}')
        m = json.loads((out/'metrics.json').read_text())
        print(f'covergenre demo: {time.perf_counter() - t:.1f} s wall; stages: ' +
              ', '.join(f'{k} {v:.1f} s' for k,v in m['seconds'].items()))
        print('demo hold-out scores: ' + ', '.join(f"{k} {v['micro_f1']:.3f}/{v['macro_f1']:.3f}" for k,v in m['results'].items()))
    print(f'load average {os.getloadavg()[0]:.1f} at end')

if __name__ == '__main__': main('--no-demo' not in sys.argv, '--only-demo' in sys.argv)
