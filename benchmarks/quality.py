"""Quality and speed of dbsynth against SDV's HMASynthesizer, side by side in one run.

    python benchmarks/quality.py [--sf 0.01] [--sdv-python /tmp/sdvenv/bin/python] [--hma-timeout 900]
                                 [--tpchgen /tmp/tpchvenv/bin/tpchgen-cli] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
                                 [--only chinook,tpch,types_postgres]

For each benchmark database (Chinook; TPC-H at --sf loaded into SQLite with PKs and FKs declared;
fixtures/types_postgres.sql when a PostgreSQL server answers at --pg):
  * dbsynth: train (fit) then generate (sample) with seed 0 into a fresh SQLite file, in a child
    process (its peak RSS is its own) -- the same as `dbsynth.clone(..., seed=0)`, timed in two parts;
  * SDV HMASynthesizer: a child process in a separate venv (SDV is not a dbsynth dependency) loads the
    tables with pandas, builds SDV metadata from the SQLite schema, fits, samples the same number of
    rows and writes them into a SQLite file with the source's schema;
  * both outputs are scored with dbsynth's own `build_report(source, target).quality` (sdmetrics),
    so both tools are measured with identical metrics.
Prints one table with the targets (met / NOT met). Nothing is asserted.

SDV venv:  python3 -m venv /tmp/sdvenv && /tmp/sdvenv/bin/pip install torch==2.13.0 && /tmp/sdvenv/bin/pip install 'sdv<2'
tpchgen:   python3 -m venv /tmp/tpchvenv && /tmp/tpchvenv/bin/pip install tpchgen-cli
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHINOOK = ROOT / "fixtures" / "chinook.sqlite"
TYPES_PG = ROOT / "fixtures" / "types_postgres.sql"
sys.path.insert(0, str(HERE))

PROPS = ("Column Shapes", "Column Pair Trends", "Cardinality", "Intertable Trends")
TARGETS = {"Column Shapes": 0.90, "Column Pair Trends": 0.90, "Cardinality": 0.95, "Intertable Trends": 0.85}

DBSYNTH_CHILD = """
import json, resource, sys, time
import dbsynth
source, model, target = sys.argv[1:4]
t0 = time.perf_counter()
tr = dbsynth.train(source, model, seed=0)
t1 = time.perf_counter()
gen = dbsynth.generate(model, target, seed=0)
t2 = time.perf_counter()
print(json.dumps({"fit_s": t1 - t0, "sample_s": t2 - t1, "rows": gen.total_rows, "models": gen.models,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# Runs in the SDV venv: pandas + sdv only, no dbsynth.
HMA_CHILD = r'''
import json, resource, sqlite3, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
import pandas as pd
import sdv
from sdv.metadata import MultiTableMetadata
from sdv.multi_table import HMASynthesizer

src, dst = sys.argv[1:3]
con = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
tables = [r[0] for r in con.execute(
    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
data = {t: pd.read_sql_query(f'SELECT * FROM "{t}"', con) for t in tables}
pks, fks = {}, {}
for t in tables:
    info = con.execute(f'PRAGMA table_info("{t}")').fetchall()
    pks[t] = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
    groups = {}
    for r in con.execute(f'PRAGMA foreign_key_list("{t}")').fetchall():
        groups.setdefault(r[0], []).append(r)
    fks[t] = [(g[0][2], [r[3] for r in g], [r[4] or pks.get(g[0][2], [None])[0] for r in g]) for g in groups.values()]
schema_sql = [r[0] for r in con.execute(
    "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
    "ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END")]
con.close()

refused = []
md = MultiTableMetadata()
for t in tables:
    md.detect_table_from_dataframe(t, data[t])
# only keys SDV can represent are ids: a single-column PK, single-column FKs (columns of composite keys stay data)
key_cols = {t: set(pks[t] if len(pks[t]) == 1 else []) | {cols[0] for _, cols, _ in fks[t] if len(cols) == 1}
            for t in tables}
for t in tables:
    meta = md.tables[t]
    meta.primary_key = None
    for c, spec in list(meta.columns.items()):
        if c in key_cols[t]:
            md.update_column(t, c, sdtype="id")
        elif spec.get("sdtype") == "id":   # detected as an id but no key: model it as a category
            md.update_column(t, c, sdtype="categorical")
    if len(pks[t]) == 1:
        md.set_primary_key(t, pks[t][0])
    elif len(pks[t]) > 1:
        refused.append(f"{t}: composite primary key {tuple(pks[t])} (SDV supports single-column keys only); "
                       "left without a primary key, duplicate key rows dropped before writing")
for t in tables:
    for parent, cols, pcols in fks[t]:
        if len(cols) > 1:
            refused.append(f"{t}: composite foreign key {tuple(cols)} -> {parent}{tuple(pcols)} not representable; dropped")
        elif len(pks[parent]) != 1 or pcols[0] != pks[parent][0]:
            refused.append(f"{t}.{cols[0]} -> {parent}.{pcols[0]}: not the parent's single primary key; dropped")
        else:
            try:
                md.add_relationship(parent_table_name=parent, child_table_name=t,
                                    parent_primary_key=pcols[0], child_foreign_key=cols[0])
            except Exception as exc:
                refused.append(f"{t}.{cols[0]} -> {parent}: {type(exc).__name__}: {exc}")
md.validate()
if len(sys.argv) > 3 and sys.argv[3] == "force":   # sdv >= 1.x refuses > 5 tables or depth > 2: lift the check
    HMASynthesizer._validate_schema_complexity = lambda *a, **k: None
synth = HMASynthesizer(md)
t0 = time.perf_counter()
synth.fit(data)
t1 = time.perf_counter()
out = synth.sample(scale=1.0)
t2 = time.perf_counter()

dcon = sqlite3.connect(dst)
for sql in schema_sql:
    dcon.execute(sql)
dropped = {}
for t in tables:
    frame = out[t][list(data[t].columns)]
    if pks[t]:
        before = len(frame)
        frame = frame.drop_duplicates(subset=pks[t])
        if len(frame) < before:
            dropped[t] = before - len(frame)
    for c in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[c]):
            frame[c] = frame[c].dt.strftime("%Y-%m-%d %H:%M:%S").where(frame[c].notna(), None)
    frame = frame.astype(object).where(frame.notna(), None)
    dcon.executemany(f'INSERT INTO "{t}" VALUES ({", ".join("?" * len(frame.columns))})',
                     frame.itertuples(index=False, name=None))
dcon.commit()
dcon.close()
print(json.dumps({"fit_s": t1 - t0, "sample_s": t2 - t1, "rows": int(sum(len(f) for f in out.values())),
                  "source_rows": int(sum(len(f) for f in data.values())), "refused": refused,
                  "dropped_duplicate_keys": dropped, "sdv": sdv.__version__,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def run_dbsynth(source: str, folder: Path, tag: str) -> tuple[dict, str]:
    target = folder / f"{tag}_dbsynth.db"
    target.unlink(missing_ok=True)
    out = subprocess.run([sys.executable, "-c", DBSYNTH_CHILD, source, str(folder / f"{tag}.dbsynth"),
                          f"sqlite:///{target}"], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1]), f"sqlite:///{target}"


def run_hma(sdv_python: str, source_file: Path, folder: Path, tag: str, timeout: float,
            force: bool = False) -> tuple[dict | None, str | None, str]:
    """(timings, target URL, why not) -- timings None when SDV refused or failed."""
    if not Path(sdv_python).exists():
        return None, None, f"no SDV interpreter at {sdv_python} (see the docstring for the venv)"
    target = folder / f"{tag}_hma.db"
    target.unlink(missing_ok=True)
    script = folder / "hma_child.py"
    script.write_text(HMA_CHILD)
    try:
        out = subprocess.run([sdv_python, str(script), str(source_file), str(target)] + (["force"] if force else []),
                             capture_output=True,
                             text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, f"HMA did not finish within {timeout:.0f}s (--hma-timeout)"
    if out.returncode:
        lines = [line.strip() for line in out.stderr.strip().splitlines() if line.strip()]
        first = next((i for i, line in enumerate(lines) if "Error:" in line and not line.startswith("File")),
                     max(len(lines) - 3, 0))
        return None, None, "SDV refused: " + " ".join(lines[first:first + 2])
    return json.loads(out.stdout.strip().splitlines()[-1]), f"sqlite:///{target}", ""


def score(source: str, target: str) -> dict:
    from dbsynth.report import build_report

    rep = build_report(source, target)
    q = rep.quality
    return {"overall": q.overall, **{p: q.properties.get(p) for p in PROPS}}


def fmt(v: float | None, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", type=float, default=0.01, help="TPC-H scale factor (default 0.01)")
    parser.add_argument("--sdv-python", default=os.environ.get("SDV_PYTHON", "/tmp/sdvenv/bin/python"))
    parser.add_argument("--tpchgen", default=os.environ.get("TPCHGEN", "/tmp/tpchvenv/bin/tpchgen-cli"))
    parser.add_argument("--hma-timeout", type=float, default=900.0, help="seconds HMA may take per database")
    parser.add_argument("--force-hma", action="store_true",
                        help="lift SDV's own refusal of schemas with > 5 tables or depth > 2 (HMA then runs anyway)")
    parser.add_argument("--only", default="chinook,tpch", help="comma-separated: chinook, tpch")
    parser.add_argument("--work", default=None, help="folder for outputs (default: a temporary one)")
    args = parser.parse_args()

    from throughput import load_sqlite, tpchgen

    folder = Path(args.work or tempfile.mkdtemp(prefix="dbsynth_quality_"))
    folder.mkdir(parents=True, exist_ok=True)
    dbs: list[tuple[str, Path]] = []
    wanted = args.only.split(",")
    if "chinook" in wanted:
        dbs.append(("chinook", CHINOOK))
    if "tpch" in wanted:
        csv_dir = tpchgen(args.sf, folder, args.tpchgen)
        path = folder / f"tpch_sf{args.sf:g}.sqlite"
        rows = load_sqlite(csv_dir, path)
        print(f"TPC-H SF {args.sf:g} in SQLite: {sum(rows.values()):,} rows {rows}", flush=True)
        dbs.append((f"tpch-{args.sf:g}", path))

    rows_out: list[dict] = []
    notes: list[str] = []
    for tag, path in dbs:
        source = f"sqlite:///{path}"
        d, target = run_dbsynth(source, folder, tag)
        d.update(score(source, target), db=tag, tool="dbsynth")
        rows_out.append(d)
        print(f"{tag}: dbsynth fit {d['fit_s']:.1f}s sample {d['sample_s']:.1f}s overall {fmt(d['overall'])}; "
              f"models {d['models']}", flush=True)
        h, htarget, why = run_hma(args.sdv_python, path, folder, tag, args.hma_timeout, args.force_hma)
        if h is None:
            notes.append(f"{tag}: HMA did not run -- {why}")
            rows_out.append({"db": tag, "tool": "HMA", "missing": why})
            print(notes[-1], flush=True)
            continue
        for r in h["refused"]:
            notes.append(f"{tag}: SDV refused {r}")
        if h["dropped_duplicate_keys"]:
            notes.append(f"{tag}: HMA output rows dropped for duplicate primary keys {h['dropped_duplicate_keys']}")
        if args.force_hma:
            notes.append(f"{tag}: HMA ran with SDV's schema-complexity check lifted (--force-hma)")
        h.update(score(source, htarget), db=tag, tool=f"HMA (sdv {h['sdv']})")
        rows_out.append(h)
        print(f"{tag}: HMA fit {h['fit_s']:.1f}s sample {h['sample_s']:.1f}s overall {fmt(h['overall'])}", flush=True)

    print()
    head = f"{'database':<12}{'tool':<18}{'overall':>8}{'shapes':>8}{'pairs':>8}{'card.':>8}{'inter.':>8}" \
           f"{'fit s':>9}{'sample s':>9}{'peak MB':>9}{'rows':>9}"
    print(head)
    print("-" * len(head))
    for r in rows_out:
        if "missing" in r:
            print(f"{r['db']:<12}{r['tool']:<18}  not run: {r['missing']}")
            continue
        print(f"{r['db']:<12}{r['tool']:<18}{fmt(r['overall']):>8}" + "".join(fmt(r[p]).rjust(8) for p in PROPS)
              + f"{r['fit_s']:>9.1f}{r['sample_s']:>9.1f}{r['peak_mb']:>9.0f}{r['rows']:>9,}")

    print()
    print("targets (dbsynth):")
    for tag, _ in dbs:
        d = next(r for r in rows_out if r["db"] == tag and r["tool"] == "dbsynth")
        h = next((r for r in rows_out if r["db"] == tag and r["tool"] != "dbsynth" and "missing" not in r), None)
        checks = []
        for p, goal in TARGETS.items():
            v = d[p]
            checks.append((f"{p} >= {goal:.2f}", fmt(v), "n/a" if v is None else "met" if v >= goal else "NOT met"))
        if h is not None and d["overall"] is not None and h["overall"] is not None:
            checks.append(("overall >= HMA + 0.05", f"{d['overall']:.3f} vs {h['overall']:.3f}",
                           "met" if d["overall"] >= h["overall"] + 0.05 else "NOT met"))
            ds, hs = d["fit_s"] + d["sample_s"], h["fit_s"] + h["sample_s"]
            checks.append((">= 10x faster than HMA (fit+sample)", f"{hs / ds:.1f}x ({ds:.1f}s vs {hs:.1f}s)",
                           "met" if hs / ds >= 10 else "NOT met"))
        else:
            checks.append(("overall >= HMA + 0.05", "-", "n/a (no HMA result)"))
            checks.append((">= 10x faster than HMA", "-", "n/a (no HMA result)"))
        for name, value, ok in checks:
            print(f"  {tag:<12}{name:<38}{value:<30}{ok}")
    if notes:
        print()
        print("notes:")
        for n in notes:
            print(f"  {n}")
    print(f"\noutputs in {folder}")


if __name__ == "__main__":
    main()
