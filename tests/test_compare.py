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
