"""PostgreSQL composite values (a column of a `CREATE TYPE ... AS (street text, zip integer)` type).

Each field gets the codec it would get as a column of its own (numbers in quantile
bins, categories, free text as lorem words, ...). The column's model state is NULL
or the *first field's* state, so the leading field correlates with the row's other
columns; the other fields are drawn from their states' frequencies among the
source rows with that leading state. Decoding yields a dict per value; it is written
as PostgreSQL's record literal ('("5 Elm St",12345)') on PostgreSQL and as a JSON
object elsewhere.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from dbsynth.codecs import Codec, codec_from_state
from dbsynth.codecs.array import python_values


def parse_record(v: Any) -> list[str | None] | None:
    """The field texts of a record literal '(a,"b c",)' (None for a NULL field); None if it is not one."""
    text = str(v).strip()
    if len(text) < 2 or text[0] != "(" or text[-1] != ")":
        return None
    body, fields, i = text[1:-1], [], 0
    while True:
        if i < len(body) and body[i] == '"':
            i += 1
            chars = []
            while i < len(body):
                ch = body[i]
                if ch == "\\" and i + 1 < len(body):
                    chars.append(body[i + 1])
                    i += 2
                elif ch == '"' and body[i + 1:i + 2] == '"':
                    chars.append('"')
                    i += 2
                elif ch == '"':
                    i += 1
                    break
                else:
                    chars.append(ch)
                    i += 1
            end = body.find(",", i)
            fields.append("".join(chars))
        else:
            end = body.find(",", i)
            raw = body[i:] if end < 0 else body[i:end]
            fields.append(raw if raw else None)
        if end < 0:
            return fields
        i = end + 1


def record_literal(values: list[Any]) -> str:
    """PostgreSQL's text form of a record: fields quoted where needed, NULL fields empty."""
    parts = []
    for v in values:
        if v is None:
            parts.append("")
            continue
        text = field_text(v)
        if text == "" or any(ch in text for ch in ',()"\\ \t\n'):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(text)
    return "(" + ",".join(parts) + ")"


def field_text(v: Any) -> str:
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    return str(v)


class CompositeCodec:
    kind = "composite"

    def __init__(self, names: list[str], fields: list[Codec], weights: list[list[list[float]]],
                 has_null: bool, booleans: list[bool] | None = None) -> None:
        self.names = list(names)
        self.booleans = list(booleans or [False] * len(names))   # boolean fields: 't'/'f' read as True/False
        self.fields = list(fields)
        # weights[lead state][field] = that field's state counts among rows with the lead state
        self.weights = [[np.asarray(w, dtype=float) for w in per_lead] for per_lead in weights]
        self.has_null = has_null
        self.n_states = self.fields[0].n_states + int(has_null)

    @classmethod
    def fit(cls, values: pd.Series, names: list[str], field_codec: Callable[[int, pd.Series], Codec],
            booleans: list[bool] | None = None) -> CompositeCodec:
        """`field_codec(i, values)` builds the codec of field i from its values (text, as in the literal)."""
        booleans = list(booleans or [False] * len(names))
        rows, isnull = _records(values, len(names), booleans)
        columns = [pd.Series([r[i] for r in rows], dtype=object) for i in range(len(names))]
        fields = [field_codec(i, col) for i, col in enumerate(columns)]
        states = [f.encode(col) for f, col in zip(fields, columns)]
        lead = states[0] if rows else np.zeros(0, dtype=np.int64)
        weights = [[np.bincount(s[lead == ls], minlength=f.n_states).astype(float).tolist()
                     for f, s in zip(fields, states)] for ls in range(fields[0].n_states)]
        return cls(names, fields, weights, bool(isnull.any()), booleans)

    def encode(self, values: pd.Series) -> np.ndarray:
        rows, isnull = _records(values, len(self.names), self.booleans)
        lead = pd.Series([r[0] for r in rows], dtype=object)
        out = np.full(len(values), self.fields[0].n_states if self.has_null else 0, dtype=np.int64)
        if rows:
            out[~isnull] = self.fields[0].encode(lead)
        return out

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        present = states < self.fields[0].n_states
        lead = states[present]
        columns: list[list[Any]] = []
        for i, codec in enumerate(self.fields):
            if i == 0:
                field_states = lead
            else:
                field_states = np.zeros(lead.size, dtype=np.int64)
                for ls in np.unique(lead):
                    rows = np.flatnonzero(lead == ls)
                    w = self.weights[ls][i]
                    p = w / w.sum() if w.sum() > 0 else None
                    field_states[rows] = rng.choice(codec.n_states, size=rows.size, p=p)
            columns.append(python_values(codec.decode(field_states, rng)))
        out = np.full(states.shape[0], None, dtype=object)
        docs = [dict(zip(self.names, vals)) for vals in zip(*columns)] if columns else []
        out[np.flatnonzero(present)] = docs if docs else [{} for _ in range(int(present.sum()))]
        return pd.Series(out, dtype=object)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "names": self.names, "fields": [f.to_state() for f in self.fields],
                "weights": [[w.tolist() for w in per] for per in self.weights], "has_null": self.has_null,
                "booleans": self.booleans}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> CompositeCodec:
        return cls(s["names"], [codec_from_state(f) for f in s["fields"]], s["weights"], s["has_null"],
                   s.get("booleans"))


def _records(values: pd.Series, width: int, booleans: list[bool]) -> tuple[list[list[Any]], np.ndarray]:
    """The present values' field texts (padded to `width`; booleans as bool) and a NULL mask over all values."""
    rows, isnull = [], np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values.to_numpy(dtype=object)):
        parsed = None if v is None or (isinstance(v, float) and np.isnan(v)) else \
            (list(v.values()) if isinstance(v, dict) else parse_record(v))
        if parsed is None:
            isnull[i] = True
        else:
            row = (parsed + [None] * width)[:width]
            rows.append([(f in ("t", "true", True)) if b and f is not None else f for f, b in zip(row, booleans)])
    return rows, isnull
