"""The whole `embed` path against the bare engine it feeds, per packaged backbone and engine, in one run.

For each packaged backbone at its default input size, and each engine (ONNX Runtime, PyTorch):
- bare forward img/s: the engine alone on random batches already in memory (`--batch-size` covers a batch);
- whole embed img/s: `embed(covers, ..., cache_dir=False)` on synthetic covers, from the file names to the vectors
  (hashing, decoding, transforming in the decoding threads, the engine; the graph or model loaded before the
  clock starts, as a warm-up call does it);
- their ratio (issue 16's target: >= 0.9);
- decode ms/cover: `load_cover` + `transform_cover` of one cover on one thread, and the ceiling of the ratio that
  follows when the CPUs are the limit: the engine keeps `--threads` cores busy, so each cover costs
  threads/forward core-seconds in the engine plus its decode time, and ceiling = 1/(1 + decode*forward/threads)
  (1.0 where there are more cores than the engine uses).
The two timings alternate round by round, so a change of load hits both; medians of `--rounds`.

    python benchmarks/bench_embed_path.py [--threads 2] [--batch-size 32] [--n 256] [--rounds 3] [--workers N] [--data DATA]
`--data` takes a data set (folder tree or CSV) to read covers from instead of the synthetic ones (read in place).
Run it on an otherwise idle machine (under the project's CPU lock); it prints the load average before and after.
"""
import argparse, os, tempfile, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np
from covergenre.data import CoverSet, load_cover
from covergenre.embed import embed, Embedder, transform_cover, PACKAGED_BACKBONES, ENGINES
from covergenre.synth import synth_covers

p = argparse.ArgumentParser()
p.add_argument('--threads', type=int, default=2, help='engine threads (ONNX Runtime intra-op, torch)')
p.add_argument('--batch-size', type=int, default=32)
p.add_argument('--n', type=int, default=256, help='synthetic covers embedded per round')
p.add_argument('--cover-size', type=int, default=256, help='side of the synthetic covers in pixels')
p.add_argument('--rounds', type=int, default=3)
p.add_argument('--workers', type=int, default=None, help="embed's decoding threads (default: embed's default)")
p.add_argument('--data', default=None, help='covers to read (a genre-folder tree or CSV) instead of synthetic ones')
p.add_argument('--backbones', default=','.join(PACKAGED_BACKBONES))
p.add_argument('--engines', default=','.join(ENGINES))
a = p.parse_args()
import torch; torch.set_num_threads(a.threads)  # the torch engine's threads; ONNX Runtime takes torch's count when torch is loaded

print(f'{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start; {a.threads} engine threads, batch {a.batch_size}, '
      f'{a.n} ' + (f'covers of {a.data}' if a.data else f'synthetic {a.cover_size} px covers') + f', decoding threads: {a.workers if a.workers is not None else "default"}')
data = a.data or synth_covers(Path(tempfile.gettempdir())/f'covergenre-bench-engine-{a.cover_size}', n_per_genre=-(-a.n//10), size=a.cover_size, progress=False)
covers = CoverSet.from_path(data); covers = covers.subset(np.random.default_rng(0).permutation(len(covers))[:a.n] if a.data else np.arange(min(a.n, len(covers))))
print(f"{'backbone':<24}{'size':>5}{'engine':>7}{'forward img/s':>15}{'embed img/s':>13}{'embed/forward':>15}{'decode ms':>11}{'ceiling':>9}")
ratios = []
for name in a.backbones.split(','):
    for eng in a.engines.split(','):
        enc = Embedder(name, engine=eng, device='cpu')  # what embed loads; the export (if any) happens here, before timing
        x = np.random.default_rng(0).standard_normal((a.batch_size, *enc.preprocessing['input_size']), dtype=np.float32)
        embed(covers.subset([0]), backbone=enc, cache_dir=False, progress=False); enc.engine(x)  # warm-up
        fwd,path = [],[]
        for _ in range(a.rounds):
            t = time.perf_counter()
            for _ in range(max(1, a.n//a.batch_size)): enc.engine(x)
            fwd.append(max(1, a.n//a.batch_size)*a.batch_size/(time.perf_counter() - t))
            t = time.perf_counter()
            e = embed(covers, backbone=enc, batch_size=a.batch_size, num_workers=a.workers, cache_dir=False, progress=False)
            path.append(e.n_computed/(time.perf_counter() - t))
        f,w = float(np.median(fwd)),float(np.median(path)); ratios.append(w/f)
        prep,some = enc.preprocessing,list(covers.paths)[:64]
        t = time.perf_counter()
        for q in some: transform_cover(load_cover(q, draft=max(prep['input_size'][1:])), prep)
        dec = (time.perf_counter() - t)/len(some)
        ceiling = 1.0 if (os.cpu_count() or 1) > a.threads else 1/(1 + dec*f/a.threads)
        print(f"{name:<24}{prep['input_size'][-1]:>5}{eng:>7}{f:>15.1f}{w:>13.1f}{w/f:>15.2f}{dec*1e3:>11.2f}{ceiling:>9.2f}", flush=True)
        del enc
print(f'lowest embed/forward ratio {min(ratios):.2f} (target >= 0.9); load average {os.getloadavg()[0]:.2f} at the end')
