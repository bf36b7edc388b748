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

from dataclasses import dataclass, field, replace

import pandas as pd

from dbsynth.config import Config
from dbsynth.graph import FkRef, LoadOrder
from dbsynth.pii import PiiMatch, detect
from dbsynth.relational.facts import SourceFacts
from dbsynth.schema.model import Schema, Table

KEY_KINDS = ("integer", "decimal", "text", "uuid")

# A lookup table (countries, currencies, genres) is copied verbatim unless the config says otherwise:
# applications depend on its exact values, and a few dozen rows cannot be modelled anyway.
LOOKUP_MAX_ROWS = 64
LOOKUP_MIN_FANOUT = 10      # rows pointing at it, per row of its own


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
    mode: str = "model"                     # model | copy (rows verbatim) | skip (left empty)
    model: str | None = None                # generator forced by the config (else the global choice)
    scale: float | None = None              # root tables: the config's own scale
    nulled: tuple[str, ...] = ()            # columns written as NULL
    hashed: tuple[str, ...] = ()            # columns modelled over salted-hash pseudonyms of their values
    kept: tuple[str, ...] = ()              # columns whose values (rare ones included) are reproduced
    mode_reason: str = ""                   # why dbsynth chose `mode` itself (shown by inspect)

    @property
    def fk_refs(self) -> tuple[FkRef, ...]:
        return ((self.primary,) if self.primary else ()) + self.secondary


def plan_tables(schema: Schema, order: LoadOrder, source: SourceFacts | dict[str, pd.DataFrame],
                config: Config | None = None) -> dict[str, TablePlan]:
    """Every table's plan, from facts about the source (or whole frames, counted here)."""
    facts = source if isinstance(source, SourceFacts) else SourceFacts.from_frames(schema, source)
    child_edges: dict[str, list[FkRef]] = {t: [] for t in schema.table_names}
    for table in schema.tables:
        for i, fk in enumerate(table.foreign_keys):
            if not order.is_deferred(table.name, i):
                child_edges[fk.referred_table].append(FkRef(table.name, i))
    config = config or Config.default()
    plans = {}
    for name in order.tables:
        plan = _plan_table(schema, schema.table(name), order, facts, tuple(child_edges[name]))
        lookup = lookup_reason(schema, plan, facts, plans)
        if lookup:
            plan = replace(plan, mode="copy", mode_reason=lookup)
        plans[name] = _apply_rules(plan, config)
    return plans


def lookup_reason(schema: Schema, plan: TablePlan, facts: SourceFacts,
                  planned: dict[str, TablePlan] | None = None) -> str:
    """Why `plan.name` looks like a lookup table to copy verbatim, or "" when it does not.

    A small table qualifies when many rows point at it. Rows pointing at a small
    table that points at it count too, and a small table whose FKs all refer to
    copied tables qualifies as well: nation -> region is one lookup hierarchy,
    and copying both keeps nation's region keys valid. `planned` holds the plans
    of the tables before this one in load order.
    """
    table = schema.table(plan.name)
    rows = facts.rows.get(plan.name, 0)
    if not plan.child_edges or not 0 < rows <= LOOKUP_MAX_ROWS:
        return ""
    if plan.pii:  # a small staff or shippers table is referenced like a lookup, but its people are real
        return ""
    planned = planned or {}
    if any(planned.get(fk.referred_table) is None or planned[fk.referred_table].mode != "copy"
           or fk.referred_table == plan.name for fk in table.foreign_keys):
        return ""
    pointing = _pointing_rows(schema, plan.name, facts, set())
    if pointing < LOOKUP_MIN_FANOUT * rows:
        return ""
    return f"lookup table: {rows} rows, {pointing:,} rows point at it"


def _pointing_rows(schema: Schema, name: str, facts: SourceFacts, seen: set[str]) -> int:
    """Rows whose FK refers to `name`, plus those pointing at its small (lookup-sized) children."""
    seen = seen | {name}
    total = 0
    for child in schema.tables:
        for i, fk in enumerate(child.foreign_keys):
            if fk.referred_table != name or child.name == name or child.name not in facts.rows:
                continue
            total += facts.foreign_keys[FkRef(child.name, i)].pointing
            if facts.rows[child.name] <= LOOKUP_MAX_ROWS and child.name not in seen:
                total += _pointing_rows(schema, child.name, facts, seen)
    return total


def _apply_rules(plan: TablePlan, config: Config) -> TablePlan:
    """The config's table and column rules on top of what dbsynth decided by itself."""
    own = next((t for t in config.tables if t.name == plan.name), None)  # what this table sets itself
    rule = config.table_rule(plan.name)
    if not (own and own.mode_given) and plan.mode == "copy":   # dbsynth's own lookup choice stands
        rule = replace(rule, mode="copy")
    pii = dict(plan.pii)
    nulled, hashed, kept = [], [], []
    for column in plan.modelled:
        col_rule = config.column_rule(plan.name, column)
        if col_rule.mode == "fake":
            detected = pii.get(column)
            provider = col_rule.provider or (detected.provider if detected else "word")
            pii[column] = PiiMatch(provider, "config", col_rule.locale or config.locale)
        elif col_rule.mode in ("model", "keep", "hash", "null"):
            pii.pop(column, None)
            {"keep": kept, "hash": hashed, "null": nulled}.get(col_rule.mode, []).append(column)
        elif column in pii and config.locale != pii[column].locale:
            pii[column] = PiiMatch(pii[column].provider, pii[column].reason, config.locale)
    return replace(
        plan, pii=pii, mode=rule.mode, mode_reason=plan.mode_reason if rule.mode == plan.mode else "config",
        model=own.model if own else None,
        scale=own.scale if own is not None and plan.primary is None else None,
        nulled=plan.nulled + tuple(nulled), hashed=tuple(hashed), kept=tuple(kept),
        modelled=tuple(c for c in plan.modelled if c not in nulled),
    )


def _plan_table(schema: Schema, table: Table, order: LoadOrder, facts: SourceFacts,
                child_edges: tuple[FkRef, ...]) -> TablePlan:
    head = facts.heads.get(table.name)
    refs = [FkRef(table.name, i) for i in range(len(table.foreign_keys))]
    deferred = tuple(r for r in refs if order.is_deferred(table.name, i := r.index))
    live = [r for r in refs if r not in deferred]
    primary = _primary_parent(schema, live, facts)
    fk_cols = table.fk_columns
    computed = tuple(c.name for c in table.columns if c.computed)
    pk_free = [c for c in table.pk_columns if c not in fk_cols]
    # 1..k within the parent is unique only when the parent's key is part of the primary key
    within_parent = primary is not None and set(primary.fk(schema).columns) <= set(table.pk_columns)
    running = tuple(
        c for c in pk_free
        if within_parent and len(table.pk_columns) > 1 and table.column(c).type.kind == "integer"
    )
    # A key of another type (a salary's from_date, a payment's timestamp) is data, not a counter:
    # it is modelled like any column, and sampling makes the primary key unique (unique.py).
    keys = tuple(c for c in pk_free if c not in running and table.column(c).type.kind in KEY_KINDS)
    taken = set(fk_cols) | set(keys) | set(running) | set(computed)
    # a type no codec knows (tsvector, point, a composite type) is written as NULL; the DDL says so
    blank = tuple(c.name for c in table.columns if c.name not in taken and c.written_null)
    rest = [c for c in table.columns if c.name not in taken and c.name not in blank]
    pii = {c.name: m for c in rest
           if (m := detect(c, head[c.name] if head is not None and c.name in head else None))}
    return TablePlan(
        name=table.name, key_columns=keys, running_index=running, primary=primary,
        secondary=tuple(r for r in live if r != primary), deferred=deferred,
        modelled=tuple(c.name for c in rest), computed=computed, pii=pii, child_edges=child_edges,
        nulled=blank,
    )


def _primary_parent(schema: Schema, refs: list[FkRef], facts: SourceFacts) -> FkRef | None:
    if not refs:
        return None

    def rank(ref: FkRef) -> tuple[bool, float, int, int]:
        parent = ref.fk(schema).referred_table
        return (facts.foreign_keys[ref].always_set, round(facts.coverage(ref, parent), 1),
                facts.rows.get(parent, 0), -ref.index)

    return max(refs, key=rank)
