"""The web app's latency for one cover, on CPU, as the page computes it.

- model load time (`load_model`, what the app's resource cache does once per server process);
- with the app's torch threads (`app_threads()`: half the CPUs, 1 to 4) and with torch's default (all CPUs): first and warm time of `covergenre.app.analyse_upload` for one uploaded cover (write the upload to a temp file,
  `load_cover`, `predict(..., similar=5)`: genre and similar covers from one forward pass), warm = median of 20
  runs; against the baseline of the same answers from two passes (`predict`, then `similar`), median of 10 each,
  alternated, in the same process; and the thumbnails of the similar covers;
- `covergenre --help` wall time (the `app` subcommand is added from covergenre.app; target <= 0.5 s).

By default it trains a probe on SYNTHETIC covers (10 genres x 12, 128 px) at the backbone's own input size (224 px),
as a real model would be; or give it a model directory.

    HF_HUB_OFFLINE=1 python benchmarks/bench_app.py [MODEL_DIR]
"""
import os, statistics, subprocess, sys, tempfile, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')

def main(model_dir=None):
    from covergenre.synth import synth_covers
    from covergenre.model import train_model, load_model
    from covergenre.app import analyse_upload, similar_thumbnails, app_threads
    print(f'{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at start')
    ts = []
    for _ in range(5):
        t = time.perf_counter(); subprocess.run(['covergenre', '--help'], capture_output=True, check=True); ts.append(time.perf_counter() - t)
    print(f'covergenre --help: {statistics.median(ts):.3f} s (median of 5)')
    tmp = Path(tempfile.mkdtemp(prefix='covergenre-bench-app-'))
    other = synth_covers(tmp/'other', n_per_genre=1, size=300, seed=99)
    cover = sorted(other.rglob('*.png'))[0]
    if model_dir is None:
        data = synth_covers(tmp/'covers', n_per_genre=12, size=128)
        model_dir = tmp/'model'
        t = time.perf_counter(); train_model(data, model_dir, method='probe', progress=False)
        print(f'trained a probe on 120 synthetic covers in {time.perf_counter() - t:.1f} s')
    import torch
    default_threads = torch.get_num_threads()
    t = time.perf_counter(); m = load_model(model_dir); load = time.perf_counter() - t
    print(f'model: {m} (input {m.config["preprocessing"]["input_size"]}); load_model {load:.2f} s')
    data = cover.read_bytes()
    # the app's setting first (what `covergenre app` uses), then torch's default for comparison
    for label,n in [('app', app_threads()), ('torch default', default_threads)]:
        torch.set_num_threads(n)
        t = time.perf_counter(); r = analyse_upload(m, cover.name, data); first = time.perf_counter() - t
        assert 'error' not in r, r
        ts = []
        for _ in range(20):
            t = time.perf_counter(); analyse_upload(m, cover.name, data); ts.append(time.perf_counter() - t)
        print(f'{n} torch thread(s) ({label}): one cover (analyse_upload): first {first*1000:.0f} ms, '
              f'warm median {statistics.median(ts)*1000:.0f} ms (min {min(ts)*1000:.0f}, max {max(ts)*1000:.0f}); '
              f'load average {os.getloadavg()[0]:.1f}')
    one,two = [],[]
    for _ in range(10):
        t = time.perf_counter(); m.predict([cover], similar=5); one.append(time.perf_counter() - t)
        t = time.perf_counter(); m.predict([cover]); m.similar(cover, k=5); two.append(time.perf_counter() - t)
    print(f'genre + 5 similar covers, {n} torch thread(s): one pass (predict(similar=5)) {statistics.median(one)*1000:.0f} ms, '
          f'two passes (predict, similar) {statistics.median(two)*1000:.0f} ms; ratio {statistics.median(one)/statistics.median(two):.2f}')
    t = time.perf_counter(); similar_thumbnails(r['similar']); thumbs = time.perf_counter() - t
    print(f'{len(r["similar"])} thumbnails of similar covers: {thumbs*1000:.0f} ms')
    print(f'load average {os.getloadavg()[0]:.1f} at end')

if __name__ == '__main__': main(sys.argv[1] if len(sys.argv) > 1 else None)
