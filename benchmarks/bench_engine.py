"""Inference engines: PyTorch against ONNX Runtime (and OpenVINO, if installed), measured in the same run.

1. Bare forward img/s on random tensors, per packaged backbone at its default size (and Lite2 at 320), pooled and
   style features: PyTorch (channels-last, inference mode), ONNX Runtime (the graph `covergenre.embed` exports, CPU
   provider), and OpenVINO on the same .onnx file (f32) when `import openvino` works. Timings are interleaved
   round by round so that a change of load on the machine hits every engine alike; max |difference| to PyTorch.
2. The whole `embed(...)` path (decode, transform, DataLoader workers, engine; model or graph loading included,
   the export excluded: it is cached first) on synthetic covers with each engine, cache off; and its ratio to that
   engine's bare forward.

    python benchmarks/bench_engine.py [--threads 2] [--batch-size 32] [--rounds 3] [--batches 4] [--n 200]
Run it on an otherwise idle machine; exports go to the usual cache (`default_cache_dir()/onnx`).
"""
import argparse, os, tempfile, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np, torch
from covergenre.data import CoverSet
from covergenre.embed import (embed, create_backbone, preprocessing, onnx_engine, TorchEngine, FEATURES, PACKAGED_BACKBONES)
from covergenre.synth import synth_covers

p = argparse.ArgumentParser()
p.add_argument('--threads', type=int, default=2)
p.add_argument('--batch-size', type=int, default=32)
p.add_argument('--rounds', type=int, default=3, help='interleaved timing rounds per engine')
p.add_argument('--batches', type=int, default=4, help='batches per round')
p.add_argument('--n', type=int, default=200, help='synthetic covers for the embed path')
p.add_argument('--cover-size', type=int, default=256, help='side of the synthetic covers in pixels')
p.add_argument('--configs', default='tf_efficientnet_lite0,tf_efficientnet_lite1,tf_efficientnet_lite2,tf_efficientnet_lite2@320')
p.add_argument('--no-embed', action='store_true', help='skip the embed-path part')
a = p.parse_args()
torch.set_num_threads(a.threads)

try:
    import openvino as ov
    core = ov.Core()
except ImportError: ov = None

def openvino_engine(file):
    "The .onnx file compiled by OpenVINO for the CPU (f32, `a.threads` threads), as a batch -> vectors function."
    cm = core.compile_model(str(file), 'CPU', {'INFERENCE_NUM_THREADS': a.threads, 'INFERENCE_PRECISION_HINT': 'f32',
                                                'PERFORMANCE_HINT': 'LATENCY'})
    req = cm.create_infer_request()
    return lambda x: req.infer([np.ascontiguousarray(x)])[0].copy()

def rate(fn, x):
    "img/s of `a.batches` forward passes of `fn` on `x`."
    t = time.perf_counter()
    for _ in range(a.batches): fn(x)
    return a.batches*len(x)/(time.perf_counter() - t)

print(f"{os.cpu_count()} CPUs, torch {torch.__version__}, {a.threads} threads, batch {a.batch_size}, "
      f"openvino {ov.__version__ if ov else 'not installed'}")
print('\n1. bare forward, img/s (median of interleaved rounds)')
cols = ['torch', 'onnx'] + (['openvino'] if ov else [])
print(f"{'backbone':<24}{'size':>5}{'features':>9}" + ''.join(f'{c:>10}' for c in cols) + f"{'onnx/torch':>11}"
      + (f"{'ov/onnx':>9}" if ov else '') + f"{'max|onnx-torch|':>17}" + (f"{'max|ov-torch|':>15}" if ov else ''))
fwd = {}
for cfg in a.configs.split(','):
    name,_,size = cfg.partition('@'); size = int(size) if size else None
    model = create_backbone(name)
    for kind in FEATURES:
        prep = preprocessing(model, size, features=kind)
        s = prep['input_size'][-1]
        engines = {'onnx': onnx_engine(name, prep, model=model, threads=a.threads)}  # exported (or loaded) before torch makes the model channels-last
        engines['torch'] = TorchEngine(model, kind, device='cpu')
        if ov: engines['openvino'] = openvino_engine(engines['onnx'].file)
        x = np.random.default_rng(0).standard_normal((a.batch_size, 3, s, s), dtype=np.float32)
        xt = torch.from_numpy(x)
        ref = engines['torch'](xt)
        out = {k: e(xt if k == 'torch' else x) for k,e in engines.items()}  # warm-up, and the vectors to compare
        rates = {k: [] for k in engines}
        for _ in range(a.rounds):
            for k,e in engines.items(): rates[k].append(rate(e, xt if k == 'torch' else x))
        r = {k: float(np.median(v)) for k,v in rates.items()}
        fwd[name, s, kind] = r
        line = f'{name:<24}{s:>5}{kind:>9}' + ''.join(f'{r[c]:>10.1f}' for c in cols) + f"{r['onnx']/r['torch']:>11.2f}"
        if ov: line += f"{r['openvino']/r['onnx']:>9.2f}"
        line += f"{np.abs(out['onnx'] - ref).max():>17.1e}" + (f"{np.abs(out['openvino'] - ref).max():>15.1e}" if ov else '')
        print(line, flush=True)
        del engines
    del model

if not a.no_embed:
    data = synth_covers(Path(tempfile.gettempdir())/f'covergenre-bench-engine-{a.cover_size}', n_per_genre=-(-a.n//10), size=a.cover_size)
    covers = CoverSet.from_path(data); covers = covers.subset(np.arange(min(a.n, len(covers))))
    print(f'\n2. whole embed path on {len(covers)} synthetic {a.cover_size}px covers, pooled, cache off, img/s')
    print(f"{'backbone':<24}{'size':>5}{'torch':>9}{'onnx':>9}{'onnx/torch':>11}{'torch/fwd':>11}{'onnx/fwd':>10}")
    for cfg in a.configs.split(','):
        name,_,size = cfg.partition('@'); size = int(size) if size else None
        r = {}
        for eng in ('torch', 'onnx'):
            embed(covers.subset([0]), backbone=name, image_size=size, engine=eng, cache_dir=False, progress=False)  # export cached, workers warm
            t = time.perf_counter()
            e = embed(covers, backbone=name, image_size=size, engine=eng, batch_size=a.batch_size, cache_dir=False, progress=False)
            r[eng] = e.n_computed/(time.perf_counter() - t)
        s = e.preprocessing['input_size'][-1]; f = fwd.get((name, s, 'pooled'))
        print(f"{name:<24}{s:>5}{r['torch']:>9.1f}{r['onnx']:>9.1f}{r['onnx']/r['torch']:>11.2f}"
              + (f"{r['torch']/f['torch']:>11.2f}{r['onnx']/f['onnx']:>10.2f}" if f else ''), flush=True)
