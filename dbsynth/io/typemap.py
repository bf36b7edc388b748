"""Portable column types -> SQLAlchemy types of one target dialect.

The schema model describes a type in portable terms (a kind plus its bounds);
here each kind becomes the closest type the target can store without losing
values. Where the target cannot hold the source's values exactly (an array on
MySQL, a UUID on SQLite), we still pick a type that keeps the data and return a
one-line warning so the user learns what changed.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from dbsynth.io.collations import set_collation
from dbsynth.schema.model import SqlType

MYSQL = ("mysql", "mariadb")

# InnoDB keys hold at most 3072 bytes: 768 utf8mb4 characters. A key on an
# unbounded text column needs a length; 255 keeps composite keys legal too.
MYSQL_KEY_TEXT_LENGTH = 255
# VARCHAR above this many utf8mb4 characters cannot fit a MySQL row (65,535 bytes).
_MYSQL_MAX_VARCHAR = 16_383

_FIXED_CHAR = re.compile(r"^\s*(N?CHAR|CHARACTER|BPCHAR)\b(?!\s+VARYING)", re.IGNORECASE)
# PostgreSQL's and SQLite's VARCHAR may go without a length (Rails writes `character varying` everywhere)
_VARYING = re.compile(r"^\s*(N?VARCHAR|CHARACTER\s+VARYING)\b", re.IGNORECASE)

Mapped = tuple[sa.types.TypeEngine, "str | None"]


def sa_type(t: SqlType, dialect: str, same: bool = False) -> tuple[sa.types.TypeEngine, str | None]:
    """The type to create on `dialect` for `t`, and a warning when the mapping loses something.

    `same`: the source is the same engine, so its own size classes (TEXT, MEDIUMBLOB, ...) are kept.
    """
    dialect = "mysql" if dialect in MYSQL else dialect
    if same and dialect == "mysql" and (sized := _mysql_sized(t)) is not None:
        typ, note = sized, None
    else:
        typ, note = _MAPPERS.get(t.kind, _other)(t, dialect)
    if same and t.collation and isinstance(typ, sa.String):
        # case- or accent-insensitive keys stay so; a collation's name means nothing on another engine
        set_collation(typ, t.collation, dialect)
    return typ, note


_MYSQL_SIZED = {"TINYTEXT": mysql.TINYTEXT, "MEDIUMTEXT": mysql.MEDIUMTEXT, "LONGTEXT": mysql.LONGTEXT,
                "TEXT": mysql.TEXT, "TINYBLOB": mysql.TINYBLOB, "MEDIUMBLOB": mysql.MEDIUMBLOB,
                "LONGBLOB": mysql.LONGBLOB, "BLOB": mysql.BLOB}


_MYSQL_FSP = re.compile(r"^(DATETIME|TIMESTAMP|TIME)(?:\((\d)\))?$", re.IGNORECASE)


def _mysql_sized(t: SqlType) -> sa.types.TypeEngine | None:
    """The source's own MySQL spelling where it says more than the kind: TEXT/BLOB size classes (TEXT
    holds 64 KB, LONGTEXT 4 GB) and the fractional seconds of DATETIME(n) / TIME(n)."""
    spelling = (t.source_name or "").strip()
    if t.kind == "bytes" and t.length and spelling.upper().startswith("BINARY("):
        return mysql.BINARY(t.length)  # fixed width, padded with zero bytes
    if t.kind in ("text", "bytes"):
        cls = _MYSQL_SIZED.get(spelling.split("(")[0].split(" ")[0].upper())
        return cls() if cls is not None else None
    match = _MYSQL_FSP.match(spelling)
    if t.kind in ("datetime", "time") and match:
        fsp = int(match.group(2) or 0)
        cls = {"DATETIME": mysql.DATETIME, "TIMESTAMP": mysql.TIMESTAMP, "TIME": mysql.TIME}[match.group(1).upper()]
        return cls(fsp=fsp)
    return None


def unsigned_check(t: SqlType, dialect: str) -> bool:
    """Whether a column of type `t` needs a CHECK (>= 0) on `dialect`: an unsigned integer outside MySQL."""
    return t.kind == "integer" and t.unsigned and dialect not in MYSQL


def key_safe(t: SqlType, dialect: str) -> tuple[sa.types.TypeEngine, str | None] | None:
    """A replacement type for a column used in a key or index on MySQL, where TEXT/BLOB cannot be.

    None when the normal mapping already works in a key.
    """
    if dialect not in MYSQL:
        return None
    if t.kind in ("text", "network", "other", "xml", "tsvector", "geometric") and (t.length is None or t.length > MYSQL_KEY_TEXT_LENGTH * 3):
        return (sa.String(MYSQL_KEY_TEXT_LENGTH),
                f"is in a key or index, so it becomes VARCHAR({MYSQL_KEY_TEXT_LENGTH}) on MySQL "
                f"(TEXT cannot be indexed); longer values will be rejected")
    if t.kind == "bytes" and (t.length is None or t.length > MYSQL_KEY_TEXT_LENGTH * 3):
        return (sa.VARBINARY(MYSQL_KEY_TEXT_LENGTH),
                f"is in a key or index, so it becomes VARBINARY({MYSQL_KEY_TEXT_LENGTH}) on MySQL "
                f"(BLOB cannot be indexed); longer values will be rejected")
    return None


def _integer(t: SqlType, dialect: str) -> Mapped:
    size = t.size or 32
    year = (t.source_name or "").upper().startswith("YEAR")
    if dialect == "mysql":
        if year:
            return mysql.YEAR(), None
        cls = {8: mysql.TINYINT, 16: mysql.SMALLINT, 24: mysql.MEDIUMINT, 32: mysql.INTEGER}.get(size, mysql.BIGINT)
        return cls(unsigned=t.unsigned), None
    if t.unsigned:
        # No unsigned types elsewhere: the next wider signed type holds every value; the writer adds the
        # CHECK (>= 0) that keeps the lower bound (unsigned_check).
        size = {8: 16, 16: 32, 24: 32, 32: 64}.get(size, 128)
        name = (t.source_name or "INTEGER UNSIGNED").split("(")[0].split()[0].upper()
        if size == 128:
            lossy = (", which SQLite keeps as a float above 2^63: such values lose their last digits"
                     if dialect == "sqlite" else " to keep values above 2^63")
            return sa.Numeric(20, 0), f"is {name} UNSIGNED, stored as NUMERIC(20, 0) with CHECK (>= 0){lossy}"
        wider = {16: "SMALLINT", 32: "INTEGER", 64: "BIGINT"}[size]
        typ = {16: sa.SmallInteger, 32: sa.Integer, 64: sa.BigInteger}[size]()
        return typ, f"is {name} UNSIGNED, stored as the wider {wider} with CHECK (>= 0)"
    if year:
        return sa.SmallInteger(), "is YEAR, stored as SMALLINT"
    if size <= 16:
        return sa.SmallInteger(), None
    if size <= 32:
        return sa.Integer(), None
    return sa.BigInteger(), None


def _float(t: SqlType, dialect: str) -> Mapped:
    single = t.precision is not None and t.precision <= 24
    if dialect == "mysql":
        return (mysql.FLOAT() if single else mysql.DOUBLE()), None  # MySQL's REAL means DOUBLE
    return (sa.REAL() if single else sa.Double()), None


def _decimal(t: SqlType, dialect: str) -> Mapped:
    if t.source_name == "MONEY":  # same engine: money itself (same_engine_type)
        return sa.Numeric(19, 2), ("is MONEY, stored as NUMERIC(19, 2): the amount is kept, the currency "
                                   "symbol and the locale's formatting are not")
    if dialect == "mysql" and t.precision is None:
        return (sa.Numeric(65, 30),
                "is NUMERIC without precision, stored as DECIMAL(65, 30) on MySQL; values with more digits are rounded")
    typ = sa.Numeric(t.precision, t.scale) if t.precision is not None else sa.Numeric()
    if dialect == "sqlite":
        return typ, "is DECIMAL, which SQLite stores as a float: values beyond 15 significant digits lose precision"
    return typ, None


def _boolean(t: SqlType, dialect: str) -> Mapped:
    return sa.Boolean(), None


def _date(t: SqlType, dialect: str) -> Mapped:
    return sa.Date(), None


def _datetime(t: SqlType, dialect: str) -> Mapped:
    if dialect == "mysql":
        note = ("has a time zone, which MySQL cannot store: values are written in UTC"
                if t.timezone else None)
        return mysql.DATETIME(fsp=_fsp(t)), note
    if dialect == "sqlite" and t.timezone:
        return sa.DateTime(timezone=True), "has a time zone, which SQLite cannot store: values are written in UTC"
    if dialect == "postgresql" and t.precision is not None:
        return postgresql.TIMESTAMP(timezone=t.timezone, precision=min(t.precision, 6)), None
    return sa.DateTime(timezone=t.timezone), None


def _fsp(t: SqlType) -> int:
    """MySQL's fractional-second digits: the source's where it says (at most 6), else 6 to keep microseconds."""
    return 6 if t.precision is None else min(t.precision, 6)


def _time(t: SqlType, dialect: str) -> Mapped:
    if dialect == "mysql":
        return mysql.TIME(fsp=_fsp(t)), ("has a time zone, which MySQL TIME cannot store" if t.timezone else None)
    if dialect == "postgresql" and t.precision is not None:
        return postgresql.TIME(timezone=t.timezone, precision=min(t.precision, 6)), None
    return sa.Time(timezone=t.timezone and dialect == "postgresql"), None


def _interval(t: SqlType, dialect: str) -> Mapped:
    if dialect == "postgresql":
        return postgresql.INTERVAL(), None
    extra = " with whole seconds" if dialect == "mysql" else ""
    return (sa.Interval(),
            f"is INTERVAL, stored{extra} as a DATETIME offset from 1970-01-01 (SQLAlchemy's Interval emulation)")


def _text(t: SqlType, dialect: str) -> Mapped:
    fixed = bool(t.length) and bool(_FIXED_CHAR.match(t.source_name or ""))
    if t.length is None and dialect != "mysql" and _VARYING.match(t.source_name or ""):
        return sa.String(), None
    if t.length is None or (dialect == "mysql" and t.length > _MYSQL_MAX_VARCHAR):
        return (mysql.LONGTEXT() if dialect == "mysql" else sa.Text()), None
    return (sa.CHAR(t.length) if fixed else sa.String(t.length)), None


def _bytes(t: SqlType, dialect: str) -> Mapped:
    if dialect == "mysql":
        if t.length is not None and t.length <= _MYSQL_MAX_VARCHAR * 4:
            return sa.VARBINARY(t.length), None
        return mysql.LONGBLOB(), None
    if t.length is not None:  # values stay within the bound; the target just does not say so
        return sa.LargeBinary(), (f"is {t.source_name or 'binary'} of at most {t.length} bytes; "
                                  f"{'bytea' if dialect == 'postgresql' else 'BLOB'} has no such bound")
    return sa.LargeBinary(), None


def _json(t: SqlType, dialect: str) -> Mapped:
    # none_as_null: a missing value is SQL NULL, not the JSON literal 'null'.
    if dialect == "postgresql":
        if "JSONB" in (t.source_name or "").upper():
            return postgresql.JSONB(none_as_null=True), None
        return postgresql.JSON(none_as_null=True), None
    return sa.JSON(none_as_null=True), None


def _uuid(t: SqlType, dialect: str) -> Mapped:
    if dialect == "postgresql":
        return sa.Uuid(), None
    # Text with dashes is what applications on these databases read and write.
    return sa.String(36), "is UUID, stored as CHAR(36) text with dashes"


def _enum(t: SqlType, dialect: str) -> Mapped:
    if not t.values:
        return sa.Text(), "is an enum without labels, created as TEXT"
    typ = sa.Enum(*t.values, name=t.enum_name, create_constraint=False, native_enum=True)
    if dialect == "sqlite":
        return typ, "is an enum, which SQLite stores as VARCHAR without a check on its labels"
    return typ, None


def _array(t: SqlType, dialect: str) -> Mapped:
    if t.values:  # a MySQL SET: a subset of its labels, written as 'a,b' text there, as a list elsewhere
        if dialect == "mysql":
            return mysql.SET(*t.values), None
        if dialect == "postgresql":
            return postgresql.ARRAY(sa.Text()), "is a SET, stored as an array of its labels"
        return sa.JSON(none_as_null=True), "is a SET, stored as a JSON list of its labels"
    item = t.item or SqlType("text")
    if dialect == "postgresql":
        item_type, note = sa_type(item, dialect)
        if isinstance(item_type, sa.ARRAY) or item.kind == "array":
            item_type, note = sa.Text(), "is a nested array, created as an array of TEXT"
        return postgresql.ARRAY(item_type), note
    return sa.JSON(none_as_null=True), "is an array, stored as a JSON list"


def _network(t: SqlType, dialect: str) -> Mapped:
    name = (t.source_name or "INET").upper()
    if dialect == "postgresql":
        for key, typ in (("MACADDR8", postgresql.MACADDR8), ("MACADDR", postgresql.MACADDR),
                         ("CIDR", postgresql.CIDR)):
            if key in name:
                return typ(), None
        return postgresql.INET(), None
    return sa.String(50), f"is {name.split('(')[0]}, stored as VARCHAR(50) text"


def _bit(t: SqlType, dialect: str) -> Mapped:
    from dbsynth.schema.types import is_varying_bit

    varying, n = is_varying_bit(t), t.length
    spelling = f"BIT{' VARYING' if varying else ''}{f'({n})' if n else ''}"
    if dialect == "postgresql":
        return postgresql.BIT(n, varying=varying) if n or varying else postgresql.BIT(1), None
    if dialect == "mysql" and not varying and n and n <= 64:
        return mysql.BIT(n), None
    text = sa.String(n) if n else sa.Text()
    return text, f"is {spelling}, stored as {'VARCHAR(' + str(n) + ')' if n else 'TEXT'} of 0/1 digits"


class RangeJson(sa.JSON):
    """A PostgreSQL range on another engine: a JSON object {"lower", "upper", "bounds"} or {"empty": true}."""

    cache_ok = True


def _range(t: SqlType, dialect: str) -> Mapped:
    # one JSON column (not two columns): the row keeps its shape and bounds/emptiness/infinity survive
    return RangeJson(none_as_null=True), (f"is {t.source_name}, stored as JSON {{\"lower\", \"upper\", "
                                          f"\"bounds\"}} ({{\"empty\": true}} for an empty range; a missing end "
                                          f"is infinite)")


def _geometric(t: SqlType, dialect: str) -> Mapped:
    shape = (t.source_name or "point").upper()
    form = {"POINT": "'(x,y)'", "BOX": "'(x2,y2),(x1,y1)'", "CIRCLE": "'<(x,y),r>'"}.get(shape, "text")
    return sa.String(200), f"is {shape}, stored as its text {form} in VARCHAR(200)"


def _xml(t: SqlType, dialect: str) -> Mapped:
    return (mysql.LONGTEXT() if dialect == "mysql" else sa.Text()), "is XML, stored as text (well-formed XML)"


def _tsvector(t: SqlType, dialect: str) -> Mapped:
    return ((mysql.LONGTEXT() if dialect == "mysql" else sa.Text()),
            "is TSVECTOR, stored as its text form ('lexeme' 'lexeme'); text search on it is not recreated")


class CompositeJson(sa.JSON):
    """A PostgreSQL composite value on another engine: a JSON object of its fields."""

    cache_ok = True


class CompositeType(sa.types.UserDefinedType):
    """A PostgreSQL composite type by its (schema-qualified) name; values are written as record literals."""

    cache_ok = True

    def __init__(self, schema: str | None, name: str) -> None:
        self.schema, self.name = schema, name

    def get_col_spec(self, **kw: object) -> str:
        prep = postgresql.dialect().identifier_preparer
        return f"{prep.quote_schema(self.schema)}.{prep.quote(self.name)}" if self.schema else prep.quote(self.name)


def composite_location(t: SqlType) -> tuple[str | None, str]:
    """(schema, name) of a composite type from its catalog spelling 'public.postal'."""
    schema, _, name = (t.source_name or "").rpartition(".")
    return schema.strip('"') or None, name.strip('"')


def _composite(t: SqlType, dialect: str) -> Mapped:
    return CompositeJson(none_as_null=True), (f"has the composite type {t.source_name}, stored as a JSON object "
                                              f"of its fields")


def _other(t: SqlType, dialect: str) -> Mapped:
    return sa.Text(), f"has type {t.source_name or t.kind!r} with no portable equivalent, created as TEXT"


class CatalogType(sa.types.UserDefinedType):
    """A type the target engine knows by the source's own spelling (tsvector, point, GEOMETRY)."""

    cache_ok = True

    def __init__(self, spelling: str) -> None:
        self.spelling = spelling

    def get_col_spec(self, **kw: object) -> str:
        return self.spelling


_PG_OWN_KINDS = ("range", "geometric", "xml", "tsvector")


def same_engine_type(t: SqlType) -> sa.types.TypeEngine | None:
    """The source's own type for a kind-"other" column on the same engine (and for the PostgreSQL kinds
    dbsynth generates as text: ranges, point, xml, tsvector, bits, money); None for a user's or an
    extension's type (a schema-qualified name), which the target may lack."""
    name = t.source_name
    if t.kind == "composite":   # created in the target from the source's definition (io.ddl)
        return CompositeType(*composite_location(t))
    if (t.kind in _PG_OWN_KINDS and t.kind != "bit" and name and "." not in name) \
            or (t.kind == "decimal" and name == "MONEY"):
        return CatalogType(name.lower())
    if t.kind != "other" or not name or "." in name or name == "NULLTYPE":
        return None
    return CatalogType(name)


_MAPPERS = {
    "integer": _integer, "float": _float, "decimal": _decimal, "boolean": _boolean,
    "date": _date, "datetime": _datetime, "time": _time, "interval": _interval,
    "text": _text, "bytes": _bytes, "json": _json, "uuid": _uuid, "enum": _enum,
    "array": _array, "network": _network, "bit": _bit, "range": _range, "geometric": _geometric, "xml": _xml,
    "tsvector": _tsvector, "composite": _composite, "other": _other,
}
