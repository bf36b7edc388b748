"""Where a source table lives in a database of a given engine, and reflecting tables from there.

The schema model names a table "schema.table" outside the default namespace
(see `schema.model.qualified_name`). PostgreSQL keeps the namespace. MySQL has
no namespaces inside a database (its "schema" is the database, and the source's
database name could be the source itself) and SQLite has none: there the table
is called "schema_table" in the default database, and a warning says so.

`dbsynth refresh` writes a PostgreSQL target's new tables beside the old ones:
inside `relocated({...})` a namespace is written to (and read from) another
one, its shadow, so the write stage needs no knowledge of refreshing.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from dbsynth.io.inheritance import mark_inherited
from dbsynth.schema.model import Schema, Table, View


def keeps_namespaces(dialect: str) -> bool:
    return dialect == "postgresql"


_RELOCATED: ContextVar[Mapping[str, str]] = ContextVar("dbsynth_relocated_namespaces", default={})


@contextmanager
def relocated(namespaces: Mapping[str, str]) -> Iterator[None]:
    """Within the block, tables of namespace N are written to and read from namespaces[N] (PostgreSQL)."""
    token = _RELOCATED.set(dict(namespaces))
    try:
        yield
    finally:
        _RELOCATED.reset(token)


def located(schema: str | None, local: str, dialect: str) -> tuple[str | None, str]:
    """(namespace, name) of a source table or view of namespace `schema` on `dialect`."""
    if not schema:
        return None, local
    if keeps_namespaces(dialect):
        return _RELOCATED.get().get(schema, schema), local
    return None, f"{schema}_{local}"


def relocated_sql(text: str) -> str:
    """An expression of the source (a default, a CHECK, a generated column) naming the relocated namespaces'
    objects in their shadows instead: 'prospect'::core.status -> 'prospect'::"dbsynth_shadow_core".status.

    PostgreSQL stores such expressions by OID, so they follow the objects when the shadow is moved in.
    """
    namespaces = _RELOCATED.get()
    if not namespaces or not text:
        return text
    parts = re.split(r"('(?:[^']|'')*')", text)   # string literals are left alone
    for namespace, shadow in namespaces.items():
        quoted = '"' + shadow.replace('"', '""') + '".'
        pattern = '"' + re.escape(namespace.replace('"', '""')) + '"\\.'
        if re.fullmatch(r"[a-z_][a-z0-9_$]*", namespace):
            pattern = f"(?:{pattern}|(?<![\\w.\"$]){re.escape(namespace)}\\.)"
        parts = [p if p.startswith("'") else re.sub(pattern, lambda _: quoted, p) for p in parts]
    return "".join(parts)


def located_table(table: Table | View, dialect: str) -> tuple[str | None, str]:
    return located(table.schema, table.local_name, dialect)


def namespace_notes(schema: Schema, dialect: str) -> list[str]:
    """One warning per namespace flattened into prefixed table names on `dialect`."""
    if keeps_namespaces(dialect):
        return []
    spaces = sorted({t.schema for t in schema.tables if t.schema})
    return [f"schema {s}: {dialect} has no namespaces inside a database, so its tables are written as "
            f"{s}_<table> (e.g. {located(s, next(t.local_name for t in schema.tables if t.schema == s), dialect)[1]})"
            for s in spaces]


def reflect_tables(engine: sa.Engine, schema: Schema, reading: bool = False) -> dict[str, sa.Table]:
    """The database's tables for every table of `schema`, keyed by the model's (qualified) name.

    `reading`: the tables only select rows, so a binary-charset ENUM/SET may read its labels as text."""
    dialect = engine.dialect.name
    where = {t.name: located_table(t, dialect) for t in schema.tables}
    metadata = sa.MetaData()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=sa.exc.SAWarning)  # SQLite Decimal notices, unknown types
        for namespace in dict.fromkeys(ns for ns, _ in where.values()):
            only = [name for ns, name in where.values() if ns == namespace]
            metadata.reflect(engine, schema=namespace, only=only)
    for table in metadata.tables.values():
        for col in table.columns:
            if isinstance(col.type, postgresql.MONEY):
                col.type = MoneyAsNumeric()
            elif reading and isinstance(col.type, (mysql.ENUM, mysql.SET)) and _binary(col.type, table):
                col.type = BinaryLabels(col.type)
            elif reading and dialect == "sqlite" and isinstance(col.type, (sa.DateTime, sa.Date, sa.Time)):
                col.type = LenientSqliteTime(col.type)
            elif reading and dialect == "sqlite" and isinstance(col.type, sa.Numeric) \
                    and not isinstance(col.type, sa.Float):
                col.type = LenientSqliteDecimal()
    found = {key: metadata.tables[f"{ns}.{name}" if ns else name] for key, (ns, name) in where.items()}
    mark_inherited(found, schema)   # PostgreSQL inheritance parents are read FROM ONLY (`io.inheritance`)
    return found


def _binary(typ: sa.types.TypeEngine, table: sa.Table) -> bool:
    """A MySQL ENUM/SET in the binary charset (MediaWiki creates every table with DEFAULT CHARSET=binary)."""
    charset = getattr(typ, "charset", None) or table.dialect_options["mysql"].get("default charset") \
        or table.kwargs.get("mysql_default charset")
    return str(charset or "").lower() == "binary"


class BinaryLabels(sa.types.TypeDecorator):
    """A binary-charset ENUM/SET read as text: the driver returns its labels as bytes (b'subcat'), which
    SQLAlchemy's Enum refuses as "not among the defined enum values"; written as the plain label text."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, original: sa.types.TypeEngine) -> None:
        super().__init__()
        self.original = original

    def process_result_value(self, value: object, dialect: sa.engine.Dialect) -> object:
        if isinstance(value, (bytes, bytearray)):
            return bytes(value).decode("utf-8", "replace")
        if isinstance(value, set):   # SET: PyMySQL gives a set of bytes labels
            return {bytes(v).decode("utf-8", "replace") if isinstance(v, (bytes, bytearray)) else v for v in value}
        return value


class LenientSqliteTime(sa.types.TypeDecorator):
    """A SQLite DATETIME/DATE/TIME column read whatever it holds: SQLite keeps any value in any column, and
    applications often store unix times (integers) in a DATETIME column, which SQLAlchemy's ISO-text parser
    refuses with a TypeError. ISO text is parsed as SQLAlchemy does; a number is read as a unix time (seconds,
    or milliseconds/microseconds by its size), in UTC; anything else is left for the codecs to judge."""

    impl = sa.Text   # no result processing of its own: the value arrives as SQLite stored it
    cache_ok = True

    def __init__(self, original: sa.types.TypeEngine) -> None:
        super().__init__()
        self.original = original

    def process_result_value(self, value: object, dialect: sa.engine.Dialect) -> object:
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
            while abs(seconds) > 1e11:   # milliseconds, microseconds (Firefox's PRTime)
                seconds /= 1000
            moment = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)
            if isinstance(self.original, sa.DateTime):
                return moment
            return moment.date() if isinstance(self.original, sa.Date) else moment.time()
        if isinstance(value, str):
            parse = self.original.result_processor(dialect, None)
            try:
                return parse(value) if parse else value
            except ValueError:
                return value
        return value


class LenientSqliteDecimal(sa.types.TypeDecorator):
    """A SQLite NUMERIC/DECIMAL column read whatever it holds: numbers become Decimals as SQLAlchemy makes them;
    text ('12.5', or 'n/a' that an application stored there) is left for the codecs, which read what is not a
    number as NULL, where SQLAlchemy's own processor stopped the clone with a TypeError."""

    impl = sa.Text
    cache_ok = True

    def process_result_value(self, value: object, dialect: sa.engine.Dialect) -> object:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return decimal.Decimal(repr(value)) if isinstance(value, float) else decimal.Decimal(value)
        return value


class MoneyAsNumeric(sa.types.TypeDecorator):
    """PostgreSQL money read as numeric: the driver returns money as locale text ('$1,234.50')."""

    impl = sa.Numeric
    cache_ok = True

    def column_expression(self, col: sa.ColumnElement) -> sa.ColumnElement:  # type: ignore[override]
        return sa.cast(col, sa.Numeric(19, 2))
