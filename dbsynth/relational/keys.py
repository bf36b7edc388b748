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


def matched_parents(wanted: np.ndarray | list[np.ndarray], parent_keys: np.ndarray | list[np.ndarray],
                    degrees: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A parent row for each child such that its key equals `wanted` where possible (-1: any parent).

    Why: the child's model generated which *kind* of secondary parent it has
    (a product category, an airport's country); the FK must point at a
    synthetic parent of that kind. Within a kind, the parents' sampled degrees
    are dealt out as slots (as in degree_weighted_parents), so both the joint
    distribution with the child's columns and the degree distribution survive.
    Several levels of keys (lists, finest first) are matched in turn: children
    left over at one level try the coarser next one. Children whose kind ran
    out of slots take leftover slots, so the parents' degrees stay exact (what
    Cardinality measures) at the price of a few mismatched kinds.
    """
    levels = list(zip(wanted, parent_keys)) if isinstance(wanted, list) else [(wanted, parent_keys)]
    n, m = levels[0][0].size, degrees.size
    if n == 0 or m == 0:
        return np.empty(0, dtype=np.int64)
    degrees = np.maximum(degrees.astype(np.int64), 0)
    slots = np.repeat(np.arange(m), degrees)
    rng.shuffle(slots)
    out = np.full(n, -1, dtype=np.int64)
    used = np.zeros(slots.size, dtype=bool)
    for want, keys in levels:
        children = np.flatnonzero((out < 0) & (want >= 0))
        free = np.flatnonzero(~used)
        if not children.size or not free.size:
            continue
        children = children[rng.permutation(children.size)]
        slot_keys = keys[slots[free]]
        # rank of each child within its wanted key, and of each slot within its key: equal ranks pair up
        child_rank = pd.Series(want[children]).groupby(want[children]).cumcount().to_numpy()
        slot_rank = pd.Series(slot_keys).groupby(slot_keys).cumcount().to_numpy()
        slot_at = pd.Series(free, index=pd.MultiIndex.from_arrays([slot_keys, slot_rank]))
        hit = slot_at.reindex(pd.MultiIndex.from_arrays([want[children], child_rank])).to_numpy()
        found = ~np.isnan(hit)
        picked = hit[found].astype(np.int64)
        out[children[found]] = slots[picked]
        used[picked] = True
    rest = np.flatnonzero(out < 0)
    rest = rest[rng.permutation(rest.size)]
    free = slots[~used]
    take = min(free.size, rest.size)
    out[rest[:take]] = free[:take]
    if rest.size > take:  # more children than sampled slots: a parent of the wanted kind, by degree
        want, keys = levels[-1]
        for key in np.unique(want[rest[take:]]):
            rows = rest[take:][want[rest[take:]] == key]
            members = np.flatnonzero(keys == key) if key >= 0 else np.empty(0, dtype=np.int64)
            if members.size:
                weights = degrees[members].astype(float) + 1.0
                out[rows] = members[rng.choice(members.size, rows.size, p=weights / weights.sum())]
            else:
                out[rows] = degree_weighted_parents(rows.size, degrees, rng)
    return out
