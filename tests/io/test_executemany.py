"""SQLite and MariaDB: the raw DBAPI executemany stores exactly what SQLAlchemy's executemany stored."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from dbsynth.errors import DbsynthError
from dbsynth.io.engines import open_target, parse_url
from dbsynth.io.load import _statement_bytes, insert_frame, make_transactional
from dbsynth.io.values import convert, json_dumps


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def target(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    engine = open_target(parse_url(request.getfixturevalue(f"{request.param}_url")))
    make_transactional(engine)
    yield engine
    engine.dispose()


def _columns() -> list[sa.Column]:
    return [sa.Column("k", sa.Integer, primary_key=True, autoincrement=False), sa.Column("i", sa.BigInteger),
            sa.Column("f", sa.Float), sa.Column("d", sa.Numeric(10, 2)), sa.Column("b", sa.Boolean),
            sa.Column("ts", sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")), sa.Column("day", sa.Date), sa.Column("tod", sa.Time),
            sa.Column("wait", sa.Interval), sa.Column("s", sa.String(40)), sa.Column("j", sa.JSON(none_as_null=True)),
            sa.Column("e", sa.Enum("a", "b", name="e_kind")), sa.Column("u", sa.String(36)),
            sa.Column("blob", sa.LargeBinary)]


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "k": [1, 2, 3, 4],
        "i": pd.array([2**62, None, -5, 0], dtype="Int64"),
        "f": [0.1, None, 1e-300, -2.5],
        "d": [2.675, 0.1, None, 99999999.99],
        "b": pd.array([True, False, None, True], dtype="boolean"),
        "ts": pd.to_datetime(["2024-02-29 23:59:59.123456", "2000-01-01", None, "1969-12-31 23:00:00"], format="ISO8601"),
        "day": [dt.date(2024, 1, 1), None, dt.date(1, 1, 1), dt.datetime(2020, 5, 6, 7)],
        "tod": [dt.time(12, 30, 0, 5), None, dt.time(0), dt.time(23, 59, 59)],
        "wait": pd.to_timedelta(["1 days 02:03:04", None, "0s", "5s"]),
        "s": ["tab\there", "100% %s %(x)s", None, "emoji 🦆 'quote' \\"],
        "j": [{"a": [1, None, {"b": "c\\d"}]}, "text", None, [np.int64(3), 1.5]],
        "e": ["a", "b", None, "a"],
        "u": [uuid.UUID(int=7), None, "x", str(uuid.UUID(int=8))],
        "blob": [b"\x00\x01", None, b"", b"\\N"],
    })


def _reference(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """What the write stage did before: SQLAlchemy's executemany of one dict per row."""
    binds = {n: sa.bindparam(n, type_=sa.Text() if isinstance(table.c[n].type, sa.JSON) else table.c[n].type)
             for n in frame.columns}
    arrays = {n: convert(frame[n], table.c[n], conn.dialect.name) for n in frame.columns}
    arrays = {n: [None if v is None else json_dumps(v) for v in a] if isinstance(table.c[n].type, sa.JSON)
              else list(a) for n, a in arrays.items()}
    records = [dict(zip(arrays, row)) for row in zip(*arrays.values())]
    conn.execute(table.insert().values(binds), records)


def test_raw_executemany_stores_what_sqlalchemy_stored(target: sa.Engine) -> None:
    md = sa.MetaData()
    ours = sa.Table("ours", md, *_columns())
    theirs = sa.Table("theirs", md, *_columns())
    frame = _frame()
    with target.begin() as conn:
        md.create_all(conn)
        assert insert_frame(conn, ours, frame, batch_rows=3) == 4
        _reference(conn, theirs, frame)
    with target.connect() as conn:  # raw driver values: no result processing on either side
        got = conn.exec_driver_sql("SELECT * FROM ours ORDER BY k").all()
        expected = conn.exec_driver_sql("SELECT * FROM theirs ORDER BY k").all()
        typed = conn.execute(sa.select(ours).order_by(ours.c.k)).all()
    assert got == expected
    assert typed[0].d == decimal.Decimal("2.68") and typed[3].d == decimal.Decimal("99999999.99")
    assert typed[0].ts == dt.datetime(2024, 2, 29, 23, 59, 59, 123456) and typed[1].ts == dt.datetime(2000, 1, 1)
    assert typed[0].j == {"a": [1, None, {"b": "c\\d"}]} and typed[2].j is None
    assert typed[1].s == "100% %s %(x)s" and typed[3].s == "emoji 🦆 'quote' \\"


def test_a_failing_row_is_a_one_line_error_naming_the_table(target: sa.Engine) -> None:
    md = sa.MetaData()
    t = sa.Table("dup", md, sa.Column("k", sa.Integer, primary_key=True, autoincrement=False))
    with pytest.raises(DbsynthError, match="writing table dup failed") as info, target.begin() as conn:
        md.create_all(conn)
        insert_frame(conn, t, pd.DataFrame({"k": [1, 2, 2]}))
    assert "\n" not in str(info.value)


@pytest.mark.mysql
def test_batches_stay_under_max_allowed_packet(mysql_url: str) -> None:
    """6 MB of rows: PyMySQL's multi-row statements are cut below the server's packet limit."""
    engine = open_target(parse_url(mysql_url))
    md = sa.MetaData()
    t = sa.Table("wide", md, sa.Column("k", sa.Integer, primary_key=True, autoincrement=False),
                 sa.Column("s", sa.Text))
    n, width = 3_000, 2_000
    frame = pd.DataFrame({"k": range(n), "s": [f"{i:06d}" + "x" * width for i in range(n)]})
    with engine.begin() as conn:
        md.create_all(conn)
        packet = conn.exec_driver_sql("SELECT @@max_allowed_packet").scalar()
        assert 1024 <= _statement_bytes(conn) < packet
        insert_frame(conn, t, frame)
    with engine.connect() as conn:
        count, total, distinct = conn.execute(
            sa.select(sa.func.count(), sa.func.sum(sa.func.length(t.c.s)), sa.func.count(sa.distinct(t.c.s)))).one()
    engine.dispose()
    assert (count, int(total), distinct) == (n, n * (width + 6), n)


def test_a_zero_key_stays_zero_in_an_auto_increment_column(mysql_url: str) -> None:
    """MySQL reads an explicit 0 as "the next value" unless told otherwise; TPC-H's region 0 then clashed with 1."""
    engine = open_target(parse_url(mysql_url))
    table = sa.Table("region", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                     sa.Column("name", sa.String(20)))
    try:
        with engine.begin() as conn:
            table.create(conn)
            insert_frame(conn, table, pd.DataFrame({"id": [0, 1, 2], "name": ["AFRICA", "AMERICA", "ASIA"]}))
        with engine.connect() as conn:
            assert conn.execute(sa.select(table.c.id, table.c.name).order_by(table.c.id)).all() == [
                (0, "AFRICA"), (1, "AMERICA"), (2, "ASIA")]
            assert "AUTO_INCREMENT" in conn.exec_driver_sql("SHOW CREATE TABLE region").one()[1]
    finally:
        engine.dispose()
