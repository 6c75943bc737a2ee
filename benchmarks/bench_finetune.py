"""Fine-tuning on real covers with a grouped hold-out, next to the frozen k-NN and probe on the same split.

Splits ../shared/data/covers8-dev by its `group` column (plus near-duplicate clusters) into 80% train / 20% valid,
fine-tunes each backbone with `fine_tune_covers`, and prints micro/macro F1 on the held-out covers, seconds per
epoch and training images/s, beside weighted k-NN and the linear probe on frozen embeddings of the same backbone,
trained on the same train covers. Optionally averages the fine-tuned and probe probabilities (an ensemble).

    python benchmarks/bench_finetune.py [--archs tf_efficientnet_lite0] [--size 224] [--epochs 5] [--freeze-epochs 1]
                                        [--flip] [--min-scale 0.75] [--lr 2e-3] [--tta] [--out DIR]
"""
import argparse, json, os, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np, torch
from covergenre.data import CoverSet
from covergenre.embed import embed
from covergenre.knn import KNNClassifier, LinearProbe, evaluate
from covergenre.train import cover_dls, cover_learner, fine_tune_covers, export_classifier

p = argparse.ArgumentParser()
p.add_argument('--data', default=str(Path(__file__).resolve().parents[1]/'..'/'shared'/'data'/'covers8-dev'/'labels.csv'))
p.add_argument('--archs', default='tf_efficientnet_lite0')
p.add_argument('--size', type=int, default=224)
p.add_argument('--epochs', type=int, default=5)
p.add_argument('--freeze-epochs', type=int, default=1)
p.add_argument('--bs', type=int, default=32)
p.add_argument('--lr', type=float, default=None)
p.add_argument('--flip', action='store_true')
p.add_argument('--min-scale', type=float, default=0.75)
p.add_argument('--tta', action='store_true')
p.add_argument('--out', default=None, help='export the fine-tuned models here')
a = p.parse_args()

covers = CoverSet.from_path(a.data).split(valid_pct=0.2, seed=42, progress=False)
trn,val = covers.df.split.eq('train').to_numpy(),covers.df.split.eq('valid').to_numpy()
print(f'{len(covers)} covers: {trn.sum()} train, {val.sum()} valid (grouped); {os.cpu_count()} CPUs, '
      f'{"cuda" if torch.cuda.is_available() else "cpu"}; size {a.size}, {a.freeze_epochs}+{a.epochs} epochs, '
      f'flip={a.flip}, min_scale={a.min_scale}')
y_val = covers.df.genre[val].to_numpy()
for arch in a.archs.split(','):
    emb = embed(covers, backbone=arch, progress=False)
    E = {s: emb.subset(np.array(emb.splits) == s) for s in ('train', 'valid')}
    res = {}
    for name,clf in [('knn', KNNClassifier(10)), ('probe', LinearProbe(C=0.01))]:
        clf.fit(E['train'].X, E['train'].genres)
        res[name] = evaluate(E['valid'].genres, clf.predict(E['valid'].X))
        if name == 'probe': P_probe,probe_classes = clf.predict_proba(E['valid'].X),clf.classes_
    dls = cover_dls(covers, arch=arch, size=a.size, bs=a.bs, flip=a.flip, min_scale=a.min_scale)
    learn = cover_learner(dls, arch)
    t = time.perf_counter()
    lr = fine_tune_covers(learn, epochs=a.epochs, freeze_epochs=a.freeze_epochs, lr=a.lr, show=True)
    secs = time.perf_counter() - t
    P,y = learn.tta(dl=dls.valid) if a.tta else learn.get_preds(dl=dls.valid)
    vocab = np.array(dls.vocab)
    res['finetune'] = evaluate(vocab[y.numpy()], vocab[P.argmax(1).numpy()])
    assert list(vocab) == list(probe_classes) and len(P) == len(P_probe)
    res['finetune+probe'] = evaluate(vocab[y.numpy()], vocab[((P.numpy() + P_probe)/2).argmax(1)])
    n_ep = a.epochs + a.freeze_epochs
    print(f'\n{arch} @ {a.size}px, lr {lr:.2e}: {secs/n_ep:.0f} s/epoch, {len(dls.train_ds)*n_ep/secs:.1f} train img/s')
    for k,r in res.items(): print(f'  {k:<15} micro-F1 {r["micro_f1"]:.3f}  macro-F1 {r["macro_f1"]:.3f}')
    print('  per-genre F1 (fine-tuned): ' + ', '.join(f'{g} {v["f1"]:.2f}' for g,v in res['finetune']['per_class'].items()))
    if a.out: export_classifier(learn, Path(a.out)/arch, scores={k: {m: r[m] for m in ('micro_f1', 'macro_f1')} for k,r in res.items()})
