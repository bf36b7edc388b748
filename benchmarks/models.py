"""Every generator in the registry, side by side on the benchmark databases, in one run.

    python benchmarks/models.py [--quick] [--only chinook,tpch] [--sf 0.01] [--models gan,neural,auto]
                                [--device auto|cpu|cuda] [--max-train-rows N] [--tune-budget S]
                                [--tpchgen /tmp/tpchvenv/bin/tpchgen-cli] [--work DIR]

For each benchmark database (Chinook = fixtures/chinook.sqlite; TPC-H at --sf built with tpchgen-cli and
loaded into SQLite with its keys, as benchmarks/quality.py does) and each model (every name in
`dbsynth.models.generator_names()`, then `auto`, dbsynth's default: auto-tuning per table):

  * fit s: `dbsynth.train(source, model=NAME, seed=0)`; sample s: `dbsynth.generate(...)` into a fresh
    SQLite file (the same as `clone --model NAME --seed 0`, timed in two parts);
  * sdmetrics quality of the copy, overall and its four properties, computed with dbsynth's own report
    code (`dbsynth.report`, at most --score-rows rows a table, whole subtrees);
  * for `auto`, which generator auto-tuning picked for each table.

--quick: Chinook only, fitted on at most 2,000 rows a table. Nothing is asserted. A model that fails
(say, `gan` under a differential-privacy setting) is printed with its one-line error.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHINOOK = HERE.parent / "fixtures" / "chinook.sqlite"
sys.path.insert(0, str(HERE))

PROPS = ("Column Shapes", "Column Pair Trends", "Cardinality", "Intertable Trends")
SHORT = {"Column Shapes": "shapes", "Column Pair Trends": "pairs", "Cardinality": "card.",
         "Intertable Trends": "inter."}


def quality(source: str, target: str, max_rows: int) -> dict[str, float | None]:
    """Overall and per-property sdmetrics scores, as `dbsynth report` computes them (without efficacy,
    privacy and plots, which this benchmark does not need)."""
    from dbsynth.progress import SilentProgress
    from dbsynth.report import _quality   # the report's own quality stage: sampling and metadata included
    from dbsynth.report.frames import open_databases, read_pair

    dbs = open_databases(source, target)
    try:
        pair = read_pair(dbs, SilentProgress())
    finally:
        dbs.dispose()
    result, _, _ = _quality(pair, max_rows)
    return {"overall": result.overall, **{p: result.properties.get(p) for p in PROPS}}


def run_model(source: str, model: str, folder: Path, tag: str, args: argparse.Namespace) -> dict:
    import dbsynth
    from dbsynth.errors import DbsynthError

    path, target = folder / f"{tag}_{model}.dbsynth", folder / f"{tag}_{model}.db"
    target.unlink(missing_ok=True)
    row: dict = {"db": tag, "model": model}
    try:
        t0 = time.perf_counter()
        trained = dbsynth.train(source, path, seed=0, model=model, device=args.device,
                                max_train_rows=args.max_train_rows, tune_budget=args.tune_budget)
        t1 = time.perf_counter()
        generated = dbsynth.generate(path, f"sqlite:///{target}", seed=0, device=args.device)
        t2 = time.perf_counter()
    except DbsynthError as exc:
        return {**row, "error": str(exc)}
    row.update(fit_s=t1 - t0, sample_s=t2 - t1, rows=generated.total_rows,
               picked=trained.tables if model == "auto" else None)
    row.update(quality(source, f"sqlite:///{target}", args.score_rows))
    return row


def picked_summary(tables: dict[str, str]) -> str:
    """'bayesnet x7, copula x2, neural x1' from the per-table choices (copied tables left out)."""
    names = Counter(choice.split()[0] for choice in tables.values() if choice.split()[0] not in ("copy", "skip",
                                                                                                 "keys"))
    return ", ".join(f"{name} x{n}" for name, n in names.most_common())


def fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="Chinook only, at most 2,000 training rows a table")
    parser.add_argument("--only", default="chinook,tpch", help="comma-separated: chinook, tpch")
    parser.add_argument("--sf", type=float, default=0.01, help="TPC-H scale factor (default 0.01)")
    parser.add_argument("--models", default=None, help="comma-separated subset (default: the registry, then auto)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--max-train-rows", type=int, default=None)
    parser.add_argument("--tune-budget", type=float, default=None, help="auto-tuning budget per table")
    parser.add_argument("--score-rows", type=int, default=20_000, help="rows a table sdmetrics compares")
    parser.add_argument("--tpchgen", default="/tmp/tpchvenv/bin/tpchgen-cli")
    parser.add_argument("--work", default=None, help="folder for outputs (default: a temporary one)")
    args = parser.parse_args()
    if args.quick:
        args.only = "chinook"
        args.max_train_rows = args.max_train_rows or 2_000

    from dbsynth.models import generator_names

    models = args.models.split(",") if args.models else generator_names() + ["auto"]
    folder = Path(args.work or tempfile.mkdtemp(prefix="dbsynth_models_"))
    folder.mkdir(parents=True, exist_ok=True)
    dbs: list[tuple[str, str]] = []
    if "chinook" in args.only.split(","):
        dbs.append(("chinook", f"sqlite:///{CHINOOK}"))
    if "tpch" in args.only.split(","):
        from throughput import load_sqlite, tpchgen

        path = folder / f"tpch_sf{args.sf:g}.sqlite"
        rows = load_sqlite(tpchgen(args.sf, folder, args.tpchgen), path)
        print(f"TPC-H SF {args.sf:g} in SQLite: {sum(rows.values()):,} rows", flush=True)
        dbs.append((f"tpch-{args.sf:g}", f"sqlite:///{path}"))

    results = []
    for tag, source in dbs:
        for model in models:
            r = run_model(source, model, folder, tag, args)
            results.append(r)
            print(f"{tag} {model}: " + (r["error"] if "error" in r else
                                        f"fit {r['fit_s']:.1f}s sample {r['sample_s']:.1f}s overall "
                                        f"{fmt(r['overall'])}"), flush=True)

    print()
    head = (f"{'database':<12}{'model':<13}{'overall':>8}" + "".join(f"{SHORT[p]:>8}" for p in PROPS)
            + f"{'fit s':>8}{'sample s':>9}{'rows':>9}  auto-tuning picked")
    print(head)
    print("-" * len(head))
    for r in results:
        if "error" in r:
            print(f"{r['db']:<12}{r['model']:<13}  failed: {r['error']}")
            continue
        print(f"{r['db']:<12}{r['model']:<13}{fmt(r['overall']):>8}" + "".join(f"{fmt(r[p]):>8}" for p in PROPS)
              + f"{r['fit_s']:>8.1f}{r['sample_s']:>9.1f}{r['rows']:>9,}  "
              + (picked_summary(r["picked"]) if r["picked"] else ""))
    for r in results:
        if r.get("picked"):
            print(f"\n{r['db']} auto-tuning, per table:")
            for table, choice in r["picked"].items():
                print(f"  {table:<16}{choice}")
    print(f"\noutputs in {folder}")


if __name__ == "__main__":
    main()
