"""--if-exists truncate: the target keeps its own schema; only the rows are replaced."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import dbsynth
from dbsynth.io.engines import parse_url
from tests.conftest import _build_chinook_module
from tests.helpers import database_checksum, rows_of, schema_of


def test_truncate_keeps_the_applications_schema(chinook_sqlite: Path, postgres_url: str) -> None:
    _build_chinook_module().load_chinook(postgres_url)   # the app's own DDL, with real-looking rows
    engine = sa.create_engine(parse_url(postgres_url))
    with engine.begin() as conn:  # something only the app's migrations have
        conn.exec_driver_sql("ALTER TABLE customer ADD COLUMN loyalty_points int DEFAULT 0")
        conn.exec_driver_sql("CREATE INDEX app_only_index ON invoice (invoice_date)")
    before = rows_of(postgres_url, "invoice")
    result = dbsynth.clone(str(chinook_sqlite), postgres_url, seed=4, if_exists="truncate", scale=0.5)
    assert 150 < result.rows["invoice"] < 260
    assert rows_of(postgres_url, "invoice") != before
    target = schema_of(postgres_url)
    assert "loyalty_points" in target.table("customer").column_names       # schema untouched
    assert any(i.name == "app_only_index" for i in target.table("invoice").indexes)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM invoice").scalar_one() == result.rows["invoice"]
        assert conn.exec_driver_sql("SELECT count(*) FROM invoice i LEFT JOIN customer c USING (customer_id) "
                                    "WHERE c.customer_id IS NULL").scalar_one() == 0
        top = conn.exec_driver_sql("SELECT max(artist_id) FROM artist").scalar_one()
    with engine.begin() as conn:  # sequences follow the new rows
        assert conn.exec_driver_sql("INSERT INTO artist (name) VALUES ('x') RETURNING artist_id").scalar_one() == top + 1
    engine.dispose()


def test_truncate_refuses_an_incompatible_target(chinook_sqlite: Path, postgres_url: str) -> None:
    _build_chinook_module().load_chinook(postgres_url)
    engine = sa.create_engine(parse_url(postgres_url))
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE track DROP COLUMN composer")
    engine.dispose()
    before = rows_of(postgres_url, "track")
    with pytest.raises(dbsynth.ConfigError, match=r"track\.composer is missing.*--if-exists replace"):
        dbsynth.clone(str(chinook_sqlite), postgres_url, if_exists="truncate")
    assert rows_of(postgres_url, "track") == before   # nothing touched


def test_truncate_on_sqlite_target(chinook_sqlite: Path, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    dbsynth.clone(str(chinook_sqlite), target, seed=1)
    dbsynth.clone(str(chinook_sqlite), target, seed=2, if_exists="truncate", scale=0.3)
    with sa.create_engine(target).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert conn.exec_driver_sql("SELECT count(*) FROM artist").scalar_one() == round(275 * 0.3)


def test_truncate_into_a_multi_schema_postgres_target(postgres_url: str, postgres_target: str) -> None:
    """The showcase's schemas (public, core, "Sales", FKs across them) refilled in place, the app's DDL kept."""
    from tests.test_clone_showcase import load_showcase

    load_showcase(postgres_url)
    load_showcase(postgres_target)   # the application's own migrations, with real-looking rows
    engine = sa.create_engine(parse_url(postgres_target), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE core.customer ADD COLUMN loyalty_points int DEFAULT 0")
        conn.exec_driver_sql('CREATE INDEX app_only_index ON "Sales"."Order" (ordered_at)')
        old_orders = conn.exec_driver_sql('SELECT count(*) FROM "Sales"."Order"').scalar_one()
        old_ids = set(conn.exec_driver_sql("SELECT id::text FROM core.customer").scalars())
    result = dbsynth.clone(postgres_url, postgres_target, seed=5, model="independent", if_exists="truncate",
                           scale=2)
    target = schema_of(postgres_target)
    assert "loyalty_points" in target.table("core.customer").column_names
    assert any(i.name == "app_only_index" for i in target.table("Sales.Order").indexes)
    with engine.connect() as conn:
        for name, n in result.rows.items():
            schema, _, local = name.rpartition(".")
            quoted = f'"{schema or "public"}"."{local}"'
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {quoted}").scalar_one() == n, name
        assert conn.exec_driver_sql('SELECT count(*) FROM "Sales"."Order"').scalar_one() > 1.5 * old_orders
        assert not old_ids & set(conn.exec_driver_sql("SELECT id::text FROM core.customer").scalars())
    from dbsynth.report.integrity import orphan_counts
    assert set(orphan_counts(engine, target).values()) == {0}
    with engine.begin() as conn:  # sequences and identities follow the new rows
        top = conn.exec_driver_sql('SELECT max(id) FROM "Sales"."Order"').scalar_one()
        new = conn.exec_driver_sql('INSERT INTO "Sales"."Order" (customer_id, ordered_at, subtotal) '
                                   "SELECT id, now(), 1 FROM core.customer LIMIT 1 RETURNING id").scalar_one()
        assert new == top + 1
    engine.dispose()


def test_truncate_refuses_a_multi_schema_target_missing_a_column(postgres_url: str, postgres_target: str) -> None:
    from tests.test_clone_showcase import load_showcase

    load_showcase(postgres_url)
    load_showcase(postgres_target)
    engine = sa.create_engine(parse_url(postgres_target), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql('ALTER TABLE "Sales".order_line DROP COLUMN note')
    before = database_checksum(postgres_target)
    with pytest.raises(dbsynth.ConfigError, match=r"column Sales\.order_line\.note is missing"):
        dbsynth.clone(postgres_url, postgres_target, model="independent", if_exists="truncate")
    assert database_checksum(postgres_target) == before   # nothing touched
    engine.dispose()
