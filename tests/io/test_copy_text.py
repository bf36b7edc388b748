"""COPY text built column-wise: hostile values land exactly, and exactly as psycopg's own adaptation puts them.

The reference is psycopg itself: the same values (dbsynth.io.values.convert) inserted with
parameters, which psycopg adapts per value. Both tables are read back and compared row by row.
"""

from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import uuid
from collections.abc import Iterator

import numpy as np
import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Json, Jsonb
from sqlalchemy.dialects import postgresql

from dbsynth.errors import DbsynthError
from dbsynth.io.copytext import NULL, copy_text, field_texts
from dbsynth.io.load import insert_frame
from dbsynth.io.values import convert

pytestmark = pytest.mark.postgres

HOSTILE = ["tab\there", "new\nline", "cr\rlf\r\n", "back\\slash", "\\N", "NULL", "null", "\\", "\\\\t",
           "quote ' and \"", "emoji 🦆✨ and ünïcödé 中文", "", " ", "{a,b}", "trailing\\", "\x01\x1f ctrl"]


@pytest.fixture
def pg(postgres_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(postgres_url)
    yield engine
    engine.dispose()


def _through_copy(engine: sa.Engine, table: sa.Table, frame: pd.DataFrame) -> list[tuple]:
    """Create `table`, COPY `frame` into it with insert_frame, read it back in insertion order."""
    with engine.begin() as conn:
        table.create(conn)
        assert insert_frame(conn, table, frame) == len(frame)
        return [tuple(r) for r in conn.execute(sa.select(table).order_by(table.c.k))]


def _through_psycopg(engine: sa.Engine, table: sa.Table, frame: pd.DataFrame) -> list[tuple]:
    """The reference: the converted values as query parameters, adapted by psycopg one by one."""
    names = list(frame.columns)
    arrays = [convert(frame[n], table.c[n], "postgresql") for n in names]
    for i, n in enumerate(names):
        typ = table.c[n].type
        if isinstance(typ, sa.JSON):
            wrap = Jsonb if isinstance(typ, postgresql.JSONB) else Json
            arrays[i] = np.array([None if v is None else wrap(v) for v in arrays[i]] + [None], dtype=object)[:-1]
    quoted = ", ".join(f'"{n}"' for n in names)
    insert = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join(["%s"] * len(names))})'
    with engine.begin() as conn:
        table.create(conn)
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.executemany(insert, list(zip(*arrays)))
        return [tuple(r) for r in conn.execute(sa.select(table).order_by(table.c.k))]


def _table(name: str, *columns: sa.Column) -> sa.Table:
    return sa.Table(name, sa.MetaData(), sa.Column("k", sa.Integer, primary_key=True), *columns)


def test_hostile_text_lands_exactly(pg: sa.Engine) -> None:
    values = [*HOSTILE, None]
    frame = pd.DataFrame({"k": range(len(values)), "t": values, "v": pd.array(values, dtype=object)})
    rows = _through_copy(pg, _table("texts", sa.Column("t", sa.Text), sa.Column("v", sa.String(40))), frame)
    assert [r[1] for r in rows] == values
    assert [r[2] for r in rows] == values


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
                min_size=1, max_size=200))
def test_any_nul_free_text_round_trips(postgres_url: str, texts: list[str]) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS anytext")
            conn.commit()
        rows = _through_copy(engine, _table("anytext", sa.Column("t", sa.Text)),
                             pd.DataFrame({"k": range(len(texts)), "t": texts}))
    finally:
        engine.dispose()
    assert [r[1] for r in rows] == texts


def test_a_nul_character_is_a_one_line_error_naming_the_column() -> None:
    col = _table("t", sa.Column("name", sa.Text)).c.name
    with pytest.raises(DbsynthError, match=r"t\.name.*NUL"):
        field_texts(pd.Series(["ok", "bad\x00value"]), col)


def test_copy_text_layout() -> None:
    t = _table("t", sa.Column("s", sa.Text), sa.Column("n", sa.Numeric(6, 2)), sa.Column("b", sa.Boolean))
    frame = pd.DataFrame({"k": [1, 2], "s": ["a\tb", None], "n": [1.5, None], "b": [True, None]})
    assert copy_text(frame, list(t.columns)) == f"1\ta\\tb\t150e-2\tt\n2\t{NULL}\t{NULL}\t{NULL}\n"


HALF_EVEN = decimal.Context(prec=100, rounding=decimal.ROUND_HALF_EVEN)
NUMERIC_EDGES = [0.0, -0.0, 0.1, 0.005, 0.015, 0.025, 1.005, 2.675, -2.675, 1e-9, -1e-9, 999.99, -999.99,
                 999.994, 123.455, 0.125, -0.125, 5e-3, 1 / 3, 2 / 3]


@pytest.mark.parametrize(("precision", "scale"), [(5, 2), (5, 0), (12, 4), (18, 8), (38, 10)])
def test_numeric_rounds_half_even_at_its_scale(precision: int, scale: int) -> None:
    """Exactly Decimal(repr(v)).quantize(10**-scale, ROUND_HALF_EVEN) for every float, on either path."""
    col = _table("t", sa.Column("x", sa.Numeric(precision, scale))).c.x
    bound = 10.0 ** (precision - scale)
    values = [v for v in NUMERIC_EDGES if abs(v) < bound] + [bound - 10.0 ** -scale, -(bound - 10.0 ** -scale)]
    got = field_texts(pd.Series(values, dtype="float64"), col)
    quantum = decimal.Decimal(1).scaleb(-scale)
    expected = [decimal.Decimal(repr(v)).quantize(quantum, context=HALF_EVEN) for v in values]
    assert [decimal.Decimal(g) for g in got] == expected
    assert all(g == str(e) or decimal.Decimal(g) == e for g, e in zip(got, expected))


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12), st.integers(0, 6))
def test_numeric_rounding_matches_decimal_for_any_float(value: float, scale: int) -> None:
    col = _table("t", sa.Column("x", sa.Numeric(30, scale))).c.x
    got = field_texts(pd.Series([value, value / 7, value * 1000.5]), col)
    quantum = decimal.Decimal(1).scaleb(-scale)
    for g, v in zip(got, [value, value / 7, value * 1000.5]):
        assert decimal.Decimal(g) == decimal.Decimal(repr(v)).quantize(quantum, context=HALF_EVEN)


def test_numeric_at_its_precision_bounds_in_the_database(pg: sa.Engine) -> None:
    t = _table("money", sa.Column("x", sa.Numeric(7, 3)), sa.Column("free", sa.Numeric()),
               sa.Column("whole", sa.Numeric(20, 0)))
    frame = pd.DataFrame({"k": range(6),
                          "x": [9999.999, -9999.999, 0.0005, 0.0015, 2.6745, None],
                          "free": [1e-9, 12345678901234.5, -0.1, 1e20, None, 3.0],
                          "whole": pd.Series([2**63 + 5, 10**19 + 1, 0, -5, None, 99], dtype=object)})
    rows = _through_copy(pg, t, frame)
    D = decimal.Decimal
    assert [r[1] for r in rows] == [D("9999.999"), D("-9999.999"), D("0.000"), D("0.002"), D("2.674"), None]
    assert [r[2] for r in rows] == [D("1E-9"), D("12345678901234.5"), D("-0.1"), D("1E+20"), None, D("3.0")]
    assert [r[3] for r in rows] == [D(2**63 + 5), D(10**19 + 1), D(0), D(-5), None, D(99)]


def test_numeric_overflow_is_a_one_line_error_naming_the_table(pg: sa.Engine) -> None:
    t = _table("tight", sa.Column("x", sa.Numeric(5, 2)))
    with pytest.raises(DbsynthError, match="writing table tight failed: numeric field overflow") as info:
        _through_copy(pg, t, pd.DataFrame({"k": [1], "x": [999.995]}))  # rounds half-even to 1000.00
    assert "\n" not in str(info.value)


def test_arrays_and_json_land_exactly(pg: sa.Engine) -> None:
    texts = ['q"uote', "comma,here", "back\\slash", "{brace}", "NULL", "", " spaced ", "tab\tnew\nline", None]
    doc = {"a": [1, 2.5, None, {"deep": {"deeper": ["x\ty", "back\\slash", 'q"', "\\N", "🦆"]}}],
           "empty": {}, "list": [], "t": True, "n": None, "big": 2**60}
    t = _table("docs", sa.Column("tags", postgresql.ARRAY(sa.Text)),
               sa.Column("grid", postgresql.ARRAY(sa.Integer)),
               sa.Column("scores", postgresql.ARRAY(sa.Float)),
               sa.Column("doc", postgresql.JSONB(none_as_null=True)),
               sa.Column("plain", postgresql.JSON(none_as_null=True)),
               sa.Column("docs", postgresql.ARRAY(postgresql.JSONB)))
    frame = pd.DataFrame({
        "k": [1, 2, 3, 4],
        "tags": [texts, [], None, ["only"]],
        "grid": [[[1, 2], [3, None]], [], None, np.array([7, 8])],
        "scores": [[1.5, float("nan"), float("inf"), -0.0], None, [1e-300], [2.0]],
        "doc": [doc, "just a string", None, [1, "two", [3]]],
        "plain": [{"k": "v\\"}, 42, None, "x"],
        "docs": [[{"a": 1}, None, [1, 2], "s,t"], None, [], [{"q": 'x"y'}]],
    })
    rows = _through_copy(pg, t, frame)
    assert rows[0][1] == texts and rows[1][1] == [] and rows[2][1] is None and rows[3][1] == ["only"]
    assert rows[0][2] == [[1, 2], [3, None]] and rows[3][2] == [7, 8]
    assert rows[0][3][0] == 1.5 and np.isnan(rows[0][3][1]) and rows[0][3][2] == float("inf")
    assert rows[0][4] == doc and rows[1][4] == "just a string" and rows[2][4] is None
    assert rows[3][4] == [1, "two", [3]]
    assert [r[5] for r in rows] == [{"k": "v\\"}, 42, None, "x"]
    assert rows[0][6] == [{"a": 1}, None, [1, 2], "s,t"] and rows[1][6] is None and rows[3][6] == [{"q": 'x"y'}]


def test_every_type_lands_as_psycopg_adapts_it(pg: sa.Engine) -> None:
    """Typed and object columns of every kind: the COPY table equals the parameter-inserted one."""
    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    n = 6
    frame = pd.DataFrame({
        "k": range(n),
        "i16": pd.array([1, -32768, 32767, None, 0, 5], dtype="Int16"),
        "i64": [2**62, -(2**62), 0, 1, -1, 7],
        "i_float": [1.0, 2.0, None, -3.0, 0.0, 1e15],
        "i_obj": pd.Series(["7", 8, None, 9.0, np.int64(10), True], dtype=object),
        "f8": [0.1, 1e-300, -1e300, float("inf"), None, 1 / 3],
        "f4": [0.1, 3.4e38, -1.5, None, 2.5, 1e-7],
        "dec": [12.34, 0.1, 2.675, None, -0.005, 99999999.99],
        "dec_obj": pd.Series([decimal.Decimal("1.234"), "5", 7, None, 2.5, decimal.Decimal("NaN")], dtype=object),
        "flag": pd.array([True, False, None, True, False, True], dtype="boolean"),
        "ts": pd.to_datetime(["2024-02-29 23:59:59.123456", "1969-12-31 23:00:00", None, "2000-01-01",
                              "1900-03-01 00:00:00.000001", "2262-04-11"], format="ISO8601"),
        "tstz": pd.to_datetime(["2024-03-10 12:00:00+02:00", "1969-12-31 23:59:59.5-05:00", None,
                                "2000-01-01 00:00:00+00:00", "2030-01-01T00:00:00Z", "1950-06-15 12:00+01:00"],
                               format="ISO8601", utc=True),
        "ts_obj": pd.Series([dt.datetime(2024, 1, 1, 12), "2024-01-02T03:04:05", None,
                             pd.Timestamp("2020-02-02"), dt.datetime(1999, 12, 31, 23, 59, 59, 999999),
                             "2024-06-01 00:00:00"], dtype=object),
        "day": pd.Series(np.array(["2024-02-29T23:00", "1969-12-31T23:00", "NaT", "0001-01-01", "9999-12-31",
                                   "2000-01-01"], dtype="datetime64[s]")),
        "day_obj": pd.Series([dt.date(2024, 1, 1), "2023-05-06", None, dt.datetime(2020, 1, 2, 3),
                              dt.date(1, 1, 1), "1999-12-31"], dtype=object),
        "tod": pd.Series([dt.time(12, 30), dt.time(0, 0, 0, 1), None, "23:59:59.999999", dt.time(1, 2, 3),
                          dt.time(0)], dtype=object),
        "wait": pd.Series([pd.Timedelta(days=1, hours=2, minutes=3, seconds=4.5), pd.Timedelta(seconds=-1), None,
                           pd.Timedelta(0), pd.Timedelta(days=-3, seconds=-1), pd.Timedelta(days=10000)]),
        "uid": [uid, str(uid).upper(), None, uuid.UUID(int=0), "{12345678-1234-5678-1234-567812345678}",
                uuid.UUID(int=2**128 - 1)],
        "addr": [ipaddress.ip_address("10.0.0.1"), "::1", None, "192.168.0.0/24", ipaddress.ip_address("fe80::1"),
                 "127.0.0.1"],
        "blob": [b"\x00\x01\\N\t\n", b"", None, bytearray(b"\xff"), memoryview(b"mv"), b"\\x41"],
        "mood": ["happy", "it's ok", None, "sad", "happy", "sad"],
    })
    mood = postgresql.ENUM("happy", "sad", "it's ok", name="mood_copy_test")
    columns = [
        sa.Column("i16", sa.SmallInteger), sa.Column("i64", sa.BigInteger), sa.Column("i_float", sa.BigInteger),
        sa.Column("i_obj", sa.Integer), sa.Column("f8", sa.Double), sa.Column("f4", sa.REAL),
        sa.Column("dec", sa.Numeric(10, 2)), sa.Column("dec_obj", sa.Numeric(10, 2)), sa.Column("flag", sa.Boolean),
        sa.Column("ts", sa.DateTime), sa.Column("tstz", sa.DateTime(timezone=True)), sa.Column("ts_obj", sa.DateTime),
        sa.Column("day", sa.Date), sa.Column("day_obj", sa.Date), sa.Column("tod", sa.Time),
        sa.Column("wait", postgresql.INTERVAL), sa.Column("uid", sa.Uuid), sa.Column("addr", postgresql.INET),
        sa.Column("blob", postgresql.BYTEA), sa.Column("mood", mood),
    ]
    zoned = sa.create_engine(pg.url, connect_args={"options": "-c timezone=Asia/Kolkata"})  # must shift nothing
    try:
        copied = _through_copy(zoned, _table("via_copy", *[c._copy() for c in columns]), frame)
        adapted = _through_psycopg(zoned, _table("via_params", *[c._copy() for c in columns]), frame)
    finally:
        zoned.dispose()
    assert len(copied) == n and copied == adapted
    assert copied[5][7] == decimal.Decimal("99999999.99") and copied[2][7] == decimal.Decimal("2.68")
    assert copied[0][16] == dt.timedelta(days=1, hours=2, minutes=3, seconds=4.5)
    assert copied[0][19] == b"\x00\x01\\N\t\n" and copied[1][19] == b""


def test_batches_of_any_size_write_every_row_once(pg: sa.Engine) -> None:
    t = _table("many", sa.Column("s", sa.Text))
    frame = pd.DataFrame({"k": range(2_345), "s": [f"row\t{i}\n" for i in range(2_345)]})
    with pg.begin() as conn:
        t.create(conn)
        for size in (None, 1, 1000):
            conn.execute(t.delete())
            insert_frame(conn, t, frame, batch_rows=size)
            assert conn.execute(sa.select(sa.func.count(), sa.func.count(sa.distinct(t.c.s)))).one() == (2_345, 2_345)
        assert conn.execute(sa.select(t.c.s).where(t.c.k == 7)).scalar() == "row\t7\n"
