"""dbsynth inspect SOURCE --compare TARGET: schema drift, same engine (alembic) and across engines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

import dbsynth
from dbsynth.api import compare
from dbsynth.io.engines import parse_url


def test_drift_on_postgres_is_listed(chinook_sqlite: Path, postgres_url: str, postgres_target: str) -> None:
    dbsynth.clone(str(chinook_sqlite), postgres_url, seed=1)
    dbsynth.clone(postgres_url, postgres_target, seed=1)
    assert compare(postgres_url, postgres_target) == []
    engine = sa.create_engine(parse_url(postgres_target))
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE customer ADD COLUMN extra int")
        conn.exec_driver_sql("ALTER TABLE track ALTER COLUMN name TYPE text")
        conn.exec_driver_sql("DROP INDEX ix_invoice_customer_id")
    engine.dispose()
    differences = compare(postgres_url, postgres_target)
    assert "column customer.extra only in target" in differences
    assert any(d.startswith("column track.name: type TEXT") for d in differences)
    assert any(d.startswith("index ix_invoice_customer_id") and "missing in target" in d for d in differences)
    run = subprocess.run([sys.executable, "-m", "dbsynth", "inspect", postgres_url, "--compare", postgres_target,
                          "--json"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 3
    assert json.loads(run.stdout)["differences"] == differences


def test_across_engines_uses_portable_comparison(chinook_sqlite: Path, tmp_path: Path, postgres_url: str) -> None:
    dbsynth.clone(str(chinook_sqlite), postgres_url, seed=1)
    assert compare(str(chinook_sqlite), postgres_url) == []
    copy = tmp_path / "copy.db"
    dbsynth.clone(str(chinook_sqlite), str(copy), seed=1)
    with sa.create_engine(f"sqlite:///{copy}").begin() as conn:
        conn.exec_driver_sql("DROP TABLE playlist_track")
    assert compare(postgres_url, str(copy)) == ["table playlist_track missing in target"]


def test_drift_is_found_in_every_postgres_schema(postgres_url: str, postgres_target: str) -> None:
    """The showcase's schemas (public, core, "Sales"): drift outside the default schema is listed too."""
    from tests.test_clone_showcase import load_showcase

    load_showcase(postgres_url)
    load_showcase(postgres_target)
    assert compare(postgres_url, postgres_target) == []
    engine = sa.create_engine(parse_url(postgres_target), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql('DROP TABLE "Sales".refund')
        conn.exec_driver_sql("CREATE TABLE core.extra_table (id int PRIMARY KEY)")
        conn.exec_driver_sql("ALTER TABLE core.tag ADD COLUMN colour text")
        conn.exec_driver_sql('ALTER TABLE "Sales".order_line ALTER COLUMN note TYPE varchar(40)')
        conn.exec_driver_sql('ALTER TABLE "Sales".order_line ALTER COLUMN qty DROP NOT NULL')
        conn.exec_driver_sql("DROP INDEX core.customer_name_active")
        conn.exec_driver_sql('ALTER TABLE "Sales".order_line DROP CONSTRAINT line_value')
        conn.exec_driver_sql("ALTER TABLE core.warehouse ADD CONSTRAINT app_check CHECK (num > 0)")
        conn.exec_driver_sql("ALTER TABLE core.audit_log ADD PRIMARY KEY (at, action)")
        conn.exec_driver_sql("CREATE SCHEMA app_only")
        conn.exec_driver_sql("CREATE TABLE app_only.note (id int)")
    engine.dispose()
    differences = compare(postgres_url, postgres_target)
    expected = [
        "table Sales.refund missing in target",
        "table core.extra_table only in target",
        "table app_only.note only in target",
        "column core.tag.colour only in target",
        "column Sales.order_line.qty: nullable True in target, False in source",
        "Sales.order_line: check ((qty::numeric * unit_price) < 100000::numeric) missing in target",
        "core.warehouse: check (num > 0) only in target",
    ]
    for line in expected:
        assert line in differences, "\n".join(differences)
    assert any(d.startswith("column Sales.order_line.note: type VARCHAR(40) in target") for d in differences)
    assert any(d.startswith("index customer_name_active on core.customer") and d.endswith("missing in target")
               for d in differences), differences
    assert any(d.startswith("core.audit_log: primary key") for d in differences), differences
    run = subprocess.run([sys.executable, "-m", "dbsynth", "inspect", postgres_url, "--compare", postgres_target,
                          "--schemas", "public"], capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stdout.strip()) == (0, "the schemas match"), run.stderr   # public did not drift
    run = subprocess.run([sys.executable, "-m", "dbsynth", "inspect", postgres_url, "--compare", postgres_target],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 3 and "table Sales.refund missing in target" in run.stdout.splitlines()
