"""Embedding throughput: the whole `embed` path against the bare model forward, in the same run.

For each packaged backbone, on N real covers (default: the first 320 of ../shared/data/covers8-dev):
- cold `embed` (hash, decode, resize, forward, cache write) with an empty cache, in images/s;
- the bare model forward on ready tensors of the same batch size and count (channels-last, inference mode);
- the ratio embed/forward (target >= 0.9 on 2 cores);
- a rerun of `embed` on the same covers (everything cached), as a share of the cold time (target <= 2%).

    python benchmarks/bench_embed.py [--n 320] [--backbones tf_efficientnet_lite0,...] [--workers N]
Run it on an otherwise idle machine.
"""
import argparse, os, tempfile, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np, torch
from covergenre.data import CoverSet
from covergenre.embed import embed, create_backbone, preprocessing, PACKAGED_BACKBONES

p = argparse.ArgumentParser()
p.add_argument('--data', default=str(Path(__file__).resolve().parents[1]/'..'/'shared'/'data'/'covers8-dev'/'labels.csv'))
p.add_argument('--n', type=int, default=320)
p.add_argument('--batch-size', type=int, default=32)
p.add_argument('--workers', type=int, default=None)
p.add_argument('--backbones', default=','.join(PACKAGED_BACKBONES))
a = p.parse_args()

covers = CoverSet.from_path(a.data)
covers = covers.subset(np.arange(min(a.n, len(covers))))
print(f'{len(covers)} covers from {a.data}; {os.cpu_count()} CPUs, torch {torch.__version__}, '
      f'{torch.get_num_threads()} threads, batch {a.batch_size}')
print(f"{'backbone':<24}{'size':>5}{'embed img/s':>13}{'forward img/s':>15}{'ratio':>7}{'cached s':>10}{'cached/cold':>12}")
for name in a.backbones.split(','):
    model = create_backbone(name).to(memory_format=torch.channels_last)
    size = preprocessing(model)['input_size'][-1]
    x = torch.randn(a.batch_size, 3, size, size).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        model(x)  # warm-up
        t = time.perf_counter()
        for _ in range(-(-len(covers)//a.batch_size)): model(x)
        fwd = (-(-len(covers)//a.batch_size))*a.batch_size/(time.perf_counter() - t)
    del model
    with tempfile.TemporaryDirectory() as cache:
        t = time.perf_counter()
        e = embed(covers, backbone=name, batch_size=a.batch_size, num_workers=a.workers, cache_dir=cache, progress=False)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        e2 = embed(covers, backbone=name, batch_size=a.batch_size, num_workers=a.workers, cache_dir=cache, progress=False)
        warm = time.perf_counter() - t
        assert e2.n_computed == 0 and np.allclose(e.X, e2.X)
    rate = e.n_computed/cold
    print(f'{name:<24}{size:>5}{rate:>13.1f}{fwd:>15.1f}{rate/fwd:>7.2f}{warm:>10.2f}{warm/cold:>11.1%}')
