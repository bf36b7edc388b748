"""Cut large tables down before scoring, keeping parents and all their children together.

sdmetrics' pair and inter-table metrics grow with rows, and a few tens of
thousands of rows per table measure shapes as well as millions. Cutting each
table on its own would break children-per-parent counts (most kept order lines
would lose their order, most kept orders some of their lines), so we sample
*root rows and their whole subtrees*: every child table hangs from one owning
parent (the foreign key that is never NULL, then the parent whose rows nearly
all have children, then the bigger parent) and keeps exactly the rows of kept
owners. A root keeps the share of its rows that its most crowded descendant can
afford; when a subtree still comes out too big, its root's share shrinks and
the cut is redone. A parent of which fewer than MIN_PARENTS rows would be kept
(8 employees owning all customers) is not cut: its child is sampled as a root,
so a handful of parent rows never decides the whole sample. Rows are drawn from a fixed-seed permutation, so real and
synthetic data are cut by the same rule, independently and reproducibly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dbsynth.errors import SchemaError
from dbsynth.graph import load_order
from dbsynth.schema.model import ForeignKey, Schema

SEED = 0
MIN_PARENTS = 100  # a parent table is cut only if at least this many of its rows are kept
ROUNDS = 8   # shrink-and-redo passes before the last resort (a plain random cut of what is still too big)

DESCRIPTION = ("tables above {max_rows:,} rows are sampled by root rows with their whole subtrees "
               "(children per owning parent stay exact), seed 0")


def subsample(schema: Schema, frames: dict[str, pd.DataFrame], max_rows: int,
              owners: dict[str, ForeignKey | None] | None = None) -> dict[str, pd.DataFrame]:
    """At most `max_rows` rows per table; when every table is small enough, `frames` as they are.

    Pass the `owners` found on the real data to cut the synthetic data along the same edges.
    """
    if all(len(f) <= max_rows for f in frames.values()):
        return dict(frames)
    order = _order(schema)
    owners = dict(owners) if owners is not None else owner_fks(schema, frames)
    share = {name: min(1.0, max_rows / len(f)) if len(f) else 1.0 for name, f in frames.items()}
    for name in reversed(order):  # a parent keeps no more than its most crowded child can afford
        fk = owners[name]
        if fk is None or share[name] >= 1.0:
            continue
        if share[name] * len(frames[fk.referred_table]) >= MIN_PARENTS:
            share[fk.referred_table] = min(share[fk.referred_table], share[name])
        else:  # a handful of parents would decide the whole sample: cut this table as a root instead
            owners[name] = None
    rng = np.random.default_rng(SEED)
    rank = {name: rng.permutation(len(frames[name])) for name in order}  # row i is kept if rank < share * n
    for _ in range(ROUNDS):
        cut = _cut(order, owners, frames, share, rank)
        over = {name: len(f) for name, f in cut.items() if len(f) > max_rows}
        if not over:
            return cut
        for name, rows in over.items():
            ratio = max_rows / rows * 0.98
            for table in {name, _root(name, owners)}:
                share[table] *= ratio
    cut = _cut(order, owners, frames, share, rank)
    return {name: f if len(f) <= max_rows else f.sample(n=max_rows, random_state=SEED).sort_index()
            for name, f in cut.items()}


def owner_fks(schema: Schema, frames: dict[str, pd.DataFrame]) -> dict[str, ForeignKey | None]:
    """The owning foreign key of every table (None for roots)."""
    return {name: owner_fk(schema, name, frames) for name in schema.table_names}


def owner_fk(schema: Schema, name: str, frames: dict[str, pd.DataFrame]) -> ForeignKey | None:
    """The parent that owns a table's rows (None for a root); self-references never own."""
    candidates = [fk for fk in schema.table(name).foreign_keys if fk.referred_table != name]
    if not candidates:
        return None
    child = frames[name]

    def rank(fk: ForeignKey) -> tuple[bool, float, int]:
        keys = child[list(fk.columns)]
        parent = frames[fk.referred_table]
        referenced = pd.MultiIndex.from_frame(keys.dropna()) if len(fk.columns) > 1 else pd.Index(keys.iloc[:, 0])
        parent_keys = _index(parent, list(fk.referred_columns))
        coverage = float(parent_keys.isin(referenced).mean()) if len(parent_keys) else 0.0
        return (bool(keys.notna().all(axis=None)), round(coverage, 1), len(parent))

    return max(candidates, key=rank)


def _order(schema: Schema) -> tuple[str, ...]:
    try:
        return load_order(schema).tables
    except SchemaError:  # a cycle without a nullable FK: no order, every table is cut on its own
        return schema.table_names


def _root(name: str, owners: dict[str, ForeignKey | None]) -> str:
    seen = {name}
    while (fk := owners.get(name)) is not None and fk.referred_table not in seen:
        name = fk.referred_table
        seen.add(name)
    return name


def _cut(order: tuple[str, ...], owners: dict[str, ForeignKey | None], frames: dict[str, pd.DataFrame],
         share: dict[str, float], rank: dict[str, np.ndarray]) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    for name in order:
        frame = frames[name]
        drawn = rank[name] < share[name] * len(frame)
        fk = owners[name]
        if fk is not None and fk.referred_table in out and len(out[fk.referred_table]) < len(frames[fk.referred_table]):
            keys = frame[list(fk.columns)]
            orphan = keys.isna().any(axis=1).to_numpy()  # no owner: drawn like a root row
            kept = _index(frame, list(fk.columns)).isin(_index(out[fk.referred_table], list(fk.referred_columns)))
            out[name] = frame[(kept & ~orphan) | (orphan & drawn)]
        else:
            out[name] = frame[drawn] if share[name] < 1.0 else frame
    return out


def _index(frame: pd.DataFrame, columns: list[str]) -> pd.Index:
    return pd.MultiIndex.from_frame(frame[columns]) if len(columns) > 1 else pd.Index(frame[columns[0]])
