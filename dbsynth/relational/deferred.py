"""Deferred foreign keys (self-references, cycle breakers): filled after every table exists.

Self-references become trees: a share of rows (the source's NULL share, at
least one) are roots, and every other row picks its parent among rows placed
before it, so there is never a cycle and every reference resolves. Under a NOT
NULL self-reference the one root refers to itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dbsynth.errors import SchemaError
from dbsynth.schema.model import ForeignKey, Table


def fill_self_reference(frame: pd.DataFrame, fk: ForeignKey, null_share: float, nullable: bool,
                        rng: np.random.Generator) -> pd.DataFrame:
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
    has = parents >= 0
    for j, col in enumerate(fk.columns):
        values = np.full(n, None, dtype=object)
        values[has] = referred[parents[has], j]
        out[col] = values
    return out


def fill_cross_reference(n: int, fk: ForeignKey, parent: pd.DataFrame, null_share: float,
                         rng: np.random.Generator) -> pd.DataFrame:
    """Values for a deferred FK to another table of the same cycle."""
    out = pd.DataFrame({c: pd.Series([None] * n, dtype=object) for c in fk.columns})
    if n == 0 or len(parent) == 0:
        return out
    present = rng.random(n) >= null_share
    picks = rng.integers(0, len(parent), n)
    referred = parent[list(fk.referred_columns)].to_numpy(dtype=object)
    for j, col in enumerate(fk.columns):
        values = np.full(n, None, dtype=object)
        values[present] = referred[picks[present], j]
        out[col] = values
    return out


def require_update_key(table: Table) -> tuple[str, ...]:
    """Rows are found again for the UPDATE by their primary key (or first unique set)."""
    sets = table.unique_column_sets()
    if not sets:
        raise SchemaError(
            f"table {table.name} is part of a foreign-key cycle but has no primary key or unique "
            f"constraint, so its deferred foreign key cannot be filled; add a primary key"
        )
    return sets[0]
