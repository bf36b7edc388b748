"""What each column is for the report: comparable values, and how (or whether) it is scored.

Source and target may live on different engines (Decimal on PostgreSQL, float
on SQLite; datetimes as objects or as text), so both sides are converted by the
*source* column's SQL kind into one pandas representation before anything is
compared. Each column then gets an sdmetrics sdtype, or is left out with the
reason shown in the report's notes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dbsynth.pii import detect
from dbsynth.schema.model import Column, Table

# sdtypes sdmetrics scores; "id" columns are only used to join tables.
SCORED_SDTYPES = ("numerical", "datetime", "categorical", "boolean")

# A text column whose values seen once cover more than this share of its rows is
# names / titles / free text: category frequencies say nothing about it.
SINGLETON_SHARE = 0.5

_NUMBER_KINDS = ("integer", "float", "decimal")


@dataclass(frozen=True)
class ColumnRole:
    """An sdmetrics sdtype, or None with the reason the column is left out of the scores."""

    sdtype: str | None
    reason: str = ""


def typed_frame(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """`frame` (object dtype, as read) with every known column in its comparable dtype."""
    out = {}
    for column in table.columns:
        if column.name in frame.columns:
            out[column.name] = typed_values(frame[column.name], column)
    return pd.DataFrame(out, index=frame.index)


def typed_values(values: pd.Series, column: Column) -> pd.Series:
    """Numbers as float64, dates as naive UTC datetime64, times as seconds, the rest as str."""
    kind = column.type.kind
    values = values.astype(object).where(values.notna(), None)
    if kind in _NUMBER_KINDS:
        return pd.to_numeric(values, errors="coerce").astype("float64")
    if kind in ("date", "datetime"):
        stamps = pd.to_datetime(values.map(_as_datetime), utc=True, errors="coerce", format="mixed")
        return stamps.dt.tz_localize(None).astype("datetime64[ns]")
    if kind == "time":
        return values.map(_seconds_of_day).astype("float64")
    if kind == "interval":
        return values.map(lambda v: np.nan if v is None else pd.Timedelta(v).total_seconds()).astype("float64")
    if kind == "boolean":
        return values.map(lambda v: np.nan if v is None else _as_bool(v)).astype(object)
    return values.map(lambda v: np.nan if v is None else _as_text(v)).astype(object)


def column_role(table: Table, column: Column, values: pd.Series) -> ColumnRole:
    """How sdmetrics should see `column`, judged from the schema and the typed source values."""
    if column.name in table.pk_columns or column.name in table.fk_columns:
        return ColumnRole("id")
    kind = column.type.kind
    present = values.dropna()
    if present.empty:
        return ColumnRole(None, "no values in the source")
    if kind in _NUMBER_KINDS or kind in ("time", "interval"):
        return ColumnRole("numerical")
    if kind in ("date", "datetime"):
        return ColumnRole("datetime")
    if kind == "boolean":
        return ColumnRole("boolean")
    if kind == "enum":
        return ColumnRole("categorical")
    if kind == "text":
        match = detect(column, present)
        if match is not None:
            return ColumnRole(None, f"personal data ({match.provider}): faked by design, not meant to match")
        counts = present.value_counts()
        singleton_share = float(counts[counts == 1].sum()) / len(present)
        if singleton_share > SINGLETON_SHARE:
            return ColumnRole(None, f"mostly unique text ({singleton_share:.0%} of values occur once): "
                                    f"names or free text, not categories")
        return ColumnRole("categorical")
    return ColumnRole(None, f"type {column.type.source_name or kind} is not compared")


def _as_datetime(v: object) -> object:
    if isinstance(v, dt.datetime) or v is None:
        return v
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    return str(v)


def _seconds_of_day(v: object) -> float:
    if v is None:
        return np.nan
    if isinstance(v, dt.timedelta):  # MySQL TIME comes back as a timedelta
        return v.total_seconds()
    if isinstance(v, dt.time):
        return v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6
    try:
        t = dt.time.fromisoformat(str(v))
    except ValueError:
        return np.nan
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


def _as_bool(v: object) -> object:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "t", "true", "y", "yes")
    return bool(v)


def _as_text(v: object) -> str:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    return str(v)
