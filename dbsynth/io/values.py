"""Sampled pandas values -> the plain Python values database drivers take, a column at a time.

Pandas holds missing values as NaN, NaT or pd.NA and numbers as numpy scalars;
drivers want None and Python objects of the target column's type. Converters see
only the present values of a whole column (vectorised where pandas can), so the
same rules serve every path: executemany batches, COPY's fallbacks, UPDATE fix-ups.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from dbsynth.errors import SchemaError
from dbsynth.io.typemap import CompositeType, RangeJson

__all__ = ["conversion_error", "convert", "convert_present", "json_dumps", "missing", "objects", "utc_datetimes", "bind_values"]


def convert(series: pd.Series, col: sa.Column, dialect: str) -> np.ndarray:
    """Driver-ready Python values for `col`: every kind of missing (NaN, NaT, pd.NA) becomes None."""
    mask = missing(series)
    out = np.full(len(series), None, dtype=object)
    out[~mask] = objects(convert_present(series[~mask], col, dialect))
    return out


def missing(series: pd.Series) -> np.ndarray:
    """Per cell: NaN, NaT, pd.NA and None are missing; a list holding NaN is a value."""
    return series.isna().to_numpy(dtype=bool)


def convert_present(values: pd.Series, col: sa.Column, dialect: str) -> Any:
    """`col`'s converter applied to a whole column of present values; a failure names the column."""
    typ = col.type
    fn = next((fn for cls, fn in _CONVERTERS if isinstance(typ, cls)), _plain)
    try:
        return fn(values, typ, dialect)
    except (ValueError, TypeError, ArithmeticError, OverflowError) as exc:
        raise conversion_error(col, exc) from exc


def conversion_error(col: sa.Column, exc: Exception) -> SchemaError:
    return SchemaError(f"column {col.table.name}.{col.name}: cannot convert sampled values to {col.type}: {exc}")


def objects(values: Any) -> np.ndarray:
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
    s = utc_datetimes(s, aware=bool(getattr(typ, "timezone", False)) and dialect == "postgresql")
    with warnings.catch_warnings():  # pandas 2 warns that pandas 3 returns a Series; both work here
        warnings.simplefilter("ignore", FutureWarning)
        return np.asarray(s.dt.to_pydatetime(), dtype=object)


def utc_datetimes(s: pd.Series, aware: bool) -> pd.Series:
    """Microsecond datetimes: in UTC for an `aware` column, else naive (aware values as their UTC wall time)."""
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        try:
            s = pd.to_datetime(s, format="ISO8601")
        except ValueError:  # mixed UTC offsets
            s = pd.to_datetime(s, format="ISO8601", utc=True)
    if s.dt.tz is not None:  # aware values are written in UTC; a naive column gets the UTC wall time
        s = s.dt.tz_convert("UTC")
        s = s if aware else s.dt.tz_localize(None)
    elif aware:
        s = s.dt.tz_localize("UTC")  # naive values for an aware column are taken as UTC
    return s.astype("datetime64[us, UTC]" if aware else "datetime64[us]")


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


def _range_json(s: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    """A range (its PostgreSQL text '[1,5)') as the JSON object another engine stores: numbers stay numbers."""
    from dbsynth.codecs.pairs import parse_range

    def as_object(v: Any) -> Any:
        parts = parse_range(v)
        if parts is None:
            return None
        empty, lower, upper, bounds = parts
        return {"empty": True} if empty else {"lower": _json_scalar(lower), "upper": _json_scalar(upper),
                                              "bounds": bounds}
    return _map(s.to_numpy(dtype=object), as_object)


def _json_scalar(v: Any) -> Any:
    if not isinstance(v, str):
        return v if v is None or isinstance(v, (int, float)) else str(v)
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def _record(s: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    """A composite value (a dict of its fields) as PostgreSQL's record literal."""
    from dbsynth.codecs.composite import record_literal

    return _map(s.to_numpy(dtype=object), lambda v: record_literal(list(v.values())) if isinstance(v, dict) else v)


def _bits_number(s: pd.Series, typ: Any, dialect: str) -> np.ndarray:
    """MySQL/MariaDB BIT(n) takes the number whose binary digits the 0/1 text spells."""
    return _map(s.to_numpy(dtype=object), lambda v: v if isinstance(v, int) else int(str(v), 2))


_CONVERTERS: list[tuple[type | tuple[type, ...], Callable[[pd.Series, Any, str], Any]]] = [
    (RangeJson, _range_json), (mysql.BIT, _bits_number), (CompositeType, _record),
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


def json_dumps(v: Any) -> str:
    return json.dumps(v, default=_json_default, ensure_ascii=False)



def bind_values(series: pd.Series, col: sa.Column, dialect: sa.Dialect) -> list[Any]:
    """What SQLAlchemy would hand the DBAPI driver for `col`, a whole column at a time.

    The converted values pass through the column type's own bind processor (SQLite's
    date formats, Interval's emulation, Boolean's integers), so a raw executemany
    stores exactly what ``conn.execute(insert, records)`` stored, without building a
    dict per row or processing parameters row by row. JSON goes in as text we
    serialised ourselves (numpy scalars and all), so NULL stays SQL NULL.
    """
    typ = col.type
    if isinstance(typ, sa.JSON):
        return [None if v is None else json_dumps(v) for v in convert(series, col, dialect.name).tolist()]
    process = typ._cached_bind_processor(dialect)
    if process is not None and pd.api.types.is_datetime64_any_dtype(series.dtype) \
            and isinstance(typ, sa.DateTime) and process(_PROBE) == _SQLITE_PROBE:
        return _sqlite_datetimes(series)  # the processor writes SQLite's text: numpy writes the same
    values = convert(series, col, dialect.name).tolist()
    return values if process is None else list(map(process, values))


_PROBE = dt.datetime(2001, 2, 3, 4, 5, 6, 7)
_SQLITE_PROBE = "2001-02-03 04:05:06.000007"


def _sqlite_datetimes(series: pd.Series) -> list[Any]:
    """SQLAlchemy's SQLite DATETIME text ('2024-02-29 23:59:59.123456'), from numpy's ISO text."""
    mask = missing(series)
    texts = utc_datetimes(series[~mask], aware=False).to_numpy(dtype="datetime64[us]").astype(str).tolist()
    out = np.full(len(series), None, dtype=object)
    out[~mask] = [t.replace("T", " ", 1) for t in texts]
    return out.tolist()
