"""Audit time on a real cover set (default: ../shared/data/covers8-dev), on this machine's CPUs.

Prints the wall time of each stage and what the audit found. No cover images are written anywhere:
the report is kept in memory (JSON and Markdown only).

    python benchmarks/bench_audit.py [DATA]
"""
import os, sys, time
from pathlib import Path
from covergenre.data import CoverSet, near_duplicate_groups
from covergenre.audit import audit

data = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]/'..'/'shared'/'data'/'covers8-dev'/'labels.csv')
t0 = time.perf_counter()
covers = CoverSet.from_path(data)
t1 = time.perf_counter()
rep = audit(covers, progress=False)
t2 = time.perf_counter()
d = rep.to_dict()
print(f'data: {data} ({len(covers)} covers), {os.cpu_count()} CPUs')
print(f'load table: {t1-t0:.2f} s; audit (scan + hashing + duplicates): {t2-t1:.2f} s '
      f'({len(covers)/(t2-t1):.0f} covers/s); target < 60 s')
print(f"readable {d['n_readable']}/{d['n_covers']}, imbalance {d['imbalance_ratio']:.1f}x, "
      f"exact dup clusters {len(d['exact_duplicates'])}, near-dup clusters {len(d['near_duplicates'])}, "
      f"conflicts {len(d['conflicts'])}, leaks {len(d['leaks'])}")
# how the given groups relate to hash clusters: near-duplicate pairs that the data set's groups keep apart
if covers.df.group.notna().any():
    for bits in (4, 6, 8, 10):
        lbl = near_duplicate_groups(rep.info.phash, bits)
        split_groups = sum(covers.df.group.iloc[r].nunique() > 1 for r in
                           rep.info.groupby(lbl).indices.values() if len(r) > 1)
        print(f'  near-dup clusters at {bits:>2} bits spanning several given groups: {split_groups}')
