"""What happens to each table and column: the plan both fitting and sampling follow.

Every column gets exactly one role: a generated key, a foreign key filled from
synthetic parents, personal data faked, a running index regenerated within its
parent, a computed column left to the database, or a modelled column.

Each child table has one *primary* parent, whose sampled child counts decide
how many rows the child gets and which the child's rows are conditioned on;
its other parents are *secondary* and are matched keeping their degree
distribution. The primary parent is the one that owns the rows: preferably an
FK that is never NULL in the data, then the one whose parents nearly all have children (every
invoice has lines; not every track was sold), then the one with most rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from dbsynth.errors import SchemaError
from dbsynth.graph import FkRef, LoadOrder
from dbsynth.pii import PiiMatch, detect
from dbsynth.schema.model import Schema, Table

KEY_KINDS = ("integer", "decimal", "text", "uuid")


@dataclass(frozen=True)
class TablePlan:
    name: str
    key_columns: tuple[str, ...] = ()       # generated unique keys (PK columns that are not FKs)
    running_index: tuple[str, ...] = ()     # PK integer columns numbered 1..n within the primary parent
    primary: FkRef | None = None
    secondary: tuple[FkRef, ...] = ()
    deferred: tuple[FkRef, ...] = ()        # inserted NULL, filled by UPDATE afterwards
    modelled: tuple[str, ...] = ()
    computed: tuple[str, ...] = ()
    pii: dict[str, PiiMatch] = field(default_factory=dict)
    child_edges: tuple[FkRef, ...] = ()     # FKs of other tables pointing here (not deferred)

    @property
    def fk_refs(self) -> tuple[FkRef, ...]:
        return ((self.primary,) if self.primary else ()) + self.secondary


def plan_tables(schema: Schema, order: LoadOrder, frames: dict[str, pd.DataFrame]) -> dict[str, TablePlan]:
    child_edges: dict[str, list[FkRef]] = {t: [] for t in schema.table_names}
    for table in schema.tables:
        for i, fk in enumerate(table.foreign_keys):
            if not order.is_deferred(table.name, i):
                child_edges[fk.referred_table].append(FkRef(table.name, i))
    return {
        name: _plan_table(schema, schema.table(name), order, frames, tuple(child_edges[name]))
        for name in order.tables
    }


def _plan_table(schema: Schema, table: Table, order: LoadOrder, frames: dict[str, pd.DataFrame],
                child_edges: tuple[FkRef, ...]) -> TablePlan:
    frame = frames[table.name]
    refs = [FkRef(table.name, i) for i in range(len(table.foreign_keys))]
    deferred = tuple(r for r in refs if order.is_deferred(table.name, i := r.index))
    live = [r for r in refs if r not in deferred]
    primary = _primary_parent(schema, table, live, frames)
    fk_cols = table.fk_columns
    computed = tuple(c.name for c in table.columns if c.computed)
    pk_free = [c for c in table.pk_columns if c not in fk_cols]
    running = tuple(
        c for c in pk_free
        if primary is not None and len(table.pk_columns) > 1 and table.column(c).type.kind == "integer"
    )
    keys = tuple(c for c in pk_free if c not in running)
    for c in keys:
        kind = table.column(c).type.kind
        if kind not in KEY_KINDS:
            raise SchemaError(
                f"primary key column {table.name}.{c} has type {table.column(c).type.source_name or kind}, "
                f"for which dbsynth cannot generate unique keys yet; use an integer, text or uuid key"
            )
    taken = set(fk_cols) | set(keys) | set(running) | set(computed)
    rest = [c for c in table.columns if c.name not in taken]
    pii = {c.name: m for c in rest if (m := detect(c, frame[c.name] if c.name in frame else None))}
    return TablePlan(
        name=table.name, key_columns=keys, running_index=running, primary=primary,
        secondary=tuple(r for r in live if r != primary), deferred=deferred,
        modelled=tuple(c.name for c in rest), computed=computed, pii=pii, child_edges=child_edges,
    )


def _primary_parent(schema: Schema, table: Table, refs: list[FkRef],
                    frames: dict[str, pd.DataFrame]) -> FkRef | None:
    if not refs:
        return None

    def rank(ref: FkRef) -> tuple[bool, float, int, int]:
        fk = ref.fk(schema)
        child_keys = frames[table.name][list(fk.columns)]
        not_null = bool(child_keys.notna().all(axis=None))  # what the data does, not what DDL allows
        parent = frames[fk.referred_table]
        child_keys = child_keys.dropna()
        referenced = set(map(tuple, child_keys.to_numpy().tolist()))
        parent_keys = list(map(tuple, parent[list(fk.referred_columns)].to_numpy().tolist()))
        coverage = sum(k in referenced for k in parent_keys) / max(len(parent_keys), 1)
        return (not_null, round(coverage, 1), len(parent_keys), -ref.index)

    return max(refs, key=rank)
