"""Cold start of `covergenre predict MODEL one.png` against `python -c "import torch"`, measured in the same run.

Issue 16's target: a cold predict takes at most 0.5x the time of importing torch for probe, svm and knn models
(at most 1x for fusion). Each command runs in a new process `--repeats` times, interleaved with the torch import
(so a change of load hits both), and the median wall time is compared. Models are trained once on synthetic
covers (kept in `--models`; `--retrain` trains them again): probe and knn as `covergenre train --fast` trains them
(Lite0, 224 px), svm on style features of Lite2 at 320 px (the default image features of the best model);
fusion only with `--fusion` (it reads text with OCR: slower to train). Then one more predict per model runs with an
import check that prints which heavy modules the predict process imported (`sys.modules`).

    python benchmarks/bench_cold_predict.py [--repeats 3] [--models DIR] [--fusion] [--retrain]
Run it on an otherwise idle machine (under the project's CPU lock); it prints the load average before and after.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')

p = argparse.ArgumentParser()
p.add_argument('--repeats', type=int, default=3)
p.add_argument('--models', default=str(Path(tempfile.gettempdir())/'covergenre-bench-cold'), help='where the models are trained and kept')
p.add_argument('--fusion', action='store_true', help='also a fusion model (style features of Lite2 at 320 px and OCR text)')
p.add_argument('--retrain', action='store_true')
a = p.parse_args()
HEAVY = ('torch', 'torchvision', 'timm', 'fastai', 'sklearn', 'scipy', 'sentence_transformers', 'transformers', 'faiss', 'onnxruntime', 'rapidocr', 'pandas')
print(f'{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start, {a.repeats} repeats (median)')

from covergenre.synth import synth_covers
root = Path(a.models); data = synth_covers(root/'covers', n_per_genre=4, size=256, progress=False)
one = next(iter(sorted((data/'Jazz').glob('*.png'))))
specs = {'probe': ['--fast'], 'knn': ['--fast', '--method', 'knn'], 'svm': ['--method', 'svm', '--backbone', 'tf_efficientnet_lite2', '--size', '320']}
if a.fusion: specs['fusion'] = ['--method', 'fusion', '--backbone', 'tf_efficientnet_lite2', '--size', '320']
exe = shutil.which('covergenre') or sys.exit('the covergenre console script is not on PATH (pip install -e .)')
for name,flags in specs.items():
    d = root/'models'/name
    if a.retrain or not (d/'config.json').is_file():
        t = time.perf_counter()
        r = subprocess.run([exe, 'train', str(data), *flags, '--out', str(d), '-q'], capture_output=True, text=True)
        if r.returncode: sys.exit(f'training {name} failed:\n{r.stderr[-2000:]}')
        print(f'trained {name} in {time.perf_counter() - t:.0f} s -> {d}')
    cfg = json.loads((d/'config.json').read_text())
    print(f"  {name}: {cfg['backbone']} at {cfg['preprocessing']['input_size'][-1]} px, {cfg['preprocessing'].get('features', 'pooled')} features, "
          f"graph in the model directory: {'graph' in cfg}" + (f", sentence model's graph too: {'text_graph' in cfg}" if 'text' in cfg else ''))

def wall(cmd) -> float:
    t = time.perf_counter(); r = subprocess.run(cmd, capture_output=True, text=True); dt = time.perf_counter() - t
    if r.returncode: sys.exit(f'{cmd} failed ({r.returncode}):\n{r.stderr[-2000:]}')
    return dt

cmds = {'import torch': [sys.executable, '-c', 'import torch']}
cmds |= {f'predict {name}': [exe, 'predict', str(root/'models'/name), str(one), '--no-cache', '-q'] for name in specs}
times = {k: [] for k in cmds}
wall(cmds['import torch']); wall(cmds['predict probe'])  # files into the page cache: every command starts warm on disk, cold in Python
for _ in range(a.repeats):
    for k,c in cmds.items(): times[k].append(wall(c))
base = statistics.median(times['import torch'])
print(f"\n{'command':<18}{'median s':>9}{'x import torch':>16}   all runs (s)")
for k,v in times.items():
    print(f"{k:<18}{statistics.median(v):>9.2f}{statistics.median(v)/base:>16.2f}   " + ' '.join(f'{x:.2f}' for x in v))
print('\nheavy modules the predict process imported:')
for name in specs:
    script = ("import sys\nfrom covergenre.cli import main\n"
              f"try: main(['predict', {str(root/'models'/name)!r}, {str(one)!r}, '--no-cache', '-q'])\n"
              f"finally: print('HEAVY', sorted({{m.partition('.')[0] for m in sys.modules}} & set({HEAVY!r})), file=sys.stderr)")
    r = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True)
    print(f"  {name:<7}" + next((l[6:] for l in r.stderr.splitlines() if l.startswith('HEAVY ')), f'(failed: {r.stderr[-300:]})'))
print(f'load average {os.getloadavg()[0]:.2f} at the end')
