"""Make sampled rows satisfy the table's CHECK constraints before any child points at them.

Models learn each column's values and their correlations, not the rules that
bind them (``left > hired``, ``discount <= subtotal``), so a share of sampled
rows breaks a CHECK and the target would reject the whole load. For every CHECK
we can read (`schema.checks`), failing rows are repaired by redrawing one of
the CHECK's free columns from the rows that pass (keeping that column's
distribution), then by NULL where the CHECK allows it, then by copying the
CHECK's columns together from a passing row. Rows that still fail are dropped,
which is safe because no child row points at them yet. Keys and foreign keys
are never changed here. What was repaired or dropped is counted per CHECK in a
`CheckTally`, which the clone reports in its warnings (a silent repair would
hide that the model does not know the rule).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dbsynth.schema.checks import ParsedCheck, mentioned_columns, parse_check, passes
from dbsynth.schema.model import Schema, Table

if TYPE_CHECKING:
    from dbsynth.relational.sample import SyntheticDatabase

log = logging.getLogger(__name__)

ROUNDS = 8


@lru_cache(maxsize=4096)
def _parsed(sqltext: str, columns: tuple[str, ...]) -> ParsedCheck | None:
    return parse_check(sqltext, columns)


@dataclass
class CheckTally:
    """Rows repaired or dropped per (table, CHECK), summed over partitions for the clone's warnings."""

    counts: dict[tuple[str, str], list[int]] = field(default_factory=dict)   # -> [repaired, dropped]

    def add(self, table: str, check: str, repaired: int = 0, dropped: int = 0) -> None:
        if repaired or dropped:
            entry = self.counts.setdefault((table, check), [0, 0])
            entry[0] += repaired
            entry[1] += dropped

    def merge(self, other: CheckTally) -> None:
        for (table, check), (repaired, dropped) in other.counts.items():
            self.add(table, check, repaired, dropped)

    def warnings(self) -> list[str]:
        """One line per table and CHECK, in a stable order."""
        out = []
        for (table, check), (repaired, dropped) in sorted(self.counts.items()):
            parts = [f"{repaired:,} repaired"] if repaired else []
            parts += [f"{dropped:,} dropped"] if dropped else []
            out.append(f"table {table}: CHECK {check}: generated rows that failed it: {' and '.join(parts)}")
        return out


def readable_checks(table: Table) -> list[tuple[str, ParsedCheck]]:
    """(name, parsed) for every CHECK of `table` that dbsynth can evaluate."""
    out = []
    for check in table.check_constraints:
        parsed = _parsed(check.sqltext, table.column_names)
        if parsed is not None:
            out.append((check.name or check.sqltext, parsed))
    return out


def unreadable_checks(table: Table) -> list[str]:
    """Names (or text) of the CHECKs of `table` that dbsynth cannot evaluate."""
    return [c.name or c.sqltext for c in table.check_constraints
            if _parsed(c.sqltext, table.column_names) is None]


def format_columns(table: Table) -> set[str]:
    """Columns a CHECK dbsynth cannot read names (a regex, a function): their values keep their shape."""
    return {col for c in table.check_constraints if _parsed(c.sqltext, table.column_names) is None
            for col in mentioned_columns(c.sqltext, table.column_names)}


def enforce_checks(frame: pd.DataFrame, table: Table, protected: set[str],
                   rng: np.random.Generator, tally: CheckTally | None = None) -> np.ndarray:
    """Repairs `frame` in place; returns the mask of rows that satisfy every readable CHECK.

    Rows that break a CHECK and could be repaired are counted as repaired in
    `tally`; rows that still break one are counted as dropped (for the first
    CHECK they break): the caller must drop them or report them.
    """
    checks = [(name, c) for name, c in readable_checks(table) if set(c.columns) <= set(frame.columns)]
    keep = np.ones(len(frame), dtype=bool)
    if not checks or frame.empty:
        return keep
    failed_before = {name: ~passes(check, frame) for name, check in checks}
    for _ in range(2):  # a repair for one CHECK may break another: a second pass settles most
        for _, check in checks:
            _repair(frame, table, check, protected, rng)
    for name, check in checks:
        ok = passes(check, frame)
        if not ok.all():
            log.info("table %s: %d sampled rows could not be made to satisfy CHECK %s",
                     table.name, int((~ok & keep).sum()), name)
        if tally is not None:
            tally.add(table.name, name, repaired=int((failed_before[name] & ok).sum()),
                      dropped=int((~ok & keep).sum()))
        keep &= ok
    return keep


def satisfied(frame: pd.DataFrame, table: Table, tally: CheckTally | None = None,
              among: np.ndarray | None = None) -> np.ndarray:
    """Rows that satisfy every readable CHECK (no repair); failures among `among` rows count as dropped."""
    keep = np.ones(len(frame), dtype=bool)
    for name, check in readable_checks(table):
        if set(check.columns) <= set(frame.columns):
            ok = passes(check, frame)
            if tally is not None:
                tally.add(table.name, name, dropped=int((~ok & keep & (True if among is None else among)).sum()))
            keep &= ok
    return keep


def _repair(frame: pd.DataFrame, table: Table, check: ParsedCheck, protected: set[str],
            rng: np.random.Generator) -> None:
    fail = ~passes(check, frame)
    if not fail.any():
        return
    free = [c for c in check.columns if c not in protected and not table.column(c).computed]
    for round_ in range(ROUNDS if free else 0):
        col = free[round_ % len(free)]
        donors = frame.loc[~fail, col].to_numpy(dtype=object)
        if donors.size == 0:
            break
        set_values(frame, col, fail, donors[rng.integers(0, donors.size, int(fail.sum()))])
        fail = ~passes(check, frame)
        if not fail.any():
            return
    for col in free:  # NULL is unknown, and an unknown CHECK passes
        if table.column(col).nullable:
            trial = frame.loc[fail, list(check.columns)].copy()
            trial[col] = None
            ok = passes(check, trial)
            if ok.any():
                set_values(frame, col, _positions(fail)[ok], np.full(int(ok.sum()), None, dtype=object))
                fail = ~passes(check, frame)
                if not fail.any():
                    return
    donors_rows = np.flatnonzero(~fail)
    if free and donors_rows.size:
        picks = donors_rows[rng.integers(0, donors_rows.size, int(fail.sum()))]
        for col in free:
            set_values(frame, col, fail, frame[col].to_numpy(dtype=object)[picks])


def _positions(mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask)


def set_values(frame: pd.DataFrame, col: str, rows: np.ndarray, values: np.ndarray) -> None:
    """frame[col][rows] = values, keeping the column's dtype where the values allow it."""
    positions = _positions(rows) if rows.dtype == bool else rows
    column = frame[col]
    try:
        updated = column.copy()
        if column.dtype != object:
            values = pd.array(values, dtype=column.dtype)
        updated.iloc[positions] = values
        frame[col] = updated
    except (TypeError, ValueError):
        updated = column.astype(object)
        updated.iloc[positions] = values
        frame[col] = updated


def referenced_rows(schema: Schema, part: "SyntheticDatabase", name: str, frame: pd.DataFrame) -> np.ndarray:
    """Per row of `frame`: some row of the partition (or a deferred FK value) points at it."""
    out = np.zeros(len(frame), dtype=bool)
    for child in schema.tables:
        for fk in child.foreign_keys:
            if fk.referred_table != name or child.name not in part.tables:
                continue
            sources = [part.tables[child.name]]
            sources += [rows for t, _, cols, rows in part.updates if t == child.name and set(fk.columns) <= set(cols)]
            pointing = {t for source in sources if set(fk.columns) <= set(source.columns)
                        for t in _key_tuples(source, fk.columns)}
            out |= np.fromiter((t in pointing for t in _key_tuples(frame, fk.referred_columns)), dtype=bool,
                               count=len(frame))
    return out


def _key_tuples(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return list(map(tuple, frame[list(columns)].astype(object).to_numpy().tolist()))
