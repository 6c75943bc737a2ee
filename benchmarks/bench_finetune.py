"""Fine-tuning on real covers with a grouped hold-out, next to frozen-embedding classifiers on the same split.

Splits ../shared/data/covers8-dev by its `group` column (plus near-duplicate clusters) into 80% train / 20% valid,
fine-tunes each backbone with `cover_learner` + `fine_tune_covers`, and prints micro/macro F1 on the held-out
covers, seconds per epoch, training images/s and the CPU seconds spent (this process and its loader workers),
beside weighted k-NN and the linear probe on frozen embeddings of the same backbone and of `--ens-backbone`,
trained on the same train covers. Ensembles average class probabilities with equal weights, fixed beforehand
(nothing is tuned on the hold-out). With `--save`, the hold-out probabilities of every classifier go to an
`.npz` (genres, paths and numbers only, no images), for later analysis without retraining.

    python benchmarks/bench_finetune.py [--archs tf_efficientnet_lite0] [--size 160] [--sizes 128,128,160,160]
        [--epochs 4] [--freeze-epochs 1] [--lr 3e-3] [--lr-mult 10] [--train-from 1] [--head linear]
        [--class-weight sqrt] [--flip] [--min-scale 0.75] [--tta] [--ens-backbone tf_efficientnet_lite2]
        [--style] [--save FILE.npz] [--out DIR]
Run it niced on a shared machine; the load average is printed at the start and the end.
"""
import argparse, json, os, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np, torch
from covergenre.data import CoverSet
from covergenre.embed import embed
from covergenre.classify import KNNClassifier, LinearProbe, evaluate
from covergenre.train import cover_dls, cover_learner, fine_tune_covers, export_classifier

p = argparse.ArgumentParser()
p.add_argument('--data', default=str(Path(__file__).resolve().parents[1]/'..'/'shared'/'data'/'covers8-dev'/'labels.csv'))
p.add_argument('--archs', default='tf_efficientnet_lite0')
p.add_argument('--size', type=int, default=160, help='image size (the last one when --sizes is given)')
p.add_argument('--sizes', default=None, help='comma-separated image size per unfrozen epoch (progressive resizing)')
p.add_argument('--epochs', type=int, default=4)
p.add_argument('--freeze-epochs', type=int, default=1)
p.add_argument('--bs', type=int, default=32)
p.add_argument('--lr', type=float, default=3e-3)
p.add_argument('--lr-mult', type=float, default=10)
p.add_argument('--train-from', type=int, default=1)
p.add_argument('--head', default='linear')
p.add_argument('--label-smoothing', type=float, default=0.1)
p.add_argument('--class-weight', default=None)
p.add_argument('--flip', action='store_true')
p.add_argument('--min-scale', type=float, default=0.75)
p.add_argument('--tta', action='store_true')
p.add_argument('--workers', type=int, default=None)
p.add_argument('--seed', type=int, default=0, help='torch seed (the split is fixed: seed 42)')
p.add_argument('--ens-backbone', default='tf_efficientnet_lite2', help="embedding backbone for the ensemble ('' for none)")
p.add_argument('--style', action='store_true', help='also the Lite2 style-statistics KernelSVC (if this covergenre has it)')
p.add_argument('--save', default=None, help='write hold-out probabilities of every classifier to this .npz')
p.add_argument('--out', default=None, help='export the fine-tuned models here')
a = p.parse_args()

load = lambda: ' '.join(f'{x:.1f}' for x in os.getloadavg())
covers = CoverSet.from_path(a.data).split(valid_pct=0.2, seed=42, progress=False)
trn,val = covers.df.split.eq('train').to_numpy(),covers.df.split.eq('valid').to_numpy()
sizes = [int(s) for s in a.sizes.split(',')] if a.sizes else None
size0 = sizes[0] if sizes else a.size
print(f'{len(covers)} covers: {trn.sum()} train, {val.sum()} valid (grouped); {os.cpu_count()} CPUs, '
      f'{"cuda" if torch.cuda.is_available() else "cpu"}, {torch.get_num_threads()} threads; load {load()}\n'
      f'recipe: size {sizes or a.size}, {a.freeze_epochs}+{a.epochs} epochs, lr {a.lr:g}, lr_mult {a.lr_mult:g}, '
      f'train_from {a.train_from}, head {a.head}, label smoothing {a.label_smoothing}, class_weight {a.class_weight}, '
      f'flip={a.flip}, min_scale={a.min_scale}, tta={a.tta}', flush=True)
y_val = covers.df.genre[val].to_numpy()
saved = dict(y=y_val.astype(str), paths=covers.df.path[val].to_numpy().astype(str))  # str arrays: the .npz loads without pickle

def embedding_classifiers(backbone, tag, **kw):
    "k-NN and probe on frozen `backbone` embeddings: hold-out probabilities (vocab order) and scores."
    emb = embed(covers, backbone=backbone, progress=False, **kw)
    sp = np.array(emb.splits)
    E = {s: emb.subset(sp == s) for s in ('train', 'valid')}
    assert list(E['valid'].paths) == list(saved['paths'])
    out = {}
    for name,clf in [('knn', KNNClassifier(10)), ('probe', LinearProbe(C=0.01))]:
        clf.fit(E['train'].X, E['train'].genres)
        out[f'{name}-{tag}'] = clf.predict_proba(E['valid'].X), list(clf.classes_)
    return out, E

def show(name, P, classes):
    r = evaluate(y_val, np.array(classes)[P.argmax(1)])
    print(f'  {name:<34} micro-F1 {r["micro_f1"]:.3f}  macro-F1 {r["macro_f1"]:.3f}', flush=True)
    return r

ens = {}
if a.ens_backbone:
    t = time.perf_counter()
    got,_ = embedding_classifiers(a.ens_backbone, a.ens_backbone.replace('tf_efficientnet_', ''))
    ens.update(got)
    if a.style:
        from covergenre.classify import KernelSVC
        emb = embed(covers, backbone='tf_efficientnet_lite2', image_size=320, crop_pct=1.0, features='style', progress=False)
        sp = np.array(emb.splits); tr,va = emb.subset(sp == 'train'),emb.subset(sp == 'valid')
        svc = KernelSVC(blocks=tuple(emb.blocks)).fit(tr.X, tr.genres)
        ens['style-svm'] = svc.predict_proba(va.X), list(svc.classes_)
    print(f'embedding classifiers: {time.perf_counter() - t:.0f} s', flush=True)

for arch in a.archs.split(','):
    tag = arch.replace('tf_efficientnet_', '')
    res,probs = {},dict(ens)
    if arch != a.ens_backbone: probs.update(embedding_classifiers(arch, tag)[0])
    torch.manual_seed(a.seed); np.random.seed(a.seed)
    dls = cover_dls(covers, arch=arch, size=size0, bs=a.bs, flip=a.flip, min_scale=a.min_scale, num_workers=a.workers)
    learn = cover_learner(dls, arch, label_smoothing=a.label_smoothing, head=a.head, class_weight=a.class_weight)
    epoch_s = []
    from fastai.callback.core import Callback
    class Clock(Callback):
        order = 100
        def before_epoch(self): self.t = time.perf_counter()
        def after_epoch(self): epoch_s.append(round(time.perf_counter() - self.t, 1))
    learn.add_cb(Clock())
    c0,t0,l0 = os.times(),time.perf_counter(),load()
    lr = fine_tune_covers(learn, epochs=a.epochs, freeze_epochs=a.freeze_epochs, lr=a.lr, lr_mult=a.lr_mult,
                          train_from=a.train_from, sizes=sizes, show=True)
    c1,secs = os.times(),time.perf_counter() - t0
    cpu = (c1.user + c1.system + c1.children_user + c1.children_system) - (c0.user + c0.system + c0.children_user + c0.children_system)
    learn.remove_cb(Clock)
    P,y = learn.tta(dl=dls.valid) if a.tta else learn.get_preds(dl=dls.valid)
    vocab = list(map(str, dls.vocab))
    assert list(np.array(vocab)[y.numpy()]) == list(y_val)
    probs[f'finetune-{tag}'] = P.numpy(), vocab
    for k,(Q,cl) in probs.items(): assert cl == vocab, (k, cl, vocab)
    n_ep = a.epochs + a.freeze_epochs
    print(f'\n{arch}, sizes {sizes or a.size}: {secs:.0f} s wall ({secs/60:.1f} min), {cpu:.0f} CPU s ({cpu/60:.1f} CPU min) '
          f'for {n_ep} epochs; per epoch {epoch_s} s; {len(dls.train_ds)*n_ep/secs:.1f} train img/s; '
          f'load {l0} at the start, {load()} at the end')
    for k,(Q,_) in probs.items(): res[k] = show(k, Q, vocab)
    ft = probs[f'finetune-{tag}'][0]
    partners = [k for k in probs if not k.startswith('finetune')]
    for k in partners: res[f'finetune+{k}'] = show(f'finetune+{k}', (ft + probs[k][0])/2, vocab)
    if len(partners) > 1: res['finetune+all'] = show('finetune+all embedding classifiers', np.mean([ft] + [probs[k][0] for k in partners], 0), vocab)
    print('  per-genre F1 (fine-tuned): ' + ', '.join(f'{g} {v["f1"]:.2f}' for g,v in res[f'finetune-{tag}']['per_class'].items()))
    if a.save:
        saved.update({f'P_{k}': Q for k,(Q,_) in probs.items()}, classes=np.array(vocab),
                     meta=np.array(json.dumps(dict(vars(a), arch=arch, wall_s=secs, cpu_s=cpu, epoch_s=epoch_s))))
        f = Path(a.save); f = f.with_name(f'{f.stem}-{tag}{f.suffix}') if len(a.archs.split(',')) > 1 else f
        np.savez(f, **saved)
    if a.out: export_classifier(learn, Path(a.out)/arch, scores={k: {m: r[m] for m in ('micro_f1', 'macro_f1')} for k,r in res.items()})
