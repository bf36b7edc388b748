"""Functions, procedures, aggregates, triggers and free sequences: recreated on the source's engine, named elsewhere."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import dbsynth
from dbsynth.api import compare
from dbsynth.cli import app
from dbsynth.io.engines import parse_url
from dbsynth.schema.model import Schema
from tests.helpers import schema_of

POSTGRES_SOURCE = """
CREATE FUNCTION is_even(n int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT n % 2 = 0 $$;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated := now(); RETURN NEW; END $$;
CREATE FUNCTION _cat(a text, b text) RETURNS text LANGUAGE sql AS $$ SELECT coalesce(a || ',', '') || b $$;
CREATE AGGREGATE cat(text) (SFUNC = _cat, STYPE = text);
CREATE SEQUENCE order_no START 1000 INCREMENT 5;
CREATE TABLE item (id serial PRIMARY KEY, n int NOT NULL CHECK (is_even(n)),
                   no int NOT NULL DEFAULT nextval('order_no'), updated timestamptz);
CREATE TABLE audit (id serial PRIMARY KEY, item_id int, at timestamptz DEFAULT now());
CREATE FUNCTION log_item() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN INSERT INTO audit (item_id) VALUES (NEW.id); RETURN NEW; END $$;
CREATE PROCEDURE bump() LANGUAGE sql AS $$ UPDATE item SET n = n + 2 $$;
CREATE VIEW evens AS SELECT id, is_even(n) AS even FROM item;
INSERT INTO item (n) SELECT 2 * i FROM generate_series(1, 60) i;
CREATE TRIGGER item_touch BEFORE UPDATE ON item FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TRIGGER item_log AFTER INSERT ON item FOR EACH ROW EXECUTE FUNCTION log_item();
"""


def _run(url: str, sql: str) -> None:
    engine = sa.create_engine(parse_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql(sql.replace("%", "%%"))
    engine.dispose()


def _scalar(url: str, sql: str) -> object:
    engine = sa.create_engine(parse_url(url))
    with engine.begin() as conn:
        value = conn.exec_driver_sql(sql.replace("%", "%%")).scalar()
    engine.dispose()
    return value


def test_postgres_routines_triggers_and_sequences_are_recreated(postgres_url: str, postgres_target: str) -> None:
    _run(postgres_url, POSTGRES_SOURCE)
    result = dbsynth.clone(postgres_url, postgres_target, seed=3)
    assert result.rows == {"item": 60, "audit": 0}
    assert not [w for w in result.warnings if "is_even" in w or "item_n_check" in w]
    target = schema_of(postgres_target)
    assert {r.signature for r in target.routines} == {
        "is_even(n integer)", "touch()", "_cat(a text, b text)", "cat(text)", "log_item()", "bump()"}
    # the CHECK calling the user function is kept, and holds on every generated row
    assert any("is_even" in c.sqltext for c in target.table("item").check_constraints)
    assert _scalar(postgres_target, "SELECT count(*) FROM item WHERE NOT is_even(n)") == 0
    # the view calling it exists and computes
    assert [v.name for v in target.views] == ["evens"]
    assert _scalar(postgres_target, "SELECT count(*) FROM evens WHERE even") == 60
    # the AFTER INSERT trigger was created after the load: no audit row for the 60 generated items
    assert _scalar(postgres_target, "SELECT count(*) FROM audit") == 0
    assert {(t.name, t.table) for t in target.triggers} == {("item_touch", "item"), ("item_log", "item")}
    # the BEFORE UPDATE trigger fires on an update after the clone; the insert trigger audits a new row
    assert _scalar(postgres_target, "SELECT count(*) FROM item WHERE updated IS NOT NULL") == 0
    _run(postgres_target, "UPDATE item SET n = n WHERE id = (SELECT min(id) FROM item)")
    assert _scalar(postgres_target, "SELECT count(*) FROM item WHERE updated IS NOT NULL") == 1
    # the free sequence exists, past every generated value, and the DEFAULT still draws from it
    assert [s.name for s in target.sequences] == ["order_no"]
    highest = _scalar(postgres_target, "SELECT max(no) FROM item")
    _run(postgres_target, "INSERT INTO item (n) VALUES (4)")
    assert _scalar(postgres_target, "SELECT max(no) FROM item") == highest + 5
    assert _scalar(postgres_target, "SELECT count(*) FROM audit") == 1
    assert _scalar(postgres_target, "SELECT cat(n::text) FROM (SELECT 2 AS n UNION ALL SELECT 4) x") == "2,4"
    # the target now matches the source, routines and triggers included
    assert compare(postgres_url, postgres_target) == []

    # replace drops and remakes them; truncate keeps the target's triggers from firing for the load
    dbsynth.clone(postgres_url, postgres_target, seed=4, if_exists="replace")
    assert len(schema_of(postgres_target).triggers) == 2
    dbsynth.clone(postgres_url, postgres_target, seed=5, if_exists="truncate")
    assert _scalar(postgres_target, "SELECT count(*) FROM audit") == 0
    assert _scalar(postgres_target, "SELECT count(*) FROM pg_trigger "
                                    "WHERE tgname = 'item_log' AND tgenabled = 'O'") == 1   # on again
    assert _scalar(postgres_target, "SELECT last_value FROM order_no") >= \
        _scalar(postgres_target, "SELECT max(no) FROM item")   # the free sequence is past the loaded values

    # a dropped trigger or a changed function is drift
    _run(postgres_target, "DROP TRIGGER item_touch ON item; CREATE OR REPLACE FUNCTION is_even(n int) RETURNS "
                          "boolean LANGUAGE sql IMMUTABLE AS $$ SELECT n % 2 = 0 OR n < 0 $$")
    drift = compare(postgres_url, postgres_target)
    assert "trigger item_touch on table item missing in target" in drift
    assert "function is_even(n integer): definition differs in target" in drift


def test_function_the_target_refuses_is_named_and_its_check_left_out(postgres_url: str,
                                                                      postgres_target: str) -> None:
    _run(postgres_url, "CREATE FUNCTION positive(n int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT n > 0 $$;"
                       "CREATE TABLE thing (id serial PRIMARY KEY, n int NOT NULL CHECK (positive(n)));"
                       "INSERT INTO thing (n) SELECT i FROM generate_series(1, 20) i")
    _run(postgres_target, "CREATE FUNCTION positive(n int) RETURNS text LANGUAGE sql AS $$ SELECT 'taken' $$")
    result = dbsynth.clone(postgres_url, postgres_target, seed=1)
    assert result.rows == {"thing": 20}
    assert any(w.startswith("function positive(n integer) was not recreated: the target rejected it")
               for w in result.warnings), result.warnings
    assert any("positive(n)" in w and "thing" in w and "left out" in w for w in result.warnings)


@pytest.mark.parametrize("target_kind", ["mysql", "sqlite"])
def test_across_engines_each_routine_and_trigger_is_named(postgres_url: str, mysql_target: str, sqlite_url: str,
                                                         target_kind: str) -> None:
    _run(postgres_url, POSTGRES_SOURCE)
    target = mysql_target if target_kind == "mysql" else sqlite_url
    result = dbsynth.clone(postgres_url, target, seed=1)
    assert result.rows["item"] == 60
    engine = "MariaDB/MySQL" if target_kind == "mysql" else "SQLite"
    for line in (f"trigger item_log on table item was not recreated: PostgreSQL → {engine} cannot translate PL/pgSQL",
                 f"trigger item_touch on table item was not recreated: PostgreSQL → {engine} cannot translate PL/pgSQL",
                 f"function touch() was not recreated: PostgreSQL → {engine} cannot translate PL/pgSQL",
                 f"function is_even(n integer) was not recreated: PostgreSQL → {engine} cannot translate SQL "
                 f"function bodies",
                 f"aggregate cat(text) was not recreated: PostgreSQL → {engine} cannot translate aggregates",
                 f"procedure bump() was not recreated: PostgreSQL → {engine} cannot translate SQL function bodies"):
        assert line in result.warnings
    assert any(w.startswith("sequence order_no was not recreated") for w in result.warnings)
    assert not schema_of(target).triggers


MARIADB_SOURCE = [
    "CREATE TABLE film (id INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(40) NOT NULL, created DATETIME NULL)",
    "CREATE TABLE film_log (id INT AUTO_INCREMENT PRIMARY KEY, film_id INT NOT NULL)",
    "INSERT INTO film (title) VALUES ('a'), ('b'), ('c'), ('d'), ('e'), ('f'), ('g'), ('h')",
    "CREATE DEFINER=`someone_else`@`%` FUNCTION shout(s VARCHAR(40)) RETURNS VARCHAR(40) DETERMINISTIC "
    "RETURN UPPER(s)",
    "CREATE PROCEDURE film_count(OUT n INT) BEGIN SELECT COUNT(*) INTO n FROM film; END",
    "CREATE DEFINER=`someone_else`@`%` TRIGGER ins_film AFTER INSERT ON film FOR EACH ROW "
    "BEGIN INSERT INTO film_log (film_id) VALUES (NEW.id); END",
    "CREATE TRIGGER film_created BEFORE INSERT ON film FOR EACH ROW SET NEW.created = '2000-01-01'",
]


def test_mariadb_triggers_and_functions_are_recreated_without_definer(mysql_url: str, mysql_target: str) -> None:
    engine = sa.create_engine(parse_url(mysql_url))
    with engine.begin() as conn:
        for statement in MARIADB_SOURCE:
            conn.exec_driver_sql(statement.replace("%", "%%"))
    engine.dispose()
    result = dbsynth.clone(mysql_url, mysql_target, seed=1)
    assert result.rows == {"film": 8, "film_log": 0}
    target = schema_of(mysql_target)
    assert {r.name for r in target.routines} == {"shout", "film_count"}
    assert {t.name for t in target.triggers} == {"ins_film", "film_created"}
    assert not any("DEFINER" in r.definition for r in (*target.routines, *target.triggers))
    # created after the load: no log rows and no overwritten dates for the generated films
    assert _scalar(mysql_target, "SELECT count(*) FROM film_log") == 0
    assert _scalar(mysql_target, "SELECT count(*) FROM film WHERE created = '2000-01-01'") == 0
    assert _scalar(mysql_target, "SELECT shout('abc')") == "ABC"
    _run(mysql_target, "INSERT INTO film (title) VALUES ('new')")
    assert _scalar(mysql_target, "SELECT count(*) FROM film_log") == 1
    definers = _scalar(mysql_target, "SELECT count(*) FROM information_schema.TRIGGERS WHERE "
                                     "TRIGGER_SCHEMA = DATABASE() AND DEFINER LIKE 'someone_else%'")
    assert definers == 0
    assert compare(mysql_url, mysql_target) == []
    # --if-exists truncate: MariaDB cannot switch the target's triggers off, so each one is named
    result = dbsynth.clone(mysql_url, mysql_target, seed=2, if_exists="truncate")
    assert "trigger ins_film on table film of the target fired for every loaded row: MariaDB/MySQL cannot switch " \
           "a trigger off, and dropping it would commit the load half-way" in result.warnings


def test_inspect_lists_routines_and_triggers(postgres_url: str) -> None:
    _run(postgres_url, POSTGRES_SOURCE)
    human = CliRunner().invoke(app, ["inspect", postgres_url])
    assert human.exit_code == 0, human.output
    assert "function is_even(n integer)" in human.output
    assert "trigger item_log on item" in human.output
    as_json = CliRunner().invoke(app, ["inspect", postgres_url, "--json"])
    assert '"item_touch"' in as_json.output and '"order_no"' in as_json.output
    # a model file keeps them (and one written before they existed still loads, without them)
    schema = schema_of(postgres_url)
    assert Schema.from_json(schema.to_json()) == schema and len(schema.routines) == 6
    older = schema.to_dict()
    for key in ("routines", "triggers", "sequences"):
        del older[key]
    assert Schema.from_dict(older).routines == ()


CORE_SCHEMA = """
CREATE SCHEMA core;
CREATE FUNCTION core.valid_code(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT t ~ '^[A-Z]{2}[0-9]{2}$' $$;
CREATE FUNCTION core.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.note := 'stamped'; RETURN NEW; END $$;
CREATE SEQUENCE core.ticket_seq START 500;
CREATE TABLE core.ticket (id int PRIMARY KEY DEFAULT nextval('core.ticket_seq'),
                          code text NOT NULL CHECK (core.valid_code(code)), note text);
CREATE VIEW core.good AS SELECT id FROM core.ticket WHERE core.valid_code(code);
INSERT INTO core.ticket (code, note) SELECT chr(65 + i % 26) || chr(66 + i % 20) || lpad((i % 100)::text, 2, '0'), 'x'
FROM generate_series(1, 40) i;
CREATE TRIGGER ticket_stamp BEFORE INSERT ON core.ticket FOR EACH ROW EXECUTE FUNCTION core.stamp();
"""


def test_refresh_swaps_routines_and_triggers_in(postgres_url: str, postgres_target: str, tmp_path) -> None:
    _run(postgres_url, POSTGRES_SOURCE + CORE_SCHEMA)
    model = tmp_path / "m.dbsynth"
    for seed in (1, 2):   # the second run replaces the first run's routines, sequence and triggers
        result = dbsynth.refresh(postgres_url, postgres_target, seed=seed, model_file=model)
        assert result.rows["item"] == 60
        assert _scalar(postgres_target, "SELECT count(*) FROM audit") == 0
        assert compare(postgres_url, postgres_target) == []
    assert _scalar(postgres_target, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'dbsynth_shadow%'") == 0
    _run(postgres_target, "INSERT INTO item (n) VALUES (8)")
    assert _scalar(postgres_target, "SELECT count(*) FROM audit") == 1
    # in another schema too: the CHECK, view, trigger and DEFAULT bind the new function and sequence
    assert _scalar(postgres_target, "SELECT count(*) FROM core.ticket WHERE note = 'stamped'") == 0
    _run(postgres_target, "INSERT INTO core.ticket (code) VALUES ('AB12')")
    assert _scalar(postgres_target, "SELECT note FROM core.ticket WHERE id = 41") == "stamped"
    assert _scalar(postgres_target, "SELECT count(*) FROM core.good") == 41


def test_sqlite_triggers_are_recreated_and_kept_quiet_on_truncate(tmp_path) -> None:
    source, target = f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 'dst.db'}"
    engine = sa.create_engine(source)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE film (id INTEGER PRIMARY KEY, title TEXT NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE film_log (id INTEGER PRIMARY KEY, film_id INTEGER)")
        for i in range(30):
            conn.exec_driver_sql(f"INSERT INTO film (title) VALUES ('film {i}')")
        conn.exec_driver_sql("CREATE TRIGGER log_film AFTER INSERT ON film BEGIN "
                             "INSERT INTO film_log (film_id) VALUES (NEW.id); END")
    engine.dispose()
    assert dbsynth.clone(source, target, seed=1).rows == {"film": 30, "film_log": 0}
    assert [t.name for t in schema_of(target).triggers] == ["log_film"]
    assert _scalar(target, "SELECT count(*) FROM film_log") == 0
    result = dbsynth.clone(source, target, seed=2, if_exists="truncate")
    assert result.rows["film"] == 30
    assert _scalar(target, "SELECT count(*) FROM film_log") == 0      # the target's trigger did not fire
    assert [t.name for t in schema_of(target).triggers] == ["log_film"]   # and is still there
    _run(target, "INSERT INTO film (title) VALUES ('new')")
    assert _scalar(target, "SELECT count(*) FROM film_log") == 1
