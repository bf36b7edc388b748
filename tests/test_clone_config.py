"""Config rules end to end: copy, skip, where, fake, null, hash, keep, declared FKs, precedence."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

import dbsynth
from dbsynth.config import config_from_dict
from dbsynth.io.engines import open_source, parse_url
from dbsynth.report.integrity import orphan_counts
from dbsynth.schema.introspect import introspect
from tests.helpers import rows_of

DOCS_EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "config.md"


def _orphans(url: str) -> dict[str, int]:
    engine = open_source(parse_url(url))
    try:
        return orphan_counts(engine, introspect(engine))
    finally:
        engine.dispose()


def test_docs_example_copies_subsets_fakes_and_nulls(chinook_sqlite: Path, tmp_path: Path) -> None:
    text = DOCS_EXAMPLE.read_text()
    toml = text.split("```toml\n", 1)[1].split("```", 1)[0]
    config = tmp_path / "chinook.toml"
    config.write_text(toml.replace("#:schema ../schemas/dbsynth.schema.json\n", ""))
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    result = dbsynth.clone(str(chinook_sqlite), target, config=config)
    source = str(chinook_sqlite)
    assert rows_of(target, "genre") == rows_of(source, "genre")            # copied verbatim
    assert rows_of(target, "media_type") == rows_of(source, "media_type")
    assert {r[0] for r in rows_of(target, "invoice", ["billing_country"])} <= {"USA"}  # only the subset
    assert 30 <= result.rows["invoice"] <= 60                               # 91 US invoices x scale 0.5
    assert {r[0] for r in rows_of(target, "customer", ["fax"])} == {None}  # nulled
    real = {r[0] for r in rows_of(source, "customer", ["email"])}
    fake = {r[0] for r in rows_of(target, "customer", ["email"])}
    assert fake and not real & fake                                         # faked
    assert set(_orphans(target).values()) == {0}


def test_skip_hash_keep_and_per_table_model(chinook_sqlite: Path, tmp_path: Path) -> None:
    config = config_from_dict({
        "tables": {
            "playlist_track": {"mode": "skip"},
            "customer": {"columns": {"email": {"mode": "hash"}, "city": {"mode": "keep"}}},
            "employee": {"columns": {"email": {"mode": "hash"}}},
            "track": {"model": "independent"},
        },
    })
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    result = dbsynth.clone(str(chinook_sqlite), target, config=config, seed=2)
    assert result.rows["playlist_track"] == 0
    assert result.models["track"] == "independent"          # forced by the config
    assert "tuned" in result.models["invoice"]              # the others are auto-tuned
    source = str(chinook_sqlite)
    real = {r[0] for r in rows_of(source, "customer", ["email"])}
    hashed = {r[0] for r in rows_of(target, "customer", ["email"])}
    assert hashed and not real & hashed
    assert all(h.startswith("h") for h in hashed)
    # The same value gets the same pseudonym everywhere: hash the employees' e-mails the same way.
    from dbsynth.codecs.pseudonym import pseudonymise, salt_for
    from dbsynth.schema.model import SqlType
    import pandas as pd

    employee_real = [r[0] for r in rows_of(source, "employee", ["email"])]
    expected = set(pseudonymise(pd.Series(employee_real), SqlType("text", length=60), salt_for(2)))
    assert {r[0] for r in rows_of(target, "employee", ["email"])} <= expected
    # keep: rare cities may be reproduced (they are not replaced by fakes).
    kept = {r[0] for r in rows_of(target, "customer", ["city"])} - {None}
    assert kept <= {r[0] for r in rows_of(source, "customer", ["city"])}


def test_declared_foreign_key_is_honoured(postgres_url: str, postgres_target: str) -> None:
    engine = sa.create_engine(parse_url(postgres_url))
    with engine.begin() as conn:  # an app that never declared its FK
        conn.exec_driver_sql("CREATE TABLE account (id serial PRIMARY KEY, tier text NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE purchase (id serial PRIMARY KEY, account_id int NOT NULL, amount int)")
        conn.exec_driver_sql("INSERT INTO account (tier) SELECT CASE WHEN mod(i, 4) = 0 THEN 'gold' ELSE 'basic' END "
                             "FROM generate_series(1, 200) i")
        conn.exec_driver_sql("INSERT INTO purchase (account_id, amount) SELECT 1 + mod(i * 7, 200), i "
                             "FROM generate_series(1, 1000) i")
    engine.dispose()
    config = config_from_dict({"foreign_keys": [{"table": "purchase", "columns": ["account_id"],
                                                 "referred_table": "account", "referred_columns": ["id"]}]})
    dbsynth.clone(postgres_url, postgres_target, config=config, seed=1)
    assert _orphans(postgres_target) == {"purchase.account_id": 0}
    with sa.create_engine(parse_url(postgres_target)).connect() as conn:
        fks = conn.exec_driver_sql("SELECT count(*) FROM pg_constraint WHERE contype = 'f'").scalar_one()
    assert fks == 1


def test_command_line_overrides_config_and_bad_config_is_one_line(chinook_sqlite: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("scale = 0.2\nseed = 4\n")
    run = lambda *a: subprocess.run([sys.executable, "-m", "dbsynth", *a],  # noqa: E731
                                    capture_output=True, text=True, timeout=300)
    done = run("clone", str(chinook_sqlite), str(tmp_path / "a.db"), "--config", str(config), "--scale", "0.5")
    assert done.returncode == 0, done.stderr
    assert rows_of(str(tmp_path / "a.db"), "artist") and len(rows_of(str(tmp_path / "a.db"), "artist")) == 138
    config.write_text('[tables.customer.columns.email]\nmode = "fak"\n')
    bad = run("clone", str(chinook_sqlite), str(tmp_path / "b.db"), "--config", str(config))
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("error: tables.customer.columns.email.mode: 'fak' is not one of keep, fake, "
                                  "null, model, hash")
    assert not (tmp_path / "b.db").exists()
    config.write_text('[tables.invoice]\nwhere = "no_such_column = 1"\n')
    bad = run("clone", str(chinook_sqlite), str(tmp_path / "c.db"), "--config", str(config))
    assert bad.returncode == 2 and "tables.invoice.where" in bad.stderr
    assert not (tmp_path / "c.db").exists()


@pytest.mark.parametrize("where", ["billing_country = 'Canada'"])
def test_where_subset_only_matching_rows_and_orphan_free(chinook_sqlite: Path, postgres_url: str,
                                                         where: str) -> None:
    config = config_from_dict({"tables": {"invoice": {"where": where}}})
    result = dbsynth.clone(str(chinook_sqlite), postgres_url, config=config, seed=5)
    assert {r[0] for r in rows_of(postgres_url, "invoice", ["billing_country"])} == {"Canada"}
    assert 40 <= result.rows["invoice"] <= 75          # 56 Canadian invoices in the source
    assert set(_orphans(postgres_url).values()) == {0}
