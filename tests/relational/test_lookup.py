"""A lookup hierarchy (region <- nation <- many customers) is copied verbatim, top to bottom."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

import dbsynth
from dbsynth.config import config_from_dict
from tests.helpers import rows_of


def _build(path: Path) -> str:
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE region (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE nation (id INTEGER PRIMARY KEY, name TEXT NOT NULL, region_id INTEGER NOT NULL REFERENCES region(id));
        CREATE TABLE customer (id INTEGER PRIMARY KEY, nation_id INTEGER NOT NULL REFERENCES nation(id),
                               segment TEXT NOT NULL, balance REAL NOT NULL);
    """)
    con.executemany("INSERT INTO region VALUES (?, ?)", [(i, f"region {i}") for i in range(1, 6)])
    con.executemany("INSERT INTO nation VALUES (?, ?, ?)", [(i, f"nation {i}", 1 + i % 5) for i in range(1, 26)])
    con.executemany("INSERT INTO customer VALUES (?, ?, ?, ?)",
                    [(i, 1 + (i * 7) % 25, ["a", "b", "c"][i % 3], float(i % 97)) for i in range(1, 801)])
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def test_lookup_hierarchy_is_copied(tmp_path: Path) -> None:
    source = _build(tmp_path / "src.db")
    target = f"sqlite:///{tmp_path / 'dst.db'}"
    result = dbsynth.clone(source, target, seed=2)
    assert result.models["region"] == "copy" and result.models["nation"] == "copy"
    assert rows_of(target, "nation") == rows_of(source, "nation")
    per_nation = "SELECT nation_id, count(*) FROM customer GROUP BY nation_id ORDER BY nation_id"
    assert _query(target, per_nation) == _query(source, per_nation)   # children per lookup row are the real ones


def test_a_modelled_parent_stops_the_copy_below_it(tmp_path: Path) -> None:
    source = _build(tmp_path / "src.db")
    target = f"sqlite:///{tmp_path / 'dst.db'}"
    result = dbsynth.clone(source, target, seed=2,
                           config=config_from_dict({"tables": {"region": {"mode": "model"}}}))
    assert result.models["region"] != "copy"
    assert result.models["nation"] != "copy"   # its region keys would point at modelled rows
    orphans = _query(target, "SELECT count(*) FROM nation n LEFT JOIN region r ON r.id = n.region_id "
                             "WHERE r.id IS NULL")
    assert orphans == [(0,)]


def _query(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql).all()]
    finally:
        engine.dispose()


def test_training_on_a_sample_keeps_lookups_whole_and_children_full_size(tmp_path: Path) -> None:
    """--max-train-rows samples the lookup's children, never the lookup; --scale 1 still writes every row."""
    source = _build(tmp_path / "src.db")
    target = f"sqlite:///{tmp_path / 'dst.db'}"
    result = dbsynth.clone(source, target, seed=2, max_train_rows=200)
    assert result.rows["region"] == 5 and result.rows["nation"] == 25
    assert result.rows["customer"] == 800
    assert _query(target, "SELECT count(DISTINCT nation_id) FROM customer") == [(25,)]


def test_a_small_table_of_people_is_never_copied_verbatim(tmp_path: Path) -> None:
    """Referenced like a lookup (a handful of rows, hundreds pointing at them), but its names and e-mails are
    personal data: copying it would hand out real rows, so it is modelled and its personal columns faked."""
    path = tmp_path / "src.db"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE staff (id INTEGER PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
                            email TEXT NOT NULL);
        CREATE TABLE rental (id INTEGER PRIMARY KEY, staff_id INTEGER NOT NULL REFERENCES staff(id),
                             amount REAL NOT NULL);
    """)
    people = [(1, "Mike", "Hillyer", "mike.hillyer@example.org"), (2, "Jon", "Stephens", "jon.stephens@example.org"),
              (3, "Ana", "Lopez", "ana.lopez@example.org")]
    con.executemany("INSERT INTO staff VALUES (?, ?, ?, ?)", people)
    con.executemany("INSERT INTO rental VALUES (?, ?, ?)", [(i, 1 + i % 3, float(i % 13)) for i in range(1, 301)])
    con.commit()
    con.close()
    source, target = f"sqlite:///{path}", f"sqlite:///{tmp_path / 'dst.db'}"
    result = dbsynth.clone(source, target, seed=2)
    assert result.models["staff"] != "copy"
    copied = set(_query(target, "SELECT email FROM staff")) & {(email,) for *_, email in people}
    assert copied == set()
    assert _query(target, "SELECT count(*) FROM rental r LEFT JOIN staff s ON s.id = r.staff_id "
                          "WHERE s.id IS NULL") == [(0,)]
