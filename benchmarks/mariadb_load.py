"""MariaDB bulk load: the ways of writing the same sampled TPC-H rows, side by side in one run.

    python benchmarks/mariadb_load.py [--sf 0.01] [--mysql mysql+pymysql://root@127.0.0.1:3306/]
                                      [--tpchgen /tmp/tpchvenv/bin/tpchgen-cli] [--repeat 5]

Trains a Bayesian-network model on TPC-H at --sf (tpchgen-cli CSV loaded into SQLite, as in
throughput.py; cached under --work), samples it once (seed 0), then loads those rows into a fresh
MariaDB database per try (tables created first, all rows in one transaction), best of --repeat:
  (a) SQLAlchemy's executemany with a dict per row: the path MariaDB targets took before;
  (b) PyMySQL's own executemany with row tuples (it builds multi-row INSERTs, escaping value by value);
  (c) multi-row INSERTs spelled a column at a time (dbsynth.io.mysqltext): what insert_frame does now;
  (d) (c) with SET foreign_key_checks=0, unique_checks=0, then one orphan query per foreign key;
  (e) LOAD DATA LOCAL INFILE of COPY-style text (TPC-H's types only), for reference: dbsynth does not
      use it, since a client with local_infile on sends any file the server asks for.
The ways take turns (round robin) and each shows its best wall time and best client CPU time, with the
ratio to (a): client CPU is what the spelling changes and what a loaded machine disturbs least.
Nothing is asserted; the machine is shared, so compare ratios.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import load_sqlite, tpchgen  # noqa: E402

import dbsynth  # noqa: E402
from dbsynth.io import load  # noqa: E402
from dbsynth.io.copytext import copy_text  # noqa: E402
from dbsynth.io.ddl import create_schema, table_for, target_metadata  # noqa: E402
from dbsynth.modelfile import load_model  # noqa: E402
from dbsynth.relational.sample import sample_database  # noqa: E402
from dbsynth.schema.model import Schema  # noqa: E402

Insert = Callable[[sa.Connection, sa.Table, Any], None]


def sqlalchemy_executemany(conn: sa.Connection, table: sa.Table, frame: Any) -> None:
    load._keep_zero_keys(conn)
    names = list(frame.columns)
    statement = table.insert().values({n: load._bind(table.c[n], n) for n in names})
    for start in range(0, len(frame), 10_000):
        conn.execute(statement, load._records(frame.iloc[start:start + 10_000], table, names, conn.dialect.name))


def pymysql_executemany(conn: sa.Connection, table: sa.Table, frame: Any) -> None:
    load._keep_zero_keys(conn)
    names, q = list(frame.columns), conn.dialect.identifier_preparer
    statement = (f"INSERT INTO {q.format_table(table)} ({', '.join(q.quote(n) for n in names)}) "
                 f"VALUES ({', '.join(['%s'] * len(names))})")
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.max_stmt_length = load._statement_bytes(conn)
    for start in range(0, len(frame), 10_000):
        chunk = frame.iloc[start:start + 10_000]
        cursor.executemany(statement, list(zip(*[load.bind_values(chunk[n], table.c[n], conn.dialect)
                                                 for n in names])))


def multirow_by_column(conn: sa.Connection, table: sa.Table, frame: Any) -> None:
    load.insert_frame(conn, table, frame)


def load_data_local(conn: sa.Connection, table: sa.Table, frame: Any) -> None:
    load._keep_zero_keys(conn)
    text = copy_text(frame, [table.c[n] for n in frame.columns])
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False, encoding="utf-8") as fh:
        fh.write(text)
    try:
        columns = ", ".join(f"`{n}`" for n in frame.columns)
        conn.exec_driver_sql(f"LOAD DATA LOCAL INFILE '{fh.name}' INTO TABLE `{table.name}` "
                             f"CHARACTER SET utf8mb4 ({columns})")
    finally:
        os.unlink(fh.name)


def orphan_checks(conn: sa.Connection, schema: Schema) -> None:
    """One query per foreign key: is there a child row whose parent is missing?"""
    for table in schema.tables:
        for fk in table.foreign_keys:
            on = " AND ".join(f"p.`{r}` = c.`{c}`" for c, r in zip(fk.columns, fk.referred_columns))
            present = " AND ".join(f"c.`{c}` IS NOT NULL" for c in fk.columns)
            first = fk.referred_columns[0]
            found = conn.exec_driver_sql(f"SELECT 1 FROM `{table.name}` c LEFT JOIN `{fk.referred_table}` p "
                                         f"ON {on} WHERE {present} AND p.`{first}` IS NULL LIMIT 1").first()
            if found:
                raise RuntimeError(f"orphan rows in {table.name} -> {fk.referred_table}")


def timed_load(admin: sa.Engine, schema: Schema, order: tuple[str, ...], tables: dict[str, Any],
               insert: Insert, checks_off: bool) -> tuple[float, float]:
    """Seconds of wall clock and of this process's CPU to load every table (a fresh database each time)."""
    name = f"dbsynth_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    engine = sa.create_engine(admin.url.set(database=name), connect_args={"local_infile": insert is load_data_local})
    try:
        metadata, _ = target_metadata(schema, engine.dialect.name, same_dialect=False)
        with engine.begin() as conn:
            create_schema(conn, metadata)
        started, cpu = time.perf_counter(), time.process_time()
        with engine.begin() as conn:
            if checks_off:
                conn.exec_driver_sql("SET foreign_key_checks = 0, unique_checks = 0")
            for table in order:
                insert(conn, table_for(metadata, table), tables[table])
            if checks_off:
                conn.exec_driver_sql("SET foreign_key_checks = 1, unique_checks = 1")
                orphan_checks(conn, schema)
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE `{name}`")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", type=float, default=0.01)
    parser.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/")
    parser.add_argument("--tpchgen", default="/tmp/tpchvenv/bin/tpchgen-cli")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "dbsynth_mariadb_load")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    model = args.work / f"tpch_sf{args.sf:g}.dbsynth"
    if not model.exists():
        source = args.work / f"tpch_sf{args.sf:g}.sqlite"
        load_sqlite(tpchgen(args.sf, args.work, args.tpchgen), source)
        dbsynth.train(str(source), model, model="bayesnet", seed=0)
    fitted, _ = load_model(model)
    part = sample_database(fitted.schema, fitted.order, fitted.tables, scale=1.0, seed=0)
    rows = sum(len(f) for f in part.tables.values())
    admin = sa.create_engine(args.mysql, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        version, infile = conn.exec_driver_sql("SELECT @@version, @@local_infile").one()
    print(f"TPC-H SF {args.sf:g}: {rows:,} sampled rows into MariaDB {version}, best of {args.repeat}")

    ways: list[tuple[str, Insert, bool]] = [
        ("(a) SQLAlchemy executemany, dict per row (before)", sqlalchemy_executemany, False),
        ("(b) PyMySQL executemany, row tuples", pymysql_executemany, False),
        ("(c) multi-row INSERT spelled by column (now)", multirow_by_column, False),
        ("(d) (c) + FK/unique checks off, orphan queries", multirow_by_column, True),
    ]
    if infile:
        ways.append(("(e) LOAD DATA LOCAL INFILE (reference only)", load_data_local, False))
    walls: dict[str, list[float]] = {label: [] for label, _, _ in ways}
    cpus: dict[str, list[float]] = {label: [] for label, _, _ in ways}
    for _ in range(args.repeat):  # round robin: the machine's drift touches every way alike
        for label, insert, checks_off in ways:
            wall, cpu = timed_load(admin, fitted.schema, fitted.order.tables, part.tables, insert, checks_off)
            walls[label].append(wall)
            cpus[label].append(cpu)
    base_wall, base_cpu = min(walls[ways[0][0]]), min(cpus[ways[0][0]])
    for label, _, _ in ways:
        wall, cpu = min(walls[label]), min(cpus[label])
        print(f"{label:52s} wall {wall:5.2f}s ({base_wall / wall:4.2f}x (a), {rows / wall:7,.0f} rows/s)  "
              f"client CPU {cpu:5.2f}s ({base_cpu / cpu:4.2f}x (a))  "
              f"walls [{', '.join(f'{t:.2f}' for t in walls[label])}]")
    admin.dispose()


if __name__ == "__main__":
    main()
