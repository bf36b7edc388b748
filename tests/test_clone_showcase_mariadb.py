"""fixtures/showcase_mariadb.sql (MariaDB's own types and keys) cloned into MariaDB, PostgreSQL and SQLite,
and a SQLite source cloned into MariaDB.

Each target is checked in the target database itself: no orphan foreign keys, no duplicate keys, no
NOT NULL or CHECK violation (the CHECKs evaluated by the target), the view a view, empty and single-row
tables kept, hostile text written as text, unsigned values >= 0 (BIGINT UNSIGNED values above 2^63
included), and the introspected target schema equal to the source's up to the README's type mapping,
with a warning for every lossy mapping.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import dbsynth
from dbsynth.io.naming import reflect_tables
from dbsynth.report.integrity import duplicate_key_counts, orphan_counts
from dbsynth.schema.compare import schema_differences
from tests.helpers import load_mariadb_sql, schema_of
from tests.test_clone_showcase import check_checks, check_not_null, rows

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "showcase_mariadb.sql"
HOSTILE = {"line one\nline two", "tab\there", "back\\slash", "it's \"quoted\"", "NULL", "\\N", "emoji 🎉 ok", "",
           " padded "}
CHANNELS = {"web", "app", "store", "phone"}
UNSIGNED_64 = 2**64 - 1


@pytest.fixture
def showcase_mariadb(mysql_url: str) -> str:
    load_mariadb_sql(mysql_url, FIXTURE)
    return mysql_url


def documented(diff: str, dialect: str) -> bool:
    """Differences the README's type table documents for a MariaDB source on another engine."""
    if dialect == "mysql":
        return False
    if ": type " in diff:
        source, target = diff.split(": type ", 1)[1].split(" != ")
        if "UNSIGNED" in source:                     # a wider signed type (+ CHECK >= 0)
            return target in ("SMALLINT", "INTEGER", "BIGINT", "NUMERIC(20, 0)")
        if source.startswith("YEAR"):                # SMALLINT
            return target == "SMALLINT"
        if source.startswith("SET("):                # an array (PostgreSQL) or a JSON list (SQLite)
            return target in ("TEXT[]", "JSON")
        if source.startswith(("VARBINARY(", "BINARY(")):   # bytea / BLOB: no length bound (warned)
            return target in ("BYTEA", "BLOB")
        if source.startswith("ENUM(") and dialect == "sqlite":   # VARCHAR without a check (warned)
            return target.startswith("VARCHAR(")
        if dialect == "sqlite":                      # INTEGER PRIMARY KEY is SQLite's rowid
            return target == "INTEGER"
    if dialect == "sqlite" and diff.endswith("autoincrement False != True"):   # the rowid again
        return True
    if "indexes" in diff:                            # MariaDB indexes every foreign key; the others do not
        return True
    return False


def as_set(value: Any) -> set[str]:
    """A SET value: 'a,b' on MariaDB, a list on PostgreSQL, a JSON list on SQLite."""
    if isinstance(value, str):
        return set(json.loads(value)) if value.startswith("[") else set(filter(None, value.split(",")))
    return set(value)


@pytest.mark.parametrize("target_kind", ["mariadb", "postgresql", "sqlite"])
def test_mariadb_showcase_clone(target_kind: str, showcase_mariadb: str, request: pytest.FixtureRequest,
                                tmp_path: Path) -> None:
    target = {"mariadb": lambda: request.getfixturevalue("mysql_target"),
              "postgresql": lambda: request.getfixturevalue("postgres_url"),
              "sqlite": lambda: f"sqlite:///{tmp_path / 'showcase.db'}"}[target_kind]()
    result = dbsynth.clone(showcase_mariadb, target, seed=3)
    source, copy = schema_of(showcase_mariadb), schema_of(target)
    dialect = copy.dialect

    # the schema: every table, column, key, unique set and view, up to the documented mapping
    diffs = [d for d in schema_differences(source, copy) if not documented(d, dialect)]
    assert diffs == []
    assert [v.name for v in copy.views] == ["order_summary"]
    for table in source.tables:
        assert {c.name for c in copy.table(table.name).check_constraints} >= {c.name for c in table.check_constraints}
        for col in table.columns:  # the same kind of values, but for the mapping documented in the README
            kind = copy.table(table.name).column(col.name).type.kind
            expected = {("integer", True): "decimal",   # BIGINT UNSIGNED: NUMERIC(20, 0)
                        ("array", False): "json" if dialect == "sqlite" else "array",   # a SET
                        ("enum", False): "text" if dialect == "sqlite" else "enum"}
            assert kind in (col.type.kind, expected.get((col.type.kind, col.type.size == 64 and col.type.unsigned))), \
                f"{table.name}.{col.name}"
    if target_kind == "mariadb":  # the same engine: the same spelling of every type
        assert {(t.name, c.name): c.type.source_name for t in source.tables for c in t.columns} \
            == {(t.name, c.name): c.type.source_name for t in copy.tables for c in t.columns}
        # nothing lost on the same engine: the only lines are counts of rows repaired for a CHECK
        assert [w for w in result.warnings if "generated rows that failed it" not in w] == []
    else:  # every lossy mapping is named, and nothing else: MariaDB's per-table names are renamed silently
        warned = "\n".join(result.warnings)
        assert "is named" not in warned
        for needle in ("customer.channels is a SET", "customer.tier is TINYINT UNSIGNED, stored as the wider SMALLINT "
                       "with CHECK (>= 0)", "product.serial is BIGINT UNSIGNED, stored as NUMERIC(20, 0)",
                       "settings.founded is YEAR", "product.checksum is VARBINARY(16)",
                       "audit_log.token is BINARY(8)"):
            assert needle in warned
        if target_kind == "postgresql":
            assert "customer.status is an ENUM of the column, created as the enum type customer_status" in warned
        else:
            assert "customer.status is an enum, which SQLite stores as VARCHAR" in warned

    # rows: empty stays empty, one row stays one, lookups are copied, the rest about the source's size
    counts = {t.name: t.row_count for t in source.tables}
    assert result.rows["refund"] == 0 and result.rows["settings"] == 1
    for name, n in counts.items():
        assert abs(result.rows[name] - n) <= max(2, 0.2 * n), name
    engine = sa.create_engine(target, poolclass=sa.pool.NullPool)
    src_engine = sa.create_engine(showcase_mariadb, poolclass=sa.pool.NullPool)
    try:
        tables, src_tables = reflect_tables(engine, source), reflect_tables(src_engine, source)
        with engine.connect() as conn:
            for name, n in result.rows.items():
                assert conn.execute(sa.select(sa.func.count()).select_from(tables[name])).scalar_one() == n
            assert conn.execute(sa.text("SELECT COUNT(*) FROM order_summary")).scalar_one() == result.rows["order"]
        for lookup, key in (("country", "code"), ("tag", "label")):
            assert sorted(r[key] for r in rows(engine, tables[lookup])) \
                == sorted(r[key] for r in rows(src_engine, src_tables[lookup]))

        # integrity, measured by SQL in the target: FKs (composite, onto UNIQUE), keys, NOT NULL, CHECKs
        assert set(orphan_counts(engine, copy).values()) == {0}
        assert set(duplicate_key_counts(engine, copy).values()) == {0}
        check_not_null(engine, tables, source)
        check_checks(engine, copy)

        customers = rows(engine, tables["customer"])
        remarks = {r["remark"] for r in customers if r["remark"] is not None}
        assert remarks and remarks <= HOSTILE and {"NULL", "\\N"} & remarks   # text, never NULL by accident
        assert {r["status"] for r in customers} <= {"prospect", "active", "churned"}
        channels = [as_set(r["channels"]) for r in customers if r["channels"] is not None]
        assert channels and all(c <= CHANNELS for c in channels) and len(channels) < len(customers)
        assert {bool(r["active"]) for r in customers} == {True, False}
        assert all(1 <= r["tier"] <= 5 for r in customers)
        assert all(r["born"] is None or 1950 <= int(r["born"]) <= 2004 for r in customers)
        prefs = [r["prefs"] if not isinstance(r["prefs"], str) else json.loads(r["prefs"])
                 for r in customers if r["prefs"] is not None]
        assert prefs and all(set(p) == {"lang", "mail", "seen"} and set(p["mail"]) == {"news", "freq"} for p in prefs)
        assert all(r["last_login"] is None or r["last_login"].date() >= r["signup"] for r in customers)

        products = rows(engine, tables["product"])
        serials = [int(r["serial"]) for r in products]
        top = UNSIGNED_64 if target_kind != "sqlite" else 2**64             # SQLite keeps them as floats (warned)
        assert all(2**63 < s <= top for s in serials)                       # BIGINT UNSIGNED above 2^63 kept
        if target_kind != "sqlite":
            assert all(s in {int(r["serial"]) for r in rows(src_engine, src_tables["product"])} for s in serials)
        assert all(r["stock"] is None or 0 <= r["stock"] <= 16777215 for r in products)
        assert all(r["price"] <= r["list_price"] for r in products)
        assert {r["size"] for r in products} <= {None, "S", "M", "L"}

        employees = {r["id"]: r for r in rows(engine, tables["employee"])}
        for start in employees:                                             # a tree: no cycles
            seen, node = set(), start
            while node is not None:
                assert node not in seen
                seen.add(node)
                node = employees[node]["manager_id"]
        assert all(r["left_on"] is None or r["left_on"] > r["hired"] for r in employees.values())
        heads = [r["head_id"] for r in rows(engine, tables["department"]) if r["head_id"] is not None]
        assert heads and set(heads) <= set(employees)                       # the cycle's deferred side filled
        orders = rows(engine, tables["order"])
        assert all(r["shipped_at"] is None or r["shipped_at"] >= r["ordered_at"] for r in orders)
        assert any(r["at"].microsecond for r in rows(engine, tables["audit_log"]))   # DATETIME(6)
    finally:
        engine.dispose()
        src_engine.dispose()


def test_sqlite_showcase_to_mariadb(tmp_path: Path, mysql_url: str) -> None:
    """A SQLite source with its loose types, a composite key, a self-reference and a view, into MariaDB."""
    source = tmp_path / "source.db"
    engine = sa.create_engine(f"sqlite:///{source}")
    with engine.begin() as conn:
        for statement in (
            "CREATE TABLE team (id INTEGER PRIMARY KEY, name VARCHAR(30) NOT NULL UNIQUE, "
            "  parent_id INTEGER REFERENCES team (id))",
            "CREATE TABLE member (team_id INTEGER NOT NULL REFERENCES team (id), seat INTEGER NOT NULL, "
            "  nick TEXT, joined DATETIME NOT NULL, active BOOLEAN NOT NULL, score NUMERIC(6, 2), "
            "  avatar BLOB, PRIMARY KEY (team_id, seat), CHECK (score IS NULL OR score >= 0))",
            "CREATE VIEW big_teams AS SELECT team_id, COUNT(*) AS members FROM member GROUP BY team_id",
        ):
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) "
                             "INSERT INTO team SELECT i, 'team ' || i, CASE WHEN i > 3 THEN 1 + i % 3 END FROM n")
        conn.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) "
            "INSERT INTO member SELECT 1 + i % 40, 1 + i / 40, CASE i % 5 WHEN 0 THEN NULL WHEN 1 THEN 'tab\there' "
            "  WHEN 2 THEN 'back\\slash' ELSE 'emoji 🎉 ' || (i % 7) END, "
            "  datetime('2021-01-01', '+' || (i * 13) || ' hours'), i % 3 <> 0, "
            "  CASE WHEN i % 4 = 0 THEN NULL ELSE (i * 37 % 10000) / 100.0 END, randomblob(i % 9) FROM n")
    engine.dispose()

    result = dbsynth.clone(str(source), mysql_url, seed=5)
    src, copy = schema_of(str(source)), schema_of(mysql_url)
    # MariaDB indexes foreign keys; SQLite reports its rowid key nullable, every other engine a key NOT NULL
    diffs = [d for d in schema_differences(src, copy) if "indexes" not in d and d != "team.id: nullable True != False"]
    assert diffs == []
    assert [v.name for v in copy.views] == ["big_teams"]
    assert result.rows["team"] == 40 and abs(result.rows["member"] - 400) <= 80
    engine = sa.create_engine(mysql_url, poolclass=sa.pool.NullPool)
    try:
        assert set(orphan_counts(engine, copy).values()) == {0}
        assert set(duplicate_key_counts(engine, copy).values()) == {0}
        check_checks(engine, copy)
        tables = reflect_tables(engine, copy)
        members = rows(engine, tables["member"])
        assert {r["active"] for r in members} == {0, 1}
        assert all(r["score"] is None or r["score"] >= 0 for r in members)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT SUM(members) FROM big_teams")).scalar_one() == len(members)
    finally:
        engine.dispose()
