"""Bulk loading of sampled frames into the target, and the fix-ups after it.

The write stage should run at the database's own bulk-load speed: COPY on
PostgreSQL (psycopg 3), multi-row executemany batches elsewhere, never a round
trip per row. Values are converted per column, from pandas' representation
(NaN, NaT, pd.NA, numpy scalars, Timestamps) to the plain Python values drivers
understand, using the target column's type.

Transactions: on PostgreSQL and SQLite the caller runs create_schema, every
insert, every update and reset_sequences in ONE transaction, so a failure leaves
nothing behind (SQLite needs :func:`make_transactional` for that). MySQL and
MariaDB commit every DDL statement implicitly: there the caller must drop the
tables it created when the load fails (``ddl.drop_tables``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import sqlalchemy as sa
from psycopg import sql
from psycopg.types.json import Json, Jsonb
from sqlalchemy.dialects import postgresql

from dbsynth.errors import DbsynthError, SchemaError

__all__ = ["insert_frame", "make_transactional", "reset_sequences", "transactional_ddl", "update_rows"]


def transactional_ddl(dialect: str) -> bool:
    """Whether CREATE TABLE can be rolled back together with the rows on this dialect."""
    return dialect in ("postgresql", "sqlite")


def make_transactional(engine: sa.Engine) -> None:
    """Make a SQLite engine roll back DDL with everything else, and enforce foreign keys.

    pysqlite's legacy transaction control never emits BEGIN before DDL, so a
    CREATE TABLE would be committed at once. SQLAlchemy's documented fix: turn
    the driver's control off and emit BEGIN ourselves. PRAGMA foreign_keys is a
    no-op inside a transaction, so it is set just before BEGIN.
    No-op for other dialects.
    """
    if engine.dialect.name != "sqlite" or sa.event.contains(engine, "begin", _sqlite_begin):
        return
    sa.event.listen(engine, "connect", _sqlite_connect)
    sa.event.listen(engine, "begin", _sqlite_begin)


def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA foreign_keys = ON")


def _sqlite_begin(conn: sa.Connection) -> None:
    raw = conn.connection.driver_connection
    raw.isolation_level = None  # also for connections pooled before the hook was installed
    raw.execute("PRAGMA foreign_keys = ON")
    conn.exec_driver_sql("BEGIN")


def insert_frame(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame, batch_rows: int = 10_000) -> int:
    """Write every row of `frame` into `table`; returns the number of rows written.

    The frame's columns must be columns of the table; generated columns are
    skipped, since the database computes them.
    """
    names = _writable(table, frame)
    if frame.empty or not names:
        return 0
    if not conn.in_transaction():
        conn.begin()  # the raw COPY must run inside the transaction SQLAlchemy commits
    try:
        if _is_psycopg(conn):
            with conn.connection.driver_connection.cursor() as cur:
                _copy(cur, _qualified(table), [table.c[n] for n in names], frame, batch_rows)
        else:
            stmt = table.insert().values({n: _bind(table.c[n], n) for n in names})
            for start in range(0, len(frame), batch_rows):
                records = _records(frame.iloc[start:start + batch_rows], table, names, conn.dialect.name)
                conn.execute(stmt, records)
    except (sa.exc.DBAPIError, psycopg.Error) as exc:
        raise DbsynthError(f"writing table {table.fullname} failed: {_first_line(exc)}") from exc
    return len(frame)


def update_rows(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame,
                key_columns: Sequence[str], value_columns: Sequence[str]) -> int:
    """SET `value_columns` of the rows matched by `key_columns`; returns rows updated.

    Used to fill foreign keys left NULL at insert time (cycles, self-references).
    PostgreSQL: COPY into a temporary table, then one UPDATE ... FROM.
    Elsewhere: one executemany UPDATE per batch.
    """
    keys, values = list(key_columns), list(value_columns)
    _writable(table, frame[keys + values])
    if frame.empty or not values:
        return 0
    if not conn.in_transaction():
        conn.begin()
    try:
        if _is_psycopg(conn):
            return _update_via_copy(conn, table, frame, keys, values)
        stmt = (sa.update(table)
                .where(sa.and_(*[table.c[k] == _bind(table.c[k], f"_k{i}") for i, k in enumerate(keys)]))
                .values({table.c[v]: _bind(table.c[v], f"_v{i}") for i, v in enumerate(values)}))
        params = {k: f"_k{i}" for i, k in enumerate(keys)} | {v: f"_v{i}" for i, v in enumerate(values)}
        total = 0
        for start in range(0, len(frame), 10_000):
            records = _records(frame.iloc[start:start + 10_000], table, keys + values, conn.dialect.name)
            result = conn.execute(stmt, [{params[c]: r[c] for c in params} for r in records])
            total += max(result.rowcount, 0)
        return total
    except (sa.exc.DBAPIError, psycopg.Error) as exc:
        raise DbsynthError(f"updating table {table.fullname} failed: {_first_line(exc)}") from exc


def reset_sequences(conn: sa.Connection, metadata: sa.MetaData) -> None:
    """Point every auto-increment counter past the loaded keys, so the application can insert.

    SQLite needs nothing: an INTEGER PRIMARY KEY takes max(rowid) + 1, and an
    AUTOINCREMENT table's sqlite_sequence follows explicitly inserted keys.
    """
    dialect = conn.dialect.name
    prep = conn.dialect.identifier_preparer
    for table in metadata.tables.values():  # order is irrelevant; sorted_tables warns on cycles
        quoted = prep.format_table(table)
        if dialect == "postgresql":
            owned = conn.execute(sa.text(
                "SELECT a.attname, pg_get_serial_sequence(:tbl, a.attname) FROM pg_attribute a "
                "WHERE a.attrelid = CAST(:tbl AS regclass) AND a.attnum > 0 AND NOT a.attisdropped "
                "AND pg_get_serial_sequence(:tbl, a.attname) IS NOT NULL"), {"tbl": quoted}).all()
            for column, sequence in owned:
                conn.execute(sa.text(
                    f"SELECT setval(:seq, max({prep.quote(column)}) + 1, false) FROM {quoted} "
                    f"HAVING max({prep.quote(column)}) IS NOT NULL"), {"seq": sequence})
        elif dialect in ("mysql", "mariadb"):
            col = table.autoincrement_column
            if col is None:
                continue
            top = conn.execute(sa.select(sa.func.max(col))).scalar()
            if top is not None:  # note: ALTER TABLE commits implicitly on MySQL
                conn.exec_driver_sql(f"ALTER TABLE {quoted} AUTO_INCREMENT = {int(top) + 1}")


# -- PostgreSQL COPY --------------------------------------------------------

def _is_psycopg(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


def _qualified(table: sa.Table) -> sql.Identifier:
    return sql.Identifier(table.schema, table.name) if table.schema else sql.Identifier(table.name)


def _copy(cur: Any, target: sql.Composable, columns: list[sa.Column], frame: pd.DataFrame, batch_rows: int) -> None:
    """One COPY ... FROM STDIN for the whole frame, converted batch by batch to bound memory."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        target, sql.SQL(", ").join(sql.Identifier(c.name) for c in columns))
    with cur.copy(statement) as copy:
        for start in range(0, len(frame), batch_rows):
            chunk = frame.iloc[start:start + batch_rows]
            arrays = [_pg_wrap(c, _convert(chunk[c.name], c, "postgresql")) for c in columns]
            for row in zip(*arrays):
                copy.write_row(row)


def _pg_wrap(col: sa.Column, values: np.ndarray) -> np.ndarray:
    """psycopg needs JSON documents wrapped to know they are JSON, not a Python dict to adapt."""
    if isinstance(col.type, sa.JSON):
        wrap = Jsonb if isinstance(col.type, postgresql.JSONB) else Json
        out = np.empty(len(values), dtype=object)
        out[:] = [None if v is None else wrap(v, dumps=_json_dumps) for v in values]
        return out
    return values


def _update_via_copy(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame,
                     keys: list[str], values: list[str]) -> int:
    tmp = sql.Identifier(f"_dbsynth_update_{uuid.uuid4().hex[:12]}")
    target = _qualified(table)
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in keys + values)
    with conn.connection.driver_connection.cursor() as cur:
        cur.execute(sql.SQL("CREATE TEMPORARY TABLE {} AS SELECT {} FROM {} WITH NO DATA")
                    .format(tmp, cols, target))
        _copy(cur, tmp, [table.c[c] for c in keys + values], frame, 10_000)
        cur.execute(sql.SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE {}").format(
            target,
            sql.SQL(", ").join(sql.SQL("{} = s.{}").format(sql.Identifier(v), sql.Identifier(v)) for v in values),
            tmp,
            sql.SQL(" AND ").join(sql.SQL("t.{} = s.{}").format(sql.Identifier(k), sql.Identifier(k))
                                  for k in keys)))
        updated = cur.rowcount
        cur.execute(sql.SQL("DROP TABLE {}").format(tmp))
    return max(updated, 0)


# -- executemany --------------------------------------------------------------

def _bind(col: sa.Column, name: str) -> sa.BindParameter[Any]:
    """JSON goes in as text we serialised ourselves (numpy scalars and all), so NULL stays SQL NULL."""
    if isinstance(col.type, sa.JSON):
        return sa.bindparam(name, type_=sa.Text())
    return sa.bindparam(name, type_=col.type)


def _records(frame: pd.DataFrame, table: sa.Table, names: list[str], dialect: str) -> list[dict[str, Any]]:
    arrays = []
    for name in names:
        col = table.c[name]
        values = _convert(frame[name], col, dialect)
        if isinstance(col.type, sa.JSON):
            values = _map(values, _json_dumps)
        arrays.append(values)
    return [dict(zip(names, row)) for row in zip(*arrays)]


# -- value conversion ---------------------------------------------------------

def _writable(table: sa.Table, frame: pd.DataFrame) -> list[str]:
    unknown = [c for c in frame.columns if c not in table.c]
    if unknown:
        raise SchemaError(f"table {table.fullname} has no column {unknown[0]!r} to write; "
                          f"the sampled data and the target schema disagree")
    return [c for c in frame.columns if table.c[c].computed is None]


def _convert(series: pd.Series, col: sa.Column, dialect: str) -> np.ndarray:
    """A column of driver-ready Python values (None for every kind of missing) for `col`."""
    typ = col.type
    try:
        if isinstance(typ, (sa.Interval, postgresql.INTERVAL)):
            return _timedelta(series)
        for cls, convert in _CONVERTERS:
            if isinstance(typ, cls):
                return convert(series, typ, dialect)
        return _plain(series)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise SchemaError(f"column {col.table.name}.{col.name}: cannot convert sampled values to "
                          f"{typ}: {exc}") from exc


def _missing(series: pd.Series) -> np.ndarray:
    return series.isna().to_numpy(dtype=bool)


def _with_nulls(values: Any, mask: np.ndarray) -> np.ndarray:
    out = np.empty(len(mask), dtype=object)
    out[:] = list(values) if not isinstance(values, np.ndarray) else values
    out[mask] = None
    return out


def _map(values: np.ndarray, fn: Callable[[Any], Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = [None if v is None else fn(v) for v in values]
    return out


def _plain(series: pd.Series) -> np.ndarray:
    values = series.to_numpy(dtype=object)
    return _with_nulls(_map(values, _unwrap), _missing(series))


def _unwrap(v: Any) -> Any:
    """numpy scalars and arrays to their Python equivalents; memoryviews to bytes."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, memoryview):
        return bytes(v)
    return v


def _integer(series: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    mask = _missing(series)
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype("Int64")
    elif not pd.api.types.is_integer_dtype(series.dtype):
        numeric = pd.to_numeric(series) if series.dtype == object or pd.api.types.is_string_dtype(series) else series
        if pd.api.types.is_float_dtype(numeric.dtype):
            frac = numeric[~mask] % 1
            if (frac != 0).any():
                raise ValueError(f"non-integer value {numeric[~mask][frac != 0].iloc[0]!r}")
        series = numeric.astype("Int64")
    return _with_nulls(series.tolist(), mask)  # tolist() yields Python ints


def _float(series: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    mask = _missing(series)
    return _with_nulls(pd.to_numeric(series).astype("float64").tolist(), mask)


def _decimal(series: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    mask = _missing(series)
    if pd.api.types.is_float_dtype(series.dtype):
        # numpy's str() of a float is its shortest repr: 0.1 -> "0.1", not 0.1000000000000000055...
        texts = series.to_numpy(dtype="float64", na_value=np.nan).astype(str).astype(object)
    else:
        texts = _map(series.to_numpy(dtype=object), lambda v: repr(v) if isinstance(v, float) else v)
    scale = getattr(typ, "scale", None)
    quantum = decimal.Decimal(1).scaleb(-scale) if scale is not None else None
    ctx = decimal.Context(prec=100, rounding=decimal.ROUND_HALF_EVEN)

    def to_decimal(v: Any) -> decimal.Decimal:
        d = v if isinstance(v, decimal.Decimal) else decimal.Decimal(_unwrap(v) if not isinstance(v, str) else v)
        return d.quantize(quantum, context=ctx) if quantum is not None and d.is_finite() else d

    texts[mask] = None
    return _map(texts, to_decimal)


def _boolean(series: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    mask = _missing(series)
    if not pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype("boolean")
    return _with_nulls(series.tolist(), mask)


def _datetime(series: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    mask = _missing(series)
    stamps = series if pd.api.types.is_datetime64_any_dtype(series.dtype) else _to_datetime(series)
    aware = getattr(typ, "timezone", False) and dialect == "postgresql"
    if stamps.dt.tz is not None:  # aware values: written as UTC; naive columns get the UTC wall time
        stamps = stamps.dt.tz_convert("UTC")
        stamps = stamps if aware else stamps.dt.tz_localize(None)
    elif aware:
        stamps = stamps.dt.tz_localize("UTC")  # naive values for an aware column are taken as UTC
    stamps = stamps.astype("datetime64[us, UTC]" if aware else "datetime64[us]")
    return _with_nulls(stamps.dt.to_pydatetime().to_numpy(dtype=object), mask)


def _to_datetime(series: pd.Series) -> pd.Series:
    try:
        return pd.to_datetime(series, format="ISO8601")
    except ValueError:  # mixed UTC offsets
        return pd.to_datetime(series, format="ISO8601", utc=True)


def _date(series: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    mask = _missing(series)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return _with_nulls(series.dt.date.to_numpy(dtype=object), mask)
    return _with_nulls(_map(series.to_numpy(dtype=object), _as_date), mask)


def _as_date(v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10])


def _time(series: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    mask = _missing(series)
    if pd.api.types.is_timedelta64_dtype(series.dtype):  # time of day as an offset from midnight
        deltas = _timedelta(series)
        return _map(deltas, lambda d: (dt.datetime.min + d).time())
    return _with_nulls(_map(series.to_numpy(dtype=object),
                            lambda v: dt.time.fromisoformat(v) if isinstance(v, str) else v), mask)


def _timedelta(series: pd.Series) -> np.ndarray:
    mask = _missing(series)
    deltas = pd.to_timedelta(series) if not pd.api.types.is_timedelta64_dtype(series.dtype) else series
    # numpy turns timedelta64[us] into datetime.timedelta objects (NaT into None)
    return _with_nulls(deltas.to_numpy(dtype="timedelta64[us]").astype(object), mask)


def _text(series: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    mask = _missing(series)
    if not isinstance(series.dtype, pd.StringDtype):
        series = series.astype("string")  # numbers, UUIDs, addresses: their text form
    return _with_nulls(series.to_numpy(dtype=object), mask)


def _uuid(series: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    mask = _missing(series)
    values = series.to_numpy(dtype=object)
    if getattr(typ, "as_uuid", True):
        return _with_nulls(_map(values, lambda v: v if isinstance(v, uuid.UUID) else uuid.UUID(str(v))), mask)
    return _with_nulls(_map(values, str), mask)


def _document(series: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    """JSON and array cells are decoded Python values (a str is a JSON string, not JSON text).

    isna() looks at each cell as a whole: a list holding NaN is a value, not a NULL.
    """
    return _plain(series)


_CONVERTERS: list[tuple[type, Callable[[pd.Series, Any, str], np.ndarray]]] = [
    (sa.JSON, _document), (sa.ARRAY, _document), (sa.Boolean, _boolean), (sa.Integer, _integer),
    (sa.Float, _float), (sa.Numeric, _decimal), (sa.DateTime, _datetime), (sa.Date, _date),
    (sa.Time, _time), (sa.Uuid, _uuid), (sa.String, _text),
]  # anything else (bytes, INET, ...) goes to the driver as it is, numpy scalars unwrapped


def _json_default(v: Any) -> Any:
    if isinstance(v, (np.generic, np.ndarray)):
        return v.tolist()
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (uuid.UUID, bytes)):
        return str(v) if isinstance(v, uuid.UUID) else v.hex()
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")


def _json_dumps(v: Any) -> str:
    return json.dumps(v, default=_json_default, ensure_ascii=False)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__
