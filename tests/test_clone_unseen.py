"""Constructs found in public sample databases (pagila, AdventureWorks, sakila, employees) that used to
stop a clone: each is either handled or named in a warning while the rest is cloned.

Every test loads a small schema of its own into a real server, clones it into the real targets and
checks the outcome in the target database: rows, 0 orphan foreign keys, 0 duplicate keys, and the
warning that names the object.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pymysql
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import dbsynth
from dbsynth.report.integrity import duplicate_key_counts, orphan_counts
from tests.helpers import rows_of, schema_of


def run_sql(url: str, sql: str) -> None:
    """Run a multi-statement script on the server behind `url` (the source, before dbsynth reads it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        with psycopg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False)) as conn:
            conn.execute(sql.encode())
        return
    conn = pymysql.connect(host=parsed.host, port=parsed.port or 3306, user=parsed.username,
                           password=parsed.password or "", database=parsed.database, client_flag=1 << 16)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            while cur.nextset():
                pass
        conn.commit()
    finally:
        conn.close()


def target_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return {"postgresql": lambda: request.getfixturevalue("postgres_target"),
            "mariadb": lambda: request.getfixturevalue("mysql_url"),
            "sqlite": lambda: f"sqlite:///{tmp_path / 'copy.db'}"}[kind]()


def assert_integrity(url: str) -> None:
    schema = schema_of(url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        assert set(orphan_counts(engine, schema).values()) <= {0}
        assert set(duplicate_key_counts(engine, schema).values()) <= {0}
    finally:
        engine.dispose()


# -- a date in a composite primary key, and "valid until 9999" sentinels (employees, AdventureWorks) --------

SALARIES = """
CREATE TABLE employee (emp_no integer PRIMARY KEY, hired date NOT NULL, until timestamp NOT NULL);
CREATE TABLE salary (
    emp_no integer NOT NULL REFERENCES employee (emp_no),
    from_date date NOT NULL,
    to_date date NOT NULL,
    amount integer NOT NULL,
    PRIMARY KEY (emp_no, from_date)
);
INSERT INTO employee
SELECT g, DATE '1990-01-01' + (g * 37 % 3000), CASE WHEN g % 3 = 0 THEN TIMESTAMP '9999-12-31 23:59:59'
                                                    ELSE TIMESTAMP '2001-02-03 04:05:06' + g * INTERVAL '1 day' END
FROM generate_series(1, 300) g;
INSERT INTO salary
SELECT e.emp_no, e.hired + s * 365, CASE WHEN s = e.emp_no % 4 THEN DATE '9999-01-01' ELSE e.hired + (s + 1) * 365 END,
       40000 + (e.emp_no * 7919 + s * 1000) % 60000
FROM employee e JOIN generate_series(0, 3) s ON s <= e.emp_no % 4;
"""


@pytest.mark.parametrize("target_kind", ["postgresql", "mariadb", "sqlite"])
def test_date_in_primary_key_and_year_9999_sentinels(target_kind: str, postgres_url: str,
                                                     request: pytest.FixtureRequest, tmp_path: Path) -> None:
    run_sql(postgres_url, SALARIES)
    target = target_url(target_kind, request, tmp_path)
    result = dbsynth.clone(postgres_url, target, seed=5)
    assert result.rows["employee"] == 300
    assert abs(result.rows["salary"] - 750) <= 150
    assert_integrity(target)
    salaries = rows_of(target, "salary", ["emp_no", "from_date", "to_date"])
    assert len(salaries) == result.rows["salary"]
    assert len({(e, f) for e, f, _ in salaries}) == len(salaries)          # the composite key holds
    assert all(f is not None and t is not None for _, f, t in salaries)
    assert any(str(t).startswith("9999-01-01") for _, _, t in salaries)    # the sentinel survives as a date
    untils = [u for (u,) in rows_of(target, "employee", ["until"])]
    assert all(u is not None for u in untils)                               # not lost as NaT -> NULL
    assert any(str(u).startswith("9999-12-31") for u in untils)


# -- types no codec generates (pagila's tsvector, AdventureWorks' xml, geometric and range types) -------

ODD_TYPES = """
CREATE TYPE postal AS (street text, zip integer);
CREATE TABLE film (
    film_id serial PRIMARY KEY,
    title text NOT NULL,
    fulltext tsvector NOT NULL,
    spot point,
    shape box,
    notes xml,
    flags bit varying(8),
    during int4range,
    address postal
);
CREATE INDEX film_fulltext_idx ON film USING gist (fulltext);
CREATE TABLE rental (rental_id serial PRIMARY KEY, film_id integer NOT NULL REFERENCES film, days integer);
INSERT INTO film (title, fulltext, spot, shape, notes, flags, during, address)
SELECT 'film ' || g, to_tsvector('a film about ' || g), point(g, g), box(point(0, 0), point(g, g)),
       ('<n>' || g || '</n>')::xml, B'101', int4range(g, g + 5), ROW('street ' || g, g)::postal
FROM generate_series(1, 120) g;
INSERT INTO rental (film_id, days) SELECT 1 + g % 120, g % 9 FROM generate_series(1, 600) g;
"""


@pytest.mark.parametrize("target_kind", ["postgresql", "mariadb", "sqlite"])
def test_types_dbsynth_cannot_generate_are_written_null_with_a_warning(
        target_kind: str, postgres_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    run_sql(postgres_url, ODD_TYPES)
    target = target_url(target_kind, request, tmp_path)
    result = dbsynth.clone(postgres_url, target, seed=2)
    assert result.rows["film"] == 120 and abs(result.rows["rental"] - 600) <= 60
    assert_integrity(target)
    blank = ["fulltext", "spot", "shape", "notes", "flags", "during", "address"]
    for column, spelling in zip(blank, ["tsvector", "point", "box", "xml", "bit varying(8)", "int4range",
                                        "public.postal"]):
        assert any(w.startswith(f"column film.{column} has type {spelling}, which dbsynth cannot generate")
                   for w in result.warnings), column
    assert any("film.fulltext" in w and "NOT NULL is dropped" in w for w in result.warnings)
    films = rows_of(target, "film", ["title", *blank])
    assert len(films) == 120 and all(r[0] is not None for r in films)
    assert all(v is None for r in films for v in r[1:])
    if target_kind == "postgresql":  # the same engine keeps the built-in types; the user's type becomes text
        copy = schema_of(target).table("film")
        assert {c: copy.column(c).type.source_name for c in blank} == {
            "fulltext": "tsvector", "spot": "point", "shape": "box", "notes": "xml", "flags": "bit varying(8)",
            "during": "int4range", "address": "TEXT"}
