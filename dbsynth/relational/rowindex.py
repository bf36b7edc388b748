"""Which parent row each child row points at, for integer keys without a text join.

`dbsynth.relational.fit.parent_row_index` joins on the keys' text so that int,
Decimal and str spellings of one key agree; that costs a Python str() per value
and a string merge (about 10 s for TPC-H's 6M line items). Almost every key is
an integer on both sides, and then integer equality is the same test as text
equality: this module looks such keys up in an index in one vectorised call
and hands every other case (text, Decimal, mixed types, NULL or repeated
parent keys) to the text join, so the answer is always the same.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def parent_rows(child: pd.DataFrame, parent: pd.DataFrame, fk_cols: Sequence[str],
                ref_cols: Sequence[str]) -> np.ndarray:
    """For each child row, the position of its parent row (-1 where the FK is NULL or dangling)."""
    found = _integer_lookup(child, parent, fk_cols, ref_cols)
    if found is not None:
        return found
    from dbsynth.relational.fit import parent_row_index   # the general text join

    return parent_row_index(child, parent, tuple(fk_cols), tuple(ref_cols))


def _integer_lookup(child: pd.DataFrame, parent: pd.DataFrame, fk_cols: Sequence[str],
                    ref_cols: Sequence[str]) -> np.ndarray | None:
    child_keys = [_integers(child[c]) for c in fk_cols]
    parent_keys = [_integers(parent[c]) for c in ref_cols]
    if any(k is None for k in child_keys + parent_keys):
        return None
    if any(nulls.any() for _, nulls in parent_keys):  # type: ignore[misc]
        return None
    keys = [values for values, _ in parent_keys]      # type: ignore[misc]
    probe = [values for values, _ in child_keys]      # type: ignore[misc]
    index = pd.Index(keys[0]) if len(keys) == 1 else pd.MultiIndex.from_arrays(keys)
    if not index.is_unique:
        return None
    target = pd.Index(probe[0]) if len(probe) == 1 else pd.MultiIndex.from_arrays(probe)
    rows = np.asarray(index.get_indexer(target), dtype=np.int64)
    missing = np.zeros(len(child), dtype=bool)
    for _, nulls in child_keys:                        # type: ignore[misc]
        missing |= nulls
    rows[missing] = -1
    return rows


def _integers(values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(int64 values, NULL mask) when every value is an integer (plain ints, not bools), else None."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "i":
        return values.to_numpy(dtype=np.int64), np.zeros(len(values), dtype=bool)
    if isinstance(dtype, pd.Int64Dtype) or str(dtype) in ("Int8", "Int16", "Int32", "Int64"):
        nulls = values.isna().to_numpy()
        return values.fillna(0).to_numpy(dtype=np.int64), nulls
    if dtype != object:
        return None
    items = values.to_numpy(dtype=object)
    nulls = np.asarray(pd.isna(items), dtype=bool)
    present = items[~nulls]
    if not set(map(type, present)) <= {int, np.int64, np.int32}:
        return None
    out = np.zeros(len(items), dtype=np.int64)
    try:
        out[~nulls] = np.array(present.tolist(), dtype=np.int64)
    except OverflowError:   # beyond int64: the text join copes
        return None
    return out, nulls
