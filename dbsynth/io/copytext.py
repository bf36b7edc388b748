"""PostgreSQL's COPY text format, built a column at a time.

``COPY ... FROM STDIN`` in text format reads lines of tab-separated fields, ``\\N`` for NULL,
with backslash, tab, newline and carriage return written as ``\\\\``, ``\\t``, ``\\n``, ``\\r``.
Handing psycopg one row at a time costs Python work per value (a Decimal quantised, a datetime
built, a dumper looked up); here each column becomes a list of field texts with whole-column
operations: numpy arithmetic for integers, decimals, intervals and booleans, numpy's own
formatting for dates and timestamps, and one C-level ``str.replace`` pass over a whole column for
the escapes. Rows are joined in C. Python runs per value only where the values are Python
objects anyway (JSON documents, arrays, UUIDs, addresses, bytes).

The values are the ones :mod:`dbsynth.io.values` decides (the same rules serve executemany);
this module only spells them as PostgreSQL reads them.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from dbsynth.errors import SchemaError
from dbsynth.io.values import conversion_error, convert_present, json_dumps, missing, utc_datetimes

__all__ = ["NULL", "copy_text", "field_texts"]

NULL = "\\N"
_SPECIAL = ("\\", "\t", "\n", "\r")
_HALF_EVEN = decimal.Context(prec=100, rounding=decimal.ROUND_HALF_EVEN)


def copy_text(frame: pd.DataFrame, columns: Sequence[sa.Column]) -> str:
    """Every row of `frame` as COPY text for `columns` (looked up by name), each line ending in a newline."""
    if frame.empty:
        return ""
    fields = [field_texts(frame[c.name], c) for c in columns]
    return "\n".join(map("\t".join, zip(*fields))) + "\n"


def field_texts(series: pd.Series, col: sa.Column) -> list[str]:
    """One COPY field per cell of `series`, written for `col`'s type: escaped text, or \\N for missing."""
    mask = missing(series)
    present = series[~mask] if mask.any() else series
    spell = next((fn for cls, fn in _SPELLERS if isinstance(col.type, cls)), _other)
    try:
        texts = spell(present, col)
    except (ValueError, TypeError, ArithmeticError, OverflowError) as exc:
        raise conversion_error(col, exc) from exc
    if not mask.any():
        return texts
    out = np.full(len(series), NULL, dtype=object)
    out[~mask] = texts
    return out.tolist()


def escape(texts: list[str], col: sa.Column) -> list[str]:
    """COPY escapes for a whole column at once: join, four replaces and a split, all in C."""
    if not texts:
        return texts
    joined = "\x00".join(texts)  # NUL cannot occur in PostgreSQL text, so it is a safe separator
    if joined.count("\x00") != len(texts) - 1:
        raise SchemaError(f"column {col.table.name}.{col.name}: a value holds a NUL character, which PostgreSQL "
                          f"cannot store; remove it from the source or null the column in the config")
    if not any(ch in joined for ch in _SPECIAL):
        return texts
    joined = joined.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return joined.split("\x00")


# -- numbers ----------------------------------------------------------------------

def _integer(s: pd.Series, col: sa.Column) -> list[str]:
    if pd.api.types.is_integer_dtype(s.dtype):
        return list(map(str, s.to_numpy().tolist()))
    return list(map(str, convert_present(s, col, "postgresql")))  # floats, bools, objects: checked there


def _float(s: pd.Series, col: sa.Column) -> list[str]:
    values = pd.to_numeric(s).to_numpy(dtype="float64")
    return _float_texts(values)


def _float_texts(values: np.ndarray) -> list[str]:
    """repr (the shortest text that reads back as the same double), as psycopg sends floats."""
    texts = list(map(repr, values.tolist()))
    for i in np.flatnonzero(~np.isfinite(values)).tolist():
        texts[i] = _special_float(values[i])
    return texts


def _special_float(v: float) -> str:
    return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")


def _decimal(s: pd.Series, col: sa.Column) -> list[str]:
    """numeric(p, s): the value rounded half-even to the scale, as ``Decimal(repr).quantize`` does.

    Floats take a numpy path: v * 10**scale rounded to an integer, printed with an exponent. That is exact unless the scaled value lies within float error of a half
    (2.675 -> 267.49999999999997): those few go through Decimal, as before.
    """
    scale = getattr(col.type, "scale", None)
    if pd.api.types.is_integer_dtype(s.dtype):
        tail = "." + "0" * scale if scale else ""
        return [t + tail for t in map(str, s.to_numpy().tolist())]
    if not pd.api.types.is_float_dtype(s.dtype):
        return list(map(_decimal_text, convert_present(s, col, "postgresql")))
    values = s.to_numpy(dtype="float64")
    if scale is None:
        return _float_texts(values)
    if not 0 <= scale <= 15:
        return list(map(_decimal_text, convert_present(s, col, "postgresql")))
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = values * 10.0 ** scale
        frac = np.abs(scaled - np.trunc(scaled))
        sure = np.isfinite(scaled) & (np.abs(scaled) < 2.0 ** 52) \
            & (np.abs(frac - 0.5) > np.abs(scaled) * 2.0 ** -45)
    texts = np.empty(len(values), dtype=object)
    units = np.rint(scaled[sure]).astype(np.int64)
    texts[sure] = _scaled_texts(units, scale)
    unsure = np.flatnonzero(~sure)
    if len(unsure):
        quantum = decimal.Decimal(1).scaleb(-scale)
        texts[unsure] = [_decimal_text(_quantize(v, quantum)) for v in values[unsure].tolist()]
    return texts.tolist()


def _scaled_texts(units: np.ndarray, scale: int) -> list[str]:
    """Integers counting 10**-scale steps, as numeric text: 1234 at scale 2 -> '1234e-2' (12.34).

    PostgreSQL reads the exponent form exactly and stores it at the column's scale, so the
    value is the one '12.34' gives; str() and one concatenation are much cheaper than
    formatting a point in. Each distinct value is spelled once.
    """
    suffix = f"e-{scale}" if scale else ""
    return _spelled_once(units, lambda u: [t + suffix for t in map(str, u.tolist())])


def _spelled_once(values: np.ndarray, spell: Callable[[np.ndarray], list[str]]) -> list[str]:
    """spell() applied to the distinct values only (dates, prices, rates repeat a lot), then spread back."""
    codes, uniques = pd.factorize(values)
    if len(uniques) * 2 > len(values):
        return spell(values)  # mostly distinct: factorizing would not pay
    return np.asarray(spell(np.asarray(uniques)), dtype=object)[codes].tolist()


def _quantize(v: float, quantum: decimal.Decimal) -> decimal.Decimal:
    d = decimal.Decimal(repr(v))
    return d.quantize(quantum, context=_HALF_EVEN) if d.is_finite() else d


def _decimal_text(d: decimal.Decimal) -> str:
    if d.is_nan():
        return "NaN"
    if d.is_infinite():
        return "Infinity" if d > 0 else "-Infinity"
    return str(d)


def _boolean(s: pd.Series, col: sa.Column) -> list[str]:
    flags = np.asarray(convert_present(s, col, "postgresql"), dtype=bool)
    return np.where(flags, "t", "f").tolist()


# -- dates and times ------------------------------------------------------------------

def _timestamp(s: pd.Series, col: sa.Column) -> list[str]:
    aware = bool(getattr(col.type, "timezone", False))
    s = utc_datetimes(s, aware)
    if aware:
        s = s.dt.tz_localize(None)
    texts = s.to_numpy(dtype="datetime64[us]").astype(str).tolist()  # 2024-02-29T23:59:59.123456
    return [t + "+00:00" for t in texts] if aware else texts


def _date(s: pd.Series, col: sa.Column) -> list[str]:
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        if pd.api.types.infer_dtype(s, skipna=False) == "date":  # datetime.date objects (codecs give these)
            return _spelled_once(s.to_numpy(dtype=object), lambda d: list(map(dt.date.isoformat, d.tolist())))
        return [d.isoformat() for d in convert_present(s, col, "postgresql")]
    if s.dt.tz is not None:
        s = s.dt.tz_localize(None)  # the local date, as Timestamp.date() gives
    return s.to_numpy(dtype="datetime64[D]").astype(str).tolist()


def _time(s: pd.Series, col: sa.Column) -> list[str]:
    return [t.isoformat() for t in convert_present(s, col, "postgresql")]


def _interval(s: pd.Series, col: sa.Column) -> list[str]:
    """Days, seconds and microseconds with explicit signs: read alike under every IntervalStyle."""
    deltas = s if pd.api.types.is_timedelta64_dtype(s.dtype) else pd.to_timedelta(s)
    micros = deltas.to_numpy(dtype="timedelta64[us]").astype(np.int64)
    days, rest = np.divmod(micros, 86_400_000_000)  # floor, as datetime.timedelta normalises
    seconds, micro = np.divmod(rest, 1_000_000)
    return list(map("{:+d} day {:+d} second {:+d} microsecond".format,
                    days.tolist(), seconds.tolist(), micro.tolist()))


def _interval_text(d: dt.timedelta) -> str:
    return f"{d.days:+d} day {d.seconds:+d} second {d.microseconds:+d} microsecond"


# -- text and Python objects -------------------------------------------------------------

def _text(s: pd.Series, col: sa.Column) -> list[str]:
    return escape(convert_present(s, col, "postgresql").tolist(), col)


def _uuid(s: pd.Series, col: sa.Column) -> list[str]:
    return list(map(str, convert_present(s, col, "postgresql")))


def _json(s: pd.Series, col: sa.Column) -> list[str]:
    return escape(list(map(json_dumps, convert_present(s, col, "postgresql"))), col)


def _bytes(s: pd.Series, col: sa.Column) -> list[str]:
    return escape([_bytea(v) for v in convert_present(s, col, "postgresql")], col)


def _bytea(v: Any) -> str:
    return v if isinstance(v, str) else "\\x" + bytes(v).hex()


def _array(s: pd.Series, col: sa.Column) -> list[str]:
    item = col.type.item_type
    element = json_dumps if isinstance(item, sa.JSON) else _element
    nested = not isinstance(item, sa.JSON)  # a list inside a JSON array is one JSON document
    return escape([_array_literal(v, element, nested) for v in convert_present(s, col, "postgresql")], col)


def _array_literal(values: Any, element: Callable[[Any], str], nested: bool) -> str:
    """{...} with every element double-quoted (valid for any element type), NULL for None."""
    parts = []
    for v in values:
        if v is None:
            parts.append("NULL")
        elif nested and isinstance(v, (list, tuple, np.ndarray)):
            parts.append(_array_literal(v, element, nested))
        else:
            parts.append('"' + element(v).replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(parts) + "}"


def _element(v: Any) -> str:
    """One array element as PostgreSQL reads it, by its Python type (as psycopg's dumpers spell it)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, float):
        return repr(v) if np.isfinite(v) else _special_float(v)
    if isinstance(v, decimal.Decimal):
        return _decimal_text(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return _bytea(v)
    if isinstance(v, (dt.date, dt.time)):  # datetime is a date
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return _interval_text(v)
    if isinstance(v, (dict, list)):
        return json_dumps(v)
    return str(v)


def _other(s: pd.Series, col: sa.Column) -> list[str]:
    """INET, CIDR, MACADDR and other types PostgreSQL parses from their text."""
    return escape([v if isinstance(v, str) else _element(v) for v in convert_present(s, col, "postgresql")], col)


_SPELLERS: list[tuple[type | tuple[type, ...], Callable[[pd.Series, sa.Column], list[str]]]] = [
    ((sa.Interval, postgresql.INTERVAL), _interval), (sa.Boolean, _boolean), (sa.Integer, _integer),
    (sa.Float, _float), (sa.Numeric, _decimal), (sa.DateTime, _timestamp), (sa.Date, _date),
    (sa.Time, _time), (sa.Uuid, _uuid), (sa.ARRAY, _array), (sa.JSON, _json), (sa.LargeBinary, _bytes),
    (sa.String, _text),
]  # in the order of dbsynth.io.values' converters: Float before Numeric, Boolean before Integer
