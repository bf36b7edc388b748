"""Training on part of the source: chosen rows with their whole subtrees.

Two users: `where` rules (model only the rows of a table that match, and what
hangs below them) and training on a sample of a large database (a random share
of root rows with their subtrees, so the number of children per parent stays
true). Only *downward* closure along primary edges is taken: the synthetic
output's foreign keys always resolve because children are generated under
synthetic parents, and pulling parents in upwards would bias the sample
towards parents that have children (artists with sales).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dbsynth.graph import LoadOrder
from dbsynth.relational.plan import TablePlan
from dbsynth.relational.rowindex import parent_rows
from dbsynth.schema.model import Schema


def subtree_subset(schema: Schema, order: LoadOrder, plans: dict[str, TablePlan],
                   frames: dict[str, pd.DataFrame], seeds: dict[str, np.ndarray]) -> dict[str, pd.DataFrame]:
    """Frames restricted to `seeds` (table -> mask of rows to keep) and everything below them.

    A table whose primary parent was restricted keeps the children of kept
    parent rows (and its rows without a primary parent); other tables are whole.
    """
    keep: dict[str, np.ndarray] = {}
    for name in order.tables:
        frame = frames[name]
        mask = np.asarray(seeds[name], dtype=bool) if name in seeds else np.ones(len(frame), dtype=bool)
        primary = plans[name].primary
        if primary is not None:
            fk = primary.fk(schema)
            parent_mask = keep[fk.referred_table]
            if not parent_mask.all():
                rows = parent_rows(frame, frames[fk.referred_table], fk.columns, fk.referred_columns)
                below = rows < 0
                below[rows >= 0] = parent_mask[rows[rows >= 0]]
                mask = mask & below
        keep[name] = mask
    return {name: frames[name][keep[name]].reset_index(drop=True) for name in order.tables}


def root_sample_sizes(schema: Schema, plans: dict[str, TablePlan], rows: dict[str, int],
                      max_rows: int) -> dict[str, int]:
    """How many rows of each root to train on, so no table of its subtree exceeds ~max_rows.

    The share is per root, from the largest table hanging off it along primary
    edges: a small root whose subtree is small (8 employees) is kept whole, so
    its children-per-parent figures are not estimated from two rows. Roots left
    out are kept whole. Only row counts are needed, so a large source is sized
    before a row of it is read.
    """
    children: dict[str, list[str]] = {name: [] for name in plans}
    for name, plan in plans.items():
        if plan.primary is not None:
            children[plan.primary.fk(schema).referred_table].append(name)

    def largest(name: str) -> int:
        return max([rows.get(name, 0)] + [largest(child) for child in children[name]])

    def is_root(plan: TablePlan) -> bool:
        # A copied lookup is written whole, so its children are sampled as roots in its place.
        return plan.mode != "copy" and (plan.primary is None
                                        or plans[plan.primary.fk(schema).referred_table].mode == "copy")

    sizes = {}
    for name, plan in plans.items():
        n = rows.get(name, 0)
        if is_root(plan) and n and (biggest := largest(name)) > max_rows:
            sizes[name] = max(1, int(round(n * max_rows / biggest)))
    return sizes


def sample_mask(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """A mask keeping `size` of `n` rows drawn at random (all of them when size >= n)."""
    mask = np.zeros(n, dtype=bool)
    mask[rng.choice(n, size=min(size, n), replace=False)] = True
    return mask


def sample_roots(schema: Schema, plans: dict[str, TablePlan], frames: dict[str, pd.DataFrame],
                 max_rows: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Seed masks keeping a share of each root's rows (root_sample_sizes) of frames already read."""
    sizes = root_sample_sizes(schema, plans, {name: len(frame) for name, frame in frames.items()}, max_rows)
    return {name: sample_mask(len(frames[name]), size, rng) for name, size in sizes.items()}
