"""A table of one row under several parents stays one row, and what points at it finds it.

Found by the random-schema property test: every parent drew "no child", the single-row table came out
empty, and the NOT NULL foreign key of a table pointing at it had nothing to point at.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

import dbsynth
from dbsynth.relational.sample import _rescaled_counts
from tests.helpers import rows_of


def test_counts_of_all_zero_still_reach_the_expected_total() -> None:
    counts = _rescaled_counts(np.zeros(8, dtype=np.int64), 1.0, np.random.default_rng(3))
    assert counts.sum() == 1 and counts.min() == 0


def test_single_row_child_is_kept_and_referenced(tmp_path: Path) -> None:
    path = tmp_path / "src.db"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE t0 (id INTEGER PRIMARY KEY, label TEXT NOT NULL);
        CREATE TABLE t1 (id INTEGER NOT NULL, part INTEGER NOT NULL, p0_id INTEGER NOT NULL REFERENCES t0(id),
                         PRIMARY KEY (id, part));
        CREATE TABLE t4 (id INTEGER PRIMARY KEY, p1_id INTEGER NOT NULL, p1_part INTEGER NOT NULL,
                         FOREIGN KEY (p1_id, p1_part) REFERENCES t1 (id, part));
    """)
    con.executemany("INSERT INTO t0 VALUES (?, ?)", [(i, f"l{i % 3}") for i in range(1, 9)])
    con.execute("INSERT INTO t1 VALUES (1, 1, 3)")
    con.executemany("INSERT INTO t4 VALUES (?, 1, 1)", [(i,) for i in range(1, 30)])
    con.commit()
    con.close()
    target = f"sqlite:///{tmp_path / 'dst.db'}"
    for seed in range(5):
        result = dbsynth.clone(f"sqlite:///{path}", target, seed=seed, if_exists="replace")
        assert result.rows["t1"] == 1 and result.rows["t4"] == 29
        assert len({(a, b) for a, b in rows_of(target, "t4", ["p1_id", "p1_part"])}) == 1
