"""What makes sampled partitions one database: disjoint key ranges and UNIQUE values across partitions.

Each partition is sampled with local keys 1..n and unique values checked only
within itself. Before it is written, its integer keys (and every foreign key
pointing at them) move past what earlier partitions used, text keys are
renumbered, and UNIQUE values that earlier partitions already wrote are changed.

The work is split so that the partition never has to travel: where it lives (a
local process, a Dask worker) :func:`summarise` takes the little the coordinator
needs (each key column's extent, the values of the UNIQUE columns); the
coordinator, taking summaries in partition order, turns them into
:class:`PartitionFixes` (:class:`Stitcher`), deterministically for a seed; and
:func:`apply_fixes` applies those where the partition lives. A local run does the
same three steps in one process, so both give the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dbsynth.relational.checks import referenced_rows, satisfied
from dbsynth.relational.fit import FittedTable
from dbsynth.relational.keys import generate_keys
from dbsynth.relational.sample import SyntheticDatabase, table_rng
from dbsynth.relational.unique import _perturb
from dbsynth.schema.model import Schema

__all__ = ["Layout", "PartitionFixes", "PartitionSummary", "Stitcher", "apply_fixes", "summarise"]

Key = tuple[str, str]   # (table, key column)


@dataclass(frozen=True)
class Layout:
    """Which columns are partition-local keys and which UNIQUE sets must hold across partitions."""

    schema: Schema
    key_columns: dict[str, tuple[str, ...]]
    unique_sets: dict[str, tuple[tuple[str, ...], ...]]

    @classmethod
    def of(cls, schema: Schema, fitted: dict[str, FittedTable]) -> "Layout":
        keys = {name: tuple(f.plan.key_columns) for name, f in fitted.items() if f.plan.mode == "model"}
        uniques: dict[str, tuple[tuple[str, ...], ...]] = {}
        for name, f in fitted.items():
            table = schema.table(name)
            local = set(f.plan.key_columns) | table.fk_columns | set(f.plan.running_index)
            chosen = tuple(cols for cols in table.unique_column_sets() if not set(cols) & local)
            if chosen and f.plan.mode == "model":
                uniques[name] = chosen
        return cls(schema, keys, uniques)

    def kind(self, key: Key) -> str:
        return self.schema.table(key[0]).column(key[1]).type.kind

    def unique_columns(self, table: str) -> list[str]:
        """Every column of the table's cross-partition UNIQUE sets, in first-seen order."""
        return list(dict.fromkeys(c for cols in self.unique_sets.get(table, ()) for c in cols))


@dataclass(frozen=True)
class PartitionSummary:
    """The little a coordinator needs from a partition: key extents, UNIQUE values, rows per table."""

    extents: dict[Key, int]                  # integer keys: local max; text keys: row count
    unique_values: dict[str, pd.DataFrame]   # table -> its UNIQUE columns' values, in row order
    rows: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PartitionFixes:
    """What to change in a partition before it is written."""

    add: dict[Key, int] = field(default_factory=dict)          # integer keys: offset to add
    renumber: dict[Key, int] = field(default_factory=dict)     # text keys: renumber from start + 1
    # table -> column -> (row positions, new values)
    cells: dict[str, dict[str, tuple[np.ndarray, list[Any]]]] = field(default_factory=dict)


def summarise(part: SyntheticDatabase, layout: Layout) -> PartitionSummary:
    extents: dict[Key, int] = {}
    for table, columns in layout.key_columns.items():
        frame = part.tables[table]
        for col in columns:
            kind = layout.kind((table, col))
            if kind in ("integer", "decimal"):
                extents[(table, col)] = int(pd.to_numeric(frame[col]).max()) if len(frame) else 0
            elif kind == "text":
                extents[(table, col)] = len(frame)
    values = {table: part.tables[table][layout.unique_columns(table)].copy() for table in layout.unique_sets}
    return PartitionSummary(extents, values, {name: len(frame) for name, frame in part.tables.items()})


class Stitcher:
    """The coordinator's side: key offsets as running sums, and the UNIQUE values seen so far.

    Summaries must come in partition order (0, 1, 2, ...): the fixes of a
    partition depend on every earlier one, never on a later one.
    """

    def __init__(self, layout: Layout, seed: int) -> None:
        self.layout = layout
        self.offsets: dict[Key, int] = {}
        self.seen: dict[tuple[str, tuple[str, ...]], set[tuple[Any, ...]]] = {}
        self.rng = table_rng(seed, "", "unique-across-partitions")
        self.index = 0

    def fixes_for(self, summary: PartitionSummary) -> PartitionFixes:
        fixes = PartitionFixes(cells=self._unique_cells(summary.unique_values))
        for key, extent in summary.extents.items():
            start = self.offsets.get(key, 0)
            self.offsets[key] = start + extent
            if self.layout.kind(key) == "text":
                if self.index > 0:
                    fixes.renumber[key] = start
            elif start:
                fixes.add[key] = start
        self.index += 1
        return fixes

    def _unique_cells(self, values: dict[str, pd.DataFrame]) -> dict[str, dict[str, tuple[np.ndarray, list[Any]]]]:
        """Values clashing with earlier partitions' are perturbed (as within a table); the changed cells."""
        cells: dict[str, dict[str, tuple[np.ndarray, list[Any]]]] = {}
        for name, sets in self.layout.unique_sets.items():
            frame, table = values[name], self.layout.schema.table(name)
            before = frame.copy()
            for cols in sets:
                seen = self.seen.setdefault((name, cols), set())
                if len(cols) == 1 and table.column(cols[0]).type.kind == "integer":
                    _free_inside(frame, cols[0], seen, self.rng)
                for _ in range(30):
                    tuples = list(map(tuple, frame[list(cols)].astype(object).to_numpy().tolist()))
                    clash = np.array([t in seen and None not in t for t in tuples], dtype=bool)
                    if not clash.any():
                        break
                    _perturb(frame, table, cols, np.flatnonzero(clash), self.rng)
                seen.update(map(tuple, frame[list(cols)].astype(object).to_numpy().tolist()))
            for col in frame.columns:
                old, new = before[col], frame[col]
                moved = np.flatnonzero(~((old == new) | (old.isna() & new.isna())).to_numpy(dtype=bool))
                if moved.size:
                    cells.setdefault(name, {})[col] = (moved, new.iloc[moved].tolist())
        return cells


def _free_inside(frame: pd.DataFrame, col: str, seen: set[tuple[Any, ...]], rng: np.random.Generator) -> None:
    """Integers clashing with earlier partitions' take free values inside the range of every value so far.

    `_perturb` would move them past the largest value, out of a CHECK's range (score BETWEEN 1 AND 1300)
    and of the column's distribution; inside the range they stay where generated values already are.
    Where the range has too few free values, nothing changes here and `_perturb` takes over.
    """
    values = pd.to_numeric(frame[col], errors="coerce")
    present = values.notna().to_numpy()
    clash = present & np.fromiter(((v,) in seen for v in values.tolist()), dtype=bool, count=len(values))
    if not clash.any():
        return
    taken = {int(t[0]) for t in seen if t[0] is not None and t[0] == t[0]}
    taken |= {int(v) for v in values[present & ~clash].tolist()}
    low = min(min(taken), int(values[present].min()))
    high = max(max(taken), int(values[present].max()))
    need = int(clash.sum())
    if high - low + 1 - len(taken) < need:
        return
    if high - low < 4_000_000:
        free = np.setdiff1d(np.arange(low, high + 1), np.fromiter(taken, dtype=np.int64, count=len(taken)))
        chosen = rng.choice(free, need, replace=False)
    else:   # a wide range: random draws rarely hit a taken value
        picked: dict[int, None] = {}
        while len(picked) < need:
            for v in rng.integers(low, high + 1, 2 * need).tolist():
                if v not in taken and len(picked) < need:
                    picked[v] = None
        chosen = np.fromiter(picked, dtype=np.int64, count=need)
    frame.loc[frame.index[np.flatnonzero(clash)], col] = chosen


def apply_fixes(part: SyntheticDatabase, fixes: PartitionFixes, layout: Layout) -> None:
    """Shift keys (and the foreign keys pointing at them) and set the changed UNIQUE cells, in place."""
    mapping: dict[Key, Any] = dict(fixes.add)   # key -> offset, or old -> new value map
    for key, start in fixes.renumber.items():
        values = part.tables[key[0]][key[1]]
        fresh = generate_keys(layout.schema.table(key[0]).column(key[1]), len(values),
                              np.random.default_rng(0), start=start + 1)
        mapping[key] = dict(zip(values.tolist(), fresh.tolist()))
    if mapping:
        for table, frame in part.tables.items():
            _apply(frame, _columns_to_move(layout.schema, table, mapping), mapping)
        for table, _keys, _fk_cols, rows in part.updates:
            moves = {c: m for c, m in _columns_to_move(layout.schema, table, mapping).items() if c in rows.columns}
            _apply(rows, moves, mapping)
    for table, columns in fixes.cells.items():
        frame = part.tables[table]
        changed = np.zeros(len(frame), dtype=bool)
        for col, (rows, new) in columns.items():
            frame.loc[frame.index[rows], col] = new
            changed[rows] = True
        _recheck(part, layout.schema, table, changed)


def _recheck(part: SyntheticDatabase, schema: Schema, name: str, changed: np.ndarray) -> None:
    """Rows whose UNIQUE values moved meet the CHECKs dbsynth reads again (a value past the others may
    leave a CHECK's range); failing ones are dropped, as sampling drops them, unless a row points at them
    (the target then names the CHECK). CHECKs only the target reads meet the rows at the write."""
    frame, table = part.tables[name], schema.table(name)
    drop = changed & ~satisfied(frame, table)
    if not drop.any():
        return
    drop &= ~referenced_rows(schema, part, name, frame)
    satisfied(frame, table, part.check_repairs, among=drop)   # counted as dropped, per CHECK
    part.tables[name] = frame.loc[~drop].reset_index(drop=True)


def _columns_to_move(schema: Schema, table: str, mapping: dict[Key, Any]) -> dict[str, Key]:
    """Columns of `table` holding a moved key: its own keys and the FKs that point at one."""
    moves = {c: (table, c) for (t, c) in mapping if t == table}
    for fk in schema.table(table).foreign_keys:
        for col, ref in zip(fk.columns, fk.referred_columns):
            if (key := _moved_key(schema, fk.referred_table, ref, mapping, frozenset())) is not None:
                moves[col] = key
    return moves


def _moved_key(schema: Schema, table: str, column: str, mapping: dict[Key, Any],
               seen: frozenset[Key]) -> Key | None:
    """The generated key a column's values come from, following FKs that point at FK columns.

    TPC-H's lineitem points at partsupp's (ps_partkey, ps_suppkey), which are
    themselves FKs to part and supplier: a moved part key moves l_partkey too.
    """
    if (table, column) in mapping:
        return table, column
    for fk in schema.table(table).foreign_keys:
        if column in fk.columns and (table, column) not in seen:
            ref = fk.referred_columns[fk.columns.index(column)]
            found = _moved_key(schema, fk.referred_table, ref, mapping, seen | {(table, column)})
            if found is not None:
                return found
    return None


def _apply(frame: pd.DataFrame, moves: dict[str, Key], mapping: dict[Key, Any]) -> None:
    for col, key in moves.items():
        if col not in frame.columns or not len(frame):
            continue
        how = mapping[key]
        if isinstance(how, dict):
            frame[col] = frame[col].map(lambda v, m=how: m.get(v, v))
        else:
            values = frame[col].astype(object)
            frame[col] = values.map(lambda v, o=how: v if v is None or v != v else int(v) + o)
