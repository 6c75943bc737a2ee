"""OCR speed on real covers, before and after the detector at `DET_SIZE` and covers read in parallel, and what it costs fusion.

1. A fixed sample of `--sample` covers of DATA (stratified by genre, seed 0), read without the cache, `--threads` CPU
   threads, in one run:
   - before: the old setting, one engine with `--threads` onnxruntime threads, detector at `OCR_SIZE` (480 px);
   - detector at `DET_SIZE` alone (one engine, `--threads` threads), and parallel engines alone (detector at 480);
   - after: `read_text` with its defaults (detector at `DET_SIZE`, `--threads` one-thread engines, covers in parallel).
   The sequential runs are profiled per stage (detector and recognizer: onnxruntime time and the Python pre/post
   processing around it; cropping) with the boxes recognised per cover. Text agreement against "before": fragments
   kept (confidence >= MIN_CONF, not junk), covers with text, and character-level agreement of each cover's kept text.
2. Fusion on all covers of DATA with the OCR of each setting (from the OCR cache; the first run reads what is
   missing): `StackFusion` of a `KernelSVC` on `--style-backbone`@`--style-size` style features, the text probe and the
   n-gram probe (what `train_model(method='fusion')` builds, as in bench_text.py), 5-fold grouped CV (`grouped_folds` on
   `group`, the same folds for both): micro and macro F1 before and after. Out-of-fold probabilities are kept in
   `default_cache_dir()/bench-ocr/`, so a rerun is cheap.

    python benchmarks/bench_ocr.py [DATA] [--sample 300] [--threads 2] [--no-fusion] [--json FILE]
"""
import argparse, difflib, hashlib, json, os, re, time, warnings
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np
from covergenre.data import CoverSet, load_cover
from covergenre.ocr import OCR_SIZE, DET_SIZE, MIN_CONF, ocr_engine, ocr_image, ocr_key, read_text, clean_fragments, _engines

p = argparse.ArgumentParser()
p.add_argument('data', nargs='?', default=str(Path(__file__).resolve().parents[1]/'..'/'shared'/'data'/'covers8-dev'/'labels.csv'))
p.add_argument('--sample', type=int, default=300, help='covers timed without the cache')
p.add_argument('--threads', type=int, default=2, help='CPU threads for OCR')
p.add_argument('--no-fusion', action='store_true', help='only the speed part')
p.add_argument('--style-backbone', default='tf_efficientnet_lite2')
p.add_argument('--style-size', type=int, default=320)
p.add_argument('--json', help='also write the figures to this JSON file')
args = p.parse_args()
def say(*a): print(*a, flush=True)
out = dict(data=str(args.data), cpus=os.cpu_count(), threads=args.threads, load_before=os.getloadavg())

covers = CoverSet.from_path(args.data)
df = covers.df.reset_index(drop=True)
from sklearn.model_selection import train_test_split
idx,_ = train_test_split(np.arange(len(df)), train_size=min(args.sample, len(df) - len(covers.classes)), stratify=df.genre, random_state=0)
sample = [str(df.path[i]) for i in sorted(idx)]
say(f'{len(covers)} covers, {len(covers.classes)} genres; sample of {len(sample)} (stratified by genre, seed 0); '
    f'{os.cpu_count()} CPUs, {args.threads} threads; load average {os.getloadavg()[0]:.2f}')

# 1. speed
class Timed:
    "Calls `f` and adds its time to `times[key]` (special methods are looked up on the type, so the object is wrapped)."
    def __init__(self, f, key, times): self.f,self.key,self.times = f,key,times
    def __call__(self, *a, **k):
        t = time.perf_counter(); r = self.f(*a, **k); self.times[self.key] = self.times.get(self.key, 0) + time.perf_counter() - t
        return r
    def __getattr__(self, n): return getattr(self.f, n)

def sequential(det_size):
    "One engine with `--threads` threads over the sample, stage by stage: (fragments, wall s, stage times, boxes per cover)."
    e = ocr_engine(det_size, args.threads); e._load_det_model(); e._load_rec_model()
    ocr_image(e, load_cover(sample[0]), OCR_SIZE)  # the first call allocates
    T,boxes = {},[]
    e.text_det.session = Timed(e.text_det.session, 'detector onnxruntime', T); e.text_det = Timed(e.text_det, 'detector', T)
    e.text_rec.session = Timed(e.text_rec.session, 'recognizer onnxruntime', T)
    rec = Timed(e.text_rec, 'recognizer', T)
    def count(inp): boxes[-1] = len(inp.img); return rec(inp)
    e.text_rec = Timed(count, 'recognizer (with count)', {})
    e.crop_text_regions = Timed(e.crop_text_regions, 'crops', T)
    res,t0 = [],time.perf_counter()
    for q in sample: boxes.append(0); res.append(ocr_image(e, load_cover(q), OCR_SIZE))
    return res,time.perf_counter() - t0,T,np.array(boxes)

def parallel(det_size):
    "`read_text` without the cache (parallel one-thread engines): (fragments, wall s)."
    _engines(min(det_size, OCR_SIZE), 1, args.threads)  # engines built before the clock starts, as in a long run
    t0 = time.perf_counter(); ct = read_text(sample, det_size=det_size, min_conf=0, cache_dir=False, n_threads=args.threads, progress=False)
    return [f for f in ct.fragments],time.perf_counter() - t0

norm = lambda s: re.sub(r'\s+', ' ', s.lower()).strip()
def kept(frags): return [[t for _,t,_ in clean_fragments(f, MIN_CONF)] for f in frags]
def agreement(a, b):
    "Character-level agreement of the kept text of each cover (2*matches/(len a + len b), summed over covers)."
    m = tot = 0
    for x,y in zip(a, b):
        x,y = norm(' '.join(x)),norm(' '.join(y))
        m += 2*sum(k.size for k in difflib.SequenceMatcher(None, x, y, autojunk=False).get_matching_blocks()); tot += len(x) + len(y)
    return m/max(tot, 1)

runs = {}
for name,fn,det in [('before: detector 480, one engine', sequential, OCR_SIZE), (f'detector {DET_SIZE}, one engine', sequential, DET_SIZE),
                    ('detector 480, parallel engines', parallel, OCR_SIZE), (f'after: detector {DET_SIZE}, parallel engines (default)', parallel, DET_SIZE)]:
    l0 = os.getloadavg()[0]; r = fn(det); runs[name] = r
    say(f'  {name:<52} {len(sample)/r[1]:5.2f} covers/s ({r[1]:.1f} s; load {l0:.2f} -> {os.getloadavg()[0]:.2f})')
    if len(r) > 2:
        _,wall,T,boxes = r
        say(f'    per stage (s, share of {wall:.1f} s): ' + ', '.join(f'{k} {v:.1f} ({v/wall:.0%})' for k,v in T.items())
            + f"; rest (decode, resize, output) {wall - T['detector'] - T['recognizer'] - T['crops']:.1f}")
        say(f'    boxes recognised per cover: mean {boxes.mean():.2f}, median {np.median(boxes):.0f}, max {boxes.max()}; '
            f'covers with none {(boxes == 0).mean():.0%}; {1000*T["recognizer"]/max(boxes.sum(), 1):.0f} ms per box')
base = kept(runs['before: detector 480, one engine'][0]); b_wall = runs['before: detector 480, one engine'][1]
say(f'\n{"setting":<52} {"covers/s":>8} {"x before":>8} {"kept fragments":>14} {"covers w/ text":>14} {"char agreement":>14}')
speed = {}
for name,r in runs.items():
    k = kept(r[0])
    speed[name] = dict(covers_per_s=len(sample)/r[1], ratio=b_wall/r[1], kept=sum(map(len, k)), with_text=sum(map(bool, k)), agreement=agreement(k, base))
    s = speed[name]
    say(f'{name:<52} {s["covers_per_s"]:8.2f} {s["ratio"]:8.2f} {s["kept"]:14d} {s["with_text"]:14d} {s["agreement"]:14.3f}')
out.update(sample=len(sample), speed=speed, load_after_speed=os.getloadavg())

# 2. fusion, grouped CV, with the OCR of each setting
if not args.no_fusion:
    from covergenre.embed import embed
    from covergenre.classify import StackFusion, evaluate, grouped_folds
    from covergenre.textfeatures import TextFeaturizer
    from covergenre.store import default_cache_dir
    S = embed(covers, backbone=args.style_backbone, image_size=args.style_size, crop_pct=1.0, features='style')
    y,groups = np.asarray(S.genres, dtype=object),np.asarray(S.groups, dtype=object)
    folds = grouped_folds(y, groups, n_splits=5, seed=0); classes = np.unique(y)
    tf = TextFeaturizer(n_threads=args.threads); nd = tf.ngram_dim; blocks = tuple(S.blocks)
    store = default_cache_dir()/'bench-ocr'; store.mkdir(parents=True, exist_ok=True)
    import covergenre.classify.svm, covergenre.classify.fusion, covergenre.classify.probes, covergenre.textfeatures
    code = [Path(m.__file__).read_text() for m in (covergenre.classify.svm, covergenre.classify.fusion, covergenre.classify.probes, covergenre.textfeatures)]
    fusion = {}
    for name,det in [('before', OCR_SIZE), ('after', DET_SIZE)]:
        t = time.perf_counter(); l0 = os.getloadavg()[0]
        ct = read_text(S.paths, det_size=det, n_threads=args.threads, progress=False)
        t_ocr = time.perf_counter() - t
        key = hashlib.sha256(json.dumps([S.sha256, S.backbone, ocr_key(OCR_SIZE, det), tf.config(), [te.tolist() for _,te in folds], code]).encode()).hexdigest()[:16]
        f = store/f'{key}.npz'
        if f.exists():
            with np.load(f) as z: P = z['P']
        else:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore'); X = np.hstack([S.X, tf.transform(ct)])
            P = np.zeros((len(y), len(classes)))
            for tr,te in folds:
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore')
                    m = StackFusion(S.X.shape[1], text_C=0.003, image_blocks=blocks, ngram_dim=nd).fit(X[tr], y[tr], groups=groups[tr])
                P[np.ix_(te, np.searchsorted(classes, m.classes_))] = m.predict_proba(X[te])
            tmp = f.with_name(f'.{f.name}.{os.getpid()}.tmp')
            with open(tmp, 'wb') as fh: np.savez(fh, P=P)
            os.replace(tmp, f)
        r = evaluate(y, classes[P.argmax(1)], labels=classes)
        fusion[name] = dict(micro_f1=r['micro_f1'], macro_f1=r['macro_f1'], ocr_key=ocr_key(OCR_SIZE, det), ocr_s=t_ocr, read_now=ct.n_computed,
                            with_text=float(np.mean([bool(q) for q in ct.fragments])), s=time.perf_counter() - t)
        say(f'fusion {name:<6} (detector {det}): micro-F1 {r["micro_f1"]:.4f}  macro-F1 {r["macro_f1"]:.4f}  '
            f'({ct.n_computed} covers read now in {t_ocr:.0f} s, {fusion[name]["with_text"]:.1%} with text; {fusion[name]["s"]:.0f} s; load {l0:.2f} -> {os.getloadavg()[0]:.2f})')
    a,b = fusion['before'],fusion['after']
    say(f'fusion after - before: micro-F1 {100*(b["micro_f1"] - a["micro_f1"]):+.2f} points, macro-F1 {100*(b["macro_f1"] - a["macro_f1"]):+.2f} points '
        f'(5-fold grouped CV, {len(y)} covers; the condition: micro-F1 drops at most 0.5 points)')
    out.update(fusion=fusion)
out.update(load_after=os.getloadavg())
say(f'load average {out["load_before"][0]:.2f} -> {out["load_after"][0]:.2f}')
if args.json: Path(args.json).write_text(json.dumps(out, indent=2))
