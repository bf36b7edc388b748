"""translate_sql: SQL of one engine carried to another, or None where it has no equivalent.

Pure text in, text out (no database here); the view tests run the output on real servers.
"""

from __future__ import annotations

import pytest

from dbsynth.io.sqltranslate import UntranslatableSQL, function_names, translate, translate_sql


def test_same_engine_family_is_returned_untouched() -> None:
    text = "select `a`  from `t` where x = 'it''s'"
    assert translate_sql(text, "mysql", "mariadb") == text
    assert translate_sql("SELECT a::text FROM t", "postgresql", "postgresql") == "SELECT a::text FROM t"


@pytest.mark.parametrize(("expr", "target", "expected"), [
    ("amount > 0 AND status IN (1, 2)", "sqlite", '"amount" > 0 AND "status" IN (1, 2)'),
    ("first_name || ' ' || last_name", "mysql", "CONCAT(`first_name`, ' ', `last_name`)"),
    ("score::text", "mysql", "CAST(`score` AS CHAR)"),
    ("'paid'::text", "sqlite", "'paid'"),                    # PostgreSQL's own casts of literals go
    ("avg(x)::numeric", "mysql", "CAST(AVG(`x`) AS DECIMAL(65, 30))"),   # a bare DECIMAL would round
    ("EXTRACT(year FROM d)", "sqlite", "CAST(STRFTIME('%Y', \"d\") AS INTEGER)"),
    ("EXTRACT(dow FROM d)", "mysql", "DAYOFWEEK(`d`) - 1"),
    ("date_trunc('month'::text, d)", "sqlite", "STRFTIME('%Y-%m-01 00:00:00', \"d\")"),
])
def test_postgres_expressions(expr: str, target: str, expected: str) -> None:
    assert translate_sql(expr, "postgresql", target) == expected


def test_mysql_and_sqlite_to_postgres() -> None:
    assert translate_sql("ifnull(`a`, 0) + if(b > 1, 2, 3)", "mysql", "postgresql") == \
        'COALESCE("a", 0) + CASE WHEN "b" > 1 THEN 2 ELSE 3 END'
    assert translate_sql("dayofweek(d)", "mysql", "postgresql") == '(EXTRACT(DOW FROM CAST("d" AS DATE)) + 1)'
    assert translate_sql("group_concat(name)", "sqlite", "postgresql") == "STRING_AGG(\"name\", ',')"


def test_what_has_no_equivalent_is_none_with_a_reason() -> None:
    assert translate_sql("date_trunc('decade', d)", "postgresql", "sqlite") is None
    with pytest.raises(UntranslatableSQL, match=r"date_trunc\('decade', \.\.\.\) has no equivalent on sqlite"):
        translate("SELECT date_trunc('decade', d) FROM t", "postgresql", "sqlite")
    with pytest.raises(UntranslatableSQL, match="could not be parsed"):
        translate("SELECT FROM WHERE (", "postgresql", "mysql")
    assert translate_sql("a > 1", "postgresql", "oracle") is None


def test_function_names_map_the_targets_spelling_back_to_the_users() -> None:
    names = function_names("SELECT date_trunc('month', d), width_bucket(s, 0, 1, 2) FROM t", "postgresql", "sqlite")
    assert names["TIMESTAMP_TRUNC"] == "date_trunc" and names["WIDTH_BUCKET"] == "width_bucket"


def test_mariadb_charset_introducers_are_dropped() -> None:
    # MariaDB stores a view's string literals with their charset (sakila's customer_list)
    # (columns of unknown type are cast: PostgreSQL's || wants text on one side at least)
    assert translate_sql("concat(`a`,_utf8mb3' ',`b`,_utf8mb4'x')", "mariadb", "postgresql") == \
        "CAST(\"a\" AS TEXT) || ' ' || CAST(\"b\" AS TEXT) || 'x'"
