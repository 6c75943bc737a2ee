"""Catalogue throughput: `tag_catalogue` (what `covergenre predict FOLDER --out tags.csv` runs) against the bare
`embed` path (plus the bare OCR + text features for fusion) on the same covers, both without caches, in one run.

    python benchmarks/bench_catalogue.py                       # probe on Lite0, 1,000 covers
    python benchmarks/bench_catalogue.py --method fusion --n 200 --backbone tf_efficientnet_lite2 --size 320

Prints covers/s of both paths and their ratio (target: predict >= 0.85x the bare path), and the wall time of the
same job through the command line in a new process (imports and model loading included). Synthetic covers only.
"""
import argparse, os, subprocess, sys, tempfile, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')

def main():
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument('--method', default='probe'); a.add_argument('--backbone', default='tf_efficientnet_lite0')
    a.add_argument('--size', type=int, default=224); a.add_argument('--n', type=int, default=1000)
    a.add_argument('--batch-size', type=int, default=256)
    args = a.parse_args()
    print('uptime before:', subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip())
    from covergenre.synth import synth_covers
    from covergenre.model import train_model
    from covergenre.embed import embed
    from covergenre.catalogue import tag_catalogue, catalogue_paths
    from covergenre.data import CoverSet
    import pandas as pd
    tmp = Path(tempfile.mkdtemp(prefix='bench-catalogue-'))
    os.environ['COVERGENRE_CACHE'] = str(tmp/'cache')  # training's cache only; the timed paths run without one
    train = synth_covers(tmp/'train', n_per_genre=8, size=256, seed=1, progress=False)
    inbox = synth_covers(tmp/'inbox', n_per_genre=max(1, args.n//10), size=256, seed=2, progress=False)
    model = train_model(train, tmp/'model', method=args.method, backbone=args.backbone, size=args.size, progress=False)
    paths,_ = catalogue_paths([inbox]); n = len(paths)
    print(f'{args.method} on {args.backbone} at {args.size} px; {n} synthetic covers of 256 px; {os.cpu_count()} CPUs')

    c = model.config
    t = time.perf_counter()  # the bare path: embed (and read the text) of every cover, no cache, no classifier, no writing
    emb = embed(CoverSet(pd.DataFrame(dict(path=paths, genre='?'))), backbone=c['backbone'], image_size=c['preprocessing']['input_size'][-1],
                crop_pct=c['preprocessing'].get('crop_pct'), features=c['preprocessing'].get('features', 'pooled'), cache_dir=False, progress=False)
    if model.text is not None:
        from covergenre.textfeatures import TextFeaturizer
        TextFeaturizer.from_config(c['text'], cache_dir=False)(list(emb.paths))
    bare = time.perf_counter() - t

    t = time.perf_counter()
    s = tag_catalogue(model, [inbox], tmp/'tags.csv', batch_size=args.batch_size, progress=False, cache_dir=False)
    pred = time.perf_counter() - t
    assert s['predicted'] == n, s

    t = time.perf_counter()
    r = subprocess.run(['covergenre', 'predict', str(tmp/'model'), str(inbox), '--out', str(tmp/'tags2.csv'), '--no-cache', '-q',
                        '--batch-size', str(args.batch_size)], capture_output=True, text=True)
    cli = time.perf_counter() - t
    assert r.returncode == 0, r.stderr

    print(f'bare embed path{" + OCR" if model.text is not None else ""}: {bare:7.1f} s  {n/bare:6.1f} covers/s')
    print(f'tag_catalogue (rows to CSV):   {pred:7.1f} s  {n/pred:6.1f} covers/s   ratio {bare/pred:.2f}x the bare path (target >= 0.85)')
    print(f'covergenre predict, new process: {cli:5.1f} s  {n/cli:6.1f} covers/s (imports and model loading included)')
    print('uptime after: ', subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip())

if __name__ == '__main__': main()
