"""CHECKs dbsynth cannot parse, evaluated by the target engine on the generated rows before they are written.

A regex (``code ~ '^[A-Z]{3}[0-9]+$'``), a user-defined function (``is_even(n)``)
or nested functions are out of reach of `schema.checks`, so sampling cannot
repair rows that break them, and one such row makes the target reject the
whole load. When source and target are the same engine the CHECK is written
into the target verbatim, so the target can also tell us which rows fail it:
each batch of rows goes into one read-only query,

    WITH v(_dbsynth_row, col, ...) AS (VALUES (0, CAST(? AS type), ...), ...)
    SELECT _dbsynth_row FROM v WHERE NOT (<the CHECK as written>)

inside a savepoint of the write transaction (a CHECK the target cannot evaluate
is named in a warning, and the load goes on). A failing row takes the values of
the CHECK's columns from another generated row of the same table that passes,
so the row stays and no foreign key pointing at it is orphaned; key, foreign
key and unique columns are never changed. A row that still fails is dropped
when nothing points at it; otherwise the write stops with a one-line error.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dbsynth.errors import DbsynthError
from dbsynth.io.naming import relocated_sql
from dbsynth.io.values import convert, json_dumps
from dbsynth.relational.checks import CheckTally, readable_checks, referenced_rows, set_values, unreadable_checks
from dbsynth.relational.sample import SyntheticDatabase
from dbsynth.schema.checks import mentioned_columns, passes
from dbsynth.schema.model import Schema, Table

__all__ = ["TargetChecks"]

log = logging.getLogger(__name__)

MAX_PARAMETERS = 30_000   # bind parameters a query (PostgreSQL allows 65,535)
MAX_ROWS = 2_000          # rows a query
ROW = "_dbsynth_row"


@dataclass
class TargetChecks:
    """Evaluates and repairs one table's unparseable CHECKs in the target, partition after partition."""

    schema: Schema
    tally: CheckTally
    rng_for: Any                          # (table name, partition index) -> np.random.Generator
    enabled: bool = True                  # the target holds the CHECKs as written (same engine)
    warnings: list[str] = field(default_factory=list)
    _broken: set[tuple[str, str]] = field(default_factory=set)   # CHECKs the target failed to evaluate

    def apply(self, conn: sa.Connection, target: sa.Table, part: SyntheticDatabase, name: str,
              index: int) -> pd.DataFrame:
        """The rows of `name` to write: repaired in place, and failing unreferenced rows left out."""
        table = self.schema.table(name)
        frame = part.tables[name]
        if not self.enabled:
            return frame
        checks = [(c.name or c.sqltext, relocated_sql(c.sqltext)) for c in table.check_constraints
                  if (c.name or c.sqltext) in set(unreadable_checks(table))
                  and (name, c.name or c.sqltext) not in self._broken]
        if not checks or frame.empty or name in part.copied:
            return frame  # verbatim rows came from the source, where the CHECK held
        rng = self.rng_for(name, index)
        protected = _protected(table)
        changed = np.zeros(len(frame), dtype=bool)
        failed_first: dict[str, np.ndarray] = {}
        for check, sqltext in checks:
            columns = [c for c in mentioned_columns(sqltext, table.column_names)
                       if c in frame.columns and c in target.c]
            fail = self._failing(conn, target, table, frame, check, sqltext, columns)
            if fail is None or not fail.any():
                continue
            failed_first[check] = fail
            free = [c for c in columns if c not in protected and not table.column(c).computed]
            donors = np.flatnonzero(~fail)
            if not free or not donors.size:
                continue
            picks = donors[rng.integers(0, donors.size, int(fail.sum()))]
            for col in free:
                set_values(frame, col, fail, frame[col].to_numpy(dtype=object)[picks])
            changed |= fail
        if not failed_first:
            return frame
        still = np.zeros(len(frame), dtype=bool)
        worst: dict[str, np.ndarray] = {}
        rows = np.flatnonzero(changed | np.logical_or.reduce(list(failed_first.values())))
        subset = frame.iloc[rows].reset_index(drop=True)
        for check, sqltext in checks:  # every CHECK again on the rows touched: a repair may break another
            columns = [c for c in mentioned_columns(sqltext, table.column_names)
                       if c in frame.columns and c in target.c]
            fail = self._failing(conn, target, table, subset, check, sqltext, columns)
            if fail is not None and fail.any():
                mask = np.zeros(len(frame), dtype=bool)
                mask[rows[fail]] = True
                worst[check] = mask & ~still
                still |= mask
        for check, parsed in readable_checks(table):  # a copied value must not break a CHECK dbsynth reads
            if set(parsed.columns) <= set(frame.columns):
                broken = ~passes(parsed, frame) & changed & ~still
                if broken.any():
                    worst[check] = worst.get(check, np.zeros(len(frame), dtype=bool)) | broken
                    still |= broken
        for check, fail in failed_first.items():
            self.tally.add(name, check, repaired=int((fail & ~still).sum()))
        if not still.any():
            return frame
        pointed_at = referenced_rows(self.schema, part, name, frame)
        stuck = still & pointed_at
        if stuck.any():
            check = next(c for c, m in worst.items() if (m & stuck).any())
            raise DbsynthError(f"table {name}: {int(stuck.sum())} generated rows fail CHECK {check} even after "
                               f"repair, and other rows point at them; set the CHECK's columns to mode "
                               f"\"keep\" or \"model\" with fewer distinct values, or skip the table")
        for check, mask in worst.items():
            self.tally.add(name, check, dropped=int(mask.sum()))
        kept = frame.loc[~still].reset_index(drop=True)
        part.tables[name] = kept
        return kept

    def _failing(self, conn: sa.Connection, target: sa.Table, table: Table, frame: pd.DataFrame, check: str,
                 sqltext: str, columns: list[str]) -> np.ndarray | None:
        """Per row of `frame`: the target says the CHECK is FALSE (None: it could not evaluate it)."""
        try:
            with conn.begin_nested():
                return failing_rows(conn, target, frame, sqltext, columns)
        except sa.exc.DBAPIError as exc:
            self._broken.add((table.name, check))
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            self.warnings.append(f"check constraint {check!r} on table {table.name} is in a form dbsynth cannot "
                                 f"read and the target could not evaluate it on the generated rows ({reason}), "
                                 f"so they are not made to satisfy it")
            return None


def failing_rows(conn: sa.Connection, target: sa.Table, frame: pd.DataFrame, sqltext: str,
                 columns: list[str]) -> np.ndarray:
    """Per row of `frame`: `sqltext` is FALSE for it, as the target engine evaluates it (NULL passes)."""
    fail = np.zeros(len(frame), dtype=bool)
    if frame.empty:
        return fail
    dialect = conn.dialect
    values = [_driver_values(frame[c], target.c[c], dialect.name) for c in columns]
    per_query = max(1, min(MAX_ROWS, MAX_PARAMETERS // (len(columns) + 1)))
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    body = sqltext if marker == "?" else sqltext.replace("%", "%%")
    quote = dialect.identifier_preparer.quote
    row_sql = "(" + ", ".join([marker] + [_typed(marker, target.c[c], dialect) for c in columns]) + ")"
    head = f"WITH v({', '.join([ROW] + [quote(c) for c in columns])}) AS (VALUES "
    tail = f") SELECT {ROW} FROM v WHERE NOT ({body})"
    statements: dict[int, str] = {}
    for start in range(0, len(frame), per_query):
        stop = min(start + per_query, len(frame))
        n = stop - start
        if n not in statements:
            statements[n] = head + ", ".join([row_sql] * n) + tail
        params: list[Any] = []
        for i in range(start, stop):
            params.append(i)
            params.extend(v[i] for v in values)
        for (row,) in conn.exec_driver_sql(statements[n], tuple(params)):
            fail[int(row)] = True
    return fail


def _driver_values(series: pd.Series, col: sa.Column, dialect: str) -> np.ndarray:
    """Values as the executemany path sends them (JSON as text we serialised ourselves)."""
    values = convert(series.reset_index(drop=True), col, dialect)
    if isinstance(col.type, sa.JSON):
        values = np.fromiter((None if v is None else json_dumps(v) for v in values), dtype=object, count=len(values))
    return values


def _typed(marker: str, col: sa.Column, dialect: sa.engine.Dialect) -> str:
    """A placeholder cast to the column's type where the engine would otherwise guess it wrongly.

    PostgreSQL types a bare parameter as text (or int8), which a user-defined
    function over integer would not accept; MySQL takes literals, where only
    temporal values need a cast to compare as dates; SQLite has no types to match.
    """
    if dialect.name == "postgresql":
        collation = getattr(col.type, "collation", None)
        if not collation:
            return f"CAST({marker} AS {col.type.compile(dialect=dialect)})"
        plain = copy.copy(col.type)   # COLLATE follows the cast: inside it is a syntax error
        plain.collation = None
        return f"CAST({marker} AS {plain.compile(dialect=dialect)}) COLLATE {_collation(col.type, dialect)}"
    if dialect.name in ("mysql", "mariadb"):
        kind = {sa.DateTime: "DATETIME(6)", sa.Date: "DATE", sa.Time: "TIME(6)"}
        for cls, name in kind.items():
            if isinstance(col.type, cls):
                return f"CAST({marker} AS {name})"
    return marker


def _collation(typ: sa.types.TypeEngine, dialect: sa.engine.Dialect) -> str:
    """The type's collation, quoted, in its schema where it has one (`io.collations.set_collation`)."""
    prep = dialect.identifier_preparer
    name = prep.quote_identifier(typ.collation)  # type: ignore[attr-defined]
    schema = getattr(typ, "collation_schema", None)
    return f"{prep.quote_schema(schema)}.{name}" if schema else name


def _protected(table: Table) -> set[str]:
    """Columns a repair must not change: keys, foreign keys, unique sets (a copied value would duplicate)."""
    return set(table.pk_columns) | set(table.fk_columns) | {c for s in table.unique_column_sets() for c in s}
