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

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from dbsynth.graph import LoadOrder
from dbsynth.relational.plan import TablePlan
from dbsynth.relational.rowindex import parent_rows
from dbsynth.schema.model import Schema

# A table whose subtree holds at most this many rows is never cut down by a training sample (see
# small_tables_as_roots): store and staff tables, a company's few warehouses.
SMALL_SUBTREE_ROWS = 100


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


def _subtree_sizes(schema: Schema, plans: dict[str, TablePlan], rows: dict[str, int]) -> tuple[
        dict[str, list[str]], Callable[[str], int]]:
    """Each table's children along primary edges, and the rows of the largest table in a table's subtree."""
    children: dict[str, list[str]] = {name: [] for name in plans}
    for name, plan in plans.items():
        if plan.primary is not None:
            children[plan.primary.fk(schema).referred_table].append(name)

    def largest(name: str) -> int:
        return max([rows.get(name, 0)] + [largest(child) for child in children[name]])

    return children, largest


def small_tables_as_roots(schema: Schema, plans: dict[str, TablePlan], rows: dict[str, int],
                          sizes: dict[str, int]) -> dict[str, TablePlan]:
    """Plans where a small table below a sampled root is a root itself, its primary parent a secondary one.

    Why: a sampled root keeps a share of its rows and the subtrees below them, so a table of two rows
    below it (sakila's staff, hanging off 603 addresses) is usually left with none, and generated with
    none; its children (the stores) then have no parent, and the NOT NULL keys that point at them
    (customer.store_id) nothing to point at. As a root it is read whole and written with its true row
    count; its rows still point at a parent through the edge, now secondary. Only the topmost small
    table of a branch moves (the tables below it follow it whole), and only while a sample is taken.
    """
    children, largest = _subtree_sizes(schema, plans, rows)
    cut: list[str] = []
    stack = [child for root in sizes for child in children[root]]
    while stack:
        name = stack.pop()
        if largest(name) <= SMALL_SUBTREE_ROWS:
            cut.append(name)
        else:
            stack.extend(children[name])
    out = dict(plans)
    for name in cut:
        plan = out[name]
        if plan.mode != "model" or plan.running_index or plan.primary is None:
            continue
        ref = plan.primary
        out[name] = replace(plan, primary=None, secondary=(ref, *plan.secondary))
        parent = ref.fk(schema).referred_table   # its rows no longer come from the parent's child counts
        out[parent] = replace(out[parent], child_edges=tuple(e for e in out[parent].child_edges if e != ref))
    return out


def root_sample_sizes(schema: Schema, plans: dict[str, TablePlan], rows: dict[str, int],
                      max_rows: int) -> dict[str, int]:
    """How many rows of each root to train on, so no table of its subtree exceeds ~max_rows.

    The share is per root, from the largest table hanging off it along primary
    edges: a small root whose subtree is small (8 employees) is kept whole, so
    its children-per-parent figures are not estimated from two rows. Roots left
    out are kept whole. Only row counts are needed, so a large source is sized
    before a row of it is read.
    """
    _, largest = _subtree_sizes(schema, plans, rows)

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
