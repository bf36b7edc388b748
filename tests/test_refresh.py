"""`dbsynth refresh`: atomic swap on every engine, SIGKILL safety, retraining only on drift."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest
import sqlalchemy as sa

import dbsynth
from dbsynth.atomic.lock import target_lock
from dbsynth.atomic.mariadb import side_databases
from dbsynth.atomic.postgres import APPLICATION_NAME, shadow_schema
from dbsynth.atomic.sqlite import shadow_file
from dbsynth.io.engines import parse_url
from tests.helpers import database_checksum, schema_of


def dbsynth_cli(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dbsynth", *args], capture_output=True, text=True, timeout=300,
                          **kwargs)  # type: ignore[call-overload]


def row_counts(url: str) -> dict[str, int]:
    return {t.name: t.row_count for t in schema_of(url).tables}


def orphans(url: str) -> int:
    """Rows whose foreign key points at no row, counted by SQL in the target itself."""
    schema = schema_of(url)
    engine = sa.create_engine(parse_url(url))
    total = 0
    try:
        with engine.connect() as conn:
            for table in schema.tables:
                for fk in table.foreign_keys:
                    child = sa.table(table.local_name, *[sa.column(c) for c in fk.columns], schema=table.schema)
                    referred = schema.table(fk.referred_table)   # in its own namespace, as the child may not be
                    parent = sa.table(referred.local_name, *[sa.column(c) for c in fk.referred_columns],
                                      schema=referred.schema).alias("p")
                    match = sa.and_(*[parent.c[r] == child.c[c] for c, r in zip(fk.columns, fk.referred_columns)])
                    present = sa.and_(*[child.c[c].is_not(None) for c in fk.columns])
                    query = sa.select(sa.func.count()).select_from(child).where(
                        present, ~sa.exists().where(match))
                    total += conn.execute(query).scalar_one()
    finally:
        engine.dispose()
    return total


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def chinook_model(chinook_sqlite: Path, tmp_path: Path) -> Path:
    path = tmp_path / "chinook.dbsynth"
    dbsynth.train(str(chinook_sqlite), path, seed=1, model="independent")
    return path


# --- SIGKILL half-way: the old target stays complete ------------------------------------------

def _sqlite_half_written(url: str) -> Callable[[], bool]:
    journal = Path(f"{shadow_file(Path(parse_url(url).database))}-journal")
    return journal.exists  # the shadow's write transaction is open


def _postgres_half_written(url: str) -> Callable[[], bool]:
    engine = sa.create_engine(parse_url(url), poolclass=sa.pool.NullPool)
    query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = :app AND query ILIKE 'COPY%'")

    def copying() -> bool:  # rows are being copied into the shadow schema, not yet committed
        with engine.connect() as conn:
            return bool(conn.execute(query, {"app": APPLICATION_NAME}).scalar())
    return copying


def _mysql_half_written(url: str) -> Callable[[], bool]:
    parsed = parse_url(url)
    shadow, _ = side_databases(parsed.database)
    engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool)

    def created() -> bool:  # the shadow's tables exist (DDL commits at once); rows are going in
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM information_schema.tables "
                                        "WHERE table_schema = :s"), {"s": shadow}).scalar() >= 11
    return created


def _leftover(url: str) -> bool:
    """Whether a shadow of the target exists (what a killed run leaves for the next one to remove)."""
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return shadow_file(Path(parsed.database)).exists()
    engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if backend == "postgresql":
                return bool(conn.execute(sa.text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"),
                                         {"s": shadow_schema("public")}).scalar())
            return bool(conn.execute(sa.text("SELECT count(*) FROM information_schema.schemata "
                                             "WHERE schema_name IN :s").bindparams(sa.bindparam("s", expanding=True)),
                                     {"s": list(side_databases(parsed.database))}).scalar())
    finally:
        engine.dispose()


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mysql"])
def test_refresh_killed_half_way_leaves_the_old_target_whole(engine: str, chinook_model: Path,
                                                            request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue({"sqlite": "sqlite_url", "postgresql": "postgres_url",
                                   "mysql": "mysql_url"}[engine])
    half_written = {"sqlite": _sqlite_half_written, "postgresql": _postgres_half_written,
                    "mysql": _mysql_half_written}[engine](url)
    first = dbsynth.refresh(chinook_model, url, seed=1)
    assert first.total_rows > 15_000 and orphans(url) == 0
    before, checksum = row_counts(url), database_checksum(url)

    run = subprocess.Popen([sys.executable, "-m", "dbsynth", "refresh", str(chinook_model), url, "--seed", "2",
                            "--scale", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not half_written():
        assert run.poll() is None, f"refresh ended before it was half-way: {run.communicate()}"
        assert time.monotonic() < deadline, "the refresh never started writing its shadow"
        time.sleep(0.01)
    run.send_signal(signal.SIGKILL)
    run.communicate()
    assert run.returncode == -signal.SIGKILL

    assert row_counts(url) == before
    assert orphans(url) == 0
    assert database_checksum(url) == checksum  # not one row of the old target changed
    assert _leftover(url)  # the killed run's shadow is still there ...

    again = dbsynth.refresh(chinook_model, url, seed=3, scale=2)
    assert not _leftover(url)  # ... until the next run removes it
    after = row_counts(url)
    assert after == again.rows and after["invoice"] > 1.5 * before["invoice"]
    assert orphans(url) == 0


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_refresh_refuses_to_pull_a_table_from_under_an_application_foreign_key(
        engine: str, chinook_model: Path, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue({"postgresql": "postgres_url", "mysql": "mysql_url"}[engine])
    dbsynth.refresh(chinook_model, url, seed=1)
    target = sa.create_engine(parse_url(url), poolclass=sa.pool.NullPool)
    with target.begin() as conn:  # the application's own table, pointing at a refreshed one
        conn.exec_driver_sql("CREATE TABLE app_note (id INTEGER PRIMARY KEY, genre_id INTEGER "
                             "REFERENCES genre (genre_id))")
    target.dispose()
    checksum = database_checksum(url)
    with pytest.raises(dbsynth.DbsynthError, match="the target was left unchanged"):
        dbsynth.refresh(chinook_model, url, seed=2)
    assert database_checksum(url) == checksum and orphans(url) == 0
    assert not _leftover(url)  # a failed run removes its own shadow


# --- retraining only on drift -----------------------------------------------------------------

def test_unchanged_source_reuses_the_model_and_drift_retrains(chinook_sqlite: Path, postgres_url: str,
                                                              tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    shutil.copy(chinook_sqlite, source)
    model = tmp_path / "cache" / "model.dbsynth"
    model.parent.mkdir()
    options = {"model_file": model, "seed": 4, "model": "independent"}

    first = dbsynth.refresh(str(source), postgres_url, **options)
    assert first.retrained and first.reasons == [f"no model yet at {model}"]
    assert row_counts(postgres_url) == first.rows and orphans(postgres_url) == 0
    trained, stamp = digest(model), model.stat().st_mtime_ns

    second = dbsynth.refresh(str(source), postgres_url, **options)
    assert not second.retrained and second.reasons == []
    assert second.decision.startswith("source unchanged since ") and str(model) in second.decision
    assert digest(model) == trained and model.stat().st_mtime_ns == stamp  # not even rewritten

    with sqlite3.connect(source) as conn:  # 25 genres -> 35: 40% more
        conn.execute("INSERT INTO genre (name) SELECT name || ' revival' FROM genre LIMIT 10")
    grown = dbsynth.refresh(str(source), postgres_url, **options)
    assert grown.retrained
    assert any(r.startswith("table genre grew 40% (25 -> 35 rows, threshold 5%)") for r in grown.reasons), \
        grown.reasons
    assert digest(model) != trained
    assert row_counts(postgres_url)["genre"] == 35  # a copied lookup table: the new rows themselves
    assert orphans(postgres_url) == 0

    with sqlite3.connect(source) as conn:
        conn.execute("ALTER TABLE artist ADD COLUMN country TEXT")
    widened = dbsynth.refresh(str(source), postgres_url, **options)
    assert widened.retrained and widened.reasons[0] == "schema changed: column artist.country added"
    assert "country" in schema_of(postgres_url).table("artist").column_names
    assert orphans(postgres_url) == 0

    small = dbsynth.refresh(str(source), postgres_url, drift_threshold=0.5, **options)
    assert not small.retrained  # nothing moved since the last training


def test_refresh_cli_is_quiet_for_cron_and_says_why(chinook_sqlite: Path, tmp_path: Path) -> None:
    source, target, model = tmp_path / "source.db", tmp_path / "target.db", tmp_path / "model.dbsynth"
    shutil.copy(chinook_sqlite, source)
    common = ("--model-file", str(model), "--model", "independent", "--seed", "5")

    quiet = dbsynth_cli("refresh", str(source), str(target), *common, "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "" and quiet.stderr == ""
    assert orphans(str(target)) == 0 and row_counts(str(target))["invoice"] > 300

    loud = dbsynth_cli("refresh", str(source), str(target), *common)
    assert loud.returncode == 0, loud.stderr
    assert loud.stdout.startswith("source unchanged since ")
    assert "refreshed 11 tables" in loud.stdout

    with target_lock(parse_url(str(target)), str(target.resolve())):  # a refresh still running
        busy = dbsynth_cli("refresh", str(source), str(target), *common, "--quiet")
    assert busy.returncode == 75
    assert busy.stderr.startswith("error: another dbsynth refresh of ") and busy.stdout == ""

    wrong = dbsynth_cli("refresh", str(model), str(target), "--drift-threshold", "0.1")
    assert wrong.returncode == 2 and "only apply when refreshing from a source" in wrong.stderr


def test_public_api_is_pinned() -> None:
    assert dbsynth.__all__ == sorted(dbsynth.__all__)
    assert {"refresh", "RefreshResult", "RefreshBusy"} <= set(dbsynth.__all__)
    assert all(hasattr(dbsynth, name) for name in dbsynth.__all__)


def test_default_model_cache_lives_under_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dbsynth.refreshing import default_model_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    a = default_model_path("postgresql://u:secret@h/prod", "postgresql://u@h/staging")
    b = default_model_path("postgresql://u:other@h/prod", "postgresql://u@h/staging")
    c = default_model_path("postgresql://u@h/prod", "postgresql://u@h/qa")
    assert a.parent == tmp_path / "dbsynth" and a == b != c  # one cache per pair; passwords play no part
    assert "secret" not in str(a) and os.sep not in a.name


# --- a PostgreSQL target with several schemas ---------------------------------------------------

def _shadows(url: str) -> list[str]:
    engine = sa.create_engine(parse_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'dbsynth\\_shadow\\_%' "
                                             "ORDER BY 1")).scalars())
    finally:
        engine.dispose()


def _showcase_orphans(url: str) -> set[int]:
    from dbsynth.report.integrity import orphan_counts

    engine = sa.create_engine(parse_url(url), poolclass=sa.pool.NullPool)
    try:
        return set(orphan_counts(engine, schema_of(url)).values())
    finally:
        engine.dispose()


@pytest.fixture
def showcase_model(postgres_target: str, tmp_path: Path) -> Path:
    from tests.test_clone_showcase import load_showcase

    load_showcase(postgres_target)
    path = tmp_path / "showcase.dbsynth"
    dbsynth.train(postgres_target, path, seed=1, model="independent")
    return path


def test_refresh_swaps_every_schema_of_a_postgres_target(showcase_model: Path, postgres_url: str) -> None:
    first = dbsynth.refresh(showcase_model, postgres_url, seed=1)
    assert {"country", "core.customer", "Sales.Order", "Sales.order_line"} <= set(first.rows)
    assert row_counts(postgres_url) == first.rows and _showcase_orphans(postgres_url) == {0}
    checksum = database_checksum(postgres_url)

    second = dbsynth.refresh(showcase_model, postgres_url, seed=2, scale=2)
    assert _shadows(postgres_url) == []                      # every shadow moved in and dropped
    after = row_counts(postgres_url)
    assert after == second.rows and after["Sales.Order"] > 1.5 * first.rows["Sales.Order"]
    assert database_checksum(postgres_url) != checksum and _showcase_orphans(postgres_url) == {0}
    engine = sa.create_engine(parse_url(postgres_url), poolclass=sa.pool.NullPool)
    try:
        insp = sa.inspect(engine)
        assert "order_summary" in insp.get_view_names(schema="Sales")      # views recreated over the new tables
        assert "customers_per_country" in insp.get_materialized_view_names(schema="core")
        with engine.connect() as conn:
            summed = conn.exec_driver_sql('SELECT count(*) FROM "Sales".order_summary').scalar_one()
            per_country = conn.exec_driver_sql("SELECT sum(customers) FROM core.customers_per_country").scalar_one()
            typ = conn.exec_driver_sql("SELECT n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                                       "WHERE t.typname = 'customer_status'").scalars().all()
        assert summed == after["Sales.Order"] and per_country == after["core.customer"]
        assert typ == ["core"]                                             # the enum moved, the old one dropped
    finally:
        engine.dispose()


def test_multi_schema_refresh_killed_half_way_leaves_the_old_target_whole(showcase_model: Path,
                                                                        postgres_url: str) -> None:
    dbsynth.refresh(showcase_model, postgres_url, seed=1)
    before, checksum = row_counts(postgres_url), database_checksum(postgres_url)
    half_written = _postgres_half_written(postgres_url)
    run = subprocess.Popen([sys.executable, "-m", "dbsynth", "refresh", str(showcase_model), postgres_url,
                            "--seed", "2", "--scale", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not half_written():
        assert run.poll() is None, f"refresh ended before it was half-way: {run.communicate()}"
        assert time.monotonic() < deadline, "the refresh never started writing its shadow"
        time.sleep(0.01)
    run.send_signal(signal.SIGKILL)
    run.communicate()
    assert row_counts(postgres_url) == before and database_checksum(postgres_url) == checksum
    assert _showcase_orphans(postgres_url) == {0}
    assert _shadows(postgres_url)                             # the killed run's shadows are still there ...
    again = dbsynth.refresh(showcase_model, postgres_url, seed=3)
    assert _shadows(postgres_url) == []                       # ... until the next run removes them
    assert row_counts(postgres_url) == again.rows and _showcase_orphans(postgres_url) == {0}


def test_multi_schema_refresh_refuses_to_pull_a_table_from_under_an_application_foreign_key(
        showcase_model: Path, postgres_url: str) -> None:
    dbsynth.refresh(showcase_model, postgres_url, seed=1)
    target = sa.create_engine(parse_url(postgres_url), poolclass=sa.pool.NullPool)
    with target.begin() as conn:  # the application's own table in another schema, pointing at a refreshed one
        conn.exec_driver_sql("CREATE SCHEMA app")
        conn.exec_driver_sql("CREATE TABLE app.note (id INTEGER PRIMARY KEY, tag_id smallint REFERENCES core.tag (id))")
    target.dispose()
    checksum = database_checksum(postgres_url)
    with pytest.raises(dbsynth.DbsynthError, match="the target was left unchanged"):
        dbsynth.refresh(showcase_model, postgres_url, seed=2)
    assert database_checksum(postgres_url) == checksum and _shadows(postgres_url) == []


def test_refresh_from_a_multi_schema_source_reuses_the_model_until_it_drifts(postgres_url: str, postgres_target: str,
                                                                            tmp_path: Path) -> None:
    from tests.test_clone_showcase import load_showcase

    load_showcase(postgres_target)          # the source
    model = tmp_path / "model.dbsynth"
    options = {"model_file": model, "seed": 4, "model": "independent", "schemas": "core,public"}
    first = dbsynth.refresh(postgres_target, postgres_url, **options)
    assert first.retrained and not any(name.startswith("Sales.") for name in first.rows)
    assert set(row_counts(postgres_url)) == set(first.rows) and _showcase_orphans(postgres_url) == {0}
    second = dbsynth.refresh(postgres_target, postgres_url, **options)
    assert not second.retrained, second.reasons                   # statistics of core.* read where they live
    source = sa.create_engine(parse_url(postgres_target), poolclass=sa.pool.NullPool)
    with source.begin() as conn:
        conn.exec_driver_sql("INSERT INTO core.tag (id, label) SELECT id + 1000, label || ' 2' FROM core.tag")
    source.dispose()
    grown = dbsynth.refresh(postgres_target, postgres_url, **options)
    assert grown.retrained and any(r.startswith("table core.tag grew 100%") for r in grown.reasons), grown.reasons


SALES_AND_REF = """
CREATE SCHEMA ref; CREATE SCHEMA sales;
CREATE TYPE ref.status AS ENUM ('new', 'paid', 'shipped');
CREATE DOMAIN ref.amount AS numeric(10,2) NOT NULL CONSTRAINT amount_positive CHECK (VALUE > 0);
CREATE TABLE ref.product (product_id serial PRIMARY KEY, label text NOT NULL, list_price ref.amount);
CREATE TABLE sales.customer (customer_id serial PRIMARY KEY, tier text NOT NULL);
CREATE TABLE sales.orders (order_id serial PRIMARY KEY,
  customer_id int NOT NULL REFERENCES sales.customer, product_id int NOT NULL REFERENCES ref.product,
  state ref.status NOT NULL DEFAULT 'new', total ref.amount);
INSERT INTO ref.product (label, list_price) SELECT 'product ' || i, 5 + i % 50 FROM generate_series(1, 40) i;
INSERT INTO sales.customer (tier) SELECT CASE WHEN i % 4 = 0 THEN 'gold' ELSE 'std' END FROM generate_series(1, 150) i;
INSERT INTO sales.orders (customer_id, product_id, state, total)
  SELECT 1 + i % 150, 1 + (i * 7) % 40, (ARRAY['new', 'paid', 'shipped']::ref.status[])[1 + i % 3], 1 + i % 300
  FROM generate_series(1, 600) i;
"""


def _types(url: str) -> list[tuple[str, str, str]]:
    """(schema, name, kind) of every enum and domain of the database."""
    engine = sa.create_engine(parse_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(
                "SELECT n.nspname, t.typname, t.typtype::text FROM pg_type t JOIN pg_namespace n "
                "ON n.oid = t.typnamespace WHERE t.typtype IN ('e', 'd') AND n.nspname <> 'information_schema' "
                "ORDER BY 1, 2").all()]
    finally:
        engine.dispose()


def test_refresh_keeps_enums_and_domains_of_another_schema_once(postgres_url: str, postgres_target: str,
                                                               tmp_path: Path) -> None:
    """Tables in sales using an enum and a domain of ref: cloned with --schemas sales,ref, then refreshed."""
    engine = sa.create_engine(parse_url(postgres_url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(SALES_AND_REF.replace("%", "%%"))
    engine.dispose()
    expected = [("ref", "amount", "d"), ("ref", "status", "e")]
    cloned = dbsynth.clone(postgres_url, postgres_target, seed=1, schemas="sales,ref")
    assert set(cloned.rows) == {"ref.product", "sales.customer", "sales.orders"}
    assert _types(postgres_target) == expected
    checksum = database_checksum(postgres_target)

    options = {"model_file": tmp_path / "model.dbsynth", "seed": 2, "schemas": "sales,ref"}
    refreshed = dbsynth.refresh(postgres_url, postgres_target, **options)
    again = dbsynth.refresh(postgres_url, postgres_target, **{**options, "seed": 3})

    assert row_counts(postgres_target) == again.rows == refreshed.rows
    assert database_checksum(postgres_target) != checksum                 # fresh data
    assert _types(postgres_target) == expected                             # each type once, in ref
    assert _shadows(postgres_target) == [] and orphans(postgres_target) == 0
    engine = sa.create_engine(parse_url(postgres_target), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            used = conn.exec_driver_sql(
                "SELECT table_schema || '.' || table_name || '.' || column_name, udt_schema || '.' || udt_name, "
                "coalesce(domain_schema || '.' || domain_name, '') FROM information_schema.columns "
                "WHERE table_schema IN ('sales', 'ref') AND column_name IN ('state', 'total', 'list_price') "
                "ORDER BY 1").all()
            bad = conn.exec_driver_sql("SELECT count(*) FROM sales.orders WHERE total <= 0").scalar_one()
    finally:
        engine.dispose()
    assert [tuple(r) for r in used] == [("ref.product.list_price", "pg_catalog.numeric", "ref.amount"),
                                        ("sales.orders.state", "ref.status", ""),
                                        ("sales.orders.total", "pg_catalog.numeric", "ref.amount")]
    assert bad == 0
