"""Generate throughput on TPC-H in PostgreSQL against a plain COPY of the same rows, side by side in one run.

    python benchmarks/throughput.py [--sf 1] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
                                    [--tpchgen /tmp/tpchvenv/bin/tpchgen-cli]

Builds a PostgreSQL database from TPC-H at --sf (tpchgen-cli CSV, loaded with COPY, PKs and FKs
declared), then prints:
  (a) `dbsynth generate` from a trained model into an empty database (scale 1);
  (b) plain COPY TO + COPY FROM of the same source rows into an empty database with the same schema;
      and the ratio a/b (target <= 2.0);
  (c) `dbsynth train` time (target <= 5 min at SF1);
  (d) peak RSS of generate at --scale 1 and --scale 10, each in its own child process
      (target ratio <= 1.5);
  (e) end-to-end `dbsynth clone` time (target <= 10 min at SF1).
tpchgen-cli lives in its own venv: python3 -m venv /tmp/tpchvenv && /tmp/tpchvenv/bin/pip install tpchgen-cli
Nothing is asserted; the machine is shared, so only ratios measured in the same run mean much.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

# TPC-H in load order: (table, columns with types, primary key, foreign keys)
TPCH: list[tuple[str, list[tuple[str, str]], list[str], list[tuple[list[str], str, list[str]]]]] = [
    ("region", [("r_regionkey", "INTEGER"), ("r_name", "VARCHAR(25)"), ("r_comment", "VARCHAR(152)")],
     ["r_regionkey"], []),
    ("nation", [("n_nationkey", "INTEGER"), ("n_name", "VARCHAR(25)"), ("n_regionkey", "INTEGER"),
                ("n_comment", "VARCHAR(152)")],
     ["n_nationkey"], [(["n_regionkey"], "region", ["r_regionkey"])]),
    ("part", [("p_partkey", "INTEGER"), ("p_name", "VARCHAR(55)"), ("p_mfgr", "VARCHAR(25)"),
              ("p_brand", "VARCHAR(10)"), ("p_type", "VARCHAR(25)"), ("p_size", "INTEGER"),
              ("p_container", "VARCHAR(10)"), ("p_retailprice", "DECIMAL(15,2)"), ("p_comment", "VARCHAR(23)")],
     ["p_partkey"], []),
    ("supplier", [("s_suppkey", "INTEGER"), ("s_name", "VARCHAR(25)"), ("s_address", "VARCHAR(40)"),
                  ("s_nationkey", "INTEGER"), ("s_phone", "VARCHAR(15)"), ("s_acctbal", "DECIMAL(15,2)"),
                  ("s_comment", "VARCHAR(101)")],
     ["s_suppkey"], [(["s_nationkey"], "nation", ["n_nationkey"])]),
    ("partsupp", [("ps_partkey", "INTEGER"), ("ps_suppkey", "INTEGER"), ("ps_availqty", "INTEGER"),
                  ("ps_supplycost", "DECIMAL(15,2)"), ("ps_comment", "VARCHAR(199)")],
     ["ps_partkey", "ps_suppkey"],
     [(["ps_partkey"], "part", ["p_partkey"]), (["ps_suppkey"], "supplier", ["s_suppkey"])]),
    ("customer", [("c_custkey", "INTEGER"), ("c_name", "VARCHAR(25)"), ("c_address", "VARCHAR(40)"),
                  ("c_nationkey", "INTEGER"), ("c_phone", "VARCHAR(15)"), ("c_acctbal", "DECIMAL(15,2)"),
                  ("c_mktsegment", "VARCHAR(10)"), ("c_comment", "VARCHAR(117)")],
     ["c_custkey"], [(["c_nationkey"], "nation", ["n_nationkey"])]),
    ("orders", [("o_orderkey", "INTEGER"), ("o_custkey", "INTEGER"), ("o_orderstatus", "VARCHAR(1)"),
                ("o_totalprice", "DECIMAL(15,2)"), ("o_orderdate", "DATE"), ("o_orderpriority", "VARCHAR(15)"),
                ("o_clerk", "VARCHAR(15)"), ("o_shippriority", "INTEGER"), ("o_comment", "VARCHAR(79)")],
     ["o_orderkey"], [(["o_custkey"], "customer", ["c_custkey"])]),
    ("lineitem", [("l_orderkey", "INTEGER"), ("l_partkey", "INTEGER"), ("l_suppkey", "INTEGER"),
                  ("l_linenumber", "INTEGER"), ("l_quantity", "DECIMAL(15,2)"), ("l_extendedprice", "DECIMAL(15,2)"),
                  ("l_discount", "DECIMAL(15,2)"), ("l_tax", "DECIMAL(15,2)"), ("l_returnflag", "VARCHAR(1)"),
                  ("l_linestatus", "VARCHAR(1)"), ("l_shipdate", "DATE"), ("l_commitdate", "DATE"),
                  ("l_receiptdate", "DATE"), ("l_shipinstruct", "VARCHAR(25)"), ("l_shipmode", "VARCHAR(10)"),
                  ("l_comment", "VARCHAR(44)")],
     ["l_orderkey", "l_linenumber"],
     [(["l_orderkey"], "orders", ["o_orderkey"]),
      (["l_partkey", "l_suppkey"], "partsupp", ["ps_partkey", "ps_suppkey"])]),
]


def tpch_ddl() -> list[str]:
    """CREATE TABLE statements (PKs and FKs inline) valid in SQLite and PostgreSQL, in load order."""
    out = []
    for name, cols, pk, fks in TPCH:
        parts = [f"{c} {t} NOT NULL" for c, t in cols] + [f"PRIMARY KEY ({', '.join(pk)})"]
        parts += [f"FOREIGN KEY ({', '.join(a)}) REFERENCES {t} ({', '.join(b)})" for a, t, b in fks]
        out.append(f"CREATE TABLE {name} (\n  " + ",\n  ".join(parts) + "\n)")
    return out


def tpchgen(sf: float, folder: Path, exe: str) -> Path:
    """TPC-H CSV files (with header) for scale factor `sf` under folder/sf<sf>; generated once."""
    out = folder / f"tpch_sf{sf:g}"
    if not (out / "lineitem.csv").exists():
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run([exe, "csv", "-s", f"{sf:g}", "-o", str(out), "--overwrite"], check=True)
    return out


def load_sqlite(csv_dir: Path, path: Path) -> dict[str, int]:
    """A SQLite file holding TPC-H from `csv_dir`, with PKs and FKs declared; returns rows per table."""
    import sqlite3

    import pandas as pd

    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    rows = {}
    for ddl in tpch_ddl():
        con.execute(ddl)
    for name, cols, _, _ in TPCH:
        frame = pd.read_csv(csv_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(cols))})",
                        frame[[c for c, _ in cols]].itertuples(index=False, name=None))
        rows[name] = len(frame)
    con.commit()
    con.close()
    return rows


# ---------------------------------------------------------------- PostgreSQL helpers

def _psycopg_conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    parts = {"host": u.host or "127.0.0.1", "port": u.port or 5432, "user": u.username or "postgres",
             "dbname": u.database or "postgres"}
    if u.password:
        parts["password"] = u.password
    return " ".join(f"{k}={v}" for k, v in parts.items())


def _with_db(url: str, db: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=db).render_as_string(hide_password=False)


def create_db(admin_url: str, prefix: str) -> str:
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_psycopg_conninfo(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_db(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_psycopg_conninfo(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_postgres(csv_dir: Path, url: str) -> dict[str, int]:
    """TPC-H from CSV into the (empty) PostgreSQL database at `url` with COPY; PKs and FKs declared."""
    import psycopg

    rows = {}
    with psycopg.connect(_psycopg_conninfo(url)) as conn:
        for ddl in tpch_ddl():
            conn.execute(ddl)
        for name, _, _, _ in TPCH:
            with conn.cursor() as cur:
                with cur.copy(f"COPY {name} FROM STDIN WITH (FORMAT csv, HEADER true)") as cp:
                    with open(csv_dir / f"{name}.csv", "rb") as f:
                        while chunk := f.read(1 << 20):
                            cp.write(chunk)
                rows[name] = cur.rowcount
        conn.commit()
    return rows


def plain_copy(src_url: str, dst_url: str) -> float:
    """COPY TO + COPY FROM of every TPC-H table from src into dst (schema created first); seconds."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(_psycopg_conninfo(src_url)) as src, psycopg.connect(_psycopg_conninfo(dst_url)) as dst:
        for ddl in tpch_ddl():
            dst.execute(ddl)
        for name, _, _, _ in TPCH:
            with src.cursor() as rc, dst.cursor() as wc:
                with rc.copy(f"COPY {name} TO STDOUT") as out, wc.copy(f"COPY {name} FROM STDIN") as inp:
                    for block in out:
                        inp.write(block)
        dst.commit()
    return time.perf_counter() - started


CHILD = """
import json, resource, sys, time
import dbsynth
what = sys.argv[1]
started = time.perf_counter()
if what == "train":
    r = dbsynth.train(sys.argv[2], sys.argv[3], seed=0)
    rows = sum(r.source_rows.values())
elif what == "generate":
    r = dbsynth.generate(sys.argv[2], sys.argv[3], seed=1, scale=float(sys.argv[4]))
    rows = r.total_rows
else:
    r = dbsynth.clone(sys.argv[2], sys.argv[3], seed=0)
    rows = r.total_rows
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(*args: str) -> dict:
    """One dbsynth step in a fresh interpreter, so its peak RSS is its own."""
    out = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"dbsynth {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    parser.add_argument("--pg", default=os.environ.get("DBSYNTH_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="admin URL of a PostgreSQL server (databases are created and dropped)")
    parser.add_argument("--tpchgen", default=os.environ.get("TPCHGEN", "/tmp/tpchvenv/bin/tpchgen-cli"))
    parser.add_argument("--big-scale", type=float, default=10.0, help="scale of the second RSS run (default 10)")
    parser.add_argument("--work", default=tempfile.gettempdir(), help="folder for CSV files and the model")
    parser.add_argument("--skip-big", action="store_true", help="skip the --big-scale generate (RSS ratio)")
    args = parser.parse_args()

    work = Path(args.work)
    csv_dir = tpchgen(args.sf, work, args.tpchgen)
    created: list[str] = []
    results: dict[str, dict] = {}
    try:
        src = create_db(args.pg, "tpch_src")
        created.append(src)
        t = time.perf_counter()
        source_rows = load_postgres(csv_dir, _with_db(args.pg, src))
        load_s = time.perf_counter() - t
        total = sum(source_rows.values())
        print(f"TPC-H SF {args.sf:g}: {total:,} rows in 8 tables, loaded with COPY in {load_s:.1f}s", flush=True)
        src_url = _with_db(args.pg, src)
        model = work / f"tpch_sf{args.sf:g}.dbsynth"

        results["train"] = child("train", src_url, str(model))
        print(f"train: {results['train']['seconds']:.1f}s", flush=True)

        dst = create_db(args.pg, "tpch_gen")
        created.append(dst)
        results["generate"] = child("generate", str(model), _with_db(args.pg, dst), "1")
        print(f"generate x1: {results['generate']['seconds']:.1f}s", flush=True)

        cp = create_db(args.pg, "tpch_copy")
        created.append(cp)
        copy_s = plain_copy(src_url, _with_db(args.pg, cp))
        print(f"plain COPY: {copy_s:.1f}s", flush=True)

        if not args.skip_big:
            big = create_db(args.pg, "tpch_big")
            created.append(big)
            try:
                results["big"] = child("generate", str(model), _with_db(args.pg, big), f"{args.big_scale:g}")
                print(f"generate x{args.big_scale:g}: {results['big']['seconds']:.1f}s", flush=True)
            except RuntimeError as exc:
                last = [line for line in str(exc).splitlines() if line.strip()][-1]
                results["big_failed"] = last
                print(f"generate x{args.big_scale:g} FAILED: {last}", flush=True)
            drop_db(args.pg, big)
            created.remove(big)

        cl = create_db(args.pg, "tpch_clone")
        created.append(cl)
        results["clone"] = child("clone", src_url, _with_db(args.pg, cl))
        print(f"clone: {results['clone']['seconds']:.1f}s", flush=True)
    finally:
        for name in created:
            drop_db(args.pg, name)

    g, tr, cl = results["generate"], results["train"], results["clone"]
    ratio = g["seconds"] / copy_s
    print()
    print(f"TPC-H SF {args.sf:g} in PostgreSQL, {total:,} source rows (targets are for SF 1)")
    print(f"{'measure':<42}{'value':>14}  {'target':<14}{'':<8}")
    print(f"{'(a) dbsynth generate, scale 1':<42}{g['seconds']:>12.1f} s  {'':<14}  ({g['rows']:,} rows, "
          f"{g['rows'] / g['seconds']:,.0f} rows/s)")
    print(f"{'(b) plain COPY TO + COPY FROM':<42}{copy_s:>12.1f} s  {'':<14}  ({total:,} rows, {total / copy_s:,.0f} rows/s)")
    print(f"{'    ratio a/b':<42}{ratio:>14.2f}  {'<= 2.0':<14}{verdict(ratio <= 2.0)}")
    print(f"{'(c) dbsynth train':<42}{tr['seconds']:>12.1f} s  {'<= 300 s':<14}{verdict(tr['seconds'] <= 300)}"
          f"  (peak {tr['peak_mb']:.0f} MB)")
    print(f"{'(d) peak RSS generate scale 1':<42}{g['peak_mb']:>11.0f} MB")
    if "big" in results:
        b = results["big"]
        rss = b["peak_mb"] / g["peak_mb"]
        print(f"{f'    peak RSS generate scale {args.big_scale:g}':<42}{b['peak_mb']:>11.0f} MB  "
              f"{'':<14}  ({b['rows']:,} rows in {b['seconds']:.1f}s)")
        print(f"{'    RSS ratio':<42}{rss:>14.2f}  {'<= 1.5':<14}{verdict(rss <= 1.5)}")
    if "big_failed" in results:
        print(f"{f'    generate scale {args.big_scale:g}':<42}{'FAILED':>14}  {results['big_failed']}")
    print(f"{'(e) dbsynth clone end to end':<42}{cl['seconds']:>12.1f} s  {'<= 600 s':<14}{verdict(cl['seconds'] <= 600)}"
          f"  (peak {cl['peak_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
