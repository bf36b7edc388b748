"""A column NULL exactly when another has some value stays that way in the clone (NULL is a modelled state)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import sqlalchemy as sa

import dbsynth


def test_null_exactly_when_another_column_says_so(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    source = tmp_path / "src.db"
    con = sqlite3.connect(source)
    con.execute("CREATE TABLE account (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, company TEXT, "
                "vat_rate REAL, balance REAL NOT NULL)")
    rows = []
    for i in range(1, 1501):
        kind = str(rng.choice(["person", "business", "charity"], p=[0.6, 0.3, 0.1]))
        business = kind != "person"
        rows.append((i, kind, f"company {int(rng.integers(40))}" if business else None,
                     float(rng.choice([0.07, 0.19])) if kind == "business" else None,
                     float(rng.gamma(2.0, 300.0))))
    con.executemany("INSERT INTO account VALUES (?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()

    target = f"sqlite:///{tmp_path / 'dst.db'}"
    dbsynth.clone(f"sqlite:///{source}", target, seed=5)
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        n = conn.exec_driver_sql("SELECT count(*) FROM account").scalar_one()
        company_ok = conn.exec_driver_sql(
            "SELECT avg(CASE WHEN (company IS NULL) = (kind = 'person') THEN 1.0 ELSE 0 END) FROM account").scalar_one()
        vat_ok = conn.exec_driver_sql(
            "SELECT avg(CASE WHEN (vat_rate IS NULL) = (kind <> 'business') THEN 1.0 ELSE 0 END) FROM account"
        ).scalar_one()
        kinds = dict(conn.exec_driver_sql("SELECT kind, count(*) FROM account GROUP BY kind").all())
    engine.dispose()
    assert n == 1500
    assert set(kinds) == {"person", "business", "charity"}
    assert company_ok >= 0.99, company_ok
    assert vat_ok >= 0.99, vat_ok
