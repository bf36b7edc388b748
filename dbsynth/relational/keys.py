"""Keys: fresh unique primary keys and foreign keys that point at synthetic parents."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dbsynth.codecs.fake import fake_values
from dbsynth.schema.model import Column


def generate_keys(column: Column, n: int, rng: np.random.Generator, start: int = 1) -> pd.Series:
    """n unique values for a primary key column: start..start+n-1, or uuids, or padded text."""
    kind = column.type.kind
    if kind in ("integer", "decimal"):
        return pd.Series(np.arange(start, start + n, dtype=np.int64))
    if kind == "uuid":
        return pd.Series(fake_values("uuid", n, rng), dtype=object)
    width = max(len(str(start + n - 1)), 1)
    limit = column.type.length
    prefix = "K" if not limit or limit > width else ""
    return pd.Series([f"{prefix}{i:0{width}d}" for i in range(start, start + n)], dtype=object)


def running_index(parent_rows: np.ndarray) -> np.ndarray:
    """1..k within each run of equal parent rows (rows are grouped by parent)."""
    if parent_rows.size == 0:
        return np.empty(0, dtype=np.int64)
    order = np.argsort(parent_rows, kind="stable")
    sorted_rows = parent_rows[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_rows)) + 1]
    ranks = np.arange(sorted_rows.size) - np.repeat(starts, np.diff(np.r_[starts, sorted_rows.size]))
    out = np.empty_like(ranks)
    out[order] = ranks + 1
    return out


def degree_weighted_parents(n: int, degrees: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """n parent rows such that parent j is used about degrees[j] times.

    The parents' sampled child counts are slots: we deal them out in random
    order, topping up (or thinning) in proportion when the totals differ, so
    the parents' degree distribution survives.
    """
    m = degrees.size
    if n == 0 or m == 0:
        return np.empty(0, dtype=np.int64)
    degrees = np.maximum(degrees.astype(np.int64), 0)
    slots = np.repeat(np.arange(m), degrees)
    if slots.size == 0:
        return rng.integers(0, m, n)
    rng.shuffle(slots)
    if slots.size >= n:
        return slots[:n]
    extra = rng.choice(m, size=n - slots.size, p=degrees / degrees.sum())
    out = np.concatenate([slots, extra])
    rng.shuffle(out)
    return out
