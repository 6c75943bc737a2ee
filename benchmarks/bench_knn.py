"""FAISS k-NN against scikit-learn's brute-force cosine KNeighborsClassifier on the same embeddings.

Embeds ../shared/data/covers8-dev with the default backbone (cached after the first run), then for each of
5 grouped folds fits both on the training covers and predicts the held-out ones: prints how many predictions
agree (they should all, up to exact ties), the largest probability difference, and the time of each.

    python benchmarks/bench_knn.py [DATA]
"""
import os, sys, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np
from sklearn.neighbors import KNeighborsClassifier
from covergenre.data import CoverSet
from covergenre.embed import embed
from covergenre.classify import KNNClassifier, grouped_folds

data = sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]/'..'/'shared'/'data'/'covers8-dev'/'labels.csv'
emb = embed(CoverSet.from_path(data))
X,y = emb.X,np.asarray(emb.genres, dtype=object)
print(f'{len(y)} covers, {X.shape[1]}-d embeddings ({emb.backbone})')
for k,w in [(10, 'uniform'), (10, 'similarity'), (30, 'similarity')]:
    skw = 'uniform' if w == 'uniform' else (lambda d: 1 - d + 1e-6)
    agree,n,tf,ts,dp = 0,0,0.,0.,0.
    for tr,te in grouped_folds(y, emb.groups):
        t = time.perf_counter(); f = KNNClassifier(k, w).fit(X[tr], y[tr]); pf,Pf = f.predict(X[te]),f.predict_proba(X[te]); tf += time.perf_counter() - t
        t = time.perf_counter(); s = KNeighborsClassifier(k, metric='cosine', algorithm='brute', weights=skw).fit(X[tr], y[tr])
        ps,Ps = s.predict(X[te]),s.predict_proba(X[te]); ts += time.perf_counter() - t
        agree += (pf == ps).sum(); n += len(te); dp = max(dp, np.abs(Pf - Ps).max())
    print(f'k={k:<3} {w:<10}: {agree}/{n} predictions agree, max |P diff| {dp:.1e}; '
          f'FAISS {tf:.3f} s, scikit-learn {ts:.3f} s, speed-up x{ts/tf:.1f}')
