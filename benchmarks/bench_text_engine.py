"""The sentence model without torch, and classifiers without scikit-learn: import times and text-embedding speed, in one run.

1. Cold import time (a new process, `--runs` runs, median) of `covergenre.classify` and `covergenre.textfeatures`,
   against `import torch`, `import sklearn.base`, `import sentence_transformers` (what its own ONNX backend would
   import) and `import onnxruntime, tokenizers` measured in the same run. With `--before DIR` (a folder holding a
   copy of the `covergenre` package from before the change), the same modules from there too.
2. Cold `load_classifier` + `predict_proba` of a probe, a kernel SVM, a k-NN and a stacked fusion saved on made-up
   data, in a new process, against `import torch`; and whether scikit-learn or torch got imported.
3. Text embedding throughput on `--n` short, cover-like texts: sentence-transformers (PyTorch, `--threads` threads)
   against the ONNX Runtime engine (`SentenceOnnx`, same threads), interleaved rounds, median texts/s, the ratio,
   and max |difference| of the vectors. The export is cached first and not timed in the rounds.

    python benchmarks/bench_text_engine.py [--runs 3] [--n 1000] [--threads 2] [--rounds 3] [--before /tmp/before]
Run it on an otherwise idle machine (it prints the load average before and after).
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np

p = argparse.ArgumentParser()
p.add_argument('--runs', type=int, default=3, help='cold imports per module')
p.add_argument('--n', type=int, default=1000, help='texts to embed')
p.add_argument('--threads', type=int, default=2)
p.add_argument('--batch-size', type=int, default=64)
p.add_argument('--rounds', type=int, default=3, help='interleaved timing rounds per engine')
p.add_argument('--before', default=None, help='a folder with a copy of the covergenre package from before, for its import times')
a = p.parse_args()
load = lambda: ', '.join(f'{x:.2f}' for x in os.getloadavg())
print(f'{os.cpu_count()} CPUs; load average before: {load()}')

def cold(code:str, path:str|None=None) -> float:
    "Median wall time of `--runs` new Python processes running `code` (with `path` first on PYTHONPATH)."
    env = {**os.environ, **({'PYTHONPATH': path} if path else {})}
    ts = []
    for _ in range(a.runs):
        t = time.perf_counter(); subprocess.run([sys.executable, '-c', code], check=True, env=env, cwd=tempfile.gettempdir()); ts.append(time.perf_counter() - t)
    return statistics.median(ts)

print(f'\n1. cold import, s (median of {a.runs} new processes; python -c pass included)')
base = cold('pass'); torch_s = cold('import torch')
rows = [('python -c pass', base), ('import torch', torch_s), ('import sklearn.base', cold('import sklearn.base')),
        ('import sentence_transformers', cold('import sentence_transformers')), ('import onnxruntime, tokenizers', cold('import onnxruntime, tokenizers'))]
for m in ('covergenre.classify', 'covergenre.textfeatures'):
    if a.before: rows.append((f'import {m} (before)', cold(f'import {m}', a.before)))
    rows.append((f'import {m}', cold(f'import {m}')))
for name,s in rows: print(f'{name:<44}{s:7.2f}{s/torch_s:8.2f}x torch')

print('\n2. cold load_classifier + predict_proba, s (new process)')
from covergenre.classify import save_classifier, KNNClassifier, LinearProbe, KernelSVC, StackFusion
rng = np.random.default_rng(0)
y = np.repeat(['Jazz', 'Metal', 'Rap'], 40); c = np.searchsorted(['Jazz', 'Metal', 'Rap'], y)
X = np.hstack([rng.normal(size=(120, 64)) + np.eye(3, 64)[c], rng.normal(size=(120, 20)) + np.eye(3, 20)[c], rng.poisson(0.5, size=(120, 48))]).astype(np.float32)
d = Path(tempfile.mkdtemp()); g = np.arange(120) % 30
models = {'probe': (LinearProbe(), 64), 'svm': (KernelSVC((16, 48)), 64), 'knn': (KNNClassifier(5), 64),
          'fusion': (StackFusion(64, image_blocks=(16, 48), ngram_dim=48), X.shape[1])}
for name,(m,k) in models.items(): save_classifier(m.fit(X[:, :k], y, groups=g), d/name)
np.save(d/'X.npy', X)
for name,(m,k) in models.items():
    code = (f"import sys, numpy as np; from covergenre.classify import load_classifier; "
            f"load_classifier({str(d/name)!r}).predict_proba(np.load({str(d/'X.npy')!r})[:1, :{k}]); "
            f"assert not {{'sklearn', 'scipy', 'torch'}} & {{m.partition('.')[0] for m in sys.modules}}, 'imported sklearn, scipy or torch'")
    s = cold(code)
    print(f'{name:<44}{s:7.2f}{s/torch_s:8.2f}x torch   (no sklearn, scipy, torch imported)')

print(f'\n3. text embedding, {a.n} short texts, {a.threads} threads, batch {a.batch_size}')
import torch
torch.set_num_threads(a.threads)
from covergenre.textfeatures import GENRE_WORDS, SentenceTorch, sentence_onnx, SentenceOnnx
words = sorted({w for ws in GENRE_WORDS.values() for w in ws} | {'blue', 'harbour', 'night', 'live', 'vol.', 'the', 'of', 'no. 5', '2', 'records'})
texts = [' '.join(rng.choice(words, rng.integers(1, 9))).title() for _ in range(a.n)]
t = time.perf_counter(); cached = sentence_onnx()  # exported once if not cached
print(f'graph {cached.file.name} ready in {time.perf_counter() - t:.1f} s ({cached.file.stat().st_size/1e6:.0f} MB)')
engines = {'torch (sentence-transformers)': SentenceTorch(), 'onnx (SentenceOnnx)': SentenceOnnx(cached.file, threads=a.threads)}
for e in engines.values(): e(texts[:64], a.batch_size)  # warm-up
rates,vecs = {k: [] for k in engines},{}
for _ in range(a.rounds):
    for k,e in engines.items():
        t = time.perf_counter(); vecs[k] = e(texts, a.batch_size); rates[k].append(a.n/(time.perf_counter() - t))
(kt,vt),(ko,vo) = vecs.items()
mt,mo = statistics.median(rates[kt]),statistics.median(rates[ko])
for k in engines: print(f'{k:<44}{statistics.median(rates[k]):8.1f} texts/s  (rounds: {", ".join(f"{r:.0f}" for r in rates[k])})')
print(f'onnx/torch {mo/mt:.2f}x; max |onnx - torch| {np.abs(vo - vt).max():.2e}')
print(f'\nload average after: {load()}')
