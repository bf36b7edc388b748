"""End to end: `dbsynth.clone` of Chinook across SQLite and PostgreSQL, checked in the target database."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa

import dbsynth
from dbsynth.io.engines import open_source, parse_url
from dbsynth.report.integrity import duplicate_key_counts, orphan_counts
from dbsynth.schema.compare import schema_differences
from tests.helpers import database_checksum, rows_of, schema_of

LOOKUPS = {"genre", "media_type", "playlist"}   # copied verbatim by default: they do not scale
CHINOOK_COUNTS = {"artist": 275, "album": 347, "employee": 8, "customer": 59, "genre": 25,
                  "media_type": 5, "playlist": 18, "track": 3503, "invoice": 412,
                  "invoice_line": 2240, "playlist_track": 8715}


def assert_integrity(url: str) -> None:
    schema = schema_of(url)
    engine = open_source(parse_url(url))
    try:
        orphans = orphan_counts(engine, schema)
        duplicates = duplicate_key_counts(engine, schema)
    finally:
        engine.dispose()
    assert len(orphans) == 11 and set(orphans.values()) == {0}, orphans
    assert set(duplicates.values()) == {0}, duplicates


def assert_counts_near(url: str, scale: float, tolerance: float = 0.1) -> None:
    schema = schema_of(url)
    for table in schema.tables:
        expected = CHINOOK_COUNTS[table.name] * (1 if table.name in LOOKUPS else scale)
        assert abs(table.row_count - expected) <= max(tolerance * expected, 2), (table.name, table.row_count)


def sqlite_file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sqlite_to_sqlite(chinook_sqlite: Path, tmp_path: Path) -> None:
    before = sqlite_file_hash(chinook_sqlite)
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    result = dbsynth.clone(str(chinook_sqlite), target, seed=1)
    assert result.total_rows == sum(result.rows.values()) > 15_000
    assert_integrity(target)
    assert_counts_near(target, 1.0)
    assert schema_differences(schema_of(str(chinook_sqlite)), schema_of(target)) == []
    assert sqlite_file_hash(chinook_sqlite) == before, "the source file was modified"
    # SQLite's own FK check agrees with ours.
    with sa.create_engine(target).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []


def test_postgres_to_postgres(chinook_postgres: str, postgres_target: str) -> None:
    before = database_checksum(chinook_postgres)
    dbsynth.clone(chinook_postgres, postgres_target, seed=2)
    assert_integrity(postgres_target)
    assert_counts_near(postgres_target, 1.0)
    assert schema_differences(schema_of(chinook_postgres), schema_of(postgres_target)) == []
    assert database_checksum(chinook_postgres) == before, "the source database was modified"
    engine = sa.create_engine(parse_url(postgres_target))
    with engine.begin() as conn:
        # The target's own FK constraints exist and are valid (PostgreSQL checked every row on load).
        fk_count = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated").scalar_one()
        assert fk_count == 11
        # Sequences were reset: the application can insert without giving an id.
        top = conn.exec_driver_sql("SELECT max(invoice_id) FROM invoice").scalar_one()
        new_id = conn.exec_driver_sql(
            "INSERT INTO invoice (customer_id, invoice_date, total) "
            "SELECT min(customer_id), now(), 1 FROM customer RETURNING invoice_id").scalar_one()
        assert new_id == top + 1
    engine.dispose()


def test_sqlite_to_postgres_and_back(chinook_sqlite: Path, postgres_url: str, tmp_path: Path) -> None:
    dbsynth.clone(str(chinook_sqlite), postgres_url, seed=3)
    assert_integrity(postgres_url)
    assert schema_differences(schema_of(str(chinook_sqlite)), schema_of(postgres_url)) == []
    back = f"sqlite:///{tmp_path / 'back.db'}"
    dbsynth.clone(postgres_url, back, seed=3)
    assert_integrity(back)
    assert_counts_near(back, 1.0)
    assert schema_differences(schema_of(postgres_url), schema_of(back)) == []


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_scale_multiplies_roots_and_children_follow(chinook_sqlite: Path, tmp_path: Path, scale: float) -> None:
    target = f"sqlite:///{tmp_path / 'scaled.db'}"
    dbsynth.clone(str(chinook_sqlite), target, seed=4, scale=scale)
    assert_integrity(target)
    assert_counts_near(target, scale, tolerance=0.15)


def test_same_seed_same_output_other_seed_differs(chinook_sqlite: Path, tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / f'{i}.db'}" for i in range(3)]
    for url, seed in zip(urls, (7, 7, 8)):
        dbsynth.clone(str(chinook_sqlite), url, seed=seed)
    for table in CHINOOK_COUNTS:
        assert rows_of(urls[0], table) == rows_of(urls[1], table), table
    assert rows_of(urls[0], "track") != rows_of(urls[2], "track")


def test_no_source_row_appears_verbatim(chinook_sqlite: Path, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    dbsynth.clone(str(chinook_sqlite), target, seed=5)
    source_schema = schema_of(str(chinook_sqlite))
    checked = 0
    for table in source_schema.tables:
        keys = set(table.pk_columns) | table.fk_columns
        plain = [c for c in table.column_names if c not in keys]
        if len(plain) < 3:
            continue
        checked += 1
        copied = set(rows_of(str(chinook_sqlite), table.name, plain)) & set(rows_of(target, table.name, plain))
        assert not copied, f"{table.name}: {len(copied)} source rows copied, e.g. {next(iter(copied))}"
    assert checked >= 4  # employee, customer, invoice, track


def test_personal_data_is_faked_never_copied(chinook_sqlite: Path, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    dbsynth.clone(str(chinook_sqlite), target, seed=6)
    for table, column in [("customer", "email"), ("customer", "phone"), ("customer", "address"),
                          ("employee", "email"), ("employee", "last_name"), ("invoice", "billing_address")]:
        real = {r[0] for r in rows_of(str(chinook_sqlite), table, [column])} - {None}
        fake = {r[0] for r in rows_of(target, table, [column])} - {None}
        assert fake, f"{table}.{column} is empty"
        assert not real & fake, f"{table}.{column} leaked {sorted(real & fake)[:3]}"
    emails = [r[0] for r in rows_of(target, "customer", ["email"])]
    assert all("@" in e for e in emails)


def test_child_counts_follow_the_source(chinook_sqlite: Path, tmp_path: Path) -> None:
    """Invoices per customer and lines per invoice keep the source's distribution."""
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    dbsynth.clone(str(chinook_sqlite), target, seed=9)
    query = "SELECT avg(n), max(n) FROM (SELECT count(*) AS n FROM invoice_line GROUP BY invoice_id)"
    with sa.create_engine(f"sqlite:///{chinook_sqlite}").connect() as conn:
        src_mean, src_max = conn.exec_driver_sql(query).one()
    with sa.create_engine(target).connect() as conn:
        syn_mean, syn_max = conn.exec_driver_sql(query).one()
        # Employees' reporting tree: exactly the NULL share of roots, no cycles (every chain ends).
        roots = conn.exec_driver_sql("SELECT count(*) FROM employee WHERE reports_to IS NULL").scalar_one()
        depth = conn.exec_driver_sql(
            "WITH RECURSIVE chain(id, d) AS (SELECT employee_id, 0 FROM employee WHERE reports_to IS NULL "
            "UNION ALL SELECT e.employee_id, d + 1 FROM employee e JOIN chain ON e.reports_to = chain.id) "
            "SELECT count(*) FROM chain").scalar_one()
    assert abs(syn_mean - src_mean) / src_mean < 0.1
    assert syn_max <= src_max
    assert roots >= 1
    assert depth == 8  # every employee is reachable from a root: a tree, no cycle


def test_existing_tables_refused_then_replaced(chinook_sqlite: Path, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    dbsynth.clone(str(chinook_sqlite), target, seed=1)
    first = rows_of(target, "invoice")
    with pytest.raises(dbsynth.TargetNotEmpty, match="--if-exists replace"):
        dbsynth.clone(str(chinook_sqlite), target, seed=2)
    assert rows_of(target, "invoice") == first  # untouched by the refusal
    dbsynth.clone(str(chinook_sqlite), target, seed=2, if_exists="replace")
    assert rows_of(target, "invoice") != first
    assert_integrity(target)


def test_unique_personal_column_stays_unique(postgres_url: str, postgres_target: str) -> None:
    engine = sa.create_engine(parse_url(postgres_url))
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE account (id serial PRIMARY KEY, email varchar(40) NOT NULL UNIQUE, "
            "plan varchar(10) NOT NULL)")
        conn.exec_driver_sql(
            "INSERT INTO account (email, plan) SELECT 'user' || i || '@corp.example', "
            "CASE WHEN mod(i, 3) = 0 THEN 'pro' ELSE 'free' END FROM generate_series(1, 3000) i")
    engine.dispose()
    dbsynth.clone(postgres_url, postgres_target, seed=1)
    emails = [r[0] for r in rows_of(postgres_target, "account", ["email"])]
    assert len(emails) == 3000 and len(set(emails)) == 3000
    assert not any(e.endswith("@corp.example") for e in emails)


def test_sqlite_to_mariadb(chinook_sqlite: Path, mysql_url: str) -> None:
    dbsynth.clone(str(chinook_sqlite), mysql_url, seed=10)
    assert_integrity(mysql_url)
    assert_counts_near(mysql_url, 1.0)
    assert schema_differences(schema_of(str(chinook_sqlite)), schema_of(mysql_url)) == []


def test_lookup_tables_are_copied_unless_the_config_models_them(chinook_sqlite: Path, tmp_path: Path) -> None:
    from dbsynth.config import config_from_dict

    target = f"sqlite:///{tmp_path / 'copy.db'}"
    result = dbsynth.clone(str(chinook_sqlite), target, seed=3, scale=2)
    for table in LOOKUPS:
        assert rows_of(target, table) == rows_of(str(chinook_sqlite), table), table
        assert result.models[table] == "copy"
    modelled = f"sqlite:///{tmp_path / 'modelled.db'}"
    result = dbsynth.clone(str(chinook_sqlite), modelled, seed=3,
                           config=config_from_dict({"tables": {"genre": {"mode": "model"}}}))
    assert result.models["genre"] != "copy"
    assert rows_of(modelled, "genre") != rows_of(str(chinook_sqlite), "genre")
    assert_integrity(modelled)
