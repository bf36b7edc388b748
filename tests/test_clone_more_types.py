"""PostgreSQL and MariaDB types that used to be written as NULL: money, bit strings, ranges, point, xml,
tsvector, MariaDB BIT / SET / TINYINT(1) beyond 0 and 1.

Each test loads a small inline schema into a real server, clones it and checks the target database:
the type is the source's (same engine) or the documented mapping with a warning naming the column,
values are there where the source had them (NULL share close to the source's) and valid for the type
(PostgreSQL parses every generated literal on insert; bit lengths, upper >= lower and the XML
structure are checked here).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

import dbsynth
from tests.helpers import rows_of
from tests.test_clone_unseen import assert_integrity, run_sql, target_url

N = 240

PG_TYPES = f"""
CREATE TYPE contact AS (label text, zip integer, since date, active boolean);
CREATE TABLE account (
    id integer PRIMARY KEY,
    balance money,
    flags bit(6) NOT NULL,
    mask bit varying(10),
    seats int4range,
    band numrange,
    stay daterange NOT NULL,
    slot tstzrange,
    spot point,
    area box,
    zone circle,
    doc xml,
    words tsvector NOT NULL,
    who contact
);
INSERT INTO account
SELECT g,
       CASE WHEN g % 10 = 0 THEN NULL ELSE (g * 7 % 500) + 0.25 END,
       ((g * 5) % 64)::bit(6),
       CASE WHEN g % 6 = 0 THEN NULL ELSE substr('1011001110', 1, 1 + g % 10)::varbit(10) END,
       CASE WHEN g % 9 = 0 THEN 'empty'::int4range WHEN g % 8 = 0 THEN NULL ELSE int4range(g, g + 1 + g % 7) END,
       CASE WHEN g % 5 = 0 THEN NULL ELSE numrange(g / 4.0, g / 4.0 + g % 3, '[]') END,
       CASE WHEN g % 11 = 0 THEN daterange(DATE '2021-01-01' + g, NULL)
            ELSE daterange(DATE '2021-01-01' + g, DATE '2021-01-01' + g + 1 + g % 20) END,
       CASE WHEN g % 4 = 0 THEN NULL
            ELSE tstzrange(TIMESTAMPTZ '2022-03-01 08:00+00' + g * INTERVAL '1 hour',
                           TIMESTAMPTZ '2022-03-01 09:30+00' + g * INTERVAL '1 hour') END,
       CASE WHEN g % 7 = 0 THEN NULL ELSE point(g % 30, (g * 3) % 17 + 0.5) END,
       box(point(g % 12, g % 5), point(g % 12 + 1 + g % 4, g % 5 + 3)),
       CASE WHEN g % 2 = 0 THEN NULL ELSE circle(point(g % 9, 1), 0.5 + g % 3) END,
       CASE WHEN g % 3 = 0 THEN NULL
            ELSE ('<order id="' || g || '"><item sku="A' || g % 4 || '">widget ' || g || '</item>'
                  || '<qty>' || g % 9 || '</qty></order>')::xml END,
       to_tsvector('english', (ARRAY['quick brown fox', 'lazy dog sleeps', 'brown dog runs fast'])[1 + g % 3]
                   || ' zork' || g),
       CASE WHEN g % 5 = 0 THEN NULL
            ELSE ROW('desk ' || g % 4 || ', "b"', 10000 + g, DATE '2020-01-01' + g, g % 3 = 0)::contact END
FROM generate_series(1, {N}) g;
"""


def _pg_scalar(url: str, sql: str) -> object:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar()
    finally:
        engine.dispose()


def _column_types(url: str, table: str) -> dict[str, str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(sa.text(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "WHERE a.attrelid = CAST(:t AS regclass) AND a.attnum > 0 AND NOT a.attisdropped"), {"t": table}).all())
    finally:
        engine.dispose()


def _null_share(url: str, table: str, column: str) -> float:
    values = rows_of(url, table, [column])
    return sum(v is None for (v,) in values) / max(len(values), 1)


def test_postgres_types_generated_into_postgres(postgres_url: str, postgres_target: str) -> None:
    run_sql(postgres_url, PG_TYPES)
    dbsynth.clone(postgres_url, postgres_target, seed=3)
    # a second clone replaces the tables and the composite type they use
    result = dbsynth.clone(postgres_url, postgres_target, seed=3, if_exists="replace")
    assert result.rows["account"] == N
    assert not [w for w in result.warnings if "account." in w], result.warnings
    assert _column_types(postgres_target, "account") == _column_types(postgres_url, "account")
    for column in ["balance", "flags", "mask", "seats", "band", "stay", "slot", "spot", "area", "zone", "doc", "words",
                   "who"]:
        source, target = _null_share(postgres_url, "account", column), _null_share(postgres_target, "account", column)
        assert abs(source - target) <= 0.08, (column, source, target)
        assert target < 1.0, column
    count = lambda where: _pg_scalar(postgres_target, f"SELECT count(*) FROM account WHERE {where}")  # noqa: E731
    # money within the source's amounts
    assert count("balance < 0.25::money OR balance > 499.25::money") == 0
    # bit(6): exactly 6 bits; bit varying(10): 1..10 bits, with several lengths as in the source
    assert count("length(flags) <> 6") == 0
    assert count("length(mask) NOT BETWEEN 1 AND 10") == 0
    assert _pg_scalar(postgres_target, "SELECT count(DISTINCT length(mask)) FROM account") >= 5
    # ranges: upper >= lower, empty and infinite ranges kept, the element types as in the source
    for column in ["seats", "band", "stay", "slot"]:
        assert count(f"NOT isempty({column}) AND upper({column}) < lower({column})") == 0, column
    assert count("isempty(seats)") > 0 and count("upper_inf(stay)") > 0
    assert count("upper_inc(band) AND lower_inc(band)") == count("band IS NOT NULL AND NOT isempty(band)")
    assert count("lower(stay) < DATE '2021-01-02' OR lower(stay) > DATE '2021-09-01'") == 0
    # point: both coordinates within the source's
    assert count("spot[0] < 0 OR spot[0] > 29 OR spot[1] < 0.5 OR spot[1] > 16.5") == 0
    # box and circle: corners, sizes and radii within the source's
    assert count("width(area) NOT BETWEEN 1 AND 4 OR height(area) <> 3 OR (area[1])[0] NOT BETWEEN 0 AND 11") == 0
    assert count("radius(zone) NOT BETWEEN 0.5 AND 2.5 OR (center(zone))[1] <> 1") == 0
    # xml: well-formed (PostgreSQL parsed it) with the source's element structure; no source text
    assert count("doc IS NOT NULL") > 0
    assert count("doc IS NOT NULL AND NOT xpath_exists('/order/item/@sku', doc)") == 0
    assert count("doc::text LIKE '%widget%'") == 0
    # tsvector: lexemes of the source's common vocabulary only (never the one-row 'zork<n>' words)
    lexemes = {lexeme for (lexeme,) in _lexemes(postgres_target)}
    # composite type: recreated in the target, every field generated from the source's field values
    assert count("who IS NOT NULL AND ((who).zip NOT BETWEEN 10001 AND 10240 OR (who).since < DATE '2020-01-02' "
                 "OR (who).label IS NULL OR (who).active IS NULL)") == 0
    assert count("(who).label LIKE 'desk %, \"b\"'") == count("who IS NOT NULL")
    assert count("(who).active") > 0 and count("NOT (who).active") > 0
    assert lexemes and lexemes <= {"quick", "brown", "fox", "lazi", "dog", "sleep", "run", "fast"}, lexemes


def _object(value: object) -> dict | None:
    """A JSON column's value as rows_of gives it: JSON text (MariaDB) or a dict's repr (SQLite)."""
    if value is None:
        return None
    try:
        return json.loads(str(value))
    except json.JSONDecodeError:
        return ast.literal_eval(str(value))


def _bit_number(v: object) -> int:
    """A MariaDB BIT value as SQLAlchemy (an int) or the driver (bytes) returns it."""
    return v if isinstance(v, int) else int.from_bytes(v, "big")  # type: ignore[arg-type]


def _lexemes(url: str) -> list[tuple[str]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT DISTINCT unnest(tsvector_to_array(words)) FROM account")).all()
    finally:
        engine.dispose()


@pytest.mark.parametrize("target_kind", ["mariadb", "sqlite"])
def test_postgres_types_into_other_engines_are_mapped_with_warnings(
        target_kind: str, postgres_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    run_sql(postgres_url, PG_TYPES)
    target = target_url(target_kind, request, tmp_path)
    result = dbsynth.clone(postgres_url, target, seed=4)
    assert result.rows["account"] == N
    assert_integrity(target)
    expected = {"balance": "is MONEY, stored as NUMERIC(19, 2)", "mask": "is BIT VARYING(10), stored as VARCHAR(10)",
                "seats": "is int4range, stored as JSON", "stay": "is daterange, stored as JSON",
                "spot": "is POINT, stored as its text", "doc": "is XML, stored as text",
                "words": "is TSVECTOR, stored as its text form",
                "who": "has the composite type public.contact, stored as a JSON object of its fields"}
    if target_kind == "sqlite":
        expected["flags"] = "is BIT(6), stored as VARCHAR(6) of 0/1 digits"
    for column, text in expected.items():
        assert any(w.startswith(f"column account.{column} {text}") for w in result.warnings), column
    rows = rows_of(target, "account", ["flags", "seats", "stay", "spot", "doc", "who"])
    assert all(r[0] is not None and r[2] is not None for r in rows)
    assert any(r[5] is not None for r in rows)
    for flags, seats, stay, spot, doc, who in rows:
        if target_kind == "mariadb":
            assert 0 <= _bit_number(flags) < 64
        else:
            assert len(flags) == 6 and set(flags) <= {"0", "1"}
        for value in (seats, stay):
            obj = _object(value)
            if obj is not None and not obj.get("empty"):
                assert obj["upper"] is None or obj["upper"] >= obj["lower"], obj
        assert spot is None or (spot.startswith("(") and spot.endswith(")"))
        assert doc is None or doc.startswith("<order id=")
        contact = _object(who)
        assert contact is None or (set(contact) == {"label", "zip", "since", "active"}
                                   and 10001 <= contact["zip"] <= 10240 and isinstance(contact["active"], bool))


MARIADB_TYPES = """
CREATE TABLE gadget (
    id integer PRIMARY KEY,
    flags BIT(5) NOT NULL,
    level TINYINT(1),
    enabled TINYINT(1) NOT NULL,
    perms SET('read', 'write', 'admin'),
    made YEAR,
    stock MEDIUMINT
);
INSERT INTO gadget SELECT seq, seq % 32, seq % 3, seq % 2, ELT(1 + seq % 4, 'read', 'read,write', '', NULL),
       1990 + seq % 30, CAST(seq AS SIGNED) * 1000 - 60000 FROM seq_1_to_200;
"""


def test_mariadb_bits_set_and_wide_tinyint_into_postgres(mysql_url: str, postgres_target: str) -> None:
    run_sql(mysql_url, MARIADB_TYPES)
    result = dbsynth.clone(mysql_url, postgres_target, seed=5)
    assert result.rows["gadget"] == 200
    types = _column_types(postgres_target, "gadget")
    assert types["flags"] == "bit(5)" and types["level"] == "smallint" and types["enabled"] == "boolean"
    assert types["perms"] == "text[]" and types["made"] == "smallint" and types["stock"] == "integer"
    assert any(w.startswith("column gadget.level is TINYINT(1) but holds values other than 0 and 1")
               for w in result.warnings)
    rows = rows_of(postgres_target, "gadget", ["flags", "level", "perms", "made"])
    assert all(len(f) == 5 for f, _, _, _ in rows)
    assert {lv for _, lv, _, _ in rows} - {None} == {0, 1, 2}          # 2 is not turned into true
    assert _pg_scalar(postgres_target, "SELECT count(*) FROM gadget WHERE cardinality(perms) > 0") > 0
    assert _pg_scalar(postgres_target, "SELECT count(*) FROM gadget WHERE NOT perms <@ ARRAY['read', 'write', "
                                       "'admin']") == 0
    assert all(1990 <= m <= 2019 for _, _, _, m in rows if m is not None)
    engine = sa.create_engine(postgres_target, poolclass=sa.pool.NullPool)
    try:   # the SET's labels are kept by a CHECK
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text("UPDATE gadget SET perms = ARRAY['root'] WHERE id = (SELECT min(id) FROM gadget)"))
    finally:
        engine.dispose()


def test_mariadb_bits_into_mariadb(mysql_url: str, mysql_target: str) -> None:
    run_sql(mysql_url, MARIADB_TYPES)
    result = dbsynth.clone(mysql_url, mysql_target, seed=5)
    assert result.rows["gadget"] == 200
    flags = [f for (f,) in rows_of(mysql_target, "gadget", ["flags"])]
    assert all(f is not None and 0 <= _bit_number(f) < 32 for f in flags)
    assert len(set(flags)) > 8
