"""Peak memory of `dbsynth generate` at --scale 1 and --scale 10, side by side in one run.

    python benchmarks/memory.py [--rows-per-partition 20000] [--big-scale 10]

Trains a model on Chinook once, then runs generate in fresh processes (so each
peak RSS is its own) into fresh SQLite files, and prints both peaks and their
ratio. Generation streams partitions of about --rows-per-partition rows, so the
ratio should stay near 1 (the target: <= 1.5) whatever the scale.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHINOOK = Path(__file__).resolve().parent.parent / "fixtures" / "chinook.sqlite"

CHILD = """
import json, resource, sys, time
import dbsynth
model, target, scale, rows = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
started = time.perf_counter()
result = dbsynth.generate(model, target, seed=1, scale=scale, rows_per_partition=rows)
print(json.dumps({"rows": result.total_rows, "seconds": time.perf_counter() - started,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(model: Path, target: Path, scale: float, rows: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(model), f"sqlite:///{target}", str(scale), str(rows)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows-per-partition", type=int, default=20_000)
    parser.add_argument("--big-scale", type=float, default=10.0)
    args = parser.parse_args()
    import dbsynth

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = folder / "chinook.dbsynth"
        started = time.perf_counter()
        dbsynth.train(str(CHINOOK), model, seed=1, model="bayesnet")
        print(f"train: {time.perf_counter() - started:.1f}s")
        small = run(model, folder / "small.db", 1.0, args.rows_per_partition)
        big = run(model, folder / "big.db", args.big_scale, args.rows_per_partition)
    for name, r in (("scale 1", small), (f"scale {args.big_scale:g}", big)):
        print(f"{name:>9}: {r['rows']:>9,} rows in {r['seconds']:6.1f}s ({r['rows'] / r['seconds']:>7,.0f} rows/s), "
              f"peak RSS {r['peak_mb']:7.1f} MB")
    print(f"peak RSS ratio scale {args.big_scale:g} / scale 1: {big['peak_mb'] / small['peak_mb']:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
