"""Bulk loading of sampled frames into the target, and the fix-ups after it.

The write stage should run at the database's own bulk-load speed: COPY on
PostgreSQL (psycopg 3) fed with text built a column at a time
(:mod:`dbsynth.io.copytext`), multi-row INSERTs spelled a column at a time on
MySQL/MariaDB (:mod:`dbsynth.io.mysqltext`; `benchmarks/mariadb_load.py`), the
DBAPI's own executemany with row tuples on SQLite, never a round trip or a dict
per row. Values are converted a column at a time by
:mod:`dbsynth.io.values`, from pandas' representation (NaN, NaT, pd.NA, numpy
scalars, Timestamps) to what the target column's type takes.

Transactions: on PostgreSQL and SQLite the caller runs create_schema, every
insert, every update and reset_sequences in ONE transaction, so a failure leaves
nothing behind (SQLite needs :func:`make_transactional` for that). MySQL and
MariaDB commit every DDL statement implicitly: there the caller must drop the
tables it created when the load fails (``ddl.drop_tables``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import sqlalchemy as sa
from psycopg import sql

from dbsynth.errors import DbsynthError, SchemaError
from dbsynth.io.copytext import copy_text
from dbsynth.io.mysqltext import insert_statements
from dbsynth.io.values import bind_values, convert, json_dumps

__all__ = ["insert_frame", "make_transactional", "reset_sequences", "transactional_ddl", "update_rows"]


_COPY_CHUNK = 4 << 20  # bytes of COPY text a write: big enough to amortise, small enough to stream


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


def insert_frame(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame,
                 batch_rows: int | None = None) -> int:
    """Write every row of `frame` into `table`; returns the number of rows written.

    The frame's columns must be columns of the table; generated columns are
    skipped, since the database computes them. JSON and array cells are decoded
    Python values: a str is a JSON string, not JSON text to parse. `batch_rows` fixes the
    rows converted and sent at a time (default: sized for a few MB of COPY text, or 10,000
    rows a batch elsewhere).
    """
    names = _writable(table, frame)
    if frame.empty or not names:
        return 0
    with _failure(f"writing table {table.fullname}", _driver_error(conn)):
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
    with _failure(f"updating table {table.fullname}", _driver_error(conn)):
        if conn.dialect.name == "sqlite":
            return _update_many(conn, table, frame, keys, values)
        return _update_via_staging(conn, table, frame, keys, values)


def reset_sequences(conn: sa.Connection, metadata: sa.MetaData | Iterable[sa.Table]) -> None:
    """Point every auto-increment counter past the loaded keys (of `metadata`'s tables, or of these), so the
    application can insert.

    SQLite needs nothing: an INTEGER PRIMARY KEY takes max(rowid) + 1, and an
    AUTOINCREMENT table's sqlite_sequence follows explicitly inserted keys.
    """
    dialect = conn.dialect.name
    tables = metadata.tables.values() if isinstance(metadata, sa.MetaData) else metadata
    for table in tables:  # order is irrelevant; sorted_tables warns on cycles
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
def _failure(what: str, driver_error: type[Exception] = psycopg.Error) -> Iterator[None]:
    """Driver errors become one line naming the table; the caller's transaction still rolls back."""
    try:
        yield
    except (sa.exc.DBAPIError, psycopg.Error, driver_error) as exc:
        raise DbsynthError(f"{what} failed: {_first_line(exc)}") from exc


def _insert(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame, batch_rows: int | None) -> None:
    if not conn.in_transaction():
        conn.begin()  # a raw COPY must run inside the transaction SQLAlchemy commits
    names = list(frame.columns)
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur:
            _copy(cur, table, [table.c[n] for n in names], frame, batch_rows)
        return
    batch_rows = batch_rows or 10_000
    if conn.dialect.name in ("mysql", "mariadb"):
        _keep_zero_keys(conn)
        if conn.dialect.driver == "pymysql":
            _multirow_insert(conn, table, names, frame, batch_rows)
            return
    if conn.dialect.name == "sqlite" and conn.dialect.paramstyle == "qmark":
        _executemany(conn, table, names, frame, batch_rows)
        return
    stmt = table.insert().values({n: _bind(table.c[n], n) for n in names})
    for start in range(0, len(frame), batch_rows):
        conn.execute(stmt, _records(frame.iloc[start:start + batch_rows], table, names, conn.dialect.name))


def _executemany(conn: sa.Connection, table: sa.Table, names: list[str], frame: pd.DataFrame,
                 batch_rows: int) -> None:
    """SQLite: the DBAPI's own executemany with row tuples, inside the open transaction.

    Values are prepared a column at a time (dbsynth.io.values.bind_values), never a
    dict per row.
    """
    q = conn.dialect.identifier_preparer
    target = f"{q.format_table(table)} ({', '.join(q.quote(n) for n in names)})"
    statement = f"INSERT INTO {target} VALUES ({', '.join(['?'] * len(names))})"
    columns = [table.c[n] for n in names]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(frame), batch_rows):
            chunk = frame.iloc[start:start + batch_rows]
            values = [bind_values(chunk[c.name], c, conn.dialect) for c in columns]
            cursor.executemany(statement, list(zip(*values)))
    finally:
        cursor.close()


def _multirow_insert(conn: sa.Connection, table: sa.Table, names: list[str], frame: pd.DataFrame,
                     batch_rows: int) -> None:
    """MySQL/MariaDB with PyMySQL: multi-row INSERTs spelled a column at a time (dbsynth.io.mysqltext).

    Values are those SQLAlchemy would bind (dbsynth.io.values.bind_values); each statement
    stays below the server's max_allowed_packet.
    """
    q = conn.dialect.identifier_preparer
    prefix = f"INSERT INTO {q.format_table(table)} ({', '.join(q.quote(n) for n in names)}) VALUES "
    prefix = prefix.replace("%%", "%")  # the preparer doubles % for pyformat; this text is sent without arguments
    columns = [table.c[n] for n in names]
    max_bytes = _statement_bytes(conn)
    raw: Any = conn.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        for start in range(0, len(frame), batch_rows):
            chunk = frame.iloc[start:start + batch_rows]
            values = [_zero_dates(bind_values(chunk[c.name], c, conn.dialect), c) for c in columns]
            for statement in insert_statements(prefix, values, raw, max_bytes):
                cursor.execute(statement)  # no arguments: PyMySQL sends the text as it is
    finally:
        cursor.close()


def _keep_zero_keys(conn: sa.Connection) -> None:
    """An explicit 0 in an AUTO_INCREMENT column means "the next value" to MySQL unless NO_AUTO_VALUE_ON_ZERO
    is set: a key 0 (TPC-H's first region) would become 1 and collide with the next row. The zero dates a
    column defaults to are written back (`_zero_dates`), so NO_ZERO_DATE must not refuse them."""
    conn.exec_driver_sql("SET SESSION sql_mode = CONCAT_WS(',', NULLIF(REPLACE(REPLACE(REPLACE(@@SESSION.sql_mode, "
                         "'NO_ZERO_IN_DATE', ''), 'NO_ZERO_DATE', ''), ',,', ','), ''), 'NO_AUTO_VALUE_ON_ZERO')")


def _zero_dates(values: list[Any], column: sa.Column) -> list[Any]:
    """A column defaulting to MySQL's zero date gets it where the source had it (generated as NULL)."""
    zero = column.info.get("dbsynth_zero_date")
    return values if zero is None else [zero if v is None else v for v in values]


def _statement_bytes(conn: sa.Connection) -> int:
    """The longest multi-row INSERT to send MySQL: 4 MB, less where max_allowed_packet is smaller."""
    packet = int(conn.exec_driver_sql("SELECT @@max_allowed_packet").scalar() or 1 << 20)
    return max(1024, min(4 << 20, packet - (64 << 10) if packet > 128 << 10 else packet // 2))


def _driver_error(conn: sa.Connection) -> type[Exception]:
    """The DBAPI module's Error class: raw cursors raise it without SQLAlchemy's wrapping."""
    return getattr(conn.dialect.loaded_dbapi, "Error", psycopg.Error)


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


def _copy(cur: Any, table: sa.Table, columns: list[sa.Column], frame: pd.DataFrame,
          batch_rows: int | None) -> None:
    """One COPY ... FROM STDIN for the whole frame, written as text a few MB at a time.

    The text is built column-wise (dbsynth.io.copytext); with no `batch_rows`, each write
    holds about _COPY_CHUNK bytes, sized from the first rows.
    """
    target = sql.Identifier(table.schema, table.name) if table.schema else sql.Identifier(table.name)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        target, sql.SQL(", ").join(sql.Identifier(c.name) for c in columns))
    rows = batch_rows or 1_000
    with cur.copy(statement) as copy:
        start = 0
        while start < len(frame):
            text = copy_text(frame.iloc[start:start + rows], columns)
            copy.write(text)
            done = min(rows, len(frame) - start)
            start += done
            if batch_rows is None:  # aim at _COPY_CHUNK bytes a write
                rows = max(1_000, min(200_000, _COPY_CHUNK * done // max(len(text), 1)))


# -- executemany --------------------------------------------------------------

def _bind(col: sa.Column, name: str) -> sa.BindParameter[Any]:
    """JSON goes in as text we serialised ourselves (numpy scalars and all), so NULL stays SQL NULL."""
    if isinstance(col.type, sa.JSON):
        return sa.bindparam(name, type_=sa.Text())
    return sa.bindparam(name, type_=col.type)


def _records(frame: pd.DataFrame, table: sa.Table, names: list[str], dialect: str) -> list[dict[str, Any]]:
    arrays = [convert(frame[n], table.c[n], dialect) for n in names]
    arrays = [np.fromiter((None if v is None else json_dumps(v) for v in a), dtype=object) if isinstance(table.c[n].type, sa.JSON) else a for a, n in zip(arrays, names)]
    return [dict(zip(names, row)) for row in zip(*arrays)]


# -- value conversion ---------------------------------------------------------

def _writable(table: sa.Table, frame: pd.DataFrame) -> list[str]:
    unknown = [c for c in frame.columns if c not in table.c]
    if unknown:
        raise SchemaError(f"table {table.fullname} has no column {unknown[0]!r} to write; "
                          f"the sampled data and the target schema disagree")
    return [c for c in frame.columns if table.c[c].computed is None]


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__
