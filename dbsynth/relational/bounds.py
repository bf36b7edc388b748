"""Keep every generated row of a partitioned table inside its partitions' bounds, without dropping it.

The bounds are one CHECK (`schema.pg_partitions`). When the partition key is part
of the primary key (PostgreSQL requires it of a unique key), `relational.checks`
may not touch the key and dropped the rows a model drew outside every partition:
about 1% of a range-partitioned table went missing. Here the key columns of the
bounds that nothing else fixes (not a foreign key, not a generated key, not a
running index) are redrawn together from rows that fit, then the primary key is
made unique again; both are repeated while a uniqueness repair moves a key out
of bounds. Only rows that still do not fit are left to be dropped.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np
import pandas as pd

from dbsynth.relational.checks import CheckTally, set_values
from dbsynth.schema.checks import ParsedCheck, parse_check, passes
from dbsynth.schema.model import Table

__all__ = ["bound_columns", "fit_bounds", "keep_in_bounds"]

ROUNDS = 8


@lru_cache(maxsize=256)
def _parsed(sqltext: str, columns: tuple[str, ...]) -> ParsedCheck | None:
    return parse_check(sqltext, columns)


def _bounds(table: Table) -> tuple[str, ParsedCheck] | None:
    """The partition-bounds CHECK of `table` (name, parsed), when it has one dbsynth can read."""
    for c in table.check_constraints:
        if c.partition:
            parsed = _parsed(c.sqltext, table.column_names)
            return (c.name or c.sqltext, parsed) if parsed is not None else None
    return None


def bound_columns(table: Table, fixed: set[str]) -> tuple[str, ...]:
    """The columns of the bounds that may be redrawn: those not in `fixed` (FKs, generated keys...)."""
    found = _bounds(table)
    if found is None:
        return ()
    return tuple(c for c in found[1].columns if c not in fixed and not table.column(c).computed)


def fit_bounds(frame: pd.DataFrame, table: Table, free: tuple[str, ...], keep: np.ndarray,
               rng: np.random.Generator, tally: CheckTally | None = None) -> int:
    """Redraws `free` of the kept rows outside the bounds, together, from kept rows inside; how many moved."""
    found = _bounds(table)
    if found is None or not free or frame.empty:
        return 0
    name, check = found
    inside = passes(check, frame)
    out, donors = ~inside & keep, np.flatnonzero(inside & keep)
    if not out.any() or donors.size == 0:
        return 0
    picks = donors[rng.integers(0, donors.size, int(out.sum()))]
    for col in free:   # together: a multi-column range key stays one partition's combination
        set_values(frame, col, out, frame[col].to_numpy(dtype=object)[picks])
    if tally is not None:
        tally.add(table.name, name, repaired=int(out.sum()))
    return int(out.sum())


def keep_in_bounds(frame: pd.DataFrame, table: Table, free: tuple[str, ...], valid: np.ndarray,
                   keep: np.ndarray, make_unique: Callable[[], np.ndarray], rng: np.random.Generator,
                   tally: CheckTally | None = None) -> np.ndarray:
    """After the unique-key repair: rows it moved out of bounds are redrawn and the keys made unique
    again, until all fit (or ROUNDS); the new keep mask. `make_unique` re-runs that repair on `frame`
    and returns its keep mask; `valid` is the mask of rows meeting the other CHECKs."""
    for _ in range(ROUNDS):
        if not fit_bounds(frame, table, free, keep, rng, tally):
            break
        keep = valid & make_unique()
    return keep
