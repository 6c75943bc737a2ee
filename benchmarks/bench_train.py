"""Wall time of `covergenre train DATA` (the default model: fusion on Lite2 style features at 320 px + OCR text) from an
empty cache, the figure issue 18 bounds (< 30 minutes for covers8-dev's 2,861 covers on a 2-core CPU).

The command runs in a new process with `COVERGENRE_CACHE` pointing at a new, empty folder, so every cover is
embedded and read again (the ONNX exports are made again too); the model goes to a temporary folder. Prints the
wall time, the peak memory of the process, the scores the command wrote into config.json (grouped CV, nested), the
load average before and after.

    python benchmarks/bench_train.py [DATA] [-- extra train flags]
"""
import json, os, resource, subprocess, sys, tempfile, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
args = sys.argv[1:]
data = args[0] if args and args[0] != '--' else str(Path(__file__).resolve().parents[1]/'..'/'shared'/'data'/'covers8-dev'/'labels.csv')
extra = args[args.index('--') + 1:] if '--' in args else []
if not Path(data).exists(): sys.exit(f'no such data set: {data}')
tmp = Path(tempfile.mkdtemp(prefix='bench-train-'))
env = dict(os.environ, COVERGENRE_CACHE=str(tmp/'cache'))
print(f'load average before: {" ".join(open("/proc/loadavg").read().split()[:3])}; {os.cpu_count()} CPUs', flush=True)
t = time.perf_counter()
r = subprocess.run(['covergenre', 'train', data, '--out', str(tmp/'model'), '-q', *extra], env=env, capture_output=True, text=True)
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024
if r.returncode: sys.exit(f'train failed ({r.returncode}):\n{r.stderr[-3000:]}')
cfg = json.loads((tmp/'model'/'config.json').read_text())
print(f"covergenre train {Path(data).name} {' '.join(extra)} from an empty cache: {wall/60:.1f} min ({wall:.0f} s), peak RSS {peak:.0f} MB")
print(f"method {cfg['method']}, {cfg.get('n_train')} covers, scores {json.dumps(cfg.get('scores'))[:400]}")
print(r.stdout[-1500:])
print(f'load average after: {" ".join(open("/proc/loadavg").read().split()[:3])}')
import shutil; shutil.rmtree(tmp, ignore_errors=True)
