"""Deferred foreign keys (self-references, cycle breakers): filled after every table exists.

Self-references become trees: a share of rows (the source's NULL share, at
least one) are roots, and every other row picks its parent among rows placed
before it, so there is never a cycle and every reference resolves. Under a NOT
NULL self-reference the one root refers to itself.

A CHECK over the FK columns (``manager_id < id``) is applied through `rejects`:
rows whose pick breaks it pick again (among rows placed before them, for a
tree), a few rounds, and those still failing become roots (NULL), which a
CHECK never rejects unless it says IS NOT NULL.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from dbsynth.errors import SchemaError
from dbsynth.schema.model import ForeignKey, Table


Rejects = Callable[[pd.DataFrame], np.ndarray]   # FK values per row -> rows whose values break a CHECK
REDRAW_ROUNDS = 8


def fill_self_reference(frame: pd.DataFrame, fk: ForeignKey, null_share: float, nullable: bool,
                        rng: np.random.Generator, rejects: Rejects | None = None) -> pd.DataFrame:
    """Values for fk.columns of every row of a self-referencing table (NULL for roots)."""
    n = len(frame)
    out = pd.DataFrame({c: pd.Series([None] * n, dtype=object) for c in fk.columns})
    if n == 0:
        return out
    n_roots = min(n, max(1, int(round(null_share * n)))) if nullable else 1
    placement = rng.permutation(n)           # placement[k] = row placed k-th
    parents = np.full(n, -1, dtype=np.int64)
    if not nullable:  # NOT NULL: the root refers to itself, as such a table's first row must in the source
        parents[placement[0]] = placement[0]
    for k in range(n_roots, n):
        parents[placement[k]] = placement[rng.integers(0, k)]
    referred = frame[list(fk.referred_columns)].to_numpy(dtype=object)
    if rejects is not None:
        placement, parents = _fewest_rejected(frame, fk, n_roots, referred, rejects, placement, parents, rng)
        if not nullable:  # the NOT NULL root keeps referring to itself in whichever placement won
            parents[placement[0]] = placement[0]
        rank = np.empty(n, dtype=np.int64)
        rank[placement] = np.arange(n)
        for _ in range(REDRAW_ROUNDS):
            bad = np.flatnonzero(rejects(_values(fk, referred, parents)) & (parents >= 0))
            if not bad.size:
                break
            parents[bad] = placement[(rng.random(bad.size) * rank[bad]).astype(np.int64)]
        if nullable:
            parents[rejects(_values(fk, referred, parents)) & (parents >= 0)] = -1
    return _values(fk, referred, parents)


def _fewest_rejected(frame: pd.DataFrame, fk: ForeignKey, n_roots: int, referred: np.ndarray, rejects: Rejects,
                     placement: np.ndarray, parents: np.ndarray,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The random placement, or the rows in ascending or descending key order, whichever the CHECK rejects least.

    ``manager_id < id`` holds for every pick when rows are placed in key order
    (the first rows, the roots, get the smallest keys, like a company's first
    employees); random redraws alone would leave many rows without a valid parent.
    """
    n = len(frame)
    by_key = frame.reset_index(drop=True).sort_values(list(fk.referred_columns), kind="stable").index.to_numpy()
    picks = (rng.random(n) * np.arange(n)).astype(np.int64)   # k-th placed row: parent among the first k
    best = (int(rejects(_values(fk, referred, parents)).sum()), placement, parents)
    for order in (by_key, by_key[::-1]):
        trial = np.full(n, -1, dtype=np.int64)
        trial[order[n_roots:]] = order[picks[n_roots:]]
        rejected = int(rejects(_values(fk, referred, trial)).sum())
        if rejected < best[0]:
            best = (rejected, order, trial)
    return best[1], best[2]


def _values(fk: ForeignKey, referred: np.ndarray, parents: np.ndarray) -> pd.DataFrame:
    """The FK columns' values for parent row numbers (-1: NULL)."""
    has = parents >= 0
    out = {}
    for j, col in enumerate(fk.columns):
        values = np.full(parents.size, None, dtype=object)
        values[has] = referred[parents[has], j]
        out[col] = values
    return pd.DataFrame(out)


def fill_cross_reference(n: int, fk: ForeignKey, parent: pd.DataFrame, null_share: float,
                         rng: np.random.Generator, rejects: Rejects | None = None) -> pd.DataFrame:
    """Values for a deferred FK to another table of the same cycle (always nullable: the cycle breaks there)."""
    out = pd.DataFrame({c: pd.Series([None] * n, dtype=object) for c in fk.columns})
    if n == 0 or len(parent) == 0:
        return out
    present = rng.random(n) >= null_share
    picks = np.where(present, rng.integers(0, len(parent), n), -1)
    referred = parent[list(fk.referred_columns)].to_numpy(dtype=object)
    if rejects is not None:
        for _ in range(REDRAW_ROUNDS):
            bad = np.flatnonzero(rejects(_values(fk, referred, picks)) & (picks >= 0))
            if not bad.size:
                break
            picks[bad] = rng.integers(0, len(parent), bad.size)
        picks[rejects(_values(fk, referred, picks)) & (picks >= 0)] = -1
    return _values(fk, referred, picks)


def require_update_key(table: Table) -> tuple[str, ...]:
    """Rows are found again for the UPDATE by their primary key (or first unique set)."""
    sets = table.unique_column_sets()
    if not sets:
        raise SchemaError(
            f"table {table.name} is part of a foreign-key cycle but has no primary key or unique "
            f"constraint, so its deferred foreign key cannot be filled; add a primary key"
        )
    return sets[0]
