"""Fine-tuned network, style kernel SVM and the text on the cover, on `bench_finetune.py`'s grouped hold-out.

Reads the hold-out probabilities that `bench_finetune.py --style --save FILE.npz` wrote (no retraining), trains the
text models on the same train covers (`ScaledProbe` on `TextFeaturizer` features, C=0.003; the early fusion of the
Lite0 pooled embedding and the text, `train_model(method='fusion', features='pooled')`'s classifier; the stack of a
kernel SVM on Lite2 style features, the text probe and the n-gram probe, `train_model(method='fusion')`'s default),
and prints micro/macro F1 of each model and of equal-weight probability averages fixed beforehand (nothing tuned on
the hold-out). OCR and embeddings come from the caches when they are there. Without FILE.npz, only the models
trained here are scored, on the same split.

    python benchmarks/bench_finetune_text.py [FILE.npz] [--data labels.csv]
"""
import argparse, json, os, warnings
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np
from covergenre.data import CoverSet
from covergenre.embed import embed
from covergenre.classify import evaluate, ScaledProbe, EarlyFusion, StackFusion
from covergenre.textfeatures import TextFeaturizer

p = argparse.ArgumentParser()
p.add_argument('saved', nargs='?', help="the .npz of bench_finetune.py --save")
p.add_argument('--data', default=None, help="default: the data set the run used (its meta)")
a = p.parse_args()
warnings.filterwarnings('ignore')
meta,P = {},{}
if a.saved:
    with np.load(a.saved, allow_pickle=False) as z:
        meta = json.loads(str(z['meta'])); classes = z['classes']; held = z['paths']
        P = {k[2:]: z[k].astype(np.float64) for k in z.files if k.startswith('P_')}
data = a.data or meta.get('data') or str(Path(__file__).resolve().parents[1]/'..'/'shared'/'data'/'covers8-dev'/'labels.csv')
covers = CoverSet.from_path(data).split(valid_pct=0.2, seed=42, progress=False)  # bench_finetune's split
val = covers.df.split.eq('valid').to_numpy(); trn = ~val
paths = covers.df.path.astype(str).to_numpy()
if not a.saved: classes,held = np.unique(covers.df.genre.to_numpy().astype(str)),paths[val]
if [str(Path(q).resolve()) for q in paths[val]] != [str(Path(q).resolve()) for q in held]: raise SystemExit('the hold-out differs from the saved run')
y,groups = covers.df.genre.to_numpy().astype(object),covers.df.group.to_numpy().astype(object)
tf = TextFeaturizer(progress=True); T,err = tf(list(paths))
if err: raise SystemExit(f'{len(err)} covers without text features, e.g. {err[0]}')
nd = tf.ngram_dim; Tn,T = T[:, T.shape[1] - nd:],T[:, :T.shape[1] - nd]
emb = embed(covers); assert emb.paths == list(covers.df.path)
def fit(clf, X):
    m = clf.fit(X[trn], y[trn], groups=groups[trn]); assert list(m.classes_) == list(classes)
    return m.predict_proba(X[val])
P['text'] = fit(ScaledProbe(0.003), T)
P['fusion-lite0'] = fit(EarlyFusion(emb.X.shape[1]), np.hstack([emb.X, T]))
S = embed(covers, backbone='tf_efficientnet_lite2', image_size=320, crop_pct=1.0, features='style'); assert S.paths == emb.paths
P['stack'] = fit(StackFusion(S.X.shape[1], text_C=0.003, image_blocks=tuple(S.blocks), ngram_dim=nd), np.hstack([S.X, T, Tn]))
ft = next((k for k in P if k.startswith('finetune')), 'finetune')
rows = [[ft], ['style-svm'], ['text'], ['fusion-lite0'], ['stack'], [ft, 'text'], ['style-svm', 'text'], [ft, 'style-svm'],
        [ft, 'style-svm', 'text'], [ft, 'fusion-lite0'], [ft, 'stack']]
print(f"hold-out of {a.saved or 'the split'}: {val.sum()} covers; fine-tuned {meta.get('arch')} ({meta.get('sizes') or meta.get('size')} px, "
      f"{meta.get('freeze_epochs')}+{meta.get('epochs')} epochs)")
for ks in rows:
    if not all(k in P for k in ks): continue
    q = np.mean([P[k] for k in ks], 0); r = evaluate(y[val], classes[q.argmax(1)], labels=list(classes))
    print(f'{" + ".join(ks):<36} micro-F1 {r["micro_f1"]:.3f}  macro-F1 {r["macro_f1"]:.3f}', flush=True)
