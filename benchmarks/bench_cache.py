"""What the content cache costs a catalogue run as the cache grows: the policy before (every batch loads the whole
cache; compaction merges every shard into one) against the library's now (`ContentCache.load(keys)` opens only the
shards that hold a batch's covers; compaction merges shards of one size class), in the same run.

A catalogue is tagged batch by batch (`tag_catalogue`: 256 covers a batch); each batch calls `compute_missing`
for its covers, which stores new vectors in shards of `--flush` (embed's batch size, 32) and compacts. Here the
"embedding" is a random vector (no network runs), so the figures are the cache's cost alone: first a run over
`--covers` new covers (the cache grows from empty), then a rerun of the same covers (all cached: a resumed or
repeated run). Each policy runs in its own process (peak RSS from `getrusage`) on a fresh cache folder under
`--tmp`, removed afterwards. Vectors have `--dim` float32 values (10,304: the style features of the default model).

    flock /tmp/cpu.lock python benchmarks/bench_cache.py [--covers 20000] [--json FILE]
"""
import argparse, hashlib, json, os, resource, shutil, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np

p = argparse.ArgumentParser()
p.add_argument('--covers', type=int, default=20000)
p.add_argument('--batch', type=int, default=256, help='covers per catalogue batch (tag_catalogue)')
p.add_argument('--flush', type=int, default=32, help='new values per shard (embed: its batch size)')
p.add_argument('--dim', type=int, default=10304)
p.add_argument('--tmp', default=tempfile.gettempdir(), help='where the cache folders are made')
p.add_argument('--json', help='also write the figures to this JSON file')
p.add_argument('--policy', choices=('before', 'now'), help=argparse.SUPPRESS)  # one policy, in a child process
args = p.parse_args()

from covergenre.store import ContentCache, compute_missing

class Before(ContentCache):
    "The policy before: `load` returns the whole cache whatever is asked; `compact` merges every shard into one."
    def load(self, keys=None): return super().load()
    def compact(self, min_shards=None):
        shards = self.shards
        if len(shards) < (self.fmt.min_shards if min_shards is None else min_shards): return
        if self.add(super().load()) is None: return
        for f in shards: f.unlink(missing_ok=True)

def child(policy:str) -> dict:
    "Run the catalogue twice on a fresh cache with one policy; times, shards and peak RSS."
    root = Path(tempfile.mkdtemp(prefix=f'bench-cache-{policy}-', dir=args.tmp))
    try:
        cache = (Before if policy == 'before' else ContentCache)(root, 'backbone', 'vectors')
        keys = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(args.covers)]
        def compute(batch_keys):
            def go(positions):
                for i in positions: yield i, np.random.default_rng(int(batch_keys[i][:8], 16)).standard_normal(args.dim, np.float32), None
            return go
        res = {}
        for run in ('first', 'rerun'):
            t0 = time.perf_counter(); per = []; computed = 0; loaded = 0
            for b in range(0, len(keys), args.batch):
                bk = keys[b:b + args.batch]; t = time.perf_counter()
                known,errors,n = compute_missing(bk, compute(bk), cache, flush_every=args.flush, progress=False)
                assert not errors and all(k in known for k in bk)
                per.append(time.perf_counter() - t); computed += n; loaded += len(known)
            res[run] = dict(seconds=time.perf_counter() - t0, computed=computed, values_loaded=loaded, shards=len(cache.shards),
                            last_batch_s=float(np.mean(per[-5:])), first_batches_s=float(np.mean(per[:5])))
        want = keys[:3] + keys[-3:]; got = cache.load(want); check = {k: got[k] for k in want if k in got}  # (the policy before returns every value)
        res['same_vectors'] = all(np.array_equal(check[k], next(compute([k])([0]))[1]) for k in check) and len(check) == 6
        res['cache_bytes'] = sum(f.stat().st_size for f in cache.shards)
        res['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024
        return res
    finally: shutil.rmtree(root, ignore_errors=True)

if args.policy:
    print(json.dumps(child(args.policy))); sys.exit()

load_before = os.getloadavg(); T0 = time.perf_counter()
print(f'{args.covers} covers in batches of {args.batch}, shards of {args.flush}, vectors of {args.dim} float32 '
      f'({args.covers*args.dim*4/1e9:.2f} GB); {os.cpu_count()} CPUs, load {load_before[0]:.2f}', flush=True)
R = {}
for policy in ('before', 'now'):
    out = subprocess.run([sys.executable, __file__, '--policy', policy] + sum([[f'--{k}', str(getattr(args, k))] for k in ('covers', 'batch', 'flush', 'dim', 'tmp')], []),
                         capture_output=True, text=True)
    if out.returncode: sys.exit(f'{policy}: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}')
    R[policy] = r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f'{policy:>6}: first run {r["first"]["seconds"]:.1f} s (first 5 batches {1000*r["first"]["first_batches_s"]:.0f} ms each, '
          f'last 5 {1000*r["first"]["last_batch_s"]:.0f} ms), rerun {r["rerun"]["seconds"]:.1f} s (last 5 batches '
          f'{1000*r["rerun"]["last_batch_s"]:.0f} ms each); values loaded {r["first"]["values_loaded"]:,} + {r["rerun"]["values_loaded"]:,}; '
          f'{r["rerun"]["shards"]} shards, {r["cache_bytes"]/1e9:.2f} GB; peak RSS {r["peak_rss_mb"]:.0f} MB; same vectors {r["same_vectors"]}', flush=True)
b,n = R['before'],R['now']
print(f'\nnow / before: first run {n["first"]["seconds"]/b["first"]["seconds"]:.3f}x, rerun {n["rerun"]["seconds"]/b["rerun"]["seconds"]:.3f}x, '
      f'peak RSS {n["peak_rss_mb"]/b["peak_rss_mb"]:.3f}x')
load_after = os.getloadavg()
print(f'total {time.perf_counter() - T0:.0f} s; load before {load_before[0]:.2f}, after {load_after[0]:.2f}')
if args.json: Path(args.json).write_text(json.dumps(dict(args=vars(args), load_before=load_before, load_after=load_after, results=R), indent=1))
