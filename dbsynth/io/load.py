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

import warnings

import contextlib
import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import sqlalchemy as sa
from psycopg import sql
from psycopg.types.json import Json, Jsonb
from sqlalchemy.dialects import mysql, postgresql

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
    raw: Any = conn.connection.driver_connection
    raw.isolation_level = None  # also for connections pooled before the hook was installed
    raw.execute("PRAGMA foreign_keys = ON")
    conn.exec_driver_sql("BEGIN")


def insert_frame(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame, batch_rows: int = 10_000) -> int:
    """Write every row of `frame` into `table`; returns the number of rows written.

    The frame's columns must be columns of the table; generated columns are
    skipped, since the database computes them. JSON and array cells are decoded
    Python values: a str is a JSON string, not JSON text to parse.
    """
    names = _writable(table, frame)
    if frame.empty or not names:
        return 0
    with _failure(f"writing table {table.fullname}"):
        _insert(conn, table, frame[names], batch_rows)
    return len(frame)


def update_rows(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame,
                key_columns: Sequence[str], value_columns: Sequence[str]) -> int:
    """SET `value_columns` of the rows matched by `key_columns`; returns rows updated.

    Used to fill foreign keys left NULL at insert time (cycles, self-references).
    PostgreSQL and MySQL: bulk load a temporary table, then one joined UPDATE
    (an executemany UPDATE is a round trip per row there). SQLite runs in
    process, so an executemany UPDATE is already fast.
    """
    keys, values = list(key_columns), list(value_columns)
    _writable(table, frame[keys + values])
    if frame.empty or not values:
        return 0
    with _failure(f"updating table {table.fullname}"):
        if conn.dialect.name == "sqlite":
            return _update_many(conn, table, frame, keys, values)
        return _update_via_staging(conn, table, frame, keys, values)


def reset_sequences(conn: sa.Connection, metadata: sa.MetaData) -> None:
    """Point every auto-increment counter past the loaded keys, so the application can insert.

    SQLite needs nothing: an INTEGER PRIMARY KEY takes max(rowid) + 1, and an
    AUTOINCREMENT table's sqlite_sequence follows explicitly inserted keys.
    """
    dialect = conn.dialect.name
    for table in metadata.tables.values():  # order is irrelevant; sorted_tables warns on cycles
        if dialect == "postgresql":  # serial and identity columns both own a sequence
            owned = conn.execute(sa.text(
                "SELECT a.attname, pg_get_serial_sequence(:tbl, a.attname) FROM pg_attribute a "
                "WHERE a.attrelid = CAST(:tbl AS regclass) AND a.attnum > 0 AND NOT a.attisdropped "
                "AND pg_get_serial_sequence(:tbl, a.attname) IS NOT NULL"), {"tbl": _pg_name(table)}).all()
            for column, sequence in owned:
                top = sa.func.max(table.c[column])
                conn.execute(sa.select(sa.func.setval(sequence, top + 1, False))
                             .select_from(table).having(top.is_not(None)))
        elif dialect in ("mysql", "mariadb") and table.autoincrement_column is not None:
            highest = conn.execute(sa.select(sa.func.max(table.autoincrement_column))).scalar()
            if highest is not None:  # InnoDB already moved past explicit keys; this makes sure (and commits)
                quoted = conn.dialect.identifier_preparer.format_table(table)
                conn.exec_driver_sql(f"ALTER TABLE {quoted} AUTO_INCREMENT = {int(highest) + 1}")


@contextlib.contextmanager
def _failure(what: str) -> Iterator[None]:
    """Driver errors become one line naming the table; the caller's transaction still rolls back."""
    try:
        yield
    except (sa.exc.DBAPIError, psycopg.Error) as exc:
        raise DbsynthError(f"{what} failed: {_first_line(exc)}") from exc


def _insert(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame, batch_rows: int) -> None:
    if not conn.in_transaction():
        conn.begin()  # a raw COPY must run inside the transaction SQLAlchemy commits
    names = list(frame.columns)
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur:
            _copy(cur, table, [table.c[n] for n in names], frame, batch_rows)
        return
    stmt = table.insert().values({n: _bind(table.c[n], n) for n in names})
    for start in range(0, len(frame), batch_rows):
        conn.execute(stmt, _records(frame.iloc[start:start + batch_rows], table, names, conn.dialect.name))


def _update_many(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame,
                 keys: list[str], values: list[str]) -> int:
    # bind names must differ from column names in an UPDATE
    binds = {c: f"_b{i}" for i, c in enumerate(keys + values)}
    stmt = (sa.update(table)
            .where(sa.and_(*[table.c[k] == _bind(table.c[k], binds[k]) for k in keys]))
            .values({table.c[v]: _bind(table.c[v], binds[v]) for v in values}))
    total = 0
    for start in range(0, len(frame), 10_000):
        records = _records(frame.iloc[start:start + 10_000], table, keys + values, conn.dialect.name)
        result = conn.execute(stmt, [{binds[c]: v for c, v in r.items()} for r in records])
        total += max(result.rowcount, 0)
    return total


def _update_via_staging(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame,
                        keys: list[str], values: list[str]) -> int:
    q = conn.dialect.identifier_preparer
    name = f"_dbsynth_update_{uuid.uuid4().hex[:12]}"
    target, tmp = q.format_table(table), q.quote(name)
    listed = ", ".join(q.quote(c) for c in keys + values)
    on = " AND ".join(f"t.{q.quote(k)} = s.{q.quote(k)}" for k in keys)
    if conn.dialect.name == "postgresql":
        create = f"CREATE TEMPORARY TABLE {tmp} AS SELECT {listed} FROM {target} WITH NO DATA"
        sets = ", ".join(f"{q.quote(v)} = s.{q.quote(v)}" for v in values)
        update = f"UPDATE {target} AS t SET {sets} FROM {tmp} AS s WHERE {on}"
        drop = f"DROP TABLE {tmp}"
    else:  # MySQL: CREATE/DROP TEMPORARY TABLE do not commit implicitly
        create = f"CREATE TEMPORARY TABLE {tmp} AS SELECT {listed} FROM {target} LIMIT 0"
        sets = ", ".join(f"t.{q.quote(v)} = s.{q.quote(v)}" for v in values)
        update = f"UPDATE {target} AS t JOIN {tmp} AS s ON {on} SET {sets}"
        drop = f"DROP TEMPORARY TABLE {tmp}"
    if not conn.in_transaction():
        conn.begin()
    conn.exec_driver_sql(create)
    staging = sa.Table(name, sa.MetaData(), *[sa.Column(c, table.c[c].type) for c in keys + values])
    _insert(conn, staging, frame[keys + values], 10_000)
    updated = conn.exec_driver_sql(update).rowcount
    conn.exec_driver_sql(drop)
    return max(updated, 0)


# -- PostgreSQL COPY --------------------------------------------------------

def _pg_name(table: sa.Table) -> str:
    """The table's name quoted for PostgreSQL's own parser (regclass), as a parameter value."""
    parts = [table.schema, table.name] if table.schema else [table.name]
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def _copy(cur: Any, table: sa.Table, columns: list[sa.Column], frame: pd.DataFrame, batch_rows: int) -> None:
    """One COPY ... FROM STDIN for the whole frame, converted batch by batch to bound memory."""
    target = sql.Identifier(table.schema, table.name) if table.schema else sql.Identifier(table.name)
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
    typ = col.type
    if isinstance(typ, sa.ARRAY) and isinstance(typ.item_type, sa.JSON):  # json[] / jsonb[]: each element
        wrap = Jsonb if isinstance(typ.item_type, postgresql.JSONB) else Json
        return _map(values, lambda v: [None if e is None else wrap(e, dumps=_json_dumps) for e in v])
    if not isinstance(typ, sa.JSON):
        return values
    wrap = Jsonb if isinstance(typ, postgresql.JSONB) else Json
    return _map(values, lambda v: wrap(v, dumps=_json_dumps))


# -- executemany --------------------------------------------------------------

def _bind(col: sa.Column, name: str) -> sa.BindParameter[Any]:
    """JSON goes in as text we serialised ourselves (numpy scalars and all), so NULL stays SQL NULL."""
    if isinstance(col.type, sa.JSON):
        return sa.bindparam(name, type_=sa.Text())
    return sa.bindparam(name, type_=col.type)


def _records(frame: pd.DataFrame, table: sa.Table, names: list[str], dialect: str) -> list[dict[str, Any]]:
    arrays = [_convert(frame[n], table.c[n], dialect) for n in names]
    arrays = [_map(a, _json_dumps) if isinstance(table.c[n].type, sa.JSON) else a for a, n in zip(arrays, names)]
    return [dict(zip(names, row)) for row in zip(*arrays)]


# -- value conversion ---------------------------------------------------------

def _writable(table: sa.Table, frame: pd.DataFrame) -> list[str]:
    unknown = [c for c in frame.columns if c not in table.c]
    if unknown:
        raise SchemaError(f"table {table.fullname} has no column {unknown[0]!r} to write; "
                          f"the sampled data and the target schema disagree")
    return [c for c in frame.columns if table.c[c].computed is None]


def _convert(series: pd.Series, col: sa.Column, dialect: str) -> np.ndarray:
    """Driver-ready Python values for `col`: every kind of missing (NaN, NaT, pd.NA) becomes None.

    Converters see only the present values, as a whole column (vectorised where pandas can).
    """
    mask = series.isna().to_numpy(dtype=bool)  # per cell: a list holding NaN is a value
    typ = col.type
    convert = next((fn for cls, fn in _CONVERTERS if isinstance(typ, cls)), _plain)
    try:
        values = convert(series[~mask], typ, dialect)
    except (ValueError, TypeError, ArithmeticError, OverflowError) as exc:
        raise SchemaError(f"column {col.table.name}.{col.name}: cannot convert sampled values to {typ}: "
                          f"{exc}") from exc
    out = np.full(len(series), None, dtype=object)
    out[~mask] = _objects(values)
    return out


def _objects(values: Any) -> np.ndarray:
    """A 1-d object array; np.array() would turn a column of equal-length lists into a 2-d one."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    return np.fromiter(values, dtype=object)


def _map(values: Any, fn: Callable[[Any], Any]) -> np.ndarray:
    return np.fromiter((None if v is None else fn(v) for v in values), dtype=object)


def _plain(s: pd.Series, typ: Any = None, dialect: str = "") -> np.ndarray:
    """As they are (bytes, INET, JSON documents, arrays), with numpy values made Python ones."""
    return _map(s.to_numpy(dtype=object), _unwrap)


def _unwrap(v: Any) -> Any:
    if isinstance(v, (np.generic, np.ndarray)):
        return v.tolist()
    return bytes(v) if isinstance(v, memoryview) else v


def _integer(s: pd.Series, typ: Any, dialect: str) -> list[Any]:
    if pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("int64").tolist() if pd.api.types.is_bool_dtype(s.dtype) else s.tolist()  # Python ints
    if pd.api.types.is_float_dtype(s.dtype):
        if not (s % 1 == 0).all():
            raise ValueError(f"non-integer value {s[s % 1 != 0].iloc[0]!r}")
        return s.astype("int64").tolist()
    try:
        return s.astype("Int64").tolist()  # exact for Python ints in an object column
    except OverflowError:
        return _plain(s).tolist()  # beyond 64 bits (BIGINT UNSIGNED): Python ints as they are
    except (TypeError, ValueError):
        return _integer(pd.to_numeric(s), typ, dialect)  # numeric strings, floats among ints


def _float(s: pd.Series, typ: Any, dialect: str) -> list[float]:
    return pd.to_numeric(s).astype("float64").tolist()


def _decimal(s: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    if pd.api.types.is_float_dtype(s.dtype):
        # numpy's str() of a float is its shortest repr: 0.1 -> "0.1", not 0.1000000000000000055...
        texts: Any = s.to_numpy(dtype="float64").astype(str)
    else:
        texts = _map(s.to_numpy(dtype=object), lambda v: repr(v) if isinstance(v, float) else _unwrap(v))
    scale = getattr(typ, "scale", None)
    quantum = decimal.Decimal(1).scaleb(-scale) if scale is not None else None
    ctx = decimal.Context(prec=100, rounding=decimal.ROUND_HALF_EVEN)

    def to_decimal(v: Any) -> decimal.Decimal:
        d = v if isinstance(v, decimal.Decimal) else decimal.Decimal(v)
        return d.quantize(quantum, context=ctx) if quantum is not None and d.is_finite() else d

    return _map(texts, to_decimal)


def _boolean(s: pd.Series, typ: Any, dialect: str) -> list[bool]:
    return (s if pd.api.types.is_bool_dtype(s.dtype) else s.astype("boolean")).astype(bool).tolist()


def _datetime(s: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        try:
            s = pd.to_datetime(s, format="ISO8601")
        except ValueError:  # mixed UTC offsets
            s = pd.to_datetime(s, format="ISO8601", utc=True)
    aware = getattr(typ, "timezone", False) and dialect == "postgresql"
    if s.dt.tz is not None:  # aware values are written in UTC; a naive column gets the UTC wall time
        s = s.dt.tz_convert("UTC")
        s = s if aware else s.dt.tz_localize(None)
    elif aware:
        s = s.dt.tz_localize("UTC")  # naive values for an aware column are taken as UTC
    s = s.astype("datetime64[us, UTC]" if aware else "datetime64[us]")
    with warnings.catch_warnings():  # pandas 2 warns that pandas 3 returns a Series; both work here
        warnings.simplefilter("ignore", FutureWarning)
        return np.asarray(s.dt.to_pydatetime(), dtype=object)


def _date(s: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s.dt.date.to_numpy(dtype=object)
    return _map(s.to_numpy(dtype=object), lambda v: v.date() if isinstance(v, dt.datetime) else
                v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)[:10]))


def _time(s: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    if pd.api.types.is_timedelta64_dtype(s.dtype):  # time of day as an offset from midnight
        return _map(_timedelta(s, typ, dialect), lambda d: (dt.datetime.min + d).time())
    return _map(s.to_numpy(dtype=object), lambda v: dt.time.fromisoformat(v) if isinstance(v, str) else v)


def _timedelta(s: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    deltas = s if pd.api.types.is_timedelta64_dtype(s.dtype) else pd.to_timedelta(s)
    return deltas.to_numpy(dtype="timedelta64[us]").astype(object)  # numpy yields datetime.timedelta


def _text(s: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    return s.astype(str).to_numpy(dtype=object)  # numbers, UUIDs, addresses: their text form


def _set_labels(s: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    """A MySQL SET value as its comma-separated labels (sampled SETs are lists of labels)."""
    return _map(s.to_numpy(dtype=object), lambda v: v if isinstance(v, str) else ",".join(map(str, v)))


def _uuid(s: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    if getattr(typ, "as_uuid", True):
        return _map(s.to_numpy(dtype=object), lambda v: v if isinstance(v, uuid.UUID) else uuid.UUID(str(v)))
    return _map(s.to_numpy(dtype=object), str)


_CONVERTERS: list[tuple[type | tuple[type, ...], Callable[[pd.Series, Any, str], Any]]] = [
    ((sa.Interval, postgresql.INTERVAL), _timedelta), (sa.Boolean, _boolean), (sa.Integer, _integer),
    (sa.Float, _float), (sa.Numeric, _decimal), (sa.DateTime, _datetime), (sa.Date, _date),
    (sa.Time, _time), (sa.Uuid, _uuid), (mysql.SET, _set_labels), (sa.String, _text),
]  # anything else (JSON, arrays, bytes, INET, ...) goes to the driver as it is: _plain


def _json_default(v: Any) -> Any:
    if isinstance(v, (np.generic, np.ndarray)):
        return v.tolist()
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (uuid.UUID, bytes)):
        return str(v) if isinstance(v, uuid.UUID) else v.hex()
    if isinstance(v, dt.timedelta):  # an interval (in an array written as JSON): seconds
        return v.total_seconds()
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")


def _json_dumps(v: Any) -> str:
    return json.dumps(v, default=_json_default, ensure_ascii=False)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__
