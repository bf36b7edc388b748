"""Every column type of the PostgreSQL and MariaDB type fixtures clones, with values that fit their types.

fixtures/types_postgres.sql (station 1 -> n reading) is cloned into PostgreSQL, MariaDB and SQLite;
fixtures/types_mariadb.sql (shop 1 -> n purchase) into MariaDB and PostgreSQL. Each target must
accept the rows under its own constraints, and every value must be valid for its column's type:
lengths, ranges, enum and SET labels, JSON structure, array lengths, network addresses.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import make_url

import dbsynth
from dbsynth.report.integrity import orphan_counts
from tests.helpers import load_mariadb_sql, schema_of

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MOODS = {"calm", "happy", "sad", "angry"}
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


# -- loading the fixtures -------------------------------------------------------------------------

def load_postgres_fixture(url: str) -> None:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        conn.execute((FIXTURES / "types_postgres.sql").read_text().encode())  # many statements, no parameters


def load_mariadb_fixture(url: str) -> None:
    load_mariadb_sql(url, FIXTURES / "types_mariadb.sql")


# -- reading databases back ----------------------------------------------------------------------------

def read_rows(url: str, table: str) -> tuple[list[dict[str, Any]], sa.Table]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        t = sa.Table(table, sa.MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(sa.select(t))]
        return rows, t
    finally:
        engine.dispose()


def column(rows: list[dict[str, Any]], name: str) -> list[Any]:
    return [r[name] for r in rows if r[name] is not None]


def as_json(value: Any) -> Any:
    """A JSON document, whether the target gave it parsed (jsonb) or as text (MariaDB, a TEXT column)."""
    return json.loads(value) if isinstance(value, str) else value


def as_list(value: Any) -> list[Any]:
    """An array: a list on PostgreSQL, JSON text or a parsed list elsewhere, a set for a MySQL SET."""
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, str):
        return value.split(",") if not value.startswith("[") else json.loads(value)
    return list(value)


def check_integrity(source: str, target: str, result: dbsynth.CloneResult) -> None:
    schema = schema_of(source)
    assert result.rows == {t.name: t.row_count for t in schema.tables}
    engine = sa.create_engine(target, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            for t in schema.tables:
                assert conn.execute(sa.text(f"SELECT COUNT(*) FROM {t.name}")).scalar_one() == t.row_count
        assert set(orphan_counts(engine, schema).values()) == {0}
    finally:
        engine.dispose()


def check_lengths(source: str, target: str) -> None:
    """Every bounded text column's values fit its length (VARCHAR(n), CHAR(n))."""
    for table in schema_of(source).tables:
        rows, _ = read_rows(target, table.name)
        for col in table.columns:
            if col.type.kind == "text" and col.type.length:
                too_long = [v for v in column(rows, col.name) if len(v) > col.type.length]
                assert not too_long, f"{table.name}.{col.name} ({col.type.source_name}): {too_long[:3]}"


# -- PostgreSQL source ------------------------------------------------------------------------------

@pytest.fixture
def types_postgres(postgres_url: str) -> str:
    load_postgres_fixture(postgres_url)
    return postgres_url


@pytest.fixture
def source_rows(types_postgres: str) -> dict[str, list[dict[str, Any]]]:
    return {t: read_rows(types_postgres, t)[0] for t in ("station", "reading")}


def length_range(rows: list[dict[str, Any]], name: str) -> tuple[int, int]:
    lengths = [len(as_list(v)) for v in column(rows, name)]
    return min(lengths), max(lengths)


@pytest.mark.parametrize("target_kind", ["postgresql", "mariadb", "sqlite"])
def test_postgres_types_clone(target_kind: str, types_postgres: str, source_rows: dict[str, list[dict[str, Any]]],
                              request: pytest.FixtureRequest, tmp_path: Path) -> None:
    target = {"postgresql": lambda: request.getfixturevalue("postgres_target"),
              "mariadb": lambda: request.getfixturevalue("mysql_url"),
              "sqlite": lambda: f"sqlite:///{tmp_path / 'types.db'}"}[target_kind]()
    result = dbsynth.clone(types_postgres, target, seed=1)

    check_integrity(types_postgres, target, result)
    check_lengths(types_postgres, target)
    station, _ = read_rows(target, "station")
    reading, _ = read_rows(target, "reading")

    # integers, decimals: within their types (smallint!) and the source's range
    assert all(-32768 <= v <= 32767 for v in column(reading, "small"))
    assert all(v > 0 for v in column(reading, "qty"))  # the domain's CHECK (VALUE > 0)
    assert all(-(2**63) <= v < 2**63 for v in column(reading, "big"))
    assert all(abs(Decimal(str(v))) < 10**8 for v in column(reading, "amount"))     # numeric(10, 2)
    assert all(abs(Decimal(str(v))) < 10 for v in column(reading, "ratio"))         # numeric(5, 4)
    assert all(0 <= Decimal(str(v)) <= 100 for v in column(station, "share"))      # domain percentage
    # enums: labels of the type only, also inside arrays
    assert set(column(reading, "mood")) <= MOODS and set(column(station, "mood")) <= MOODS
    moods = [as_list(v) for v in column(reading, "moods")]
    assert moods and all(set(m) <= MOODS for m in moods)
    # arrays: lengths within the source's min..max, elements valid
    for table, rows, name in (("reading", reading, "scores"), ("reading", reading, "moods"),
                              ("station", station, "tags")):
        low, high = length_range(source_rows[table], name)
        assert all(low <= len(as_list(v)) <= high for v in column(rows, name)), name
    scores = [as_list(v) for v in column(reading, "scores")]
    assert scores and all(isinstance(x, int) and 0 <= x < 1000 for s in scores for x in s)
    tags = [as_list(v) for v in column(station, "tags")]
    assert tags and set().union(*map(set, tags)) <= {"red", "green", "blue", "black", "white", "pink"}
    # JSON: objects with the source's key structure, NULLs kept, no free text copied
    source_docs = column(source_rows["reading"], "doc")
    docs = [as_json(v) for v in column(reading, "doc")]
    assert docs and all(isinstance(d, dict) for d in docs)
    source_keys = set().union(*(d.keys() for d in source_docs))
    required = set.intersection(*(set(d) for d in source_docs))
    assert all(required <= set(d) <= source_keys for d in docs)
    assert any("comment" in d for d in docs) and any("comment" not in d for d in docs)
    assert all(d["type"] in {"click", "view", "purchase"} and isinstance(d["active"], bool) for d in docs)
    assert all(isinstance(d["score"], int) and 0 <= d["score"] < 100 for d in docs)
    assert all(set(d["meta"]) <= {"source", "version", "beta"} and {"source", "version"} <= set(d["meta"])
               for d in docs)
    assert all(set(d["tags"]) <= set("abcde") and 1 <= len(d["tags"]) <= 4 for d in docs)
    assert not {d["comment"] for d in docs if "comment" in d} & {d["comment"] for d in source_docs if "comment" in d}
    assert len(docs) < len(reading)  # some NULL documents, as in the source
    raws = [as_json(v) for v in column(station, "raw")]
    assert raws and all(set(r) == {"k", "v", "opt"} for r in raws)
    assert {r["k"] for r in raws} <= {f"key{i}" for i in range(5)}
    # network addresses: valid values of their types
    ips = column(station, "ip")
    assert ips and all(ipaddress.ip_interface(str(v)) for v in ips)
    assert {ipaddress.ip_interface(str(v)).version for v in ips} == {4, 6}
    nets = column(station, "net")
    assert nets and all(ipaddress.ip_network(str(v), strict=True) for v in nets)
    assert all(_MAC.match(str(v)) for v in column(station, "mac"))
    # the rest: present and of the right kind
    assert all(isinstance(v, (bytes, memoryview)) for v in column(station, "payload"))
    assert column(station, "duration") and column(reading, "tstz") and column(reading, "at_time")
    assert all(isinstance(v, dt.date) for v in column(reading, "day"))


# -- MariaDB source -------------------------------------------------------------------------------

SET_LABELS = {"gift", "express", "fragile", "insured"}


@pytest.fixture
def types_mariadb(mysql_url: str) -> str:
    load_mariadb_fixture(mysql_url)
    return mysql_url


@pytest.mark.parametrize("target_kind", ["mariadb", "postgresql"])
def test_mariadb_types_clone(target_kind: str, types_mariadb: str, request: pytest.FixtureRequest) -> None:
    target = request.getfixturevalue("mysql_target" if target_kind == "mariadb" else "postgres_target")
    result = dbsynth.clone(types_mariadb, target, seed=1)

    check_integrity(types_mariadb, target, result)
    check_lengths(types_mariadb, target)
    shop, _ = read_rows(target, "shop")
    purchase, table = read_rows(target, "purchase")

    # unsigned integers stay >= 0 and within their size
    for name, top in (("tiny", 255), ("qty", 65535), ("medium", 16777215), ("huge", 2**64 - 1)):
        values = column(purchase, name)
        assert values and all(0 <= int(v) <= top for v in values), name
    assert all(-32768 <= v <= 32767 for v in column(purchase, "delta"))
    assert all(abs(Decimal(str(v))) < 10**6 for v in column(purchase, "price"))    # DECIMAL(8, 2)
    assert all(0 <= Decimal(str(v)) < 10 for v in column(purchase, "rate"))       # DECIMAL(6, 5)
    # TINYINT(1) booleans, ENUM and SET labels
    assert {int(v) for v in column(shop, "active")} <= {0, 1}
    assert {int(v) for v in column(purchase, "paid")} <= {0, 1}
    assert set(column(shop, "kind")) <= {"retail", "online", "outlet"}
    assert set(column(purchase, "status")) <= {"new", "paid", "shipped", "returned"}
    flags = [as_list(v) for v in column(purchase, "flags")]
    assert flags and all(set(f) <= SET_LABELS and len(set(f)) == len(f) for f in flags)
    assert len(flags) < len(purchase)  # NULL SETs kept
    if target_kind == "mariadb":
        assert isinstance(table.c.flags.type, mysql.SET)
        assert set(table.c.flags.type.values) == SET_LABELS
    # JSON (LONGTEXT with a JSON CHECK on MariaDB): parsed documents with the source's keys
    attrs = [as_json(v) for v in column(purchase, "attrs")]
    assert attrs and all(isinstance(a, dict) and set(a) == {"channel", "items", "coupon", "address"} for a in attrs)
    assert all(a["channel"] in {"web", "app", "store"} and 1 <= a["items"] <= 5 for a in attrs)
    assert all(set(a["address"]) == {"zone", "express"} for a in attrs)
    assert {a["coupon"] for a in attrs} <= {None, "C0", "C1", "C2"}
    # the column is JSON in the target too: MariaDB's JSON (LONGTEXT + json_valid) again, PostgreSQL's json
    source_attrs = schema_of(types_mariadb).table("purchase").column("attrs").type
    target_attrs = schema_of(target).table("purchase").column("attrs").type
    assert source_attrs.kind == target_attrs.kind == "json"
    assert target_attrs.source_name == "JSON"
    if target_kind == "mariadb":
        engine = sa.create_engine(target, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                clauses = conn.exec_driver_sql(
                    "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
                    "WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'purchase'").scalars().all()
        finally:
            engine.dispose()
        assert "json_valid(`attrs`)" in clauses


def test_mariadb_json_and_column_checks_introspected(mysql_url: str) -> None:
    """JSON is LONGTEXT + json_valid on MariaDB, and CHECKs written on a column are missed by SQLAlchemy."""
    engine = sa.create_engine(mysql_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id INT PRIMARY KEY, doc JSON NOT NULL, "
                                 "txt LONGTEXT CHECK (json_valid(txt)), note LONGTEXT, "
                                 "qty INT CHECK (qty > 0), CONSTRAINT t_pair CHECK (qty < id + 100))")
    finally:
        engine.dispose()
    table = schema_of(mysql_url).table("t")
    assert [c.type.kind for c in table.columns] == ["integer", "json", "json", "text", "integer"]
    assert table.column("doc").type.source_name == "JSON" and not table.column("doc").nullable
    assert sorted((c.name, c.sqltext) for c in table.check_constraints) == [
        ("qty", "`qty` > 0"), ("t_pair", "`qty` < `id` + 100")]
