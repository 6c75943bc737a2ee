"""The default model (`StackFusion`: kernel SVM on Lite2@320 style features + text probe + n-gram probe) before and
after the temperature block and the decision offsets (issue 18), on covers8-dev, in the same run.

- old: `StackFusion(..., svm_view='proba', offsets=False)`, what `train_model(method='fusion')` built first;
- before: `svm_view='both'` (the SVM's summed pairwise decisions over a fitted temperature as a second block) and
  `offsets=True` (per-genre offsets on the combined log-probabilities, chosen for macro-F1 on the combiner's own
  out-of-fold predictions), the default until the next row was measured better on micro-F1;
- default: `svm_view='decisions'` (the temperature block alone, without the SVM's probabilities) and
  `meta_C='auto'` (the combiner's C chosen from `META_C_GRID` by the log loss of its out-of-fold predictions on the
  training fold), no offsets: `StackFusion`'s defaults now;
- the others: each addition alone or together, to see what it brings.
Every variant names all three settings, so the rows mean the same whatever the defaults are.

Protocol as the README's fusion row (`benchmarks/bench_text.py`): 5-fold `StratifiedGroupKFold` over the `group`
column (`grouped_folds`, seed 0); each cover predicted once by the model fitted on the four other folds; all
choices (C and gamma of the SVM, the combiner, the temperature, the offsets) made inside the training fold, so the
score is nested. Prints micro-F1, macro-F1, per-genre F1, the least genre F1 and the confusion matrices of every
variant, a paired bootstrap over groups of each variant's difference to the current default (and of the default's to
the old model), and the time of `fit` on all covers for each (unless `--no-full-fit`).
Text features come from the OCR cache (read with the library's `TextFeaturizer`).

    flock /tmp/cpu.lock python benchmarks/bench_fusion_default.py [LABELS_CSV] [--json FILE]
"""
import argparse, hashlib, json, os, sys, time, warnings
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np

p = argparse.ArgumentParser()
p.add_argument('data', nargs='?', default=str(Path(__file__).resolve().parents[1]/'..'/'shared'/'data'/'covers8-dev'/'labels.csv'))
p.add_argument('--json', help='also write every figure to this JSON file')
p.add_argument('--no-full-fit', action='store_true', help='skip timing the fit on all covers')
args = p.parse_args()

from covergenre.data import CoverSet
from covergenre.store import default_cache_dir
from covergenre.embed import embed
from covergenre.textfeatures import TextFeaturizer
from covergenre.classify import StackFusion, evaluate, grouped_folds

def say(*a): print(*a, flush=True)
T0 = time.perf_counter(); load_before = os.getloadavg()
if not Path(args.data).exists(): sys.exit(f'no such labels file: {args.data}')
covers = CoverSet.from_path(args.data)
t = time.perf_counter()
S = embed(covers, backbone='tf_efficientnet_lite2', image_size=320, crop_pct=1.0, features='style', progress=False)
say(f'{len(S.X)} covers, style features {S.X.shape} ({S.n_computed} computed, {time.perf_counter() - t:.0f} s); '
    f'{os.cpu_count()} CPUs, load {load_before[0]:.2f}')
tf = TextFeaturizer(n_threads=2)
t = time.perf_counter()
tfile = default_cache_dir()/'bench-screen'/f'text-{hashlib.sha256(json.dumps([S.sha256, tf.config()]).encode()).hexdigest()[:12]}.npz'
cached = tfile.exists()
if cached:  # the same features `bench_screen.py` computed (keyed by the covers and the featurizer's config)
    with np.load(tfile) as z: TX = z['T']
else:
    TX,errs = tf(S.paths)
    if errs: say(f'{len(errs)} covers without text features: {errs[:3]}')
nd = tf.ngram_dim
say(f'text features {TX.shape} (last {nd} n-gram counts) in {time.perf_counter() - t:.0f} s, ' + (f'from {tfile}' if cached else f'read now, config {tf.config()}'))
X = np.hstack([S.X, TX]).astype(np.float32)
y,groups = np.asarray(S.genres, dtype=object),np.asarray(S.groups, dtype=object)
classes = np.unique(y); yi = np.searchsorted(classes, y)
folds = grouped_folds(y, groups, n_splits=5, seed=0)
blocks = tuple(int(b) for b in S.blocks)
VARIANTS = {'old (svm_view=proba, offsets=False)': dict(svm_view='proba', meta_C=0.03, offsets=False),
            'before (svm_view=both, offsets=True)': dict(svm_view='both', meta_C=0.03, offsets=True),
            'svm_view=both, offsets=False': dict(svm_view='both', meta_C=0.03, offsets=False),  # the temperature block beside the probabilities, to see what each addition brings
            'default (svm_view=decisions, meta_C=auto, offsets=False)': dict(svm_view='decisions', meta_C='auto', offsets=False),
            'svm_view=decisions, meta_C=auto, offsets=True': dict(svm_view='decisions', meta_C='auto', offsets=True),
            'svm_view=both, meta_C=auto, offsets=True': dict(svm_view='both', meta_C='auto', offsets=True)}
def make(kw): return StackFusion(S.X.shape[1], C=0.01, text_C=0.003, image_blocks=blocks, ngram_dim=nd, **kw)  # as `fusion_classifier` builds it
say(f'StackFusion defaults: {dict((k, v) for k,v in make({}).get_params().items() if k in ("svm_view", "offsets", "meta_C"))}')

pred = {n: np.zeros(len(y), int) for n in VARIANTS}; fit_s = {n: [] for n in VARIANTS}; fitted = {n: [] for n in VARIANTS}
for k,(tr,te) in enumerate(folds):
    for n,kw in VARIANTS.items():
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            m = make(kw).fit(X[tr], y[tr], groups=groups[tr])
        fit_s[n].append(time.perf_counter() - t)
        P = m.predict_proba(X[te]); assert list(m.classes_) == list(classes)
        pred[n][te] = P.argmax(1)
        fitted[n].append(dict(C=m.members_[0].C_, gamma=m.members_[0].gamma_, temperature=m.temperature_, meta_C=m.meta_C_,
                              offsets=None if m.offsets_ is None else [round(float(v), 2) for v in m.offsets_]))
        say(f'  fold {k} {n}: fit {fit_s[n][-1]:.0f} s, {fitted[n][-1]}, fold accuracy {(pred[n][te] == yi[te]).mean():.3f}')

RES = {}
for n in VARIANTS:
    r = evaluate(y, classes[pred[n]], labels=classes)
    f1 = {g: r['per_class'][g]['f1'] for g in classes}
    RES[n] = dict(micro_f1=r['micro_f1'], macro_f1=r['macro_f1'], min_f1=min(f1.values()), per_class=r['per_class'], confusion=r['confusion'],
                  fit_s_per_fold=fit_s[n], fitted=fitted[n], pred=pred[n].tolist())
    say(f'{n:<48} micro-F1 {r["micro_f1"]:.3f}  macro-F1 {r["macro_f1"]:.3f}  min genre F1 {min(f1.values()):.3f}  '
        f'(mean fit {np.mean(fit_s[n]):.0f} s per fold)')
old,new = list(VARIANTS)[:2]
say('\nper-genre F1 (n covers) of each variant, in the order above (v0 = old, v1 = the default before, v2... as listed):')
say(f'  {"genre":<10} {"n":>5} ' + ' '.join(f'{"v" + str(i):>6}' for i in range(len(VARIANTS))))
for g in classes:
    say(f'  {g:<10} {RES[old]["per_class"][g]["support"]:>5} ' + ' '.join(f'{RES[n]["per_class"][g]["f1"]:>6.3f}' for n in VARIANTS))
say(f'  {"micro":<10} {"":>5} ' + ' '.join(f'{RES[n]["micro_f1"]:>6.3f}' for n in VARIANTS))
say(f'  {"macro":<10} {"":>5} ' + ' '.join(f'{RES[n]["macro_f1"]:>6.3f}' for n in VARIANTS))
say('  precision / recall of the default before: ' + ', '.join(f'{g} {RES[new]["per_class"][g]["precision"]:.3f}/{RES[new]["per_class"][g]["recall"]:.3f}' for g in classes))
for n in VARIANTS:
    if 'meta_C=auto' in n: say(f'  {n}: meta C chosen per fold {[f["meta_C"] for f in fitted[n]]}')
for n in VARIANTS:
    say(f'\nconfusion, {n} (rows true, columns predicted): ' + ' '.join(g[:7] for g in classes))
    for g,row in zip(classes, RES[n]['confusion']): say(f'  {g:<10} ' + ' '.join(f'{v:5d}' for v in row))

# paired bootstrap over groups: how far the change is from noise
from covergenre.classify.fusion import _macro_f1
ug,ginv = np.unique(groups.astype(str), return_inverse=True); rng = np.random.default_rng(0)
members = [np.flatnonzero(ginv == i) for i in range(len(ug))]
draws = [np.concatenate([members[i] for i in rng.integers(0, len(ug), len(ug))]) for _ in range(300)]
def paired(a, b) -> dict:
    "Micro and macro-F1 of variant `a` minus `b`, with a 90% interval over the bootstrap draws of groups."
    d = [[(pred[a][rows] == yi[rows]).mean() - (pred[b][rows] == yi[rows]).mean(),
          _macro_f1(pred[a][rows], yi[rows], len(classes)) - _macro_f1(pred[b][rows], yi[rows], len(classes))] for rows in draws]
    lo,hi = np.percentile(d, 5, 0),np.percentile(d, 95, 0)
    return dict(micro=[RES[a]['micro_f1'] - RES[b]['micro_f1'], lo[0], hi[0]], macro=[RES[a]['macro_f1'] - RES[b]['macro_f1'], lo[1], hi[1]])
say(f'\ndifferences with a 90% interval (paired bootstrap over {len(ug)} groups, 300 draws):')
gain = paired(new, old); gains_vs_new = {}
say(f'  {"before - old":<60} micro {gain["micro"][0]:+.3f} [{gain["micro"][1]:+.3f}, {gain["micro"][2]:+.3f}], '
    f'macro {gain["macro"][0]:+.3f} [{gain["macro"][1]:+.3f}, {gain["macro"][2]:+.3f}]')
for n in list(VARIANTS)[2:]:
    r = gains_vs_new[n] = paired(n, new)
    say(f'  {(n + " - before"):<60} micro {r["micro"][0]:+.3f} [{r["micro"][1]:+.3f}, {r["micro"][2]:+.3f}], '
        f'macro {r["macro"][0]:+.3f} [{r["macro"][1]:+.3f}, {r["macro"][2]:+.3f}]')

full = {}
if not args.no_full_fit:
    say(f'\nfit on all {len(y)} covers:')
    for n,kw in VARIANTS.items():
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            m = make(kw).fit(X, y, groups=groups)
        full[n] = dict(seconds=time.perf_counter() - t, temperature=m.temperature_, offsets=None if m.offsets_ is None else m.offsets_.tolist())
        t = time.perf_counter(); m.predict_proba(X[:1]); one = time.perf_counter() - t
        full[n]['predict_one_s'] = one
        full[n]['meta_C'] = m.meta_C_
        say(f'  {n:<48} fit {full[n]["seconds"]:.1f} s (load {os.getloadavg()[0]:.2f}); predict one cover {1000*one:.0f} ms; '
            f'temperature {m.temperature_}, meta C {m.meta_C_}, offsets {full[n]["offsets"]}')
    say(f'  before/old fit time: {full[new]["seconds"]/full[old]["seconds"]:.2f}x')
load_after = os.getloadavg()
say(f'\ntotal {time.perf_counter() - T0:.0f} s; load before {load_before[0]:.2f}, after {load_after[0]:.2f}')
if args.json:
    Path(args.json).write_text(json.dumps(dict(data=str(args.data), n=len(y), classes=list(classes), load_before=load_before, load_after=load_after,
                                               results=RES, gain_new_minus_old=gain, gain_minus_new=gains_vs_new, full_fit=full), indent=1, default=float))
