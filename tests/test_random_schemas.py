"""Property: any schema of the shapes dbsynth supports clones into a loadable, orphan-free database.

Hypothesis draws small schemas: 2-5 tables with random column types, foreign keys to earlier
tables, self-references, a foreign-key cycle closed by a nullable key, composite primary and
foreign keys, UNIQUE columns and CHECKs, and fills them with valid rows. Each is cloned from
SQLite into SQLite or PostgreSQL, and the target itself must report every row loaded, no orphan
foreign key, no duplicate key and no CHECK violation.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import dbsynth
from dbsynth.report.integrity import duplicate_key_counts, orphan_counts
from tests.helpers import schema_of

TYPES = {
    "integer": (sa.Integer, lambda r: r.randint(-50, 1000)),
    "text": (lambda: sa.String(12), lambda r: r.choice(["alpha", "beta", "gamma", "delta", "x" * 12])),
    "decimal": (lambda: sa.Numeric(8, 2), lambda r: round(r.uniform(0, 9999), 2)),
    "date": (sa.Date, lambda r: __import__("datetime").date(2020, 1, 1) + __import__("datetime").timedelta(r.randint(0, 900))),
    "boolean": (sa.Boolean, lambda r: r.random() < 0.5),
    "float": (sa.Float, lambda r: r.gauss(0, 10)),
}


@st.composite
def random_schema(draw: st.DrawFn) -> dict[str, Any]:
    n_tables = draw(st.integers(2, 5))
    tables = []
    for i in range(n_tables):
        composite = i > 0 and draw(st.booleans()) and draw(st.booleans())
        columns = [(f"c{j}", draw(st.sampled_from(sorted(TYPES))), draw(st.booleans()))
                   for j in range(draw(st.integers(1, 4)))]
        parents = sorted(set(draw(st.lists(st.integers(0, i - 1), max_size=2)))) if i else []
        tables.append({
            "name": f"t{i}", "composite": composite, "columns": columns, "parents": parents,
            "parent_nullable": [draw(st.booleans()) for _ in parents],
            "self_ref": draw(st.booleans()) and draw(st.booleans()),
            "unique": draw(st.booleans()),
            "check": draw(st.booleans()),
            "rows": draw(st.integers(1, 40)),
        })
    cycle = n_tables > 2 and draw(st.booleans())  # t0 -> last table, nullable: closes a cycle
    return {"tables": tables, "cycle": cycle, "seed": draw(st.integers(0, 10_000))}


def build_source(spec: dict[str, Any], url: str) -> None:
    rnd = random.Random(spec["seed"])
    md = sa.MetaData()
    keys: dict[str, list[tuple[Any, ...]]] = {}
    tables = spec["tables"]
    last = tables[-1]["name"]
    created = []
    for t in tables:
        cols: list[Any] = [sa.Column("id", sa.Integer, nullable=False)]
        pk = ["id"]
        if t["composite"]:
            cols.append(sa.Column("part", sa.Integer, nullable=False))
            pk.append("part")
        for j, parent in enumerate(t["parents"]):
            ptable = tables[parent]
            nullable = t["parent_nullable"][j]
            cols.append(sa.Column(f"p{parent}_id", sa.Integer, nullable=nullable))
            if ptable["composite"]:
                cols.append(sa.Column(f"p{parent}_part", sa.Integer, nullable=nullable))
        if t["self_ref"]:
            cols.append(sa.Column("up_id", sa.Integer, nullable=True))
            if t["composite"]:
                cols.append(sa.Column("up_part", sa.Integer, nullable=True))
        if spec["cycle"] and t["name"] == "t0":
            cols.append(sa.Column("last_id", sa.Integer, nullable=True))
            if tables[-1]["composite"]:
                cols.append(sa.Column("last_part", sa.Integer, nullable=True))
        for name, kind, nullable in t["columns"]:
            cols.append(sa.Column(name, TYPES[kind][0](), nullable=nullable))
        table = sa.Table(t["name"], md, *cols, sa.PrimaryKeyConstraint(*pk))
        if t["unique"]:
            table.append_constraint(sa.UniqueConstraint("id", *(c[0] for c in t["columns"][:1])))
        numeric = [c for c, kind, _ in t["columns"] if kind in ("integer", "decimal")]
        if t["check"] and numeric:
            table.append_constraint(sa.CheckConstraint(f"{numeric[0]} >= -50 AND {numeric[0]} <= 10000",
                                                       name=f"{t['name']}_range"))
        created.append(table)
    for t, table in zip(tables, created):
        for parent in t["parents"]:
            ref = tables[parent]["name"]
            local = [f"p{parent}_id"] + ([f"p{parent}_part"] if tables[parent]["composite"] else [])
            remote = [f"{ref}.id"] + ([f"{ref}.part"] if tables[parent]["composite"] else [])
            table.append_constraint(sa.ForeignKeyConstraint(local, remote))
        if t["self_ref"]:
            local = ["up_id"] + (["up_part"] if t["composite"] else [])
            table.append_constraint(sa.ForeignKeyConstraint(local, [f"{t['name']}.{c}" for c in
                                                                     ["id"] + (["part"] if t["composite"] else [])]))
        if spec["cycle"] and t["name"] == "t0":
            local = ["last_id"] + (["last_part"] if tables[-1]["composite"] else [])
            remote = [f"{last}.id"] + ([f"{last}.part"] if tables[-1]["composite"] else [])
            table.append_constraint(sa.ForeignKeyConstraint(local, remote, use_alter=True, name="t0_last_fk"))
    engine = sa.create_engine(url)
    md.create_all(engine)
    with engine.begin() as conn:
        for t, table in zip(tables, created):
            rows, own = [], []
            for i in range(t["rows"]):
                row: dict[str, Any] = {"id": i + 1}
                if t["composite"]:
                    row["part"] = 1 + i % 3
                for j, parent in enumerate(t["parents"]):
                    pkey = rnd.choice(keys[tables[parent]["name"]])
                    none = t["parent_nullable"][j] and rnd.random() < 0.2
                    row[f"p{parent}_id"] = None if none else pkey[0]
                    if tables[parent]["composite"]:
                        row[f"p{parent}_part"] = None if none else pkey[1]
                if t["self_ref"]:
                    up = rnd.choice(own) if own and rnd.random() < 0.7 else None
                    row["up_id"] = up[0] if up else None
                    if t["composite"]:
                        row["up_part"] = up[1] if up else None
                if spec["cycle"] and t["name"] == "t0":
                    row["last_id"] = None
                    if tables[-1]["composite"]:
                        row["last_part"] = None
                for name, kind, nullable in t["columns"]:
                    row[name] = None if nullable and rnd.random() < 0.15 else TYPES[kind][1](rnd)
                own.append((row["id"], row.get("part")))
                rows.append(row)
            conn.execute(table.insert(), rows)
            keys[t["name"]] = own
        if spec["cycle"]:
            last_keys = keys[last]
            t0 = created[0]
            for i in range(0, tables[0]["rows"], 2):
                pick = last_keys[i % len(last_keys)]
                values = {"last_id": pick[0]} | ({"last_part": pick[1]} if tables[-1]["composite"] else {})
                conn.execute(t0.update().where(t0.c.id == i + 1).values(**values))
    engine.dispose()


@pytest.fixture
def pg_target(postgres_target: str) -> str:
    return postgres_target


@settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate], suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(spec=random_schema(), to_postgres=st.booleans())
def test_random_schema_clones_loadable_and_orphan_free(spec: dict[str, Any], to_postgres: bool, tmp_path: Path,
                                                       pg_target: str) -> None:
    folder = tmp_path / f"case{random.Random().randrange(10**9)}"
    folder.mkdir()
    source = f"sqlite:///{folder / 'source.db'}"
    build_source(spec, source)
    if to_postgres:
        target = pg_target
        engine = sa.create_engine(target, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:  # one database for every example: start from an empty schema
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
    else:
        target = f"sqlite:///{folder / 'target.db'}"
    result = dbsynth.clone(source, target, seed=spec["seed"])
    copy = schema_of(target)
    assert sorted(copy.table_names) == sorted(t["name"] for t in spec["tables"])
    engine = sa.create_engine(target, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            for name, n in result.rows.items():
                assert conn.execute(sa.text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one() == n
                for check in copy.table(name).check_constraints:
                    assert conn.execute(sa.text(f'SELECT COUNT(*) FROM "{name}" WHERE NOT ({check.sqltext})')
                                        ).scalar_one() == 0
        assert set(orphan_counts(engine, copy).values()) <= {0}
        assert set(duplicate_key_counts(engine, copy).values()) <= {0}
    finally:
        engine.dispose()
