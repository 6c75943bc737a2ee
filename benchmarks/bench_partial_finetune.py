"""CPU screen (issue 18, item 2): fine-tune only the last stages of Lite2 on cached activations of its frozen early
stages, against the kernel SVM image member, on fold 0 (or `--folds`) of the benchmarks' 5-fold grouped CV of covers8-dev.

- Backbone: `tf_efficientnet_lite2` with the packaged ImageNet weights (`covergenre.embed.load_lite`, offline), the
  whole cover at 320 px (`preprocessing(model, 320, 1.0)`, `transform_cover`: the style setting's input).
- Activations: the output of the stem and `blocks[:cut]` (default cut=5: the input of stage 5, 120 x 20 x 20) for
  every cover and a few views (0: plain, 1: mirrored, 2..: a random crop keeping 80-95% of each side, mirrored
  at random; seeded per cover and view), computed once and kept as float16 in a cache file under `--cache`
  (default /tmp/partial_ft; activations only, never images).
- Trained: `blocks[cut:]`, `conv_head`, `bn2` and a new linear head (dropout 0.2), AdamW, cosine schedule with a
  one-epoch warm-up, label smoothing 0.1, class weights sqrt-balanced (n/(k*count))**0.5; each epoch every training
  cover once, in one of its views drawn at random (with `--shift K`, the map also moved by up to K cells).
- Scored on fold 0's test covers (the same `grouped_folds(y, group, 5, seed=0)` as `bench_screen.py` and
  `bench_fusion_default.py`): micro/macro-F1 after each epoch (plain view, and plain + mirror averaged); the figure
  of the screen is the last epoch's (no epoch is chosen on the test fold). The baseline in the same run: the kernel
  SVM on Lite2@320 style features as `svm_classifier` builds it (`KernelSVC(blocks, 'auto', 'auto')`, fitted on
  fold 0's training covers).

With `--folds 0,1,2,3,4` every fold gets its own network (trained on the four others) and `--proba-out FILE` keeps
each cover's test probabilities, for `bench_screen.py --ft-proba FILE` (the network as a stack member). The test
fold is scored after the last epoch only, unless `--score-every-epoch`.

    flock /tmp/cpu.lock python benchmarks/bench_partial_finetune.py [LABELS_CSV] [--stage acts|train|all] [--folds 0] [--proba-out FILE] [--json FILE]
"""
import argparse, hashlib, json, os, sys, time, warnings
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np

p = argparse.ArgumentParser()
p.add_argument('data', nargs='?', default=str(Path(__file__).resolve().parents[1]/'..'/'shared'/'data'/'covers8-dev'/'labels.csv'))
p.add_argument('--stage', default='all', choices=('acts', 'train', 'all'), help="'acts': only fill the activation cache; 'train': only train (cache must be full)")
p.add_argument('--cut', type=int, default=5, help='first trainable stage of Lite2 (0..6)')
p.add_argument('--views', type=int, default=3, help='views per cover in the cache (0 plain, 1 mirrored, 2.. random crops)')
p.add_argument('--epochs', type=int, default=8)
p.add_argument('--batch', type=int, default=64)
p.add_argument('--lr', type=float, default=3e-4, help='learning rate of the pretrained stages (the new head: 10x)')
p.add_argument('--wd', type=float, default=0.05)
p.add_argument('--shift', type=int, default=0, help='augmentation on the cached maps: shift each by up to this many cells (zero padded), at random')
p.add_argument('--max-train-s', type=float, default=1200, help='stop training after this many seconds (the last finished epoch is reported)')
p.add_argument('--cache', default='/tmp/partial_ft')
p.add_argument('--score-every-epoch', action='store_true', help='score the test fold after every epoch (about 20 s each here), not only after the last')
p.add_argument('--folds', default='0', help="folds of the 5-fold grouped CV to train and score, e.g. '0' or '0,1,2,3,4' (each: a new network on the other four)")
p.add_argument('--proba-out', help="write each scored fold's test probabilities (mirror TTA, last epoch) to this .npz (P, with NaN rows for covers of other folds; sha256; classes): a stack member for `bench_screen.py --ft-proba`")
p.add_argument('--json', help='also write every figure to this JSON file')
args = p.parse_args()

import torch
from covergenre.data import load_cover, CoverError
from covergenre.embed import embed, load_lite, preprocessing, transform_cover
from covergenre.classify import KernelSVC, evaluate, grouped_folds

def say(*a): print(*a, flush=True)
torch.set_num_threads(os.cpu_count() or 2); torch.manual_seed(0)
T0 = time.perf_counter(); load_before = os.getloadavg()
if not Path(args.data).exists(): sys.exit(f'no such labels file: {args.data}')
if not 0 <= args.cut <= 6: sys.exit(f'--cut must be 0..6, not {args.cut}')
if args.views < 1: sys.exit('--views must be at least 1')
S = embed(args.data, backbone='tf_efficientnet_lite2', image_size=320, crop_pct=1.0, features='style', progress=False)
y,groups = np.asarray(S.genres, dtype=object),np.asarray(S.groups, dtype=object)
classes = np.unique(y); nc = len(classes); yi = np.searchsorted(classes, y)
FOLDS = grouped_folds(y, groups, n_splits=5, seed=0)
try: chosen = sorted({int(k) for k in args.folds.split(',')}); assert all(0 <= k < 5 for k in chosen)
except (ValueError, AssertionError): sys.exit(f'--folds must be numbers 0..4 separated by commas, not {args.folds!r}')
say(f'{len(y)} covers, folds {chosen} of 5 (test covers {[len(FOLDS[k][1]) for k in chosen]}), {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, load {load_before[0]:.2f}')

model = load_lite('tf_efficientnet_lite2')
prep = preprocessing(model, 320, 1.0)
frozen = torch.nn.Sequential(model.conv_stem, model.bn1, *model.blocks[:args.cut]).eval()
with torch.inference_mode(): shape = tuple(frozen(torch.zeros(1, 3, 320, 320)).shape[1:])
key = hashlib.sha256(json.dumps([S.sha256, prep, args.cut, 1]).encode()).hexdigest()[:12]
cdir = Path(args.cache); cdir.mkdir(parents=True, exist_ok=True)
def vfile(v:int) -> Path: return cdir/f'acts-lite2-cut{args.cut}-{key}-view{v}.f16'  # one file per view: more views can be added later
def have(v:int) -> bool: return vfile(v).exists()  # written to a temporary name and renamed when complete
say(f'activations entering stage {args.cut}: {shape} per view, {len(y)*np.prod(shape)*2/2**20:.0f} MiB a view, in {cdir} '
    f'(views cached: {[v for v in range(args.views) if have(v)]})')

def view(im, v:int, i:int):
    "View `v` of cover `i`: 0 the cover, 1 mirrored, 2.. a seeded random crop of 80-95% of each side, mirrored at random."
    from PIL import ImageOps
    if v == 0: return im
    if v == 1: return ImageOps.mirror(im)
    r = np.random.default_rng([v, i]); w,h = im.size
    cw,ch = int(w*r.uniform(0.8, 0.95)),int(h*r.uniform(0.8, 0.95))
    x0,y0 = int(r.integers(0, w - cw + 1)),int(r.integers(0, h - ch + 1))
    im = im.crop((x0, y0, x0 + cw, y0 + ch))
    return ImageOps.mirror(im) if r.random() < 0.5 else im

pass_s = {}
if args.stage in ('acts', 'all'):
    for v in range(args.views):
        if have(v): continue
        t = time.perf_counter(); t_dec = 0.0; bad = 0
        tmp = vfile(v).with_name(vfile(v).name + f'.{os.getpid()}.tmp'); A = np.memmap(tmp, np.float16, 'w+', shape=(len(y), *shape))
        for b in range(0, len(y), 32):
            idx = range(b, min(b + 32, len(y))); x = np.zeros((len(idx), 3, 320, 320), np.float32); t1 = time.perf_counter()
            for j,i in enumerate(idx):
                try: transform_cover(view(load_cover(S.paths[i], draft=320), v, i), prep, out=x[j])
                except CoverError: bad += 1
            t_dec += time.perf_counter() - t1
            with torch.inference_mode(): A[b:b + len(idx)] = frozen(torch.from_numpy(x)).numpy().astype(np.float16)
        A.flush(); del A; os.replace(tmp, vfile(v)); pass_s[v] = time.perf_counter() - t
        say(f'  view {v}: activation pass {pass_s[v]:.0f} s ({t_dec:.0f} s decoding and resizing, {1000*pass_s[v]/len(y):.0f} ms a cover; {bad} unreadable), load {os.getloadavg()[0]:.2f}')
    if args.stage == 'acts': say(f'total {time.perf_counter() - T0:.0f} s; load before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}'); sys.exit(0)
missing = [v for v in range(args.views) if not have(v)]
if missing: sys.exit(f'views {missing} are not in the cache: run with --stage acts first')

# ---------------------------------------------------------------- per fold: the kernel SVM image member (baseline) and the fine-tuned stages
At = torch.from_numpy(np.stack([np.fromfile(vfile(v), np.float16).reshape(len(y), *shape) for v in range(args.views)]))  # float16 in memory; batches converted to float32
def run_fold(k:int) -> dict:
    "The SVM and the fine-tuned network on fold `k` (trained on the four others): their test probabilities and figures."
    tr,te = FOLDS[k]
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        svm = KernelSVC(tuple(int(b) for b in S.blocks), 'auto', 'auto').fit(S.X[tr], y[tr], groups=groups[tr])
    svm_P = svm.predict_proba(S.X[te]); svm_s = time.perf_counter() - t
    r_svm = evaluate(y[te], svm.classes_[svm_P.argmax(1)], labels=classes)
    say(f'kernel SVM (style features, C {svm.C_}, gamma {svm.gamma_}): fold {k} micro-F1 {r_svm["micro_f1"]:.3f}, macro-F1 {r_svm["macro_f1"]:.3f} (fit {svm_s:.0f} s)')

    # ---------------------------------------------------------------- fine-tune the last stages
    model = load_lite('tf_efficientnet_lite2')  # the pretrained weights again for each fold
    head = torch.nn.Sequential(*model.blocks[args.cut:], model.conv_head, model.bn2, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                               torch.nn.Dropout(0.2), torch.nn.Linear(model.num_features, nc))
    new = list(head[-1].parameters()); old_p = [q for q in head.parameters() if all(q is not n for n in new)]
    opt = torch.optim.AdamW([dict(params=old_p, lr=args.lr), dict(params=new, lr=10*args.lr)], weight_decay=args.wd)
    steps_per_epoch = -(-len(tr)//args.batch); total = steps_per_epoch*args.epochs
    base_lr = [g['lr'] for g in opt.param_groups]
    def lr_at(s): return min(1.0, (s + 1)/steps_per_epoch)*0.5*(1 + np.cos(np.pi*min(s, total)/total))  # warm-up over the first epoch, then cosine
    cnt = np.bincount(yi[tr], minlength=nc); w = torch.tensor(np.sqrt(len(tr)/(nc*np.maximum(cnt, 1))), dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=w, label_smoothing=0.1)
    n_train = sum(q.numel() for q in head.parameters())
    say(f'training {n_train/1e6:.2f} M parameters (stages {args.cut}.., conv_head, new head) for {args.epochs} epochs of {steps_per_epoch} steps; '
        f'class weights {dict(zip(classes, np.round(w.numpy(), 2)))}')
    def predict(vs) -> np.ndarray:
        "Softmax of the head on the test covers, averaged over views `vs`."
        head.eval(); P = 0
        with torch.inference_mode():
            for v in vs: P = P + torch.cat([head(At[v, te[b:b + 128]].float()).softmax(1) for b in range(0, len(te), 128)]).numpy()
        return P/len(vs)
    rng = np.random.default_rng(0); step = 0; epochs = []; t_train = time.perf_counter()
    for ep in range(args.epochs):
        head.train(); t = time.perf_counter(); order = rng.permutation(tr); vsel = rng.integers(0, args.views, len(order)); run = 0.0
        for b in range(0, len(order), args.batch):
            rows,vs = order[b:b + args.batch],vsel[b:b + args.batch]
            xb = At[torch.from_numpy(vs), torch.from_numpy(rows)].float(); yb = torch.from_numpy(yi[rows])
            if args.shift:  # each map moved by up to `shift` cells (one cell: 16 px of the cover at cut 5)
                k = args.shift; xp = torch.nn.functional.pad(xb, (k, k, k, k)); H,W = xb.shape[2:]; o = rng.integers(0, 2*k + 1, (len(rows), 2))
                xb = torch.stack([xp[j, :, a:a + H, c:c + W] for j,(a,c) in enumerate(o)])
            for g,l0 in zip(opt.param_groups, base_lr): g['lr'] = l0*lr_at(step)
            loss = loss_fn(head(xb), yb); opt.zero_grad(); loss.backward(); opt.step(); step += 1; run += float(loss.detach())*len(rows)
        ep_s = time.perf_counter() - t; t = time.perf_counter()
        over = time.perf_counter() - t_train > args.max_train_s and ep + 1 < args.epochs
        if not (args.score_every_epoch or ep + 1 == args.epochs or over):
            epochs.append(dict(epoch=ep + 1, train_loss=run/len(order), train_s=ep_s))
            say(f'  epoch {ep + 1}: train loss {run/len(order):.3f}, {ep_s:.0f} s; load {os.getloadavg()[0]:.2f}'); continue
        P1 = predict([0]); P2 = predict([0, 1]) if args.views > 1 else P1; ev_s = time.perf_counter() - t
        r1,r2 = evaluate(y[te], classes[P1.argmax(1)], labels=classes),evaluate(y[te], classes[P2.argmax(1)], labels=classes)
        epochs.append(dict(epoch=ep + 1, train_loss=run/len(order), train_s=ep_s, eval_s=ev_s, micro_f1=r1['micro_f1'], macro_f1=r1['macro_f1'],
                           micro_f1_flip_tta=r2['micro_f1'], macro_f1_flip_tta=r2['macro_f1']))
        say(f'  epoch {ep + 1}: train loss {run/len(order):.3f}, {ep_s:.0f} s (+{ev_s:.0f} s scoring); fold {k} micro-F1 {r1["micro_f1"]:.3f} macro-F1 {r1["macro_f1"]:.3f}; '
            f'with the mirror averaged {r2["micro_f1"]:.3f} / {r2["macro_f1"]:.3f}; load {os.getloadavg()[0]:.2f}')
        if over:
            say(f'  stopped after {ep + 1} epochs: over --max-train-s {args.max_train_s:.0f} s (the schedule was for {args.epochs})'); break

    last = epochs[-1]; Pn = P2
    r_net = evaluate(y[te], classes[Pn.argmax(1)], labels=classes)
    say(f'\nfold {k}, {len(te)} test covers           micro-F1  macro-F1  least genre')
    for n,r in (('kernel SVM (style features)', r_svm), (f'fine-tuned stages {args.cut}.. (epoch {last["epoch"]}, mirror TTA)', r_net)):
        f1 = {g: r['per_class'][g]['f1'] for g in classes}
        say(f'  {n:<44} {r["micro_f1"]:.3f}     {r["macro_f1"]:.3f}     {min(f1.values()):.3f} ({min(f1, key=f1.get)})')
    say(f'  fine-tuned / SVM micro-F1: {r_net["micro_f1"]/r_svm["micro_f1"]:.2f}x')
    say('  per genre F1 (SVM, fine-tuned): ' + ', '.join(f'{g} {r_svm["per_class"][g]["f1"]:.2f}/{r_net["per_class"][g]["f1"]:.2f}' for g in classes))
    # what a plain average of the two would give (a hint only: a stack would fit its weights inside the training fold)
    Pm = np.exp(0.5*np.log(np.clip(svm_P, 1e-6, 1)) + 0.5*np.log(np.clip(Pn, 1e-6, 1)))
    r_mix = evaluate(y[te], classes[Pm.argmax(1)], labels=classes)
    say(f'  geometric mean of the two (weight 0.5, not fitted): micro-F1 {r_mix["micro_f1"]:.3f}, macro-F1 {r_mix["macro_f1"]:.3f}')
    return dict(te=te, svm_P=svm_P, Pn=Pn, svm=dict(micro_f1=r_svm['micro_f1'], macro_f1=r_svm['macro_f1'], per_class=r_svm['per_class'], fit_s=svm_s),
                finetuned=dict(micro_f1=r_net['micro_f1'], macro_f1=r_net['macro_f1'], per_class=r_net['per_class'], epochs=epochs),
                mean_of_two=dict(micro_f1=r_mix['micro_f1'], macro_f1=r_mix['macro_f1']))

RUNS = {k: run_fold(k) for k in chosen}
if len(chosen) > 1:  # pooled over the scored folds
    rows = np.concatenate([RUNS[k]['te'] for k in chosen])
    pool = lambda key: np.concatenate([RUNS[k][key] for k in chosen])
    say(f'\npooled over folds {chosen} ({len(rows)} covers):  micro-F1  macro-F1')
    Ps,Pf = pool('svm_P'),pool('Pn'); Pg = np.exp(0.5*np.log(np.clip(Ps, 1e-6, 1)) + 0.5*np.log(np.clip(Pf, 1e-6, 1)))
    for n,P in (('kernel SVM', Ps), ('fine-tuned', Pf), ('geometric mean (not fitted)', Pg)):
        r = evaluate(y[rows], classes[P.argmax(1)], labels=classes); say(f'  {n:<34} {r["micro_f1"]:.3f}     {r["macro_f1"]:.3f}')
if args.proba_out:
    P = np.full((len(y), nc), np.nan, np.float32)
    for k in chosen: P[RUNS[k]['te']] = RUNS[k]['Pn']
    with open(args.proba_out + '.tmp', 'wb') as fh: np.savez(fh, P=P, sha256=np.array(S.sha256), classes=np.array(classes, dtype=str), folds=np.array(chosen))
    os.replace(args.proba_out + '.tmp', args.proba_out); say(f'test probabilities of folds {chosen} written to {args.proba_out}')
load_after = os.getloadavg()
say(f'\ntotal {time.perf_counter() - T0:.0f} s; load before {load_before[0]:.2f}, after {load_after[0]:.2f}')
if args.json:
    Path(args.json).write_text(json.dumps(dict(args=vars(args), n=len(y), classes=list(classes), shape=shape, activation_pass_s=pass_s,
                                               folds={k: {n: v for n,v in r.items() if n not in ('te', 'svm_P', 'Pn')} for k,r in RUNS.items()},
                                               load_before=load_before, load_after=load_after), indent=1, default=float))
