"""PostgreSQL table inheritance (INHERITS): each table modelled on its own rows (FROM ONLY), the links
recreated on a PostgreSQL target, plain tables with their own rows elsewhere; on real servers."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from rich.console import Console

import dbsynth
from dbsynth.api import compare, inspect
from dbsynth.cli_render import render_inspection, render_table
from dbsynth.io.engines import parse_url
from dbsynth.report.integrity import duplicate_key_counts, orphan_counts
from tests.helpers import database_checksum, schema_of

# animal <- dog <- puppy (two levels); cat inherits from animal and zoo.tag (multiple); visit refers to animal
SOURCE = """
CREATE SCHEMA zoo;
CREATE TABLE animal (id serial PRIMARY KEY, name text NOT NULL, weight numeric(6,2) CHECK (weight > 0), born date);
CREATE TABLE dog (breed text NOT NULL, good boolean DEFAULT true) INHERITS (animal);
CREATE TABLE puppy (mother_id int) INHERITS (dog);
CREATE TABLE zoo.tag (code text);
CREATE TABLE cat (lives int CHECK (lives <= 9)) INHERITS (animal, zoo.tag);
CREATE TABLE visit (id serial PRIMARY KEY, animal_id int NOT NULL REFERENCES animal, at date);
INSERT INTO animal (name, weight, born) SELECT 'a' || g, 1 + mod(g, 50), date '2020-01-01' + g
  FROM generate_series(1, 100) g;
INSERT INTO dog (name, weight, born, breed) SELECT 'd' || g, 5 + mod(g, 30), date '2021-01-01' + g, 'b' || mod(g, 5)
  FROM generate_series(1, 50) g;
INSERT INTO puppy (name, weight, born, breed, mother_id) SELECT 'p' || g, 1 + mod(g, 3), date '2023-01-01' + g,
  'b' || mod(g, 5), g FROM generate_series(1, 20) g;
INSERT INTO cat (name, weight, born, code, lives) SELECT 'c' || g, 2 + mod(g, 4), date '2022-01-01' + g, 't' || g,
  mod(g, 9) FROM generate_series(1, 30) g;
INSERT INTO visit (animal_id, at) SELECT 1 + mod(g, 100), date '2024-01-01' + g FROM generate_series(1, 200) g;
"""
OWN_ROWS = {"animal": 100, "dog": 50, "puppy": 20, "cat": 30, "visit": 200}
LINKS = [("cat", "animal"), ("cat", "zoo.tag"), ("dog", "animal"), ("puppy", "dog")]
_LINKS_SQL = ("SELECT inhrelid::regclass::text, inhparent::regclass::text FROM pg_inherits "
              "ORDER BY 1, inhseqno")


def _query(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(parse_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql).all()]
    finally:
        engine.dispose()


def _execute(url: str, sql: str) -> None:
    engine = sa.create_engine(parse_url(url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


@pytest.fixture
def zoo(postgres_url: str) -> str:
    _execute(postgres_url, SOURCE)
    return postgres_url


def _own_counts(url: str, only: bool) -> dict[str, int]:
    word = "ONLY " if only else ""
    return {name: _query(url, f"SELECT count(*) FROM {word}{name}")[0][0] for name in OWN_ROWS}


def test_each_table_is_modelled_on_its_own_rows(zoo: str) -> None:
    schema = schema_of(zoo)
    assert {t.name: t.row_count for t in schema.tables if t.name in OWN_ROWS} == OWN_ROWS   # not 200 animals
    assert schema.table("dog").inherits == ("animal",) and schema.table("puppy").inherits == ("dog",)
    assert schema.table("cat").inherits == ("animal", "zoo.tag")
    out = io.StringIO()   # `dbsynth inspect` and `inspect --table animal`
    inspection = inspect(zoo)
    render_inspection(Console(file=out, width=300), inspection)
    render_table(Console(file=out, width=300), inspection, "animal")
    text = out.getvalue()
    assert "cat from animal, zoo.tag; dog from animal; puppy from dog" in text, text
    assert "inherited by cat, dog" in text, text


def test_postgres_to_postgres_recreates_inheritance(zoo: str, postgres_target: str) -> None:
    before = database_checksum(zoo)
    result = dbsynth.clone(zoo, postgres_target, seed=3, model="independent")
    assert _query(postgres_target, _LINKS_SQL) == LINKS
    own = _own_counts(postgres_target, only=True)
    assert own == OWN_ROWS, own                         # each table its own rows, none twice
    assert {n: result.rows[n] for n in OWN_ROWS} == own  # what the clone reports is what the target holds
    # through the parent, PostgreSQL shows its children's rows, as in the source
    assert _query(postgres_target, "SELECT count(*) FROM animal")[0][0] == 200
    assert _query(postgres_target, "SELECT count(*) FROM dog")[0][0] == 70
    # the child's extra columns, the inherited CHECK, the shared serial
    assert _query(postgres_target, "SELECT count(*) FROM ONLY dog WHERE breed IS NULL OR weight <= 0") == [(0,)]
    assert _query(postgres_target, "SELECT count(*) FROM cat WHERE lives > 9") == [(0,)]
    assert not [w for w in result.warnings if "inherit" in w], result.warnings
    copy = schema_of(postgres_target)
    assert set(orphan_counts(sa.create_engine(parse_url(postgres_target)), copy).values()) == {0}
    assert set(duplicate_key_counts(sa.create_engine(parse_url(postgres_target)), copy).values()) == {0}
    assert compare(zoo, postgres_target) == []
    assert database_checksum(zoo) == before              # the source is never written to
    # replace and refresh drop and recreate the tables children first, the links kept
    dbsynth.clone(zoo, postgres_target, seed=4, model="independent", if_exists="replace")
    dbsynth.refresh(zoo, postgres_target, seed=5, model="independent")
    assert _query(postgres_target, _LINKS_SQL) == LINKS
    assert _own_counts(postgres_target, only=True) == OWN_ROWS
    # compare sees a link lost
    _execute(postgres_target, "ALTER TABLE puppy NO INHERIT dog")
    assert "puppy: inherits from dog != none" in compare(zoo, postgres_target)


@pytest.mark.parametrize("engine_fixture", ["sqlite_url", "mysql_target"])
def test_other_engines_get_plain_tables_with_their_own_rows(zoo: str, engine_fixture: str,
                                                            request: pytest.FixtureRequest) -> None:
    target = request.getfixturevalue(engine_fixture)
    result = dbsynth.clone(zoo, target, seed=3, model="independent")
    assert _own_counts(target, only=False) == OWN_ROWS
    notes = [w for w in result.warnings if "has no table inheritance" in w]
    assert sorted(w.split()[1] for w in notes) == ["cat", "dog", "puppy"], result.warnings
    assert notes[0].startswith("table cat inherits from animal, zoo.tag in the source"), notes
