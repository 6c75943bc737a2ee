"""Accuracy of frozen-embedding genre classifiers on real covers (default: ../shared/data/covers8-dev).

Protocol (fixed): 5-fold `StratifiedGroupKFold` over the data set's `group` column (`grouped_folds`, seed 0);
every cover is predicted once, by the fold that held it out; micro-F1 (= accuracy) and macro-F1 of the pooled
out-of-fold predictions (`cross_validate`).

Rows:
- `lite0`, `lite1`, `lite2`: the library's pooled embedding (`embed`, each backbone's own size and crop) with
  a similarity-weighted k-NN (k=10) and a linear probe (`LinearProbe`, C=0.01);
- `lite2 style@320`: `embed(..., features='style')` of Lite2 on the whole cover at 320 px (per-channel mean and
  std of the outputs of stages 3-6 and of their expanded activations, plus the pooled embedding: 17 blocks,
  10,304 numbers), with the same k-NN and probe, and `KernelSVC` (mean of per-block RBF kernels on standardised
  blocks) twice: with the settings picked beforehand on a few options (C=3, gamma=0.8: mildly optimistic), and
  with C and gamma chosen inside each training fold by a grouped 5-fold CV over a 3 x 3 grid (nested CV: the
  honest figure).
The majority-class baseline is printed beside them, and per-genre F1 of the nested-CV SVM at the end.

Embeddings are cached in the covergenre cache (`~/.cache/covergenre`), so only the first run computes them
(about 15 minutes on a 2-core CPU for all four); the nested CV then takes a few minutes. No cover image is
written anywhere.

    HF_HUB_OFFLINE=1 python benchmarks/bench_accuracy.py [LABELS_CSV]
"""
import os, sys, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np
from covergenre.data import CoverSet
from covergenre.embed import embed, Embeddings
from covergenre.classify import KNNClassifier, LinearProbe, KernelSVC, cross_validate, evaluate

BACKBONES = ('tf_efficientnet_lite0', 'tf_efficientnet_lite1', 'tf_efficientnet_lite2')
STYLE = dict(backbone='tf_efficientnet_lite2', image_size=320, crop_pct=1.0, features='style')
COLS = ('k-NN', 'probe', 'SVM C=3 g=0.8', 'SVM nested CV')

def majority(emb:Embeddings) -> dict:
    "Micro/macro F1 of always predicting the most common genre."
    y = np.asarray(emb.genres, dtype=object); vals,counts = np.unique(y, return_counts=True)
    return evaluate(y, np.full(len(y), vals[counts.argmax()], dtype=object), labels=vals)

def main(data):
    covers = CoverSet.from_path(data)
    print(f'{data}: {len(covers)} covers, {len(covers.classes)} genres; {os.cpu_count()} CPUs; '
          f'5-fold StratifiedGroupKFold over `group`, pooled out-of-fold F1')
    rows,results = [],{}
    def score(name, emb, methods):
        for m,clf in methods:
            t = time.perf_counter(); r = cross_validate(clf, emb); results[(name, m)] = r
            print(f'  {name} {m}: {r["micro_f1"]:.3f} / {r["macro_f1"]:.3f} ({time.perf_counter()-t:.0f} s)', file=sys.stderr)
        rows.append((name, emb.X.shape[1], {m: results[(name, m)] for m,_ in methods}, majority(emb)))
    base = [('k-NN', KNNClassifier(10, 'similarity')), ('probe', LinearProbe(C=0.01))]
    for bb in BACKBONES:
        t = time.perf_counter(); emb = embed(covers, backbone=bb, progress=False)
        print(f'  embedded {bb} ({emb.n_computed} computed) in {time.perf_counter()-t:.0f} s', file=sys.stderr)
        score(bb.replace('tf_efficientnet_', ''), emb, base)
    t = time.perf_counter(); semb = embed(covers, **STYLE, progress=False)
    print(f'  style features: {semb.X.shape[1]} numbers in {len(semb.blocks)} blocks ({semb.n_computed} computed) '
          f'in {time.perf_counter()-t:.0f} s', file=sys.stderr)
    best = f"lite2 style@{STYLE['image_size']}"
    blocks = tuple(semb.blocks)
    score(best, semb, base + [(COLS[2], KernelSVC(blocks, C=3, gamma=0.8)),
                              (COLS[3], KernelSVC(blocks, C='auto', gamma='auto'))])

    print(f'\n{"features":<18}{"dim":>6} | ' + ' | '.join(f'{c + " micro/macro":>25}' for c in COLS)
          + f' | {"majority micro/macro":>20}')
    for name,dim,rs,maj in rows:
        cells = [f'{rs[c]["micro_f1"]:.3f} / {rs[c]["macro_f1"]:.3f}' if c in rs else '-' for c in COLS]
        print(f'{name:<18}{dim:>6} | ' + ' | '.join(f'{c:>25}' for c in cells) + f' | {maj["micro_f1"]:>11.3f} / {maj["macro_f1"]:.3f}')
    br = results[(best, COLS[3])]
    print(f'\nbest (honest): {best} + KernelSVC, C and gamma by inner grouped CV: micro-F1 {br["micro_f1"]:.3f}, '
          f'macro-F1 {br["macro_f1"]:.3f} ({br["n"]} covers)')
    print(f'{"genre":<10}{"support":>8}{"precision":>10}{"recall":>8}{"F1":>7}')
    for g,c in br['per_class'].items():
        print(f'{g:<10}{c["support"]:>8}{c["precision"]:>10.3f}{c["recall"]:>8.3f}{c["f1"]:>7.3f}')

if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]/'..'/'shared'/'data'/'covers8-dev'/'labels.csv')
