"""Text on covers: OCR speed, and what fusing the text with the image embedding gains, on covers8-dev.

1. OCR time per cover, cold (a fixed sample of covers, no cache) and the cached re-run of all covers.
2. 5-fold grouped cross-validation (`grouped_folds` over the `group` column; the same folds for every method)
   of image-only (`LinearProbe` on the cached default `tf_efficientnet_lite0` embeddings), text-only
   (`ScaledProbe` on `TextFeaturizer` features), late fusion and early fusion: micro and macro F1, and the
   per-genre F1 change of the fused model against image-only.
3. The same folds for the best image-only model, a `KernelSVC` on style features (`--style-backbone` at
   `--style-size`, whole cover), alone, late-fused with the text probe, and stacked with the text probe and the
   n-gram probe (`StackFusion`, what `train_model(method='fusion')` builds), with and without
   the n-grams; the n-gram probe (`NgramProbe` on hashed n-gram counts) alone too.

Settings chosen on the same folds they are scored on (C of each probe, fixed fusion weights) are marked as such;
`late auto` chooses its weight inside each training fold (nested), so its score is not tuned on the test folds.
Out-of-fold probabilities are kept in `default_cache_dir()/bench-text/` (keyed by covers, folds and code), so an
interrupted run resumes.

    python benchmarks/bench_text.py [DATA] [--sample N] [--json FILE] [--style-backbone NAME] [--style-size PX]
"""
import argparse, hashlib, json, os, time, warnings
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np
from covergenre.data import CoverSet
from covergenre.store import default_cache_dir
from covergenre.embed import embed
from covergenre.classify import LinearProbe, ScaledProbe, NgramProbe, EarlyFusion, LateFusion, StackFusion, evaluate, grouped_folds
from covergenre.ocr import read_text
from covergenre.textfeatures import TextFeaturizer, SIGNAL_NAMES

p = argparse.ArgumentParser()
p.add_argument('data', nargs='?', default=str(Path(__file__).resolve().parents[1]/'..'/'shared'/'data'/'covers8-dev'/'labels.csv'))
p.add_argument('--sample', type=int, default=60, help='covers read without the cache to time cold OCR')
p.add_argument('--threads', type=int, default=2, help='onnxruntime threads for OCR')
p.add_argument('--json', help='also write the figures to this JSON file')
p.add_argument('--style-backbone', default='tf_efficientnet_lite2', help="style features for the kernel-SVM rows ('' to skip)")
p.add_argument('--style-size', type=int, default=320)
args = p.parse_args()
out = dict(data=str(args.data), cpus=os.cpu_count(), load_before=os.getloadavg())
def say(*a): print(*a, flush=True)

covers = CoverSet.from_path(args.data)
say(f'{len(covers)} covers, {len(covers.classes)} genres; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}')

# 1. OCR speed
rng = np.random.default_rng(0)
sample = [covers.df.path[i] for i in rng.choice(len(covers), min(args.sample, len(covers)), replace=False)]
t = time.perf_counter(); read_text(sample, cache_dir=False, n_threads=args.threads, progress=False)
cold = (time.perf_counter() - t)/len(sample)
say(f'OCR cold: {cold:.3f} s/cover ({len(sample)} covers, no cache, {args.threads} threads, load {os.getloadavg()[0]:.1f})')
t = time.perf_counter(); ct = read_text(covers, n_threads=args.threads); first = time.perf_counter() - t
say(f'OCR of all covers with the cache: {first:.1f} s, {ct.n_computed} read now')
t = time.perf_counter(); ct = read_text(covers, n_threads=args.threads, progress=False); cached = time.perf_counter() - t
say(f'OCR cached re-run: {cached:.2f} s for {len(ct)} covers ({ct.n_computed} read), {len(ct.errors)} errors')
with_text = np.mean([bool(f) for f in ct.fragments])
say(f'covers with text after filtering: {with_text:.1%}; fragments per cover {np.mean([len(f) for f in ct.fragments]):.2f}')
out.update(ocr_cold_s_per_cover=cold, ocr_sample=len(sample), ocr_first_run_s=first, ocr_first_run_read=ct.n_computed,
           ocr_cached_s=cached, share_with_text=float(with_text))

# 2. features
emb = embed(covers)
y,groups = np.asarray(emb.genres, dtype=object),np.asarray(emb.groups, dtype=object)
tf = TextFeaturizer(n_threads=args.threads)
t = time.perf_counter(); T,errs = tf(emb.paths); feat_s = time.perf_counter() - t
nd = tf.ngram_dim; Tn,T = T[:, T.shape[1] - nd:],T[:, :T.shape[1] - nd]  # n-gram counts (stack only) | sentence + signals
if errs: say(f'{len(errs)} covers without text features: {errs[:3]}')
say(f'image {emb.X.shape} ({emb.backbone}); text {T.shape} + n-grams {Tn.shape} in {feat_s:.1f} s (OCR cached; sentence model load + encode)')
out.update(n=len(y), image_dim=emb.X.shape[1], text_dim=T.shape[1], text_features_s=feat_s)
d = emb.X.shape[1]; X = np.hstack([emb.X, T])
folds = grouped_folds(y, groups, n_splits=5, seed=0)
classes = np.unique(y)

store = default_cache_dir()/'bench-text'; store.mkdir(parents=True, exist_ok=True)
import covergenre.classify.core, covergenre.classify.knn, covergenre.classify.probes, covergenre.classify.svm, covergenre.classify.fusion, covergenre.textfeatures
code = [Path(m.__file__).read_text() for m in (covergenre.classify.core, covergenre.classify.knn, covergenre.classify.probes, covergenre.classify.svm,
                                               covergenre.classify.fusion, covergenre.textfeatures)]  # results depend on the data, the folds and the classifiers' code
data_key = hashlib.sha256(json.dumps([emb.sha256, emb.backbone, tf.config(), [te.tolist() for _,te in folds], code]).encode()).hexdigest()[:12]

def oof(make, Xm):
    "Out-of-fold probabilities of `make()` on `Xm` over the shared folds (kept in an .npz, so a rerun resumes)."
    f = store/f"{data_key}-{hashlib.sha256(repr(make()).encode()).hexdigest()[:12]}-{Xm.shape[1]}.npz"
    if f.exists():
        with np.load(f, allow_pickle=False) as z: return z['P']
    P = np.zeros((len(y), len(classes)))
    for tr,te in folds:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            m = make().fit(Xm[tr], y[tr], groups=groups[tr])
        P[np.ix_(te, np.searchsorted(classes, m.classes_))] = m.predict_proba(Xm[te])
    tmp = f.with_name(f'.{f.name}.{os.getpid()}.tmp')
    with open(tmp, 'wb') as fh: np.savez(fh, P=P)
    os.replace(tmp, f)
    return P

res,probs = {},{}
def score(name, P, note=''):
    r = evaluate(y, classes[P.argmax(1)], labels=classes); res[name] = dict(r, note=note); probs[name] = P
    say(f'{name:<34} micro-F1 {r["micro_f1"]:.3f}  macro-F1 {r["macro_f1"]:.3f}  {note}')

t0 = time.perf_counter()
for C in (0.001, 0.003, 0.01, 0.03): score(f'image-only C={C}', oof(lambda: LinearProbe(C), emb.X))
for C in (0.001, 0.003, 0.01, 0.03, 0.1): score(f'text-only C={C}', oof(lambda: ScaledProbe(C), T))
S = T[:, -len(SIGNAL_NAMES):]
score('text signals only C=0.1', oof(lambda: ScaledProbe(0.1), S), '(no sentence embedding)')
best_img = max((k for k in res if k.startswith('image-only')), key=lambda k: res[k]['micro_f1'])
best_txt = max((k for k in res if k.startswith('text-only')), key=lambda k: res[k]['micro_f1'])
Ci,Ct = float(best_img.split('=')[1]),float(best_txt.split('=')[1])
say(f'best image C={Ci}, best text C={Ct} (chosen on these folds)')
for w in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8): score(f'late w={w}', w*probs[best_img] + (1 - w)*probs[best_txt], '(weight fixed)')
score('late auto', oof(lambda: LateFusion(d, weight='auto', C=Ci, text_C=Ct), X), '(weight chosen inside each training fold)')
for w in (0.4, 0.5, 0.6):
    score(f'early w={w}', oof(lambda: EarlyFusion(d, weight=w, C=Ci), X), '(weight fixed)')
say(f'cross-validation: {time.perf_counter() - t0:.0f} s')

base = res[best_img]
fused = max((k for k in res if k.startswith(('late', 'early'))), key=lambda k: res[k]['micro_f1'])
say(f'\nbest fused on these folds: {fused} ({res[fused]["micro_f1"]:.3f} micro-F1)')
for name in ['late auto', 'early w=0.5']:  # nested weight; the default weight
    say(f'\nper-genre F1, {name} vs {best_img} (n covers)')
    for g in classes:
        a,b = base['per_class'][g]['f1'],res[name]['per_class'][g]['f1']
        say(f'  {g:<10} {a:.3f} -> {b:.3f}  ({b - a:+.3f})  n={base["per_class"][g]["support"]}')
    say(f'  micro-F1 {base["micro_f1"]:.3f} -> {res[name]["micro_f1"]:.3f} ({100*(res[name]["micro_f1"] - base["micro_f1"]):+.1f} points), '
        f'macro-F1 {base["macro_f1"]:.3f} -> {res[name]["macro_f1"]:.3f} ({100*(res[name]["macro_f1"] - base["macro_f1"]):+.1f} points)')

# 3. the best image-only model (kernel SVM on style features) with and without the text, as `train_model(method='svm')`
# and `train_model(method='fusion')` build them; C and gamma chosen inside each training fold (nested), text C fixed
if args.style_backbone:
    from covergenre.classify import KernelSVC
    t = time.perf_counter()
    S = embed(covers, backbone=args.style_backbone, image_size=args.style_size, crop_pct=1.0, features='style')
    assert S.paths == emb.paths
    blocks = tuple(S.blocks); XS = np.hstack([S.X, T])
    say(f'\nstyle features {S.X.shape} ({args.style_backbone}@{args.style_size}) in {time.perf_counter() - t:.0f} s')
    t = time.perf_counter()
    score('style svm (image only)', oof(lambda: KernelSVC(blocks, 'auto', 'auto'), S.X), '(C, gamma chosen inside each training fold)')
    score('style svm + text, late w=0.5', oof(lambda: LateFusion(S.X.shape[1], weight=0.5, text_C=0.003, image_blocks=blocks), XS),
          "(C, gamma nested)")
    score('n-gram probe (text only)', oof(lambda: NgramProbe(1.0), Tn))
    score('style svm + text, stack', oof(lambda: StackFusion(S.X.shape[1], text_C=0.003, image_blocks=blocks), XS),
          '(no n-grams; combination learned inside each training fold)')
    XSN = np.hstack([XS, Tn])
    score('style svm + text + n-grams, stack', oof(lambda: StackFusion(S.X.shape[1], text_C=0.003, image_blocks=blocks, ngram_dim=nd), XSN),
          "(train_model(method='fusion') defaults; all nested)")
    say(f'cross-validation: {time.perf_counter() - t:.0f} s')
    a,b = res['style svm (image only)'],res['style svm + text + n-grams, stack']
    say('per-genre F1, style svm -> style svm + text + n-grams, stack')
    for g in classes: say(f'  {g:<10} {a["per_class"][g]["f1"]:.3f} -> {b["per_class"][g]["f1"]:.3f}  ({b["per_class"][g]["f1"] - a["per_class"][g]["f1"]:+.3f})')
    say(f'  micro-F1 {a["micro_f1"]:.3f} -> {b["micro_f1"]:.3f} ({100*(b["micro_f1"] - a["micro_f1"]):+.1f} points), '
        f'macro-F1 {a["macro_f1"]:.3f} -> {b["macro_f1"]:.3f} ({100*(b["macro_f1"] - a["macro_f1"]):+.1f} points)')
    from sklearn.metrics import confusion_matrix
    say('confusion (rows true, columns predicted), style svm + text + n-grams, stack: ' + ' '.join(classes))
    for g,row in zip(classes, confusion_matrix(y, classes[probs['style svm + text + n-grams, stack'].argmax(1)], labels=classes)): say(f'  {g:<10} {row}')

# by source: spotify6 groups keep an artist on one side of a split, discogs5 groups only near-duplicates, so text
# (artist names) could help more on discogs5 through artists seen in training
by_source = {}
if str(args.data).endswith('.csv'):
    import pandas as pd
    lab = pd.read_csv(args.data)
    if 'source' in lab:
        src = dict(zip([str((Path(args.data).parent/q).resolve()) for q in lab.path], lab.source))
        s_of = np.array([src.get(str(Path(q).resolve()), '?') for q in emb.paths], dtype=object)
        say('\nmicro-F1 by source')
        for s_ in sorted(set(s_of)):
            m = s_of == s_
            by_source[s_] = {k: float((classes[probs[k][m].argmax(1)] == y[m]).mean()) for k in (best_img, best_txt, 'late auto', 'early w=0.5', 'style svm + text + n-grams, stack') if k in probs}
            say(f'  {s_:<9} n={m.sum():<5} ' + '  '.join(f'{k} {v:.3f}' for k,v in by_source[s_].items()))
out.update(results={k: dict(micro_f1=v['micro_f1'], macro_f1=v['macro_f1'], note=v['note'],
                            per_class_f1={g: v['per_class'][g]['f1'] for g in classes}) for k,v in res.items()},
           best_image=best_img, best_text=best_txt, best_fused=fused, by_source=by_source, load_after=os.getloadavg())
if args.json: Path(args.json).write_text(json.dumps(out, indent=2))
