"""SQLAlchemy (reflected, dialect-specific) types -> portable SqlType.

One place decides what *kind* of values a column holds; codecs and the writer
both key off that kind, so adding a type is a change here and nowhere else.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from dbsynth.schema.model import SqlType

_INT_SIZES: list[tuple[type, int]] = [
    (mysql.TINYINT, 8), (sa.SmallInteger, 16), (mysql.MEDIUMINT, 24), (sa.BigInteger, 64), (sa.Integer, 32),
]


def classify(t: sa.types.TypeEngine, dialect: sa.engine.Dialect) -> SqlType:
    """The SqlType of a reflected column type."""
    if isinstance(t, postgresql.DOMAIN):
        # A domain is its base type (what its values are). SQLAlchemy reflects the base type without
        # its modifiers (varchar(6) arrives as VARCHAR); introspect puts them back from the catalog and
        # turns the domain's CHECKs into column CHECKs.
        return classify(t.data_type, dialect)
    source_name = _compile(t, dialect)
    if isinstance(t, postgresql.ARRAY) or isinstance(t, sa.ARRAY):
        return SqlType("array", source_name, item=classify(t.item_type, dialect))
    if isinstance(t, postgresql.MONEY):  # 8-byte integer of cents: numeric(19, 2) holds every value
        return SqlType("decimal", "MONEY", precision=19, scale=2)
    if isinstance(t, (postgresql.BIT, mysql.BIT)):
        return SqlType("bit", source_name, length=getattr(t, "length", None))
    if isinstance(t, postgresql.ranges.AbstractSingleRange):
        return SqlType("range", source_name.lower())
    if isinstance(t, postgresql.TSVECTOR):
        return SqlType("tsvector", "tsvector")
    if isinstance(t, mysql.TINYINT) and getattr(t, "display_width", None) == 1:
        return SqlType("boolean", source_name)
    if isinstance(t, sa.Boolean):
        return SqlType("boolean", source_name)
    if isinstance(t, sa.Enum):
        return SqlType("enum", source_name, enum_name=t.name, values=tuple(t.enums),
                       enum_schema=getattr(t, "schema", None))   # ref.status used by sales.orders
    if isinstance(t, mysql.SET):
        return SqlType("array", source_name, values=tuple(t.values), item=SqlType("text"))
    if isinstance(t, mysql.YEAR):  # 1901..2155 (or 0000): a small integer everywhere else
        return SqlType("integer", source_name, size=16)
    if isinstance(t, sa.Integer):
        size = next((bits for cls, bits in _INT_SIZES if isinstance(t, cls)), 32)
        return SqlType("integer", source_name, size=size, unsigned=bool(getattr(t, "unsigned", False)))
    if isinstance(t, sa.Numeric) and not isinstance(t, sa.Float):
        if t.scale == 0 and t.precision is not None and t.precision <= 18:
            return SqlType("decimal", source_name, precision=t.precision, scale=0)
        return SqlType("decimal", source_name, precision=t.precision, scale=t.scale)
    if isinstance(t, sa.Float):
        # PostgreSQL REAL and MySQL FLOAT are 4 bytes; SQLite's REAL is 8
        single = isinstance(t, (sa.REAL, mysql.FLOAT)) and not isinstance(t, mysql.DOUBLE) and dialect.name != "sqlite"
        return SqlType("float", source_name, precision=t.precision or (24 if single else 53))
    if isinstance(t, sa.DateTime):
        return SqlType("datetime", source_name, timezone=bool(t.timezone), precision=_fractional_digits(t, dialect))
    if isinstance(t, sa.Date):
        return SqlType("date", source_name)
    if isinstance(t, sa.Time):
        return SqlType("time", source_name, timezone=bool(getattr(t, "timezone", False)),
                       precision=_fractional_digits(t, dialect))
    if isinstance(t, sa.Interval) or isinstance(t, postgresql.INTERVAL):
        return SqlType("interval", source_name)
    if isinstance(t, sa.JSON):
        return SqlType("json", source_name)
    if isinstance(t, sa.Uuid) or isinstance(t, postgresql.UUID):
        return SqlType("uuid", source_name)
    if isinstance(t, (postgresql.INET, postgresql.CIDR, postgresql.MACADDR, postgresql.MACADDR8)):
        return SqlType("network", source_name)
    if isinstance(t, (sa.LargeBinary, sa.types._Binary)):
        return SqlType("bytes", source_name, length=getattr(t, "length", None))
    if isinstance(t, sa.String):  # a column's own collation decides which values are equal in its keys
        return SqlType("text", source_name, length=t.length, collation=getattr(t, "collation", None) or None)
    return SqlType("other", source_name)


def _fractional_digits(t: sa.types.TypeEngine, dialect: sa.engine.Dialect) -> int | None:
    """Digits of fractional seconds a timestamp/time column keeps, when its type says: timestamp(0) holds whole
    seconds and MySQL's bare DATETIME too (fsp 0), so the target must not gain (or lose) digits. None: the default."""
    digits = getattr(t, "precision", None) if dialect.name == "postgresql" else getattr(t, "fsp", None)
    if digits is None and dialect.name in ("mysql", "mariadb") and isinstance(t, (mysql.DATETIME, mysql.TIMESTAMP,
                                                                                  mysql.TIME)):
        return 0
    return digits if isinstance(digits, int) else None


# PostgreSQL types SQLAlchemy reflects as NullType, known by the catalog's spelling (format_type)
_CATALOG_KINDS = {"point": "geometric", "box": "geometric", "circle": "geometric", "xml": "xml",
                  "tsvector": "tsvector"}


def refine_catalog(t: SqlType) -> SqlType:
    """A kind-"other" type named by the catalog (point, box, circle, xml) as the kind dbsynth generates, if any."""
    kind = _CATALOG_KINDS.get((t.source_name or "").lower())
    return SqlType(kind, t.source_name.lower()) if t.kind == "other" and kind else t  # type: ignore[arg-type]


def type_of_spelling(spelling: str) -> SqlType:
    """The SqlType of a PostgreSQL type named by format_type ('character varying(20)', 'numeric(5,2)'),
    for the fields of a composite type, which SQLAlchemy does not reflect."""
    dialect = postgresql.dialect()
    name, _, args = spelling.partition("(")
    cls = postgresql.base.ischema_names.get(name.strip().lower().removesuffix("[]"))
    if cls is None or name.strip().endswith("[]"):
        return refine_catalog(SqlType("other", spelling))
    numbers = [int(a) for a in args.rstrip(")").split(",") if a.strip().isdigit()]
    try:
        if issubclass(cls, (sa.DateTime, sa.Time)):
            typ = cls(timezone="with time zone" in spelling)
        else:
            typ = cls(*numbers) if numbers else cls()
    except TypeError:
        typ = cls()
    sql_type = classify(typ, dialect)
    keep = sql_type.kind == "other" or sql_type.source_name == "MONEY"
    return sql_type if keep else dataclasses.replace(sql_type, source_name=spelling)


def is_varying_bit(t: SqlType) -> bool:
    """bit varying(n) / varbit (any length up to n) rather than bit(n) / BIT(n) (exactly n)."""
    name = (t.source_name or "").upper()
    return "VARYING" in name or "VARBIT" in name


def _compile(t: sa.types.TypeEngine, dialect: sa.engine.Dialect) -> str:
    try:
        return t.compile(dialect=dialect)
    except Exception:  # NullType and exotic types cannot always be compiled
        return type(t).__name__.upper()
