"""JSON values as the JSON codec sees them: documents flattened to key paths, kinds of leaves.

Plain functions over parsed JSON (dict, list, str, int, float, bool, None), and
the constant codec for leaves that hold one value ({}, null).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

Path = tuple[str, ...]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$")


class ConstantCodec:
    """One JSON value (null, {}, []) or NULL: leaves that carry no information but their presence."""

    kind = "constant"

    def __init__(self, value: Any, has_null: bool) -> None:
        self.value = value
        self.has_null = has_null
        self.n_states = 1 + int(has_null)

    @classmethod
    def fit(cls, values: pd.Series, value: Any) -> ConstantCodec:
        return cls(value, bool(values.isna().any()) and value is not None)

    def encode(self, values: pd.Series) -> np.ndarray:
        if not self.has_null:
            return np.zeros(len(values), dtype=np.int64)
        return values.isna().to_numpy(dtype=bool).astype(np.int64)

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        text = json.dumps(self.value)
        return pd.Series([json.loads(text) if s == 0 else None for s in states], dtype=object)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "has_null": self.has_null}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> ConstantCodec:
        return cls(s["value"], s["has_null"])


def looks_like_json(values: pd.Series) -> bool:
    """Text whose every present value is a JSON object or array (MariaDB's JSON is LONGTEXT)."""
    present = values.dropna()
    if present.empty:
        return False
    for v in present:
        if not isinstance(v, str) or v.lstrip()[:1] not in ("{", "["):
            return False
        try:
            parsed = json.loads(v)
        except ValueError:
            return False
        if not isinstance(parsed, (dict, list)):
            return False
    return True


# -- documents ----------------------------------------------------------------------------------------

def parse(value: Any, as_text: bool) -> Any:
    if isinstance(value, (bytes, bytearray)):
        value = value.decode()
    if as_text and isinstance(value, str):
        try:
            return json.loads(value)
        except (TypeError, ValueError):
            return value
    return value


def flatten(doc: Any, prefix: Path = ()) -> dict[Path, Any]:
    """Key path -> leaf value; a non-empty object is never a leaf, anything else is."""
    if isinstance(doc, dict) and doc:
        out: dict[Path, Any] = {}
        for key, value in doc.items():
            out.update(flatten(value, prefix + (str(key),)))
        return out
    return {prefix: doc}


def to_text(doc: Any, max_length: int | None) -> str:
    """JSON text of `doc`; within `max_length` characters by leaving out its last keys or items."""
    text = json.dumps(doc, ensure_ascii=False)
    while max_length is not None and len(text) > max_length and isinstance(doc, (dict, list)) and doc:
        if isinstance(doc, dict):
            doc.pop(next(reversed(doc)))
        else:
            doc.pop()
        text = json.dumps(doc, ensure_ascii=False)
    if max_length is not None and len(text) > max_length:
        text = "{}" if isinstance(doc, dict) else "[]" if isinstance(doc, list) else "null"
    return text


def put_at(doc: Any, path: Path, value: Any) -> Any:
    """`doc` with `value` at `path` (nested objects created on the way); the root path replaces it."""
    if not path:
        return value
    node = doc
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = value
    return doc


# -- leaves -------------------------------------------------------------------------------------------

def slot_kind(v: Any) -> str | None:
    """The kind of JSON value a slot holds (None for JSON null)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, list):
        return "array"
    return "object" if isinstance(v, dict) else "string"


def type_of(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        if _ISO_DATE.match(v):
            return "date"
        return "datetime" if _ISO_DATETIME.match(v) else "string"
    if isinstance(v, list):
        return "array"
    return "object" if isinstance(v, dict) else "string"


def leaf_type_of(values: list[Any]) -> str:
    counts = Counter(type_of(v) for v in values if v is not None)
    if not counts:
        return "null"
    if counts.get("float") and counts.get("integer"):
        counts["float"] += counts.pop("integer")   # 1 and 1.5 at one key: numbers
    if counts.get("datetime") and counts.get("date"):
        counts["datetime"] += counts.pop("date")
    top = max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
    if top in ("date", "datetime") and counts.get("string"):
        return "string"  # some text that is not a date: keep it all as text
    return top


def cleaned(values: list[Any], leaf_type: str) -> list[Any]:
    """Values of the leaf's type; anything else (another type at the same key) becomes JSON null."""
    if leaf_type == "float":
        return [float(v) if type_of(v) in ("integer", "float") else None for v in values]
    if leaf_type == "string":
        return [v if isinstance(v, str) else None for v in values]
    if leaf_type == "datetime":
        return [v if type_of(v) in ("date", "datetime") else None for v in values]
    return [v if v is not None and type_of(v) == leaf_type else None for v in values]


def json_values(values: list[Any], leaf_type: str) -> list[Any]:
    """Decoded leaf values as JSON values (dates back to ISO text)."""
    if leaf_type in ("date", "datetime"):
        return [v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v for v in values]
    if leaf_type == "integer":
        return [int(v) if v is not None else None for v in values]
    return values
