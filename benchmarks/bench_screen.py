"""Screening of accuracy variants for small genres (issue 18) on covers8-dev, with the library's public classifiers.

Protocol (fixed): 5-fold `StratifiedGroupKFold` over the `group` column (`grouped_folds`, seed 0); every cover is
predicted once, by the model fitted on the four other folds; micro-F1, macro-F1, per-genre F1 and the confusion
matrix of the pooled out-of-fold predictions (`evaluate`). Anything chosen on data (C and gamma of the SVM, the
temperature of its probabilities, the decision offsets, the combining regression) is chosen on the outer training
fold only: on inner out-of-fold predictions of that fold (grouped folds of the training covers, as `StackFusion`
makes them: up to 4 folds, seed 0, the SVM's C and gamma fixed to the ones chosen on the whole training fold).

Each *member* (a classifier on one part of the features) is run once per outer fold: fitted on the training fold,
it predicts the test fold, and its inner out-of-fold predictions on the training fold are kept. Variants are then
cheap combinations of these, all nested:
- image only: `KernelSVC` on Lite2@320 style features (whole cover) as `svm_classifier` makes it (C, gamma 'auto'),
  with `class_weight` None / 'balanced' / sqrt-balanced (weights ~ 1/sqrt(share)); its probabilities as the
  library maps them (softmax of votes + squashed confidence) or as a softmax of the summed pairwise decisions
  with a temperature fitted (log loss) on the inner predictions; then argmax, a prior correction
  (`-a*log prior`, a chosen on the inner predictions for macro-F1) or free per-genre additive offsets on the
  log-probabilities (coordinate ascent on the inner predictions, for macro-F1);
- the k-NN vote (`KNNClassifier`, k=10, similarity weights) on the pooled block of the same features, alone and
  stacked with the SVM (a logistic regression on the members' log-probabilities, as `StackFusion` combines);
- fusion: the stack of SVM + text probe (`ScaledProbe`, C=0.003) + n-gram probe (`NgramProbe`, C=1), as
  `fusion_classifier` makes it, with class weights in the members and in the combiner, the k-NN as a 4th member,
  and the decision offsets (chosen on the combiner's own inner out-of-fold predictions).

Round 3 (`--members`; `--members-only` skips the rows of rounds 1 and 2): new members beside the default stack
(`StackFusion`'s defaults: the SVM as its summed decisions over a fitted temperature, text probe, n-gram probe,
the combiner's C chosen on inner folds), each swapped in or added: n-grams of every cached OCR fragment (confidence
>= 0.3, not only >= 0.6), n-grams of the low-confidence fragments alone as a 4th member, the n-gram probe's C (0.3,
3), a kernel SVM on the sentence embedding, a kernel SVM on Lite1@288 style features, all of these together (with
and without offsets), a combiner with its own weights for covers with text, and gradient-boosted trees as the
combiner. The gains are against the default stack's row.

Round 4 (`--ft-proba FILE`): the fine-tuned last stages of `bench_partial_finetune.py` (its test probabilities on
all five folds) as a stack member. Its inner out-of-fold predictions would cost four more trainings per fold, so
this round is cross-fitted: the combiner of fold k is fitted on the outer out-of-fold rows of the other folds (its
C chosen on them), for the stacks with and without the network alike, and the gain is between those two.

Member results are cached in `default_cache_dir()/bench-screen/` (keyed by the covers, folds, member, its
classes' code and its input features), so a rerun only recombines. Text features need the OCR cache of every cover (read with the
library's `TextFeaturizer`); `--image-only` skips them.

    flock /tmp/cpu.lock python benchmarks/bench_screen.py [LABELS_CSV] [--image-only] [--members] [--ft-proba FILE] [--members-only] [--json FILE]
"""
import argparse, hashlib, inspect, json, os, sys, time, warnings
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np

p = argparse.ArgumentParser()
p.add_argument('data', nargs='?', default=str(Path(__file__).resolve().parents[1]/'..'/'shared'/'data'/'covers8-dev'/'labels.csv'))
p.add_argument('--image-only', action='store_true', help='skip the text members and the fusion rows')
p.add_argument('--tta', action='store_true', help='also screen flip-TTA style features (one more embedding pass if not cached)')
p.add_argument('--json', help='also write every figure to this JSON file')
p.add_argument('--text-npz', help='text features (array T) written by an earlier run of this script, instead of reading the covers now (the OCR cache of another OCR version)')
p.add_argument('--old-key', help='also screen the SVM on style vectors of another embedding cache folder (e.g. the features of an earlier release)')
p.add_argument('--members', action='store_true', help='round 3: new stack members beside the default stack (low-confidence OCR n-grams, a kernel SVM on the sentence embedding, the n-gram probe\'s C, Lite1 style features)')
p.add_argument('--ft-proba', help="round 4: test probabilities of a fine-tuned network on all 5 folds (`bench_partial_finetune.py --folds 0,1,2,3,4 --proba-out FILE`), as a member of a cross-fitted stack")
p.add_argument('--members-only', action='store_true', help='skip the rows of rounds 1 and 2 (their members are still loaded): only rounds 3 (--members) and 4 (--ft-proba)')
args = p.parse_args()

from covergenre.data import CoverSet
from covergenre.store import default_cache_dir
from covergenre.embed import embed
from covergenre.classify import KernelSVC, KNNClassifier, ScaledProbe, NgramProbe, evaluate, grouped_folds, groups_per_class
from covergenre.classify.fusion import fit_temperature, fit_offsets  # what `StackFusion` fits: the temperature of the SVM's summed decisions, the offsets

def say(*a): print(*a, flush=True)
T0 = time.perf_counter(); load_before = os.getloadavg()
if not Path(args.data).exists(): sys.exit(f'no such labels file: {args.data}')
covers = CoverSet.from_path(args.data)
STYLE = dict(backbone='tf_efficientnet_lite2', image_size=320, crop_pct=1.0, features='style')
t = time.perf_counter(); S = embed(covers, **STYLE, progress=False)
say(f'{len(S.X)} covers, style features {S.X.shape[1]} in {len(S.blocks)} blocks ({S.n_computed} computed, {time.perf_counter() - t:.0f} s); '
    f'{os.cpu_count()} CPUs, load {load_before[0]:.2f}')
y,groups = np.asarray(S.genres, dtype=object),np.asarray(S.groups, dtype=object)
classes = np.unique(y); nc = len(classes); yi = np.searchsorted(classes, y)
blocks = tuple(int(b) for b in S.blocks); pooled = S.X[:, S.X.shape[1] - blocks[-1]:]
folds = grouped_folds(y, groups, n_splits=5, seed=0)
store = default_cache_dir()/'bench-screen'; store.mkdir(parents=True, exist_ok=True)
data_key = hashlib.sha256(json.dumps([S.sha256, S.backbone, S.preprocessing, [te.tolist() for _,te in folds]]).encode()).hexdigest()[:12]

# ---------------------------------------------------------------- members
class SqrtKernelSVC(KernelSVC):
    "`KernelSVC` whose class weights are sqrt-balanced: n/(k*count)**0.5 (class_weight='sqrt')."
    def fit(self, X, y, groups=None):
        v,c = np.unique(np.asarray(y), return_counts=True)
        self.sqrt_w_ = {a: float(np.sqrt(len(y)/(len(v)*b))) for a,b in zip(v, c)}
        return super().fit(X, y, groups=groups)
    def _svc(self, C):
        from sklearn.svm import SVC
        return SVC(C=C, kernel='precomputed', class_weight=self.sqrt_w_ if self.class_weight == 'sqrt' else self.class_weight)

def _code(m) -> str:
    "Source of the member's classes (the cache is invalid when the library's classifier code changes)."
    return ''.join(inspect.getsource(c) for c in type(m).__mro__ if c.__module__.startswith(('covergenre', '__main__')) and c.__module__ != 'builtins')

def _fixed(m):
    "An unfitted copy of fitted `m` with its data-chosen settings fixed (for the inner folds)."
    from sklearn.base import clone
    c = clone(m)
    if isinstance(m, KernelSVC): c.set_params(C=m.C_, gamma=m.gamma_)
    if isinstance(m, KNNClassifier): c.set_params(k=m.k_)
    return c

def _raw(m, X) -> np.ndarray:
    "What is kept of a prediction: libsvm's pairwise decision values for a `KernelSVC`, else the probabilities."
    assert list(m.classes_) == list(classes), m.classes_
    return m._pairwise(X) if isinstance(m, KernelSVC) else m.predict_proba(X)

def member(name:str, make, Xm) -> dict:
    "Per outer fold: raw predictions on the test fold (fitted on the training fold) and inner out-of-fold raw predictions on the training fold."
    key = hashlib.sha256((data_key + repr(make()) + _code(make()) + str(Xm.shape)).encode() + np.ascontiguousarray(Xm).tobytes()).hexdigest()[:12]  # the member's input values too (text features change with the OCR and the featurizer)
    f = store/f'{name}-{key}.npz'
    if f.exists():
        with np.load(f, allow_pickle=True) as z: return dict(test=list(z['test']), inner=list(z['inner']), s=float(z['s']), info=z['info'].item())
    t = time.perf_counter(); test,inner,info = [],[],[]
    for k,(tr,te) in enumerate(folds):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            m = make().fit(Xm[tr], y[tr], groups=groups[tr])
            test.append(_raw(m, Xm[te]))
            ytr,gtr = y[tr],groups[tr]
            n_splits = min(4, min(len(set(v)) for v in groups_per_class(ytr, gtr)))
            R = None
            for itr,ite in grouped_folds(ytr, gtr, n_splits):
                mi = _fixed(m).fit(Xm[tr][itr], ytr[itr], groups=gtr[itr])
                r = _raw(mi, Xm[tr][ite])
                if R is None: R = np.zeros((len(tr), r.shape[1]))
                R[ite] = r
            inner.append(R)
        info.append({'C': getattr(m, 'C_', None), 'gamma': getattr(m, 'gamma_', None), 'k': getattr(m, 'k_', None)})
        say(f'    {name} fold {k}: {time.perf_counter() - t:.0f} s {info[-1]}')
    s = time.perf_counter() - t
    tmp = f.with_name(f'.{f.name}.{os.getpid()}.tmp')
    with open(tmp, 'wb') as fh:
        np.savez(fh, test=np.array(test, dtype=object), inner=np.array(inner, dtype=object), s=s, info=np.array({'folds': info}, dtype=object))
    os.replace(tmp, f)
    return dict(test=test, inner=inner, s=s, info={'folds': info})

# ---------------------------------------------------------------- mappings and decision rules
def ovo_parts(D):
    "Votes and summed signed pairwise decisions per class from libsvm's pairwise decision values."
    votes,conf,q = np.zeros((len(D), nc)),np.zeros((len(D), nc)),0
    for i in range(nc):
        for j in range(i + 1, nc):
            d = D[:, q]; votes[:, i] += d >= 0; votes[:, j] += d < 0; conf[:, i] += d; conf[:, j] -= d; q += 1
    return votes,conf

def log_softmax(Z):
    Z = Z - Z.max(1, keepdims=True); return Z - np.log(np.exp(Z).sum(1, keepdims=True))

def lib_logp(D):
    "log of `KernelSVC.predict_proba`: softmax of votes + conf/(3(|conf|+1))."
    v,c = ovo_parts(D); return log_softmax(v + c/(3*(np.abs(c) + 1)))

def macro_f1(pred, yi_) -> float:
    cm = np.bincount(yi_*nc + pred, minlength=nc*nc).reshape(nc, nc)
    tp = np.diag(cm); d = cm.sum(0) + cm.sum(1)
    return float(np.mean(np.where(d > 0, 2*tp/np.maximum(d, 1), 0)))

def fit_prior(L, yi_, prior, grid=(0, 0.25, 0.5, 0.75, 1, 1.5, 2)) -> float:
    "The a in `grid` whose prior correction L - a*log(prior) has the best macro-F1."
    sc = {a: macro_f1((L - a*np.log(prior)).argmax(1), yi_) for a in grid}
    return max(sc, key=sc.get)

# ---------------------------------------------------------------- variants
RES = {}
META_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
def report(name, pred, secs, note=''):
    r = evaluate(y, classes[pred], labels=classes)
    f1 = {g: r['per_class'][g]['f1'] for g in classes}
    RES[name] = dict(micro_f1=r['micro_f1'], macro_f1=r['macro_f1'], min_f1=min(f1.values()), per_class_f1=f1,
                     confusion=r['confusion'], seconds=secs, note=note, pred=pred.tolist())
    say(f'{name:<58} micro {r["micro_f1"]:.3f}  macro {r["macro_f1"]:.3f}  min {min(f1.values()):.3f}  '
        f'Reggae {f1.get("Reggae", float("nan")):.3f}  ({secs:.0f} s) {note}')

def logp_of(mem, kind, k, which):
    "Log-probabilities of a member in fold k ('test' or 'inner'), mapped by `kind`: 'lib', 'temp' (SVM) or 'proba'."
    R = mem[which][k]
    if kind == 'proba': return np.log(np.clip(R, 1e-6, 1))
    if kind == 'lib': return lib_logp(R)
    _,c_in = ovo_parts(mem['inner'][k]); T = fit_temperature(c_in, yi[folds[k][0]])
    return log_softmax(ovo_parts(R)[1]/T)

class _HGB:
    "A gradient-boosted trees combiner with fixed settings, with LogisticRegression's interface as `decide` uses it."
    def __init__(self, max_iter=10000, **kw): self.kw = kw
    def fit(self, X, y):
        from sklearn.ensemble import HistGradientBoostingClassifier
        self.m = HistGradientBoostingClassifier(learning_rate=0.05, max_iter=200, max_leaf_nodes=8, min_samples_leaf=20, l2_regularization=1.0,
                                                early_stopping=False, random_state=0).fit(X, y)
        return self
    def predict_proba(self, X): return self.m.predict_proba(X)

def decide(name, mems, kinds, rule='argmax', meta=None, secs=0.0, note='', gate=None):
    """Out-of-fold predictions of members `mems` (mapped by `kinds`): one member, or a logistic regression
    (`meta`: dict of LogisticRegression settings; `model='hgb'`: gradient-boosted trees instead) on their log-probabilities;
    then `rule`: argmax, prior, offsets. `gate` (n,) 0/1: the combiner also gets the log-probabilities times `gate`
    (its own weights for the covers where it is 1)."""
    from sklearn.linear_model import LogisticRegression as _LR
    pred = np.zeros(len(y), int); extra,extra_c = [],[]
    LogisticRegression = _HGB if (meta or {}).get('model') == 'hgb' else _LR
    if meta: meta = {k: v for k,v in meta.items() if k != 'model'}
    for k,(tr,te) in enumerate(folds):
        Lte = np.hstack([logp_of(m, kd, k, 'test') for m,kd in zip(mems, kinds)])
        Ltr = np.hstack([logp_of(m, kd, k, 'inner') for m,kd in zip(mems, kinds)])
        if gate is not None: Lte,Ltr = np.hstack([Lte, Lte*gate[te, None]]),np.hstack([Ltr, Ltr*gate[tr, None]])
        if meta is not None:
            ytr,gtr = y[tr],groups[tr]
            inner = grouped_folds(ytr, gtr, min(4, min(len(set(v)) for v in groups_per_class(ytr, gtr))))
            def meta_oof(kw):  # the combiner's own out-of-fold log-probabilities on the training fold
                P = np.zeros((len(tr), nc))
                for itr,ite in inner: P[ite] = np.log(np.clip(LogisticRegression(max_iter=10000, **kw).fit(Ltr[itr], ytr[itr]).predict_proba(Ltr[ite]), 1e-12, 1))
                return P
            kw = dict(meta)
            if kw.get('C') == 'auto':  # C of the combiner by the log loss of its inner out-of-fold predictions
                losses = {C: -meta_oof({**kw, 'C': C})[np.arange(len(tr)), yi[tr]].mean() for C in META_GRID}
                kw['C'] = min(losses, key=losses.get); extra_c.append(kw['C'])
            lr = LogisticRegression(max_iter=10000, **kw).fit(Ltr, ytr)
            Pte = np.log(np.clip(lr.predict_proba(Lte), 1e-12, 1))
            Ptr = meta_oof(kw) if rule != 'argmax' else None
        else: Pte,Ptr = Lte,Ltr
        if rule == 'argmax': b = np.zeros(nc)
        elif rule == 'prior':
            prior = np.bincount(yi[tr], minlength=nc)/len(tr); a = fit_prior(Ptr, yi[tr], prior); b = -a*np.log(prior); extra.append(a)
        elif rule == 'offsets': b = fit_offsets(Ptr, yi[tr]); extra.append(np.round(b, 1).tolist())
        pred[te] = (Pte + b).argmax(1)
    report(name, pred, secs, note + (f' chosen: {extra}' if extra and rule == 'prior' else '') + (f' meta C: {extra_c}' if extra_c else ''))
    if rule == 'offsets': RES[name]['offsets'] = extra
    if rule == 'prior': RES[name]['prior_a'] = extra

def rounds_1_2():
    "The fusion rows of rounds 1 and 2."
    def fuse(img, kind, text='text', ngram='ngram', knn=False, cw=None, rule='argmax', C=0.03, both=False):
        mems = [M[img], M[text], M[ngram]] + ([M['knn']] if knn else []) + ([M[img]] if both else [])
        decide(f'stack {img}[{kind}{"+temp" if both else ""}]+{text}+{ngram}' + ('+knn' if knn else '') + f', meta cw={cw}' + (f' C={C}' if C != 0.03 else '')
               + (f', {rule}' if rule != 'argmax' else ''),
               mems, [kind, 'proba', 'proba'] + (['proba'] if knn else []) + (['temp'] if both else []), rule, meta=dict(C=C, class_weight=cw),
               secs=sum(m['s'] for m in mems[:len(mems) - both]))
    fuse('svm', 'lib')  # = fusion_classifier's StackFusion today
    for img in mk_svm:
        for kind in ('lib', 'temp'):
            for cw in (None, 'balanced'): fuse(img, kind, cw=cw)
    fuse('svm', 'lib', 'text-bal', 'ngram', cw='balanced')
    fuse('svm', 'lib', 'text', 'ngram-none'); fuse('svm', 'lib', 'text', 'ngram-none', cw='balanced')
    for cw in (None, 'balanced'): fuse('svm', 'lib', knn=True, cw=cw); fuse('svm', 'temp', knn=True, cw=cw)
    for img in ('svm', 'svm-bal'):
        fuse(img, 'lib', rule='offsets'); fuse(img, 'lib', rule='prior')
    fuse('svm', 'lib', knn=True, rule='offsets'); fuse('svm', 'lib', knn=True, cw='balanced', rule='offsets')
    for n in EXTRA:
        fuse(n, 'lib'); fuse(n, 'lib', rule='offsets'); fuse(n, 'lib', cw='balanced')
    say('  round 2: the combiner\'s C, both SVM mappings, the temperature mapping with a decision rule')
    for kind in ('lib', 'temp'):
        for C in (0.003, 0.01, 0.1, 0.3, 1.0): fuse('svm', kind, C=C)
        fuse('svm', kind, C='auto')
    fuse('svm', 'lib', both=True); fuse('svm', 'lib', both=True, C='auto'); fuse('svm', 'lib', both=True, rule='offsets')
    for rule in ('offsets', 'prior'): fuse('svm', 'temp', rule=rule)
    fuse('svm', 'lib', C='auto', rule='offsets'); fuse('svm-bal', 'lib', C='auto', rule='offsets')
    if 'svm-tta' in M:
        fuse('svm-tta', 'temp'); fuse('svm-tta', 'lib', C='auto'); fuse('svm-tta', 'lib', both=True); fuse('svm-tta', 'lib', both=True, rule='offsets')

say('\n--- members (each: 5 outer fits + inner out-of-fold fits; cached) ---')
mk_svm = {'svm': lambda: KernelSVC(blocks, 'auto', 'auto'),
          'svm-bal': lambda: KernelSVC(blocks, 'auto', 'auto', class_weight='balanced'),
          'svm-sqrt': lambda: SqrtKernelSVC(blocks, 'auto', 'auto', class_weight='sqrt')}
M = {}
for n,mk in mk_svm.items():
    M[n] = member(n, mk, S.X); say(f'  {n}: {M[n]["s"]:.0f} s; C, gamma per fold {[(d["C"], d["gamma"]) for d in M[n]["info"]["folds"]]}')
M['knn'] = member('knn', lambda: KNNClassifier(10, 'similarity'), pooled); say(f'  knn: {M["knn"]["s"]:.0f} s')
EXTRA = []  # other style features of the same covers: (name, member) screened with the SVM as `svm_classifier` makes it
if args.tta:
    t = time.perf_counter(); St = embed(covers, **STYLE, tta=True, progress=False)
    assert St.paths == S.paths and St.X.shape == S.X.shape
    say(f'  flip-TTA style features ({St.n_computed} computed) in {time.perf_counter() - t:.0f} s')
    M['svm-tta'] = member('svm-tta', mk_svm['svm'], St.X)
    M['svm-sqrt-tta'] = member('svm-sqrt-tta', mk_svm['svm-sqrt'], St.X)
    EXTRA += ['svm-tta', 'svm-sqrt-tta']
    say(f'  svm-tta: {M["svm-tta"]["s"]:.0f} s, svm-sqrt-tta: {M["svm-sqrt-tta"]["s"]:.0f} s')
if args.old_key:
    from covergenre.store import ContentCache
    old = ContentCache(default_cache_dir(), args.old_key, 'vectors').load()
    if not all(h in old for h in S.sha256): sys.exit(f'{args.old_key}: not every cover is in that cache')
    Xo = np.stack([np.asarray(old[h], np.float32) for h in S.sha256])
    say(f'  vectors of cache {args.old_key}: {Xo.shape}, mean |difference| to the current ones {np.abs(Xo - S.X).mean():.4f} '
        f'(covers that differ: {(np.abs(Xo - S.X).max(1) > 1e-3).sum()})')
    M['svm-old'] = member(f'svm-old-{args.old_key}', mk_svm['svm'], Xo); EXTRA.append('svm-old')

# sanity: the mapping 'lib' of the stored pairwise decisions is the library's predict_proba (checked on fold 0)
with warnings.catch_warnings():
    warnings.simplefilter('ignore')
    tr,te = folds[0]; c0 = M['svm']['info']['folds'][0]
    m0 = KernelSVC(blocks, c0['C'], c0['gamma']).fit(S.X[tr], y[tr], groups=groups[tr])
    ok = np.allclose(np.log(np.clip(m0.predict_proba(S.X[te]), 1e-300, 1)), lib_logp(M['svm']['test'][0]), atol=1e-5)
say(f'  check: library predict_proba == stored mapping on fold 0: {ok}')
if not ok: sys.exit('stored SVM decisions do not match the library: delete the bench-screen cache')

# how packed the library's SVM probabilities are
Pl = np.exp(np.vstack([lib_logp(M['svm']['test'][k]) for k in range(5)]))
order = np.concatenate([te for _,te in folds])
say(f'  svm top probability (library mapping): median {np.median(Pl.max(1)):.3f}, 5-95% {np.percentile(Pl.max(1), 5):.3f}-{np.percentile(Pl.max(1), 95):.3f}')
Pt = np.exp(np.vstack([logp_of(M['svm'], 'temp', k, 'test') for k in range(5)]))
say(f'  svm top probability (softmax of summed decisions / T): median {np.median(Pt.max(1)):.3f}, 5-95% {np.percentile(Pt.max(1), 5):.3f}-{np.percentile(Pt.max(1), 95):.3f}')
def nll(P, rows): return float(-np.log(np.clip(P[np.arange(len(rows)), yi[rows]], 1e-12, 1)).mean())
say(f'  svm log loss of the out-of-fold probabilities: library {nll(Pl, order):.3f}, temperature {nll(Pt, order):.3f} (uniform {np.log(nc):.3f})')

say('\n--- image only (nested) ---')
ROWS = not args.members_only
for n in (mk_svm if ROWS else ()):
    s = M[n]['s']
    decide(f'{n} (library probabilities), argmax', [M[n]], ['lib'], secs=s)
    decide(f'{n} (summed decisions / T), argmax', [M[n]], ['temp'], secs=s)
    decide(f'{n} (summed decisions / T), prior correction', [M[n]], ['temp'], 'prior', secs=s)
    decide(f'{n} (library probabilities), offsets', [M[n]], ['lib'], 'offsets', secs=s)
    decide(f'{n} (summed decisions / T), offsets', [M[n]], ['temp'], 'offsets', secs=s)
for n in (EXTRA if ROWS else ()):
    decide(f'{n} (library probabilities), argmax', [M[n]], ['lib'], secs=M[n]['s'])
    decide(f'{n} (library probabilities), offsets', [M[n]], ['lib'], 'offsets', secs=M[n]['s'])
    decide(f'{n} (summed decisions / T), prior correction', [M[n]], ['temp'], 'prior', secs=M[n]['s'])
decide('knn k=10 (pooled block), argmax', [M['knn']], ['proba'], secs=M['knn']['s'])
for n in (mk_svm if ROWS else ()):
    for kind in ('lib', 'temp'):
        for cw in (None, 'balanced'):
            decide(f'stack {n}[{kind}] + knn, meta cw={cw}', [M[n], M['knn']], [kind, 'proba'], meta=dict(C=0.03, class_weight=cw),
                   secs=M[n]['s'] + M['knn']['s'])
    decide(f'stack {n}[temp] + knn, meta cw=None, offsets', [M[n], M['knn']], ['temp', 'proba'], 'offsets', meta=dict(C=0.03),
           secs=M[n]['s'] + M['knn']['s'])

if not args.image_only:
    say('\n--- text members ---')
    from covergenre.textfeatures import TextFeaturizer
    tf = TextFeaturizer(n_threads=2)
    tkey = hashlib.sha256(json.dumps([S.sha256, tf.config()]).encode()).hexdigest()[:12]
    tfile = store/f'text-{tkey}.npz'
    t = time.perf_counter()
    if args.text_npz:
        tfile = Path(args.text_npz); say(f'  text features from {tfile} (an earlier run; its OCR settings, not necessarily {tf.config()["ocr"]})')
    if tfile.exists():
        with np.load(tfile) as z: TX = z['T']
    else:
        TX,errs = tf(S.paths)
        if errs: say(f'  {len(errs)} covers without text: {errs[:3]}')
        with open(tfile.with_name(f'.{tfile.name}.tmp'), 'wb') as fh: np.savez(fh, T=TX)
        os.replace(tfile.with_name(f'.{tfile.name}.tmp'), tfile)
    nd = tf.ngram_dim; Tn,Tt = TX[:, TX.shape[1] - nd:],TX[:, :TX.shape[1] - nd]
    say(f'  text features {Tt.shape}, n-grams {Tn.shape} in {time.perf_counter() - t:.0f} s')
    for n,mk,Xm in [('text', lambda: ScaledProbe(0.003), Tt), ('text-bal', lambda: ScaledProbe(0.003, 'balanced'), Tt),
                    ('ngram', lambda: NgramProbe(1.0), Tn), ('ngram-none', lambda: NgramProbe(1.0, None), Tn)]:
        M[n] = member(n, mk, Xm); say(f'  {n}: {M[n]["s"]:.0f} s')
    say('\n--- fusion: stacks (nested) ---')
    for n in ('text', 'text-bal', 'ngram', 'ngram-none'): decide(f'{n} alone, argmax', [M[n]], ['proba'], secs=M[n]['s'])
    if ROWS: rounds_1_2()

if args.members and not args.image_only:
    say('\n--- round 3: new members beside the default stack (svm[temp] + text + ngram, combiner C chosen) ---')
    from covergenre.ocr import RAW_MIN_CONF, MIN_CONF, read_text
    from covergenre.textfeatures import ngram_counts
    t = time.perf_counter()
    raw = read_text(S.paths, min_conf=RAW_MIN_CONF, size=tf.size, det_size=tf.det_size, progress=False).fragments  # every cached fragment (the cache keeps >= RAW_MIN_CONF)
    def grams(keep): return ngram_counts([' '.join(t_ for _,t_,c in f if keep(c)) for f in raw], tf.ngrams)
    Na,Nl = grams(lambda c: True),grams(lambda c: c < MIN_CONF)
    n_low = sum(any(c < MIN_CONF for *_,c in f) for f in raw)
    say(f'  fragments with confidence >= {RAW_MIN_CONF}: {sum(map(len, raw))} ({sum(c < MIN_CONF for f in raw for *_,c in f)} under {MIN_CONF}, '
        f'on {n_low} covers) read from the OCR cache in {time.perf_counter() - t:.0f} s')
    t = time.perf_counter(); S1 = embed(covers, backbone='tf_efficientnet_lite1', image_size=288, crop_pct=1.0, features='style', progress=False)
    assert S1.paths == S.paths
    say(f'  Lite1@288 style features {S1.X.shape} ({S1.n_computed} computed) in {time.perf_counter() - t:.0f} s')
    for n,mk,Xm in [('ngram-all', lambda: NgramProbe(1.0), Na), ('ngram-low', lambda: NgramProbe(1.0), Nl),
                    ('ngram-C0.3', lambda: NgramProbe(0.3), Tn), ('ngram-C3', lambda: NgramProbe(3.0), Tn),
                    ('text-svm', lambda: KernelSVC((384,), 'auto', 'auto'), Tt[:, :384]),
                    ('svm-lite1', lambda: KernelSVC(tuple(int(b) for b in S1.blocks), 'auto', 'auto'), S1.X)]:
        M[n] = member(n, mk, Xm); say(f'  {n}: {M[n]["s"]:.0f} s {M[n]["info"]["folds"][0]}')
    for n in ('ngram-all', 'ngram-low', 'ngram-C0.3', 'ngram-C3'): decide(f'{n} alone, argmax', [M[n]], ['proba'], secs=M[n]['s'])
    decide('text-svm (summed decisions / T), argmax', [M['text-svm']], ['temp'], secs=M['text-svm']['s'])
    decide('svm-lite1 (summed decisions / T), argmax', [M['svm-lite1']], ['temp'], secs=M['svm-lite1']['s'])
    decide('svm-lite1 (library probabilities), argmax', [M['svm-lite1']], ['lib'], secs=M['svm-lite1']['s'])
    def stack3(name, parts, rule='argmax'):
        "The default stack's members replaced or extended by `parts` [(member, mapping)], combiner C chosen on inner folds."
        decide(name, [M[m] for m,_ in parts], [k for _,k in parts], rule, meta=dict(C='auto'), secs=sum(M[m]['s'] for m,_ in parts))
    base = [('svm', 'temp'), ('text', 'proba'), ('ngram', 'proba')]
    stack3('R3 default: svm[temp]+text+ngram', base)
    stack3('R3 ngram -> ngram-all (n-grams of fragments >= 0.3)', [base[0], base[1], ('ngram-all', 'proba')])
    stack3('R3 + ngram-low (n-grams of fragments < 0.6 as a 4th member)', base + [('ngram-low', 'proba')])
    stack3('R3 ngram -> ngram C=0.3', [base[0], base[1], ('ngram-C0.3', 'proba')])
    stack3('R3 ngram -> ngram C=3', [base[0], base[1], ('ngram-C3', 'proba')])
    stack3('R3 + text-svm (kernel SVM on the sentence embedding)', base + [('text-svm', 'temp')])
    stack3('R3 text -> text-svm', [base[0], ('text-svm', 'temp'), base[2]])
    stack3('R3 + svm-lite1[temp]', base + [('svm-lite1', 'temp')])
    stack3('R3 + svm-lite1[temp] + text-svm + ngram-low', base + [('svm-lite1', 'temp'), ('text-svm', 'temp'), ('ngram-low', 'proba')])
    stack3('R3 + svm-lite1[temp] + text-svm + ngram-low, offsets', base + [('svm-lite1', 'temp'), ('text-svm', 'temp'), ('ngram-low', 'proba')], 'offsets')
    def stack3g(name, parts, gate, model=None):
        decide(name, [M[m] for m,_ in parts], [k for _,k in parts], meta=dict(C='auto') if model is None else dict(model=model),
               secs=sum(M[m]['s'] for m,_ in parts), gate=gate)
    has_text = np.array([len(f) > 0 for f in read_text(S.paths, min_conf=MIN_CONF, size=tf.size, det_size=tf.det_size, progress=False).fragments], float)
    say(f'  covers with text (fragments >= {MIN_CONF}): {int(has_text.sum())} of {len(has_text)}')
    stack3g('R3 default, combiner gated on has-text', base, has_text)
    stack3g('R3 default, combiner = gradient-boosted trees', base, None, 'hgb')
if args.ft_proba and not args.image_only:
    say('\n--- round 4: a fine-tuned network as a stack member, cross-fitted ---')
    from covergenre.classify.fusion import choose_meta_C
    from covergenre.classify.probes import Logistic
    with np.load(args.ft_proba) as z: Pft,sha_ft,cls_ft = z['P'].astype(np.float64),z['sha256'].tolist(),z['classes'].tolist()
    if sha_ft != list(S.sha256) or cls_ft != list(classes): sys.exit(f'{args.ft_proba}: not these covers or genres')
    if not np.isfinite(Pft).all(): sys.exit(f'{args.ft_proba}: not every fold was scored (run bench_partial_finetune.py with --folds 0,1,2,3,4)')
    def oof(mem, kind) -> np.ndarray:
        "Each cover's log-probabilities from its outer fold's member."
        L = np.zeros((len(y), nc))
        for k,(tr,te) in enumerate(folds): L[te] = logp_of(mem, kind, k, 'test')
        return L
    Lsvm,Ltext,Lng,Lft = oof(M['svm'], 'temp'),oof(M['text'], 'proba'),oof(M['ngram'], 'proba'),np.log(np.clip(Pft, 1e-6, 1))
    def crossfit(name, Ls):
        """The combiner fitted on the other folds' out-of-fold rows and scored on each fold (its C chosen on those rows,
        as `StackFusion`'s meta_C='auto'). Second-order leak, the same for every row of this round: the members that
        made the combiner's training rows were fitted on folds that include the scored one."""
        F = np.hstack(Ls); pred = np.zeros(len(y), int); Cs = []
        for k,(tr,te) in enumerate(folds):
            C,_ = choose_meta_C(F[tr], y[tr], grouped_folds(y[tr], groups[tr], 4)); Cs.append(C)
            pred[te] = Logistic.fit(F[tr], y[tr], C=C, max_iter=10000).predict_proba(F[te]).argmax(1)
        report(name, pred, 0.0, f'meta C: {Cs}')
    report('R4 fine-tuned stages alone, argmax', Lft.argmax(1), 0.0)
    report('R4 svm[temp] alone, argmax', Lsvm.argmax(1), 0.0)
    crossfit('R4 cross-fitted image: svm[temp]', [Lsvm])
    crossfit('R4 cross-fitted image: svm[temp] + fine-tuned', [Lsvm, Lft])
    crossfit('R4 cross-fitted: svm[temp]+text+ngram', [Lsvm, Ltext, Lng])
    crossfit('R4 cross-fitted: svm[temp]+text+ngram + fine-tuned', [Lsvm, Ltext, Lng, Lft])

load_after = os.getloadavg()
say(f'\ntotal {time.perf_counter() - T0:.0f} s; load before {load_before[0]:.2f}, after {load_after[0]:.2f}')
say('\nper-genre F1 of every variant: ' + ' '.join(f'{g[:7]:>7}' for g in classes))
for n,r in RES.items(): say(f'  {n[:56]:<56} ' + ' '.join(f'{r["per_class_f1"][g]:>7.3f}' for g in classes))
# paired bootstrap over groups: how far a variant's gain over the baseline is from noise
ug,ginv = np.unique(groups.astype(str), return_inverse=True); rng = np.random.default_rng(0)
draws = [np.concatenate([np.flatnonzero(ginv == g) for g in rng.integers(0, len(ug), len(ug))]) for _ in range(300)]
def _f1s(pred, rows): return (pred[rows] == yi[rows]).mean(),macro_f1(pred[rows], yi[rows])
BASE = {'image': 'svm (library probabilities), argmax', 'fusion': 'stack svm[lib]+text+ngram, meta cw=None'}
if args.members and args.members_only: BASE['fusion'] = 'R3 default: svm[temp]+text+ngram'  # the default stack now
say('\ngain over the baseline with a 90% interval (paired bootstrap over groups, 300 draws): micro | macro')
for n,r in RES.items():
    b = (('R4 cross-fitted: svm[temp]+text+ngram' if '+text' in n else 'R4 cross-fitted image: svm[temp]') if n.startswith('R4')
         else BASE['fusion' if '+text' in n or 'alone' in n or n.startswith('R3') else 'image'])
    if b not in RES or n == b: continue
    pa,pb = np.array(r['pred']),np.array(RES[b]['pred'])
    d = np.array([np.subtract(_f1s(pa, rows), _f1s(pb, rows)) for rows in draws])
    lo,hi = np.percentile(d, 5, 0),np.percentile(d, 95, 0)
    r['gain_vs'] = dict(baseline=b, micro=[r['micro_f1'] - RES[b]['micro_f1'], lo[0], hi[0]], macro=[r['macro_f1'] - RES[b]['macro_f1'], lo[1], hi[1]])
    say(f'  {n[:62]:<62} {r["micro_f1"] - RES[b]["micro_f1"]:+.3f} [{lo[0]:+.3f}, {hi[0]:+.3f}] | {r["macro_f1"] - RES[b]["macro_f1"]:+.3f} [{lo[1]:+.3f}, {hi[1]:+.3f}]')
say('\nconfusion matrices (rows true, columns predicted, order ' + ' '.join(classes) + ')')
for n,r in RES.items(): say(f'  {n}: ' + ' | '.join(' '.join(f'{v:3d}' for v in row) for row in r['confusion']))
if args.json:
    Path(args.json).write_text(json.dumps(dict(data=str(args.data), n=len(y), classes=list(classes), load_before=load_before, load_after=load_after,
                                               members={n: dict(seconds=m['s'], info=m['info']) for n,m in M.items()}, results=RES), indent=1, default=str))
