"""CHECK constraints as MySQL 8 and MariaDB keep them in information_schema.

No MySQL 8 server runs here: its clause spelling is tested on strings as MySQL 8 writes them,
and its catalog query (TABLE_CONSTRAINTS joined to the four standard columns) on MariaDB, which
holds the same two tables. A catalog that cannot be read costs the CHECKs, named in a warning.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dbsynth.io.engines import open_source, parse_url
from dbsynth.schema.checks import parse_check
from dbsynth.schema.introspect import introspect
from dbsynth.schema import mariadb
from dbsynth.schema.mariadb import MYSQL_QUERY, mysql_clause, read_checks

COLUMNS = ("qty", "status", "code", "a", "b")


@pytest.mark.parametrize("mysql8, plain", [
    ("(`qty` > 0)", "`qty` > 0"),
    ("(`status` in (_utf8mb4'new',_utf8mb4'paid'))", "`status` in ('new','paid')"),
    ("(`status` in (_utf8mb4\\'new\\',_utf8mb4\\'paid\\'))", "`status` in ('new','paid')"),   # information_schema
    ("(`code` <> _utf8mb4'it\\'s')", "`code` <> 'it''s'"),
    ("(`code` <> _utf8mb4\\'it\\\\\\'s\\')", "`code` <> 'it''s'"),                        # escaped twice
    ("((`a` > 0) and (`b` > `a`))", "(`a` > 0) and (`b` > `a`)"),
    ("((`a` > 0) or (`b` > 0))", "(`a` > 0) or (`b` > 0)"),
    ("(`code` regexp _utf8mb4'^[A-Z]{3}\\\\d+$')", "`code` regexp '^[A-Z]{3}\\\\d+$'"),          # \\d kept
    ("(`code` = _binary'x_utf8')", "`code` = 'x_utf8'"),
    ("`qty` > 0", "`qty` > 0"),                                                              # MariaDB's, as is
])
def test_mysql8_clauses_read_as_plain_sql(mysql8: str, plain: str) -> None:
    assert mysql_clause(mysql8) == plain


def test_mysql8_clauses_parse_as_their_mariadb_spelling() -> None:
    for mysql8, mariadb in [("(`status` in (_utf8mb4\\'new\\',_utf8mb4\\'paid\\'))", "`status` in ('new','paid')"),
                            ("((`a` > 0) and (`b` > `a`))", "`a` > 0 and `b` > `a`"),
                            ("(`code` <> _utf8mb4'it\\'s')", "`code` <> 'it''s'")]:
        parsed = parse_check(mysql_clause(mysql8), COLUMNS)
        assert parsed is not None and parsed == parse_check(mariadb, COLUMNS), mysql8


def _item(url: str) -> None:
    engine = sa.create_engine(parse_url(url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE item (id int PRIMARY KEY, qty int CHECK (qty > 0), "
                             "status varchar(8), CONSTRAINT status_known CHECK (status IN ('new', 'paid')))")
    engine.dispose()


def test_the_mysql8_catalog_query_finds_each_tables_checks(mysql_url: str) -> None:
    _item(mysql_url)
    engine = open_source(parse_url(mysql_url))
    try:
        catalog = read_checks(engine, MYSQL_QUERY)
    finally:
        engine.dispose()
    assert catalog.failure is None
    assert {c.name: c.sqltext for c in catalog.tables["item"].checks} == {
        "qty": "`qty` > 0", "status_known": "`status` in ('new','paid')"}


def test_an_unreadable_check_catalog_is_a_warning_not_a_failure(mysql_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _item(mysql_url)
    engine = open_source(parse_url(mysql_url))
    try:
        missing_column = read_checks(engine, MYSQL_QUERY.replace("tc.TABLE_NAME,", "cc.TABLE_NAME_8,"))
        no_clause = read_checks(engine, "SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.TABLE_CONSTRAINTS "
                                        "WHERE CONSTRAINT_SCHEMA = DATABASE()")
        assert missing_column.failure and "TABLE_NAME_8" in missing_column.failure and not missing_column.tables
        assert no_clause.failure == "column 'CHECK_CLAUSE' missing"
        assert {c.name for c in introspect(engine).table("item").check_constraints} == {"qty", "status_known"}

        # a server whose catalog lacks the columns this one has (the query the reader sends, really sent)
        monkeypatch.setattr(mariadb, "MARIADB_QUERY", MYSQL_QUERY.replace("tc.TABLE_NAME,", "cc.TABLE_NAME_8,"))
        schema = introspect(engine)
    finally:
        engine.dispose()
    assert schema.table("item").check_constraints == () and len(schema.table("item").columns) == 3
    assert any(w.startswith("CHECK constraints of table item could not be read: ") and "TABLE_NAME_8" in w
               for w in schema.warnings), schema.warnings
