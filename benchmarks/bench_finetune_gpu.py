"""GPU fine-tuning throughput on synthetic covers: epoch time, images/s and GPU utilisation per backbone.

Draws N synthetic covers (`covergenre.synth`, no real covers) at 300 px in parallel, saved as JPEG like the real
ones, then for each `arch@size`:
- the data loader alone (decode, item transforms, GPU batch transforms) over one training epoch, in images/s;
- the model alone: training steps (forward, backward, optimiser; mixed precision, channels-last) on one batch
  kept on the GPU, in images/s: the ceiling that the loader has to feed;
- the fastai `fit_one_cycle` epochs of `cover_learner` (random init: `pretrained=False`), all layers trainable,
  wall time per epoch (training + validation) and training images/s, with `nvidia-smi` sampled every 100 ms in
  the background: mean and median GPU utilisation over the timed epochs (the first epoch is warm-up).

    python benchmarks/bench_finetune_gpu.py [--n-per-genre 200] [--cover-size 300]
        [--archs tf_efficientnet_lite2@260,efficientnet_b1@240] [--bs 64] [--epochs 3] [--workers N] [--out DIR]
"""
import argparse, json, os, subprocess, tempfile, time, traceback
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np, torch

p = argparse.ArgumentParser()
p.add_argument('--n-per-genre', type=int, default=200)
p.add_argument('--cover-size', type=int, default=300)
p.add_argument('--archs', default='tf_efficientnet_lite2@260,efficientnet_b1@240')
p.add_argument('--bs', type=int, default=64)
p.add_argument('--epochs', type=int, default=3)
p.add_argument('--workers', type=int, default=None, help='loader workers (default: fastai, min(16, CPUs))')
p.add_argument('--model-steps', type=int, default=30)
p.add_argument('--dest', default=None, help='folder for the synthetic covers (default: a temporary one)')
p.add_argument('--out', default=None, help='write results.json and the nvidia-smi samples here')
a = p.parse_args()

from covergenre.data import GENRES, CoverSet
from covergenre.synth import synth_cover
from covergenre.train import cover_dls, cover_learner

def _draw(job):
    genre,i,size,dest = job
    f = Path(dest)/genre/f'synth-{genre.lower()}-{i:04d}.jpg'  # JPEG, like the real covers
    if not f.exists(): synth_cover(genre, 0, size, index=i).save(f, quality=90)
    return str(f)

dest = Path(a.dest or tempfile.mkdtemp(prefix='synth-gpu-'))
for g in GENRES: (dest/g).mkdir(parents=True, exist_ok=True)
t = time.perf_counter()
with ProcessPoolExecutor(os.cpu_count()) as ex:
    files = list(ex.map(_draw, [(g, i, a.cover_size, dest) for g in GENRES for i in range(a.n_per_genre)], chunksize=8))
print(f'{len(files)} synthetic covers at {a.cover_size} px in {time.perf_counter() - t:.1f} s ({os.cpu_count()} CPUs)', flush=True)
covers = CoverSet.from_path(dest).split(valid_pct=0.2, seed=0, progress=False)

cuda = torch.cuda.is_available()
dev = torch.device('cuda' if cuda else 'cpu')
name = torch.cuda.get_device_name() if cuda else 'cpu'
print(f'device {name}, torch {torch.__version__}, {os.cpu_count()} CPUs', flush=True)
torch.backends.cudnn.benchmark = True

def _num(s):
    try: return float(s)
    except ValueError: return float('nan')

class Smi:
    "nvidia-smi sampled every 100 ms in the background; `stats(t0, t1)`: utilisation between two `time.time()`s."
    def __init__(self, file):
        self.file,self.proc = Path(file),None
        if cuda:
            self.proc = subprocess.Popen(['nvidia-smi', '--query-gpu=timestamp,utilization.gpu,memory.used,power.draw',
                                          '--format=csv,noheader,nounits', '-lms', '100'],
                                         stdout=open(self.file, 'w'), stderr=subprocess.DEVNULL)

    def stats(self, t0, t1):
        if not self.proc: return {}
        rows = []
        for line in self.file.read_text().splitlines():
            try:
                ts,util,used,power = [s.strip() for s in line.split(',')]
                rows.append((datetime.strptime(ts, '%Y/%m/%d %H:%M:%S.%f').timestamp(), float(util), float(used), _num(power)))
            except ValueError: continue
        r = np.array([x for x in rows if t0 <= x[0] <= t1])
        if not len(r): return {'samples': 0}
        return dict(samples=len(r), util_mean=round(float(r[:, 1].mean()), 1), util_median=float(np.median(r[:, 1])),
                    util_p10=float(np.percentile(r[:, 1], 10)), mem_used_mib_max=float(r[:, 2].max()),
                    power_w_mean=round(float(np.nanmean(r[:, 3])), 1) if np.isfinite(r[:, 3]).any() else None)

    def close(self):
        if self.proc: self.proc.terminate(); self.proc.wait()

def bench(arch, size):
    dls = cover_dls(covers, arch=arch, size=size, bs=a.bs, flip=True, min_scale=0.75, num_workers=a.workers, device=dev)
    n_train = len(dls.train)*a.bs  # drop_last: images seen per training epoch
    # 1. the loader alone (batch transforms run on the GPU)
    for i,(xb,yb) in enumerate(dls.train):
        if i == 0: t = time.perf_counter()  # leave out the workers' start
    if cuda: torch.cuda.synchronize()
    loader_ips = (len(dls.train) - 1)*a.bs/(time.perf_counter() - t)
    # 2. the model alone: training steps on one batch that stays on the GPU
    learn = cover_learner(dls, arch, pretrained=False)
    learn.unfreeze()
    model = learn.model.to(dev).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler(enabled=cuda)
    xb,yb = xb.as_subclass(torch.Tensor).contiguous(memory_format=torch.channels_last),yb.as_subclass(torch.Tensor)
    def step():
        with torch.autocast(dev.type, enabled=cuda):
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True); scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
    for _ in range(5): step()
    if cuda: torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(a.model_steps): step()
    if cuda: torch.cuda.synchronize()
    model_ips = a.model_steps*a.bs/(time.perf_counter() - t)
    del opt, scaler, learn, model
    # 3. fastai epochs with the loader, all layers trainable, nvidia-smi in the background
    learn = cover_learner(dls, arch, pretrained=False)
    learn.unfreeze()
    marks = []
    from fastai.callback.core import Callback
    class Clock(Callback):
        order = 100
        def _mark(self, what):
            if cuda: torch.cuda.synchronize()
            marks.append(time.time())
        def before_epoch(self): self._mark('epoch')
        def before_validate(self): self._mark('valid')
        def after_epoch(self): self._mark('end')
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(a.epochs, 1e-3, cbs=Clock())
    ep = [dict(start=marks[3*k], valid=marks[3*k+1], end=marks[3*k+2]) for k in range(a.epochs)]
    timed = ep[1:] if len(ep) > 1 else ep
    epoch_s = float(np.mean([e['end'] - e['start'] for e in timed]))
    train_s = float(np.mean([e['valid'] - e['start'] for e in timed]))
    return dict(arch=arch, size=size, n_train=len(dls.train_ds), n_valid=len(dls.valid_ds), epochs=a.epochs,
                epoch_s=[round(e['end'] - e['start'], 2) for e in ep], epoch_s_mean_after_first=round(epoch_s, 2),
                train_phase_s=[round(e['valid'] - e['start'], 2) for e in ep],
                train_ips=round(n_train/train_s, 1), loader_alone_ips=round(loader_ips, 1), model_alone_ips=round(model_ips, 1),
                gpu_util_epochs=smi.stats(timed[0]['start'], timed[-1]['end']),
                gpu_util_train_phases=smi.stats(timed[-1]['start'], timed[-1]['valid']),
                max_mem_alloc_gib=round(torch.cuda.max_memory_allocated()/2**30, 2) if cuda else None)

out = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix='bench-gpu-'))
out.mkdir(parents=True, exist_ok=True)
smi = Smi(out/'nvidia_smi.csv')
results = dict(device=name, cpus=os.cpu_count(), torch=torch.__version__, n_covers=len(covers), bs=a.bs, runs=[])
try:
    for spec in a.archs.split(','):
        arch,size = spec.split('@')
        try: r = bench(arch, int(size))
        except Exception as e:
            traceback.print_exc(); r = dict(arch=arch, size=int(size), error=f'{type(e).__name__}: {e}')
        results['runs'].append(r)
        print(json.dumps(r), flush=True)
        if cuda: torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
finally:
    smi.close()
    (out/'results.json').write_text(json.dumps(results, indent=2))
print(f'results in {out}')
