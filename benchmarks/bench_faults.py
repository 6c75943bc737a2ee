"""Faults: `covergenre train` killed at random moments, and pairs of trains to the same `--out` at once, while a reader
watches the model directory. Prints how often the reader found the model missing or partial, how many runs failed or
left a broken model, and whether any data was lost (targets: 0 and 0).

    HF_HUB_OFFLINE=1 python benchmarks/bench_faults.py [--kills 30] [--pairs 20] [--seed 0]
"""
import argparse, hashlib, json, os, random, signal, subprocess, sys, tempfile, threading, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
FILES = {'config.json', 'weights.safetensors', 'index.faiss', 'index.json'}

def tree_hash(root:Path) -> str:
    "One hash of every file's path and bytes under `root`: equal before and after means nothing was lost or changed."
    h = hashlib.sha256()
    for p in sorted(root.rglob('*')):
        if p.is_file(): h.update(str(p.relative_to(root)).encode()); h.update(p.read_bytes())
    return h.hexdigest()

class Reader(threading.Thread):
    "Looks at the model directory over and over: counts looks, and those that found it missing or partial."
    def __init__(self, out:Path):
        super().__init__(daemon=True); self.out,self.stop,self.looks,self.missing,self.partial = out,threading.Event(),0,0,[]
    def run(self):
        while not self.stop.is_set():
            self.looks += 1
            try:
                names = set(os.listdir(self.out))
                if not FILES <= names: self.partial.append(sorted(names)); continue
                json.loads((self.out/'config.json').read_text())
            except FileNotFoundError: self.missing += 1
            except ValueError as e: self.partial.append(f'config.json: {e}')
            time.sleep(0.001)

def main(kills=30, pairs=20, seed=0):
    from covergenre.synth import synth_covers
    from covergenre.model import load_model
    rng = random.Random(seed)
    print(f'{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at start')
    tmp = Path(tempfile.mkdtemp())
    data = synth_covers(tmp/'covers', n_per_genre=3, size=64, seed=1)
    notes = tmp/'notes'; notes.mkdir(); (notes/'mine.txt').write_text('a user file next to the model')
    before = tree_hash(data), tree_hash(notes)
    out = tmp/'model'
    cmd = ['covergenre', 'train', str(data), '--method', 'knn', '--size', '64', '--out', str(out), '-q']
    t = time.perf_counter(); subprocess.run(cmd, check=True, capture_output=True); full = time.perf_counter() - t
    print(f'one train (warm cache): {full:.1f} s')
    reader = Reader(out); reader.start()
    broken = 0
    for i in range(kills):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.1, 1.1*full)); p.send_signal(signal.SIGKILL); p.wait()
        try: load_model(out)
        except Exception as e: broken += 1; print(f'  after kill {i}: {e}')
    failed,errors = 0,[]
    for i in range(pairs):
        ps = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        for p in ps:
            _,err = p.communicate()
            if p.returncode: failed += 1; errors.append(err.strip().splitlines()[-1:])
        try: load_model(out)
        except Exception as e: broken += 1; print(f'  after pair {i}: {e}')
    reader.stop.set(); reader.join()
    half = sorted(p.name for p in out.parent.iterdir() if p.name.startswith('.model.part-'))
    kept = sorted(p.name for p in out.parent.iterdir() if p.name.startswith('.model.prev-'))
    lost = (tree_hash(data), tree_hash(notes)) != before
    print(f'{kills} trains killed at random moments (0.1 to {1.1*full:.1f} s), then {pairs} pairs of trains at once to the same --out')
    print(f'reader: {reader.looks} looks, model missing {reader.missing} times, partial {len(reader.partial)} times (target 0)')
    if reader.partial: print(f'  e.g. {reader.partial[:3]}')
    print(f'broken model after a kill or a pair: {broken}; concurrent runs that failed: {failed} of {2*pairs} {errors[:2]}')
    print(f'runs that lost data (training covers or the user folder beside the model changed): {int(lost)} (target 0)')
    print(f'hidden folders beside the model after the last run: {len(half)} half-written (target 0), '
          f'{len(kept)} replaced models kept for readers (each removed a minute after it was replaced)')
    print(f'load average {os.getloadavg()[0]:.1f} at end')

if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--kills', type=int, default=30); a.add_argument('--pairs', type=int, default=20)
    a.add_argument('--seed', type=int, default=0); a = a.parse_args()
    main(a.kills, a.pairs, a.seed)
