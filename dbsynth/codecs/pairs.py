"""Values made of a few numbers: PostgreSQL points (x, y), boxes, circles and ranges (lower, upper).

Each part is binned like a number column of its own (`NumericCodec`: quantile
bins, values drawn from the bin's own values); the column's model state is the
*pair* of bins seen together in the source (plus, for a range, its form: bounds,
empty, an infinite end), so x and y, or a range's start and length, keep their
joint shape. A range is modelled as lower and *width* (upper - lower, >= 0), so
every generated range has upper >= lower and PostgreSQL accepts it.
Decoding writes PostgreSQL's text form ('(1.5,2)', '[3,8)', 'empty'), which the
target parses (PostgreSQL) or keeps as text / JSON (other engines).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from dbsynth.codecs.numeric import NumericCodec, from_numbers, to_numbers

MAX_PAIRS = 48       # joint (form, first bin, second bin) states kept: the most frequent
_RANGE = re.compile(r'^\s*([\[(])\s*("?)(.*?)\2\s*,\s*("?)(.*?)\4\s*([\])])\s*$')

# range type name -> (value kind of its elements, time zone)
RANGE_ELEMENTS = {"int4range": ("integer", False), "int8range": ("integer", False), "numrange": ("float", False),
                  "daterange": ("date", False), "tsrange": ("datetime", False), "tstzrange": ("datetime", True)}


def range_element(source_name: str) -> tuple[str, bool]:
    """(value kind, time zone) of a range type's elements; float for a range dbsynth does not know."""
    return RANGE_ELEMENTS.get((source_name or "").lower().split(".")[-1], ("float", False))


class _JointStates:
    """(form, bin a, bin b) triples seen in the source, as dense model states (NULL last)."""

    def __init__(self, keys: list[list[Any]], has_null: bool) -> None:
        self.keys = [(str(f), int(a), int(b)) for f, a, b in keys]
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.has_null = has_null
        self.n_states = len(self.keys) + int(has_null)

    @classmethod
    def fit(cls, triples: list[tuple[str, int, int]], has_null: bool) -> _JointStates:
        counts = Counter(triples)
        kept = sorted(counts, key=lambda k: (-counts[k], k))[:MAX_PAIRS] or [("", -1, -1)]
        return cls([list(k) for k in kept], has_null)

    def state(self, key: tuple[str, int, int]) -> int:
        """The key's state, else the most frequent one of the same form and first bin, else of the form."""
        if key in self.index:
            return self.index[key]
        for match in (lambda k: k[0] == key[0] and k[1] == key[1], lambda k: k[0] == key[0]):
            found = next((i for i, k in enumerate(self.keys) if match(k)), None)
            if found is not None:
                return found
        return 0


def _bins(codec: NumericCodec, numbers: np.ndarray) -> np.ndarray:
    """Bin of each number (-1 where it is NaN: an infinite end, or no value)."""
    states = np.searchsorted(codec.edges, numbers, side="right")
    return np.where(np.isnan(numbers), -1, states).astype(np.int64)


def _draw(codec: NumericCodec, bins: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A number drawn from each row's bin (NaN where the bin is -1)."""
    out = np.full(bins.shape[0], np.nan)
    ok = bins >= 0
    if ok.any():
        out[ok] = to_numbers(codec.decode(bins[ok], rng), codec.value_kind)
    return out


def _fit_part(numbers: np.ndarray, value_kind: str) -> NumericCodec:
    """Bins over the numbers themselves (days for dates, seconds for timestamps): whole numbers stay whole."""
    present = numbers[~np.isnan(numbers)]
    number_kind = "integer" if value_kind in ("integer", "date") else "float"
    return NumericCodec.fit(pd.Series(present if present.size else [0.0]), number_kind)


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# numbers in a value's text: point (x,y); box (x1,y1),(x2,y2); circle <(x,y),r>
SHAPES = {"point": 2, "box": 4, "circle": 3}


class GeometricCodec:
    """A point, box or circle: x and y (a box's lower-left corner, a circle's centre) binned and their bins
    modelled together with the bins of the box's width and height or the circle's radius."""

    kind = "geometric"

    def __init__(self, shape: str, parts: list[NumericCodec], joint: _JointStates) -> None:
        self.shape, self.parts, self.joint = shape, parts, joint
        self.n_states = joint.n_states

    @classmethod
    def fit(cls, values: pd.Series, shape: str = "point") -> GeometricCodec:
        numbers = _shape_numbers(values, shape)
        parts = [_fit_part(numbers[:, i], "float") for i in range(numbers.shape[1])]
        present = ~np.isnan(numbers).any(axis=1)
        keys = _shape_keys(parts, numbers[present])
        return cls(shape, parts, _JointStates.fit(keys, bool((~present).any())))

    def encode(self, values: pd.Series) -> np.ndarray:
        numbers = _shape_numbers(values, self.shape)
        present = ~np.isnan(numbers).any(axis=1)
        out = np.full(len(values), len(self.joint.keys) if self.joint.has_null else 0, dtype=np.int64)
        out[present] = [self.joint.state(k) for k in _shape_keys(self.parts, numbers[present])]
        return out

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        keys = self.joint.keys
        present = states < len(keys)
        pick = [keys[s] if p else ("", -1, -1) for s, p in zip(states, present)]
        extra = [[int(b) for b in k[0].split(":")] if k[0] not in ("", "p") else [] for k in pick]
        columns = []
        for i, part in enumerate(self.parts):
            bins = np.array([k[i + 1] if i < 2 else (e[i - 2] if len(e) > i - 2 else -1)
                             for k, e in zip(pick, extra)], dtype=np.int64)
            columns.append(_draw(part, bins, rng))
        numbers = np.column_stack(columns)
        out = [_shape_text(self.shape, row) if p and not np.isnan(row).any() else None
               for row, p in zip(numbers, present)]
        return pd.Series(out, dtype=object)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": self.shape, "parts": [p.to_state() for p in self.parts],
                "keys": [list(k) for k in self.joint.keys], "has_null": self.joint.has_null}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> GeometricCodec:
        return cls(s["shape"], [NumericCodec.from_state(p) for p in s["parts"]], _JointStates(s["keys"], s["has_null"]))


def geometric_shape(source_name: str) -> str:
    """point, box or circle from the type's name."""
    name = (source_name or "").lower()
    return name if name in SHAPES else "point"


def _shape_numbers(values: pd.Series, shape: str) -> np.ndarray:
    """Rows of (x, y[, w, h | r]) per value; NaN for NULL or text that is not such a shape."""
    width = SHAPES[shape]
    out = np.full((len(values), width), np.nan)
    for i, v in enumerate(values.to_numpy(dtype=object)):
        if _isnull(v):
            continue
        found = [float(n) for n in _NUMBER.findall(str(v))]
        if len(found) != width:
            continue
        if shape == "box":
            x1, y1, x2, y2 = found
            found = [min(x1, x2), min(y1, y2), abs(x1 - x2), abs(y1 - y2)]
        out[i] = found
    return out


def _shape_keys(parts: list[NumericCodec], numbers: np.ndarray) -> list[tuple[str, int, int]]:
    """(bins of the extra parts joined, or 'p'; bin of x; bin of y) per row."""
    if not numbers.size:
        return []
    bins = np.column_stack([_bins(p, numbers[:, i]) for i, p in enumerate(parts)])
    return [(":".join(str(int(b)) for b in row[2:]) or "p", int(row[0]), int(row[1])) for row in bins]


def _shape_text(shape: str, row: np.ndarray) -> str:
    if shape == "box":
        x, y, w, h = row
        return f"({_num(x + max(w, 0))},{_num(y + max(h, 0))}),({_num(x)},{_num(y)})"
    if shape == "circle":
        x, y, r = row
        return f"<({_num(x)},{_num(y)}),{_num(max(r, 0))}>"
    return f"({_num(row[0])},{_num(row[1])})"


class RangeCodec:
    """A range: its form (bounds, empty, an infinite end), its lower end and its width."""

    kind = "range"

    def __init__(self, value_kind: str, timezone: bool, lower: NumericCodec, width: NumericCodec,
                 joint: _JointStates) -> None:
        self.value_kind, self.timezone = value_kind, timezone
        self.lower, self.width, self.joint = lower, width, joint
        self.n_states = joint.n_states

    @classmethod
    def fit(cls, values: pd.Series, source_name: str) -> RangeCodec:
        value_kind, timezone = range_element(source_name)
        forms, lows, widths = _range_parts(values, value_kind)
        width_kind = "float" if value_kind in ("float", "datetime") else "integer"
        lower, width = _fit_part(lows, value_kind), _fit_part(widths, width_kind)
        present = np.array([f is not None for f in forms], dtype=bool)
        keys = [(f, int(a), int(b)) for f, a, b in zip(np.asarray(forms, dtype=object)[present],
                                                       _bins(lower, lows[present]), _bins(width, widths[present]))]
        return cls(value_kind, timezone, lower, width, _JointStates.fit(keys, bool((~present).any())))

    def encode(self, values: pd.Series) -> np.ndarray:
        forms, lows, widths = _range_parts(values, self.value_kind)
        bl, bw = _bins(self.lower, lows), _bins(self.width, widths)
        null = len(self.joint.keys)
        return np.array([null if f is None and self.joint.has_null else self.joint.state((f or "", int(a), int(b)))
                         for f, a, b in zip(forms, bl, bw)], dtype=np.int64)

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        keys = self.joint.keys
        present = states < len(keys)
        pick = [keys[s] if p else ("", -1, -1) for s, p in zip(states, present)]
        lows = _draw(self.lower, np.array([k[1] for k in pick], dtype=np.int64), rng)
        widths = np.clip(_draw(self.width, np.array([k[2] for k in pick], dtype=np.int64), rng), 0, None)
        # an infinite lower end has no number: the width is then counted from the lower values' median
        base = np.where(np.isnan(lows), _median(self.lower), lows)
        lower_text = self._texts(lows)
        upper_text = self._texts(base + widths)
        out: list[str | None] = []
        for (form, _, _), p, lo, up in zip(pick, present, lower_text, upper_text):
            if not p:
                out.append(None)
            elif form == "empty":
                out.append("empty")
            else:
                bounds = form[:2] if len(form) >= 2 else "[)"
                out.append(f"{bounds[0]}{'' if '-' in form else lo},{'' if '+' in form else up}{bounds[1]}")
        return pd.Series(out, dtype=object)

    def _texts(self, numbers: np.ndarray) -> list[str]:
        values = from_numbers(numbers, self.value_kind, None, self.timezone)
        quote = '"' if self.value_kind == "datetime" else ""
        return ["" if _isnull(v) else f"{quote}{_element_text(v, self.value_kind)}{quote}" for v in values]

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "value_kind": self.value_kind, "timezone": self.timezone,
                "lower": self.lower.to_state(), "width": self.width.to_state(),
                "keys": [list(k) for k in self.joint.keys], "has_null": self.joint.has_null}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> RangeCodec:
        return cls(s["value_kind"], s["timezone"], NumericCodec.from_state(s["lower"]),
                   NumericCodec.from_state(s["width"]), _JointStates(s["keys"], s["has_null"]))


def _range_parts(values: pd.Series, value_kind: str) -> tuple[list[str | None], np.ndarray, np.ndarray]:
    """Per value: its form ('[)', '(]-' for an infinite lower end, '[)+' upper, 'empty'; None for NULL),
    its lower end and its width as numbers (NaN where infinite)."""
    forms: list[str | None] = []
    lowers: list[Any] = []
    uppers: list[Any] = []
    for v in values.to_numpy(dtype=object):
        parts = None if _isnull(v) else parse_range(v)
        if parts is None:
            forms.append(None)
            lowers.append(None)
            uppers.append(None)
            continue
        empty, lo, up, bounds = parts
        forms.append("empty" if empty else bounds + ("-" if lo is None else "") + ("+" if up is None else ""))
        lowers.append(None if empty else lo)
        uppers.append(None if empty else up)
    lo_n = to_numbers(pd.Series(lowers, dtype=object), value_kind)
    up_n = to_numbers(pd.Series(uppers, dtype=object), value_kind)
    return forms, lo_n, up_n - lo_n


def parse_range(v: Any) -> tuple[bool, Any, Any, str] | None:
    """(empty, lower, upper, bounds) of a range object (psycopg's, SQLAlchemy's) or its text form;
    None ends are infinite. None when `v` is not a range."""
    if hasattr(v, "bounds") and hasattr(v, "lower"):
        empty = bool(getattr(v, "empty", False)) or (getattr(v, "isempty", False) is True)
        return empty, v.lower, v.upper, str(v.bounds or "[)")
    text = str(v).strip()
    if text.lower() == "empty":
        return True, None, None, "[)"
    match = _RANGE.match(text)
    if not match:
        return None
    lo, up = match.group(3).strip(), match.group(5).strip()
    return False, lo or None, up or None, match.group(1) + match.group(6)


def _median(codec: NumericCodec) -> float:
    values = np.concatenate([v.astype(float) for v in codec.bin_values if v.size]) if codec.bin_values else []
    return float(np.median(values)) if len(values) else 0.0


def _element_text(v: Any, value_kind: str) -> str:
    if value_kind == "integer":
        return str(int(v))
    if value_kind == "float":
        return _num(float(v))
    if value_kind == "date":
        return v.isoformat()
    return str(pd.Timestamp(v))


def _num(x: float) -> str:
    """A float as short text that reads back the same ('2' for 2.0, never 'nan')."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 2**53 else repr(x)


def _isnull(v: Any) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
