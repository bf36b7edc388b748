"""Numbers, dates and times: quantile bins, values drawn from the bin's own empirical values.

Binning by quantiles gives the model few, equally populated states; drawing the
output value from the values seen inside the bin keeps each marginal
distribution (and integrality, precision, date granularity) exact.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import numpy as np
import pandas as pd

MAX_BINS = 20
VALUES_PER_BIN = 256

_EPOCH = dt.date(1970, 1, 1)
_MIN_DAYS, _MAX_DAYS = (dt.date.min - _EPOCH).days, (dt.date.max - _EPOCH).days
_MIN_SECONDS, _MAX_SECONDS = _MIN_DAYS * 86400.0, _MAX_DAYS * 86400.0 + 86399.0


class NumericCodec:
    kind = "numeric"

    def __init__(self, value_kind: str, edges: list[float], bin_values: list[list[float]],
                 has_null: bool, scale: int | None = None, timezone: bool = False,
                 precision: int | None = None) -> None:
        self.value_kind = value_kind        # integer | float | decimal | datetime | date | time | interval
        self.edges = np.asarray(edges, dtype=float)
        dtype = object if value_kind == "integer" else float   # Python ints: exact at any size
        self.bin_values = [np.asarray(v, dtype=dtype) for v in bin_values]
        self.has_null = has_null
        self.scale = scale
        self.timezone = timezone
        self.precision = precision          # decimal(p, s): decoded values stay below 10^(p-s)
        self.n_states = len(self.bin_values) + (1 if has_null else 0)

    @property
    def null_state(self) -> int | None:
        return len(self.bin_values) if self.has_null else None

    @classmethod
    def fit(cls, values: pd.Series, value_kind: str, scale: int | None = None,
            timezone: bool = False, precision: int | None = None) -> NumericCodec:
        numbers = to_numbers(values, value_kind)
        keep = ~np.isnan(numbers)
        present = numbers[keep]
        # Integers keep their exact values (BIGINT beyond 2**53); floats bin them only.
        exact = _exact_integers(values, numbers)[keep] if value_kind == "integer" else present
        has_null = bool((~keep).any())
        if present.size == 0:
            return cls(value_kind, [], [], has_null=True, scale=scale, timezone=timezone, precision=precision)
        distinct = np.unique(present)
        if distinct.size <= MAX_BINS:
            # Few distinct values: each is a state of its own, exactly.
            edges = ((distinct[1:] + distinct[:-1]) / 2).tolist()
        else:
            qs = np.quantile(present, np.linspace(0, 1, MAX_BINS + 1))[1:-1]
            edges = np.unique(qs).tolist()
            # Ties at a quantile can leave a bin empty; drop its edge so every state has values.
            used = np.unique(np.searchsorted(np.asarray(edges), present, side="right"))
            edges = [edges[b - 1] for b in used[1:]]
        bins = np.searchsorted(np.asarray(edges), present, side="right")
        bin_values = []
        for b in range(len(edges) + 1):
            inside = np.sort(exact[bins == b])
            if inside.size > VALUES_PER_BIN:  # keep the shape, bound the model size
                inside = inside[np.linspace(0, inside.size - 1, VALUES_PER_BIN).round().astype(np.int64)]
            bin_values.append([int(v) for v in inside] if value_kind == "integer" else inside.tolist())
        return cls(value_kind, edges, bin_values, has_null, scale, timezone, precision)

    def encode(self, values: pd.Series) -> np.ndarray:
        numbers = to_numbers(values, self.value_kind)
        states = np.searchsorted(self.edges, numbers, side="right")
        if self.has_null:
            states = np.where(np.isnan(numbers), self.null_state, states)
        return states.astype(np.int64)

    def positions(self, values: pd.Series) -> np.ndarray:
        """Each value's mid-rank inside its bin's values, in [0, 1] (NaN for NULL).

        Two columns' positions inside their bins are correlated where the
        columns are (a long track is a big file even within the top bin);
        dbsynth.relational.within_bin learns that and hands `decode` the draws.
        """
        numbers = to_numbers(values, self.value_kind)
        states = np.searchsorted(self.edges, numbers, side="right")
        out = np.full(numbers.size, np.nan)
        for b, inside in enumerate(self.bin_values):
            rows = np.flatnonzero((states == b) & ~np.isnan(numbers))
            if rows.size and inside.size > 1:
                sorted_values = inside.astype(float)
                lo = np.searchsorted(sorted_values, numbers[rows], side="left")
                hi = np.searchsorted(sorted_values, numbers[rows], side="right")
                out[rows] = np.clip((lo + hi) / 2 / inside.size, 0.0, 1.0)
        return out

    def decode(self, states: np.ndarray, rng: np.random.Generator, u: np.ndarray | None = None) -> pd.Series:
        """Values for states; `u` (uniforms in [0, 1), one per row) picks the place inside each bin."""
        integer = self.value_kind == "integer"
        out = np.full(states.shape[0], None if integer else np.nan, dtype=object if integer else float)
        for b, values in enumerate(self.bin_values):
            rows = np.flatnonzero(states == b)
            if rows.size and values.size:
                if u is None:
                    picks = rng.integers(0, values.size, rows.size)
                else:
                    picks = np.minimum((u[rows] * values.size).astype(np.int64), values.size - 1)
                out[rows] = values[picks]
        if integer:
            return _integer_series(out)
        if self.value_kind == "decimal" and self.precision is not None:
            # Beyond 15 digits a float can round up past the type's bound (99...9.99 -> 1e18).
            limit = decimal_limit(self.precision, self.scale or 0)
            out = np.clip(out, -limit, limit)
        return from_numbers(out, self.value_kind, self.scale, self.timezone)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "value_kind": self.value_kind, "edges": self.edges.tolist(),
                "bin_values": [v.tolist() for v in self.bin_values], "has_null": self.has_null,
                "scale": self.scale, "timezone": self.timezone, "precision": self.precision}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> NumericCodec:
        return cls(s["value_kind"], s["edges"], s["bin_values"], s["has_null"], s["scale"], s["timezone"],
                   s.get("precision"))


def decimal_limit(precision: int, scale: int) -> float:
    """The largest float that is still a valid DECIMAL(precision, scale) once rounded to `scale` digits."""
    bound = decimal.Decimal(10) ** (precision - scale) - decimal.Decimal(1).scaleb(-scale)
    quantum = decimal.Decimal(1).scaleb(-scale)
    limit = float(bound)
    ctx = decimal.Context(prec=100, rounding=decimal.ROUND_HALF_EVEN)
    while decimal.Decimal(repr(limit)).quantize(quantum, context=ctx) > bound:
        limit = float(np.nextafter(limit, 0.0))
    return limit


def _exact_integers(values: pd.Series, numbers: np.ndarray | None = None) -> np.ndarray:
    """An integer column's exact values: int64 when every value is a whole number below 2**53 in
    magnitude (exact as a float, so `numbers` says it without a Python loop), else Python ints
    (object array, None where NULL) so BIGINTs beyond 2**53 keep every digit."""
    if numbers is not None:
        present = numbers[~np.isnan(numbers)]
        if not present.size or (np.abs(present).max() < 2**53 and (present == np.trunc(present)).all()):
            return np.where(np.isnan(numbers), 0, numbers).astype(np.int64)
    return np.array([None if _isnull(v) else int(v) for v in values], dtype=object)


def _integer_series(values: np.ndarray) -> pd.Series:
    """Int64 when the values fit (they almost always do), exact Python ints otherwise."""
    present = [v for v in values if v is not None]
    if all(-(2**63) <= v < 2**63 for v in present):
        return pd.Series(pd.array(list(values), dtype="Int64"))
    return pd.Series(values, dtype=object)


def to_numbers(values: pd.Series, value_kind: str) -> np.ndarray:
    """float64 view of any numeric/temporal column; NaN for NULL."""
    if value_kind == "datetime":
        ts = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
        # Seconds since the epoch, whatever resolution (ns, us) pandas chose.
        out = ((ts - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=float, na_value=np.nan)
        lost = np.isnan(out) & ~pd.isna(values).to_numpy()
        if lost.any():  # beyond pandas' nanosecond range (a 9999-12-31 "valid until" sentinel): Python's own
            out[lost] = [_epoch_seconds(v) for v in values.to_numpy(dtype=object)[lost]]
        return out
    if value_kind == "date":
        return _date_numbers(values)
    if value_kind == "time":
        return np.array([np.nan if _isnull(v) else _seconds(v) for v in values])
    if value_kind == "interval":  # seconds, whatever the driver gave (timedelta, pd.Timedelta, text)
        deltas = pd.to_timedelta(values.astype(object).where(values.notna(), None), errors="coerce")
        return deltas.dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)
    if values.dtype == object:  # Decimals (DECIMAL/NUMERIC from every driver): float() in C, 5x to_numeric
        items = values.to_numpy(dtype=object)
        isnull = pd.isna(items)
        present = items[~isnull]
        if present.size and set(map(type, present)) <= {decimal.Decimal, float}:
            out = np.full(len(items), np.nan)
            out[~isnull] = np.fromiter(map(float, present), dtype=float, count=present.size)
            return out
    return pd.to_numeric(values.astype(object).where(values.notna(), None), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)


def from_numbers(numbers: np.ndarray, value_kind: str, scale: int | None, timezone: bool) -> pd.Series:
    missing = np.isnan(numbers)
    if value_kind == "integer":
        return pd.Series(pd.array(np.where(missing, 0, np.round(numbers)).astype(np.int64), dtype="Int64")
                         ).mask(missing)
    if value_kind == "datetime":
        # microsecond resolution covers years 1-9999 (nanoseconds end in 2262, before the usual sentinels)
        seconds = np.clip(np.where(missing, 0, numbers), _MIN_SECONDS, _MAX_SECONDS)
        if scale is not None:  # the column's fractional digits: what the target would round to, rounded here
            seconds = np.round(seconds, scale)  # so that UNIQUE checks see the values the target will hold
        series = pd.Series(np.round(seconds * 1e6).astype("int64").astype("datetime64[us]"))
        return (series.dt.tz_localize("UTC") if timezone else series).mask(missing)
    if value_kind == "date":  # offsets added to a 9999-01-01 sentinel must stay a valid date
        # C-level fromordinal: 2x the per-value timedelta sum (TPC-H SF1: 18M dates)
        days = np.clip(np.where(missing, 0, numbers), _MIN_DAYS, _MAX_DAYS)
        ordinals = days.astype(np.int64) + _EPOCH.toordinal()
        dates = np.empty(len(numbers), dtype=object)
        dates[:] = list(map(dt.date.fromordinal, ordinals.tolist()))
        dates[missing] = None
        return pd.Series(dates, dtype=object)
    if value_kind == "time":
        numbers = numbers if scale is None else np.round(numbers, scale)
        return pd.Series([None if m else _time(v) for v, m in zip(numbers, missing)], dtype=object)
    if value_kind == "interval":
        micros = np.round(np.where(missing, 0, numbers) * 1e6).astype("int64")
        return pd.Series(pd.to_timedelta(micros, unit="us")).mask(missing)
    if value_kind == "decimal" and scale is not None:
        numbers = np.round(numbers, scale)
    return pd.Series(numbers)


def _date_numbers(values: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 (NaN for NULL). Plain `datetime.date` values, what every driver returns
    for DATE, go through C-level `date.toordinal` (6x faster than the generic loop; numpy's own
    date parsing is slower still); anything else (datetimes, text) value by value."""
    items = values.to_numpy(dtype=object)
    isnull = pd.isna(values).to_numpy()
    present = items[~isnull]
    out = np.full(len(items), np.nan)
    if present.size and set(map(type, present)) == {dt.date}:
        out[~isnull] = np.fromiter(map(dt.date.toordinal, present), dtype=np.int64, count=present.size) \
            - _EPOCH.toordinal()
        return out
    out[~isnull] = [np.nan if is_zero_date(v) else float((_as_date(v) - _EPOCH).days) for v in present]
    return out


def is_zero_date(v: object) -> bool:
    """MySQL's zero date ('0000-00-00', '0000-00-00 00:00:00'), which drivers return as text: "no date",
    read as NULL (as pgloader does); a column defaulting to it gets it back on MySQL (`Column.zero_date`)."""
    return isinstance(v, str) and v.startswith("0000-00-00")


def _isnull(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT or v is pd.NA


def _as_date(v: object) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return pd.Timestamp(v).date()


def _epoch_seconds(v: object) -> float:
    """Seconds since 1970-01-01 UTC of a datetime (naive ones read as UTC) or its ISO text."""
    if is_zero_date(v):
        return np.nan
    if isinstance(v, str):
        v = dt.datetime.fromisoformat(v)
    if not isinstance(v, dt.datetime):
        return np.nan
    if v.tzinfo is not None:
        v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return (v - dt.datetime(1970, 1, 1)).total_seconds()


def _seconds(v: object) -> float:
    if isinstance(v, dt.timedelta):  # MySQL returns TIME as timedelta
        return v.total_seconds()
    t = v if isinstance(v, dt.time) else pd.Timestamp(str(v)).time()
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


def _time(seconds: float) -> dt.time:
    seconds = max(0.0, min(seconds, 86399.999999))
    whole = int(seconds)
    return dt.time(whole // 3600, (whole % 3600) // 60, whole % 60, int(round((seconds - whole) * 1e6)) % 1_000_000)
