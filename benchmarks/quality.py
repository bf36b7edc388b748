"""Quality and speed of dbsynth against SDV's HMASynthesizer, side by side in one run.

    python benchmarks/quality.py [--sf 0.01] [--sdv-python /tmp/sdv-1.37.4/bin/python] [--hma-timeout 900]
                                 [--force-hma] [--tpchgen /tmp/tpchvenv/bin/tpchgen-cli]
                                 [--only chinook-core,tpch-partsupp,chinook,tpch]

Databases: Chinook; TPC-H at --sf loaded into SQLite with PKs and FKs declared; and two parts of them
inside HMA's supported envelope (<= 5 tables, one level of parent -> child), so that there is a quality
comparison where HMA finishes: chinook-core (album, genre, media_type, track) and tpch-partsupp
(part, supplier, partsupp). For each:
  * dbsynth: train (fit) then generate (sample) with seed 0 into a fresh SQLite file, in a child
    process (its peak RSS is its own) -- the same as `dbsynth.clone(..., seed=0)`, timed in two parts;
  * SDV HMASynthesizer: a child process in a separate venv (SDV is not a dbsynth dependency) loads the
    tables with pandas, builds SDV metadata from the SQLite schema, fits, samples the same number of
    rows and writes them into a SQLite file with the source's schema. Its peak RSS is read from
    /proc (VmHWM) while it runs, so a run cut off by --hma-timeout still reports how far it got
    (phase, seconds, memory): a timeout is a result, not a missing row;
  * both outputs are scored with dbsynth's own `build_report(source, target).quality` (sdmetrics),
    so both tools are measured with identical metrics.
Prints one table, then per database the targets (met / NOT met): the four property goals,
overall >= HMA + 0.05 and fit+sample >= 10x faster than HMA. Nothing is asserted.

SDV version: 1.37.4 is the newest SDV whose HMASynthesizer accepts Chinook (11 tables) and TPC-H
(8 tables). 1.38.0 and later (2.0.0 included) refuse any schema with more than 5 tables or a
relationship depth above 2 ("Please use SDV Enterprise"); --force-hma lifts that check in those
versions, so `--sdv-python /tmp/sdv-1.38.5/bin/python --force-hma` runs the newer code anyway.
See benchmarks/README.md for what each version refuses.

SDV venv:  python3 -m venv /tmp/sdv-1.37.4 && /tmp/sdv-1.37.4/bin/pip install torch==2.13.0 \
           && /tmp/sdv-1.37.4/bin/pip install sdv==1.37.4
tpchgen:   python3 -m venv /tmp/tpchvenv && /tmp/tpchvenv/bin/pip install tpchgen-cli
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHINOOK = ROOT / "fixtures" / "chinook.sqlite"
sys.path.insert(0, str(HERE))

# Parts of the benchmark databases inside HMA's supported envelope (<= 5 tables, one level of parent -> child),
# so that there is a quality comparison even where HMA cannot finish the whole schema in time.
SUBSETS = {"chinook-core": ("chinook", ("album", "genre", "media_type", "track")),
           "tpch-partsupp": ("tpch", ("part", "supplier", "partsupp"))}

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
try:
    from sdv.metadata import MultiTableMetadata
except ImportError:   # sdv 2.x: one Metadata class (keyword arguments below work with both)
    from sdv.metadata import Metadata as MultiTableMetadata
from sdv.multi_table import HMASynthesizer

def progress(**kw):   # the parent reads these lines if it has to cut the run off
    print("HMA-PROGRESS " + json.dumps({**kw, "at": time.time()}), file=sys.stderr, flush=True)

progress(phase="load", sdv=sdv.__version__)

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
if hasattr(MultiTableMetadata, "detect_table_from_dataframe"):
    md = MultiTableMetadata()
    for t in tables:
        md.detect_table_from_dataframe(table_name=t, data=data[t])
else:   # sdv 2.x: detection of all tables at once; keys are declared below from the schema
    md = MultiTableMetadata.detect_from_dataframes(data, infer_keys=None)
# only keys SDV can represent are ids: a single-column PK, single-column FKs (columns of composite keys stay data)
key_cols = {t: set(pks[t] if len(pks[t]) == 1 else []) | {cols[0] for _, cols, _ in fks[t] if len(cols) == 1}
            for t in tables}
for t in tables:
    meta = md.tables[t]
    meta.primary_key = None
    for c, spec in list(meta.columns.items()):
        if c in key_cols[t]:
            md.update_column(table_name=t, column_name=c, sdtype="id")
        elif spec.get("sdtype") == "id":   # detected as an id but no key: model it as a category
            md.update_column(table_name=t, column_name=c, sdtype="categorical")
    if len(pks[t]) == 1:
        md.set_primary_key(table_name=t, column_name=pks[t][0])
    elif len(pks[t]) > 1:
        refused.append(f"{t}: composite primary key {tuple(pks[t])} (SDV supports single-column keys only); "
                       "left without a primary key, duplicate key rows dropped before writing")
for t in tables:
    for parent, cols, pcols in fks[t]:
        if len(cols) > 1:
            refused.append(f"{t}: composite foreign key {tuple(cols)} -> {parent}{tuple(pcols)} "
                           "not representable; dropped")
        elif len(pks[parent]) != 1 or pcols[0] != pks[parent][0]:
            refused.append(f"{t}.{cols[0]} -> {parent}.{pcols[0]}: not the parent's single primary key; dropped")
        else:
            try:
                md.add_relationship(parent_table_name=parent, child_table_name=t,
                                    parent_primary_key=pcols[0], child_foreign_key=cols[0])
            except Exception as exc:
                refused.append(f"{t}.{cols[0]} -> {parent}: {type(exc).__name__}: {exc}")
md.validate()
forced = len(sys.argv) > 3 and sys.argv[3] == "force"
if forced and hasattr(HMASynthesizer, "_validate_schema_complexity"):
    # sdv >= 1.38 refuses > 5 tables or depth > 2 in __init__; 1.37.x and older only print a PerformanceAlert
    HMASynthesizer._validate_schema_complexity = lambda *a, **k: None
progress(phase="init", sdv=sdv.__version__, refused=refused)
synth = HMASynthesizer(md)
t0 = time.perf_counter()
progress(phase="fit", sdv=sdv.__version__, refused=refused)
synth.fit(data)
t1 = time.perf_counter()
progress(phase="sample", sdv=sdv.__version__, refused=refused, fit_s=t1 - t0)
out = synth.sample(scale=1.0)
t2 = time.perf_counter()
progress(phase="write", sdv=sdv.__version__, refused=refused, fit_s=t1 - t0, sample_s=t2 - t1)

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
                  "dropped_duplicate_keys": dropped, "sdv": sdv.__version__, "forced": forced,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def subset_sqlite(src: Path, dst: Path, tables: tuple[str, ...]) -> dict[str, int]:
    """Copy `tables` of SQLite file `src` into a new file `dst`, keeping types, NOT NULL, primary keys and
    the foreign keys among them (a foreign key to a table left out becomes a plain column); rows per table."""
    import sqlite3

    dst.unlink(missing_ok=True)
    con = sqlite3.connect(dst)
    con.execute("ATTACH DATABASE ? AS src", (str(src),))
    rows = {}
    for t in tables:
        cols = con.execute(f'PRAGMA src.table_info("{t}")').fetchall()
        parts = [f'"{c[1]}" {c[2]}' + (" NOT NULL" if c[3] else "") for c in cols]
        pk = [c[1] for c in sorted((c for c in cols if c[5]), key=lambda c: c[5])]
        if pk:
            parts.append("PRIMARY KEY (" + ", ".join(f'"{c}"' for c in pk) + ")")
        fks: dict[int, list] = {}
        for r in con.execute(f'PRAGMA src.foreign_key_list("{t}")').fetchall():
            fks.setdefault(r[0], []).append(r)
        for group in fks.values():
            parent = group[0][2]
            if parent in tables:
                refs = ", ".join(f'"{r[4]}"' for r in group) if all(r[4] for r in group) else None
                parts.append("FOREIGN KEY (" + ", ".join(f'"{r[3]}"' for r in group) + f') REFERENCES "{parent}"'
                             + (f" ({refs})" if refs else ""))
        con.execute(f'CREATE TABLE "{t}" (' + ", ".join(parts) + ")")
        con.execute(f'INSERT INTO main."{t}" SELECT * FROM src."{t}"')
        rows[t] = con.execute(f'SELECT COUNT(*) FROM main."{t}"').fetchone()[0]
    con.commit()
    con.execute("DETACH DATABASE src")
    con.close()
    return rows


def run_dbsynth(source: str, folder: Path, tag: str) -> tuple[dict, str]:
    target = folder / f"{tag}_dbsynth.db"
    target.unlink(missing_ok=True)
    out = subprocess.run([sys.executable, "-c", DBSYNTH_CHILD, source, str(folder / f"{tag}.dbsynth"),
                          f"sqlite:///{target}"], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1]), f"sqlite:///{target}"


def _vm_hwm_mb(pid: int) -> float | None:
    """Peak RSS of a running process, from /proc (Linux); None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _progress(stderr: str) -> dict[str, dict]:
    """The child's HMA-PROGRESS lines, by phase (load, init, fit, sample, write), in order."""
    return {p["phase"]: p for p in (json.loads(line.split(" ", 1)[1]) for line in stderr.splitlines()
                                    if line.startswith("HMA-PROGRESS "))}


def _performance_alert(stdout: str) -> str | None:
    """SDV 1.37.x and older print a PerformanceAlert with its estimate of the columns HMA will model."""
    m = re.search(r"PerformanceAlert:.*?\((\S+) columns\)", stdout, re.S)
    return None if m is None else f"SDV's own PerformanceAlert: HMA will model about {m.group(1)} columns"


def run_hma(sdv_python: str, source_file: Path, folder: Path, tag: str, timeout: float,
            force: bool = False) -> dict:
    """HMA on one SQLite file in the SDV venv.

    Returns a dict with status: "ok" (with fit_s, sample_s, peak_mb, rows, target), "timeout" (phase
    reached, fit_s when fit had finished, peak_mb so far), "refused", "failed" or "missing" (with why).
    """
    if not Path(sdv_python).exists():
        return {"status": "missing", "why": f"no SDV interpreter at {sdv_python} (see the docstring for the venv)"}
    target = folder / f"{tag}_hma.db"
    target.unlink(missing_ok=True)
    script = folder / "hma_child.py"
    script.write_text(HMA_CHILD)
    out_path, err_path = folder / f"{tag}_hma.stdout", folder / f"{tag}_hma.stderr"
    cmd = [sdv_python, str(script), str(source_file), str(target)] + (["force"] if force else [])
    with open(out_path, "w") as out_f, open(err_path, "w") as err_f:
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f)
        start, peak = time.monotonic(), None
        while proc.poll() is None and time.monotonic() - start < timeout:
            peak = _vm_hwm_mb(proc.pid) or peak
            time.sleep(0.5)
        timed_out = proc.poll() is None
        if timed_out:
            peak = _vm_hwm_mb(proc.pid) or peak
            proc.kill()
            killed_at = time.time()
        proc.wait()
    stdout, stderr = out_path.read_text(), err_path.read_text()
    phases = _progress(stderr)
    last = list(phases.values())[-1] if phases else {}
    res = {"sdv": last.get("sdv", "?"), "refused": last.get("refused", []), "forced": force,
           "alert": _performance_alert(stdout)}
    if timed_out:
        fit_at = phases.get("fit", {}).get("at")
        phase = last.get("phase", "start")
        return {**res, "status": "timeout", "phase": phase, "fit_s": last.get("fit_s"),
                "fit_sample_so_far_s": 0.0 if fit_at is None else killed_at - fit_at, "peak_mb": peak,
                "why": f"did not finish within {timeout:.0f}s (--hma-timeout); cut off in {phase}"}
    if proc.returncode:
        lines = [line.strip() for line in stderr.splitlines()
                 if line.strip() and not line.startswith("HMA-PROGRESS ")]
        first = next((i for i, line in enumerate(lines) if "Error:" in line and not line.startswith("File")),
                     max(len(lines) - 3, 0))
        refused = any(e in stderr for e in ("SynthesizerInputError", "InvalidMetadataError"))
        return {**res, "status": "refused" if refused else "failed",
                "why": ("SDV refused: " if refused else "SDV failed: ") + " ".join(lines[first:first + 2])}
    return {**res, **json.loads(stdout.strip().splitlines()[-1]), "status": "ok", "target": f"sqlite:///{target}"}


def score(source: str, target: str) -> dict:
    from dbsynth.report import build_report

    rep = build_report(source, target)
    q = rep.quality
    return {"overall": q.overall, **{p: q.properties.get(p) for p in PROPS}}


def fmt(v: float | None, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def verdicts(d: dict, h: dict, timeout: float) -> list[tuple[str, str, str]]:
    """(target, value, met / NOT met / n/a) for one database; h is run_hma's result."""
    checks = []
    for p, goal in TARGETS.items():
        v = d[p]
        checks.append((f"{p} >= {goal:.2f}", fmt(v), "n/a" if v is None else "met" if v >= goal else "NOT met"))
    ds = d["fit_s"] + d["sample_s"]
    if h["status"] == "ok" and d["overall"] is not None and h["overall"] is not None:
        checks.append(("overall >= HMA + 0.05", f"{d['overall']:.3f} vs {h['overall']:.3f}",
                       "met" if d["overall"] >= h["overall"] + 0.05 else "NOT met"))
        hs = h["fit_s"] + h["sample_s"]
        checks.append((">= 10x faster than HMA (fit+sample)", f"{hs / ds:.1f}x ({ds:.1f}s vs {hs:.1f}s)",
                       "met" if hs / ds >= 10 else "NOT met"))
    elif h["status"] == "timeout":
        # HMA was still fitting or sampling when cut off, so the ratio is a lower bound
        checks.append(("overall >= HMA + 0.05", "- (HMA timed out)", "n/a (HMA has no output)"))
        hs = h["fit_sample_so_far_s"]
        checks.append((">= 10x faster than HMA (fit+sample)", f"> {hs / ds:.1f}x ({ds:.1f}s vs > {hs:.0f}s)",
                       "met (lower bound)" if hs / ds >= 10 else "unknown (HMA cut off too early to tell)"))
    else:
        checks.append(("overall >= HMA + 0.05", "-", f"n/a (HMA {h['status']})"))
        checks.append((">= 10x faster than HMA (fit+sample)", "-", f"n/a (HMA {h['status']})"))
    return checks


def hma_label(h: dict) -> str:
    return f"HMA sdv {h.get('sdv', '?')}" + ("+force" if h.get("forced") else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", type=float, default=0.01, help="TPC-H scale factor (default 0.01)")
    parser.add_argument("--sdv-python", default=os.environ.get("SDV_PYTHON", "/tmp/sdv-1.37.4/bin/python"),
                        help="python of the SDV venv (default: SDV 1.37.4, the newest that accepts these schemas)")
    parser.add_argument("--tpchgen", default=os.environ.get("TPCHGEN", "/tmp/tpchvenv/bin/tpchgen-cli"))
    parser.add_argument("--hma-timeout", type=float, default=900.0,
                        help="seconds HMA may take per database; a timeout is reported as the result")
    parser.add_argument("--force-hma", action="store_true",
                        help="SDV >= 1.38 only: lift its refusal of schemas with > 5 tables or depth > 2 "
                             "(1.37.4 has no such check, so the flag changes nothing there)")
    parser.add_argument("--only", default=",".join([*SUBSETS, "chinook", "tpch"]),
                        help=f"comma-separated, run in this order: {', '.join(SUBSETS)}, chinook, tpch")
    parser.add_argument("--work", default=None, help="folder for outputs (default: a temporary one)")
    args = parser.parse_args()

    from throughput import load_sqlite, tpchgen

    folder = Path(args.work or tempfile.mkdtemp(prefix="dbsynth_quality_"))
    folder.mkdir(parents=True, exist_ok=True)
    wanted = args.only.split(",")
    unknown = set(wanted) - {*SUBSETS, "chinook", "tpch"}
    if unknown:
        parser.error(f"--only: unknown database(s) {sorted(unknown)}")
    full = {"chinook": CHINOOK}
    if "tpch" in wanted or any(SUBSETS[w][0] == "tpch" for w in wanted if w in SUBSETS):
        csv_dir = tpchgen(args.sf, folder, args.tpchgen)
        full["tpch"] = folder / f"tpch_sf{args.sf:g}.sqlite"
        rows = load_sqlite(csv_dir, full["tpch"])
        print(f"TPC-H SF {args.sf:g} in SQLite: {sum(rows.values()):,} rows {rows}", flush=True)
    dbs: list[tuple[str, Path]] = []
    for w in wanted:
        if w in SUBSETS:
            base, tables = SUBSETS[w]
            tag = w if base == "chinook" else w.replace("tpch", f"tpch{args.sf:g}")
            rows = subset_sqlite(full[base], folder / f"{tag}.sqlite", tables)
            print(f"{tag}: {sum(rows.values()):,} rows {rows}", flush=True)
            dbs.append((tag, folder / f"{tag}.sqlite"))
        else:
            dbs.append((w if w == "chinook" else f"tpch-{args.sf:g}", full[w]))

    results: list[tuple[str, dict, dict]] = []
    notes: list[str] = []
    for tag, path in dbs:
        source = f"sqlite:///{path}"
        d, target = run_dbsynth(source, folder, tag)
        d.update(score(source, target))
        print(f"{tag}: dbsynth fit {d['fit_s']:.1f}s sample {d['sample_s']:.1f}s overall {fmt(d['overall'])}; "
              f"models {d['models']}", flush=True)
        h = run_hma(args.sdv_python, path, folder, tag, args.hma_timeout, args.force_hma)
        for r in h.get("refused", []):
            notes.append(f"{tag}: SDV cannot represent {r}")
        if h.get("alert"):
            notes.append(f"{tag}: {h['alert']}")
        if h.get("dropped_duplicate_keys"):
            notes.append(f"{tag}: HMA output rows dropped for duplicate primary keys {h['dropped_duplicate_keys']}")
        if args.force_hma:
            notes.append(f"{tag}: --force-hma (SDV's schema-complexity check lifted where the version has one)")
        if h["status"] == "ok":
            h.update(score(source, h["target"]))
            print(f"{tag}: HMA fit {h['fit_s']:.1f}s sample {h['sample_s']:.1f}s overall {fmt(h['overall'])}",
                  flush=True)
        else:
            print(f"{tag}: HMA {h['status']} -- {h['why']}", flush=True)
        results.append((tag, d, h))

    print()
    w = max(len(tag) for tag, _, _ in results) + 2
    head = f"{'database':<{w}}{'tool':<18}{'overall':>8}{'shapes':>8}{'pairs':>8}{'card.':>8}{'inter.':>8}" \
           f"{'fit s':>9}{'sample s':>9}{'peak MB':>9}{'rows':>9}"
    print(head)
    print("-" * len(head))
    for tag, d, h in results:
        print(f"{tag:<{w}}{'dbsynth':<18}{fmt(d['overall']):>8}" + "".join(fmt(d[p]).rjust(8) for p in PROPS)
              + f"{d['fit_s']:>9.1f}{d['sample_s']:>9.1f}{d['peak_mb']:>9.0f}{d['rows']:>9,}")
        if h["status"] == "ok":
            print(f"{tag:<{w}}{hma_label(h):<18}{fmt(h['overall']):>8}" + "".join(fmt(h[p]).rjust(8) for p in PROPS)
                  + f"{h['fit_s']:>9.1f}{h['sample_s']:>9.1f}{h['peak_mb']:>9.0f}{h['rows']:>9,}")
        elif h["status"] == "timeout":
            so_far = h["fit_sample_so_far_s"]
            fit = f">{so_far:.0f}" if h["fit_s"] is None else f"{h['fit_s']:.1f}"
            sample = "-" if h["fit_s"] is None else f">{so_far - h['fit_s']:.0f}"
            print(f"{tag:<{w}}{hma_label(h):<18}{'timeout':>8}" + "-".rjust(8) * 4
                  + f"{fit:>9}{sample:>9}{fmt(h['peak_mb'], '.0f'):>9}{'-':>9}")
        else:
            print(f"{tag:<{w}}{hma_label(h):<18}  {h['status']}: {h['why']}")

    print()
    print("targets (dbsynth):")
    for tag, d, h in results:
        for name, value, ok in verdicts(d, h, args.hma_timeout):
            print(f"  {tag:<{w}}{name:<38}{value:<30}{ok}")
    if notes:
        print()
        print("notes:")
        for n in notes:
            print(f"  {n}")
    print(f"\noutputs in {folder}")


if __name__ == "__main__":
    main()
