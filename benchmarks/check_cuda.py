"""CUDA checks and figures for embedding and model directories (run on a machine with a GPU).

On synthetic covers only (`covergenre.synth`), it checks and prints:
1. `embed` on CUDA (mixed precision, channels-last) against `embed` on the CPU for the same covers: cosine similarity
   of the vectors (min and mean) and whether k-NN predictions agree;
2. embedding throughput on CUDA: the whole `embed` path (decode, resize, forward; DataLoader workers) against the
   bare forward on ready tensors of the same batch size, measured in the same run (ratio), per backbone;
3. `train_model(method='finetune')` on CUDA (fp16, channels-last through fastai), then the model directory loaded
   on the CPU and on CUDA: the same predicted genres, probabilities close.

    HF_HUB_OFFLINE=1 python benchmarks/check_cuda.py [--n-per-genre 100] [--size 256] [--workers 8]
"""
import argparse, os, time, tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np, torch

p = argparse.ArgumentParser()
p.add_argument('--n-per-genre', type=int, default=100)
p.add_argument('--size', type=int, default=256)
p.add_argument('--workers', type=int, default=8)
p.add_argument('--bs', type=int, default=128)
p.add_argument('--device', default='cuda', help='cpu: a dry run of the script itself')
p.add_argument('--backbones', default='tf_efficientnet_lite0,tf_efficientnet_lite2')
a = p.parse_args()

from covergenre.data import GENRES, CoverSet
from covergenre.synth import synth_cover
from covergenre.embed import embed, create_backbone, preprocessing
from covergenre.classify import KNNClassifier
from covergenre.model import train_model, load_model

def _draw(job):
    genre,i,size,dest = job
    f = Path(dest)/genre/f'synth-{genre.lower()}-{i:04d}.png'
    synth_cover(genre, 0, size, index=i).save(f)

dev = a.device
assert dev == 'cpu' or torch.cuda.is_available(), 'no CUDA device'
print(f'{torch.cuda.get_device_name() if dev == "cuda" else "CPU dry run"}, torch {torch.__version__}, {os.cpu_count()} CPUs')
dest = Path(tempfile.mkdtemp())/'covers'
for g in GENRES: (dest/g).mkdir(parents=True)
t = time.perf_counter()
with ProcessPoolExecutor(os.cpu_count()) as ex: list(ex.map(_draw, [(g, i, a.size, dest) for g in GENRES for i in range(a.n_per_genre)], chunksize=16))
covers = CoverSet.from_path(dest)
print(f'{len(covers)} synthetic covers at {a.size} px drawn in {time.perf_counter() - t:.1f} s')

# 1. CUDA vs CPU vectors
small = covers.subset(np.arange(len(covers)) % 10 == 0)
e_cpu = embed(small, device='cpu', cache_dir=False, progress=False)
e_gpu = embed(small, device=dev, cache_dir=False, progress=False)
n = lambda X: X/np.linalg.norm(X, axis=1, keepdims=True)
cos = (n(e_cpu.X)*n(e_gpu.X)).sum(1)
half = np.arange(len(small)) % 2 == 0
pc = KNNClassifier(5).fit(e_cpu.X[half], np.array(e_cpu.genres)[half]).predict(e_cpu.X[~half])
pg = KNNClassifier(5).fit(e_gpu.X[half], np.array(e_gpu.genres)[half]).predict(e_gpu.X[~half])
print(f'1. embed cuda (fp16 autocast) vs cpu on {len(small)} covers: cosine min {cos.min():.5f}, mean {cos.mean():.5f}; '
      f'k-NN predictions agree on {(pc == pg).mean():.3f} of {len(pc)}')
assert cos.min() > 0.99

# 2. throughput: whole embed path vs bare forward
for bb in a.backbones.split(','):
    model = create_backbone(bb).to(dev).to(memory_format=torch.channels_last).eval()
    prep = preprocessing(model)
    x = torch.randn(a.bs, *prep['input_size'], device=dev).contiguous(memory_format=torch.channels_last)
    sync = torch.cuda.synchronize if dev == 'cuda' else (lambda: None)
    with torch.inference_mode(), torch.autocast(dev, enabled=dev == 'cuda'):
        for _ in range(3): model(x)
        sync(); t = time.perf_counter(); steps = max(1, len(covers)//a.bs)
        for _ in range(steps): model(x)
        sync(); fwd = steps*a.bs/(time.perf_counter() - t)
    embed(covers.subset(list(range(a.bs))), backbone=bb, device=dev, cache_dir=False, progress=False, num_workers=a.workers, batch_size=a.bs)
    t = time.perf_counter()
    e = embed(covers, backbone=bb, device=dev, cache_dir=False, progress=False, num_workers=a.workers, batch_size=a.bs)
    whole = len(e)/(time.perf_counter() - t)
    print(f'2. {bb} @{prep["input_size"][-1]}: whole embed path {whole:.0f} img/s, bare forward {fwd:.0f} img/s, '
          f'ratio {whole/fwd:.2f} (batch {a.bs}, {a.workers} workers)')

# 3. fine-tune on CUDA, load on CPU and CUDA
out = Path(tempfile.mkdtemp())/'ft'
sub = covers.subset(np.arange(len(covers)) % 4 == 0).split(seed=42, progress=False)
t = time.perf_counter()
m = train_model(sub, out, method='finetune', size=128, epochs=1, device=dev, progress=False)
s = m.config['scores']
print(f'3. finetune on cuda (fp16): {time.perf_counter() - t:.1f} s; hold-out from fastai on cuda: micro-F1 {s["micro_f1"]:.3f} ({s["n"]} covers)')
r = load_model(out).evaluate(sub.valid, progress=False)
print(f'   the model directory reloaded on the CPU (fp32, no fastai Learner): micro-F1 {r["micro_f1"]:.3f} ({r["n"]} covers)')
assert abs(r['micro_f1'] - s['micro_f1']) <= 2/max(1, r['n'])
