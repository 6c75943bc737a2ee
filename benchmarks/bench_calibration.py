"""Calibration on real covers: ECE before and after the calibration (probabilities shrunk towards uniform), and the risk-coverage table, in grouped CV.

    python benchmarks/bench_calibration.py ../shared/data/covers8-dev/labels.csv --method probe --backbone tf_efficientnet_lite0 --size 224
    python benchmarks/bench_calibration.py ../shared/data/covers8-dev/labels.csv --method svm

Outer loop: 5-fold `StratifiedGroupKFold` over the data set's `group` column. In each fold `fit_model` trains the
method on the other four folds exactly as `covergenre train` does, which fits its calibration weight on the out-of-fold
probabilities of its own inner grouped CV; the held-out fold is then predicted with and without that weight.
Prints ECE (10 bins), accuracy, and accuracy at 25/50/75/100% coverage, pooled over the outer folds, and writes the
reliability diagrams (`--plot`, a PNG of scores only: no covers). Embeddings come from the cache after the first run.
"""
import argparse, os, subprocess, sys, time, warnings
from pathlib import Path
import numpy as np
os.environ.setdefault('HF_HUB_OFFLINE', '1')

def main():
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument('data'); a.add_argument('--method', default='fusion'); a.add_argument('--backbone', default='tf_efficientnet_lite2')
    a.add_argument('--size', type=int, default=320); a.add_argument('--folds', type=int, default=5)
    a.add_argument('--plot', default=None, help='PNG for the two reliability diagrams')
    args = a.parse_args()
    print('uptime before:', subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip())
    from covergenre.data import CoverSet
    from covergenre.model import fit_model
    from covergenre.classify.scoring import grouped_folds, calibration_report, plot_reliability
    covers = CoverSet.from_path(args.data)
    y = covers.df.genre.to_numpy(dtype=object)
    t0 = time.perf_counter()
    raw,cal,truth,temps = [],[],[],[]
    for k,(tr,te) in enumerate(grouped_folds(y, covers.df.group.tolist(), args.folds, seed=0)):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            model = fit_model(covers.subset(tr), args.method, backbone=args.backbone, size=args.size, progress=k == 0)
        test = covers.subset(te)
        P,errors = model._covers_proba(test, progress=False)  # uncalibrated
        ok = [i for i in range(len(te)) if i not in errors]
        raw.append(P[ok]); cal.append(model.calibrated(P)[ok]); truth.append(y[te][ok]); temps.append(model.config['calibration']['weight'])
        print(f"fold {k}: {len(tr)} train, {len(ok)} test, weight {temps[-1]:.3f}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    classes = model.classes
    yt = np.concatenate(truth)
    before,after = calibration_report(yt, np.concatenate(raw), classes),calibration_report(yt, np.concatenate(cal), classes)
    print(f"\n{args.method} on {args.backbone} at {args.size} px, {len(yt)} covers of {Path(args.data).parent.name}, "
          f"{args.folds}-fold grouped CV (outer); weights {', '.join(f'{w:.3f}' for w in temps)}")
    print(f"{'':14}{'ECE':>7}{'accuracy':>10}{'mean conf':>11}" + ''.join(f"{'acc@' + format(r['coverage'], '.0%'):>10}" for r in before['risk_coverage']))
    for name,r in (('uncalibrated', before), ('calibrated', after)):
        print(f"{name:14}{r['ece']:>7.3f}{r['accuracy']:>10.3f}{r['mean_confidence']:>11.3f}" + ''.join(f"{x['accuracy']:>10.3f}" for x in r['risk_coverage']))
    # within one model (one fold) the order of covers by confidence is what --min-confidence acts on: the pooled table above
    # mixes five models, whose confidences sit at slightly different levels
    per = lambda Ps: np.mean([[x['accuracy'] for x in calibration_report(t, p, classes)['risk_coverage']] for t,p in zip(truth, Ps)], 0)
    print(f"{'per fold, mean':14}{'':>7}{'':>10}{'':>11}" + ''.join(f'{a:>10.3f}' for a in per(raw)) + '   (uncalibrated)')
    print(f"{'per fold, mean':14}{'':>7}{'':>10}{'':>11}" + ''.join(f'{a:>10.3f}' for a in per(cal)) + '   (calibrated)')
    print('\nrisk-coverage, calibrated (keep the most confident share; the confidence it starts at):')
    for x in after['risk_coverage']: print(f"  keep {x['coverage']:>4.0%}  {x['n']:>5} covers  accuracy {x['accuracy']:.3f}  confidence >= {x['min_confidence']:.3f}")
    if args.plot:
        import matplotlib; matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        from covergenre.store import atomic_write
        f1 = plot_reliability(before, title=f'{args.method}, uncalibrated'); f2 = plot_reliability(after, title=f'{args.method}, calibrated')
        fig = plt.figure(figsize=(9, 5.5))
        for i,f in enumerate((f1, f2)):
            f.canvas.draw(); ax = fig.add_subplot(1, 2, i + 1); ax.imshow(np.asarray(f.canvas.buffer_rgba())); ax.axis('off')
        fig.tight_layout(); atomic_write(args.plot, lambda tmp: fig.savefig(tmp, dpi=110, format='png')); print('wrote', args.plot)
    print(f'{time.perf_counter() - t0:.0f} s in all')
    print('uptime after: ', subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip())

if __name__ == '__main__': main()
