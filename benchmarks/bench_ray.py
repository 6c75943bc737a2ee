"""Ray Data path (`covergenre.scale`) against the local path, same covers, same total cores, measured in the same run.

1. Ray startup (`ray_init`, a local instance with `--cpus` CPUs) and the first Ray Data run of the process (8
   covers), reported on their own: a cluster pays them once, not per run.
2. Embeddings: `embed(...)` (torch threads = `--cpus`, its DataLoader workers, cache off) against `ray_embed(...)`
   (one actor per CPU, one engine thread each; hashing, actor start and model loading, Parquet writing included)
   on `--n` synthetic covers; best of `--rounds` interleaved rounds; the overhead ratio (target <= 15%); vectors
   compared; the marginal rate of both (time of n covers minus time of n/2: fixed costs such as actor start and
   graph loading cancel, what is left is throughput); then a rerun of `ray_embed` on the full output (it computes nothing: the cost of a no-op rerun).
3. Scaling with actors: `ray_embed` with 1 actor, then `--cpus` actors (covers/s per actor = per core).
4. Tags: `tag_catalogue` (CSV out, cache off) against `ray_predict` with a `--fast` model (probe, Lite0, 224 px).
5. With `--style N`: Lite2 style features at 320 px (the default model's image part) on N covers, local vs Ray.

    python benchmarks/bench_ray.py [--n 600] [--cpus 2] [--rounds 2] [--batch-size 256] [--style 0]
Run it on an otherwise idle machine (under the shared lock here); the load average is printed before and after.
"""
import argparse, os, shutil, tempfile, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np

p = argparse.ArgumentParser()
p.add_argument('--n', type=int, default=600, help='synthetic covers')
p.add_argument('--cover-size', type=int, default=256, help='side of the synthetic covers in pixels')
p.add_argument('--cpus', type=int, default=2, help='cores for both paths')
p.add_argument('--rounds', type=int, default=2, help='interleaved rounds (best taken)')
p.add_argument('--batch-size', type=int, default=256, help='covers per actor call (Ray)')
p.add_argument('--style', type=int, default=0, help='also Lite2 style features at 320 px on this many covers')
p.add_argument('--no-tags', action='store_true', help='skip the tags part')
a = p.parse_args()

def load(): return open('/proc/loadavg').read().split()[:3]
print(f'load average before: {" ".join(load())}', flush=True)

import torch
torch.set_num_threads(a.cpus)
from covergenre.embed import embed
from covergenre.synth import synth_covers
from covergenre.data import CoverSet
from covergenre.scale import ray_init, ray_embed, ray_predict, read_embeddings, read_tags
from covergenre.catalogue import tag_catalogue, TagFile
from covergenre.model import fit_model, FAST

tmp = Path(tempfile.mkdtemp(prefix='bench-ray-'))
genres = 10
data = synth_covers(tmp/'covers', n_per_genre=-(-a.n//genres), size=a.cover_size)
covers = CoverSet.from_path(data); covers = covers.subset(np.arange(len(covers)) < a.n)
covers.df[['path', 'genre']].to_csv(tmp/'covers.csv', index=False)  # the same covers for both paths
n = len(covers)
B, S = 'tf_efficientnet_lite0', 224
embed(covers.subset(np.arange(n) < 8), backbone=B, image_size=S, cache_dir=False, progress=False)  # the ONNX graph exported once, outside the timings

t = time.perf_counter(); startup = ray_init(num_cpus=a.cpus)
print(f'Ray startup (local instance, {a.cpus} CPUs): {startup:.2f} s', flush=True)

def timed(f):
    t = time.perf_counter(); r = f(); return time.perf_counter() - t, r

def fresh(name):
    d = tmp/name; shutil.rmtree(d, ignore_errors=True); return d

warm = tmp/'warm.csv'; covers.df[['path', 'genre']].iloc[:8].to_csv(warm, index=False)
s, _ = timed(lambda: ray_embed([warm], fresh('emb-warm'), backbone=B, image_size=S, batch_size=a.batch_size))
print(f'first Ray Data run of this process (8 covers; Ray Data starts its own actors, workers start): {s:.2f} s, outside the timings below', flush=True)
res = dict(local=[], ray=[])
for r in range(a.rounds):
    s, local = timed(lambda: embed(tmp/'covers.csv', backbone=B, image_size=S, cache_dir=False, progress=False)); res['local'].append(s)
    s, summ = timed(lambda: ray_embed([tmp/'covers.csv'], fresh('emb'), backbone=B, image_size=S, batch_size=a.batch_size)); res['ray'].append(s)
    assert summ['computed'] == n, summ
    print(f'round {r + 1}: local embed {res["local"][-1]:.2f} s, ray_embed {res["ray"][-1]:.2f} s', flush=True)
sha, X, _ = read_embeddings(tmp/'emb'); pos = {h: i for i, h in enumerate(sha)}
diff = float(np.abs(X[[pos[h] for h in local.sha256]] - local.X).max())
lo, ry = min(res['local']), min(res['ray'])
print(f'\nEMBED {B} @ {S}px, {n} covers, {a.cpus} cores: local {n/lo:.1f} covers/s ({lo:.2f} s), Ray {n/ry:.1f} covers/s ({ry:.2f} s); '
      f'Ray overhead {ry/lo - 1:+.1%} (target <= +15%); max |vector difference| {diff:.2e}', flush=True)
half = tmp/'half.csv'; covers.df[['path', 'genre']].iloc[:n//2].to_csv(half, index=False)
lh, _ = timed(lambda: embed(half, backbone=B, image_size=S, cache_dir=False, progress=False))
rh, _ = timed(lambda: ray_embed([half], fresh('emb-half'), backbone=B, image_size=S, batch_size=a.batch_size))
ml, mr = (n - n//2)/(lo - lh), (n - n//2)/(ry - rh)
print(f'MARGINAL (the second {n - n//2} covers: time of {n} minus time of {n//2}, so fixed costs cancel): local {ml:.1f} covers/s, '
      f'Ray {mr:.1f} covers/s; Ray overhead {ml/mr - 1:+.1%}; fixed cost local {lo - n/ml:.2f} s, Ray {ry - n/mr:.2f} s', flush=True)
s, summ = timed(lambda: ray_embed([tmp/'covers.csv'], tmp/'emb', backbone=B, image_size=S, batch_size=a.batch_size))
print(f'rerun on the full output: {s:.2f} s, computed {summ["computed"]} ({n/s:.0f} covers/s hashed and skipped)', flush=True)

for k in (1, a.cpus):
    s, summ = timed(lambda: ray_embed([tmp/'covers.csv'], fresh('emb-scale'), backbone=B, image_size=S, batch_size=a.batch_size, actors=k))
    print(f'Ray, {k} actor(s) x 1 thread: {n/s:.1f} covers/s ({s:.2f} s; {n/s/k:.1f} covers/s per actor)', flush=True)

if not a.no_tags:
    train = covers.subset(np.arange(n) < min(n, 120))
    model = fit_model(train, **FAST, progress=False); model_dir = model.save(tmp/'model')
    res = dict(local=[], ray=[])
    for r in range(a.rounds):
        out = tmp/'tags.csv'; out.unlink(missing_ok=True)
        s, _ = timed(lambda: tag_catalogue(model, [tmp/'covers.csv'], out, progress=False, cache_dir=False)); res['local'].append(s)
        s, summ = timed(lambda: ray_predict(model_dir, [tmp/'covers.csv'], fresh('tags'), batch_size=a.batch_size)); res['ray'].append(s)
        assert summ['computed'] == n, summ
        print(f'round {r + 1}: local tag_catalogue {res["local"][-1]:.2f} s, ray_predict {res["ray"][-1]:.2f} s', flush=True)
    ref = {r['path']: r for r in TagFile(tmp/'tags.csv').rows()}; got = {r['path']: r for r in read_tags(tmp/'tags')}
    same = sum(got[p_]['genre'] == r['genre'] for p_, r in ref.items())
    lo, ry = min(res['local']), min(res['ray'])
    print(f'\nTAGS probe on {B} @ {S}px, {n} covers, {a.cpus} cores: local {n/lo:.1f} covers/s ({lo:.2f} s), Ray {n/ry:.1f} covers/s ({ry:.2f} s); '
          f'Ray overhead {ry/lo - 1:+.1%}; same genre on {same}/{len(ref)}', flush=True)

if a.style:
    sub = tmp/'style.csv'; covers.df[['path', 'genre']].iloc[:a.style].to_csv(sub, index=False)
    kw = dict(backbone='tf_efficientnet_lite2', image_size=320, features='style')
    embed(covers.subset(np.arange(n) < 4), cache_dir=False, progress=False, **kw)  # export once
    s1, _ = timed(lambda: embed(sub, cache_dir=False, progress=False, **kw))
    s2, _ = timed(lambda: ray_embed([sub], fresh('style'), batch_size=min(a.batch_size, 32), **kw))
    print(f'\nSTYLE Lite2 @ 320px, {a.style} covers, {a.cpus} cores: local {a.style/s1:.1f} covers/s, Ray {a.style/s2:.1f} covers/s '
          f'({a.style/s2/a.cpus:.2f} per core); Ray overhead {s2/s1 - 1:+.1%}', flush=True)

import ray; ray.shutdown()
shutil.rmtree(tmp, ignore_errors=True)
print(f'\nload average after: {" ".join(load())}')
