"""Fit one generator per table, parents first, with child counts and parent conditioning.

For every FK edge parent -> child, the parent's training frame gets a column
holding each parent row's number of children, so the parent's model learns
"customers of this kind place this many invoices" jointly with the rest. A
child's model gets a few of its primary parent's columns (chosen by mutual
information) as conditioning columns, which are evidence at sampling time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable
import numpy as np
import pandas as pd

from dbsynth.codecs import Codec
from dbsynth.codecs.categorical import MIN_COUNT, CategoricalCodec
from dbsynth.codecs.choose import choose_codec
from dbsynth.relational.checks import format_columns
from dbsynth.codecs.fake import FakeCodec
from dbsynth.codecs.numeric import NumericCodec
from dbsynth.codecs.pseudonym import pseudonymise, salt_for
from dbsynth.graph import FkRef, LoadOrder
from dbsynth.relational import derived as derived_rules
from dbsynth.models import Generator, create
from dbsynth.relational.plan import TablePlan
from dbsynth.relational.rowindex import parent_rows
from dbsynth.relational.within_bin import fit_within_bin
from dbsynth.schema.model import Schema, Table
from dbsynth.privacy import TableBudget, TableCost, budget_to_json, describe, split_budget
from dbsynth.models.torch_support import with_device
from dbsynth.tuning import choose_generator

MAX_CONDITIONS = 3
TUNE_BUDGET = 10.0         # estimated seconds of auto-tuning per table
MIN_CONDITION_MI = 0.01   # nats; below this a parent column tells the child nothing
MAX_VIA = 2               # secondary parents' columns the child models, to pick a matching parent


def count_column(ref: FkRef) -> str:
    return f"#children:{ref.table}.{ref.index}"


def null_flag_column(ref: FkRef) -> str:
    return f"#null:{ref.index}"


def via_column(ref: FkRef, parent_column: str) -> str:
    """State column holding the secondary parent's state of `parent_column` (modelled by the child)."""
    return f"#via:{ref.index}:{parent_column}"


def via_columns(fit: FittedTable, ref: FkRef) -> list[tuple[str, str]]:
    """(state column, parent state column) pairs the child's model generates for secondary edge `ref`."""
    prefix = f"#via:{ref.index}:"
    return [(name, name[len(prefix):]) for name in fit.codecs if name.startswith(prefix)]


@dataclass
class FittedTable:
    plan: TablePlan
    source_rows: int        # rows in the source table: --scale 1 writes this many root rows
    train_rows: int         # rows the model saw (fewer when trained on a sample)
    codecs: dict[str, Codec] = field(default_factory=dict)      # state column -> codec
    conditions: list[str] = field(default_factory=list)         # parent state columns used as evidence
    condition_cards: list[int] = field(default_factory=list)    # their cardinalities (+1: "no parent")
    generator: Generator | None = None
    primary_null_share: float = 0.0
    deferred_null_share: dict[FkRef, float] = field(default_factory=dict)
    child_totals: dict[FkRef, int] = field(default_factory=dict)  # source children per edge
    copied: pd.DataFrame | None = None                             # mode "copy": the rows to write
    copied_counts: dict[FkRef, np.ndarray] = field(default_factory=dict)  # their real child counts
    tuning: dict[str, Any] | None = None    # auto-tuning's choice: name, settings, holdout score, trials
    derived: dict[str, Any] = field(default_factory=dict)  # JSON rules: copies, offsets, running, aggregates
    within_bin: dict[str, Any] | None = None  # correlation of numbers' places inside their bins (within_bin.py)

    @property
    def state_columns(self) -> list[str]:
        return list(self.codecs)


def parent_row_index(child: pd.DataFrame, parent: pd.DataFrame, fk_cols: tuple[str, ...],
                     ref_cols: tuple[str, ...]) -> np.ndarray:
    """For each child row, the position of its parent row (-1 where the FK is NULL or dangling)."""
    keys = parent[list(ref_cols)].copy()
    keys.columns = list(fk_cols)
    keys["__row"] = np.arange(len(parent))
    probe = child[list(fk_cols)].copy()
    for c in fk_cols:  # join on text so int/Decimal/str spellings of a key agree
        keys[c] = keys[c].astype(str)
        probe[c] = probe[c].where(probe[c].notna(), None).astype(object).map(lambda v: None if v is None else str(v))
    merged = probe.merge(keys, on=list(fk_cols), how="left")
    return merged["__row"].fillna(-1).to_numpy(dtype=np.int64)


def _parent_states(parent: np.ndarray, rows: np.ndarray, missing: int) -> np.ndarray:
    """Each child row's parent state; `missing` (one past the parent's states) where it has no parent row,
    which is every row when the parent table is empty and the child's key is always NULL."""
    if not len(parent):
        return np.full(len(rows), missing, dtype=np.int64)
    return np.where(rows >= 0, parent[np.maximum(rows, 0)], missing)


def fit_table(schema: Schema, plan: TablePlan, frames: dict[str, pd.DataFrame],
              fitted: dict[str, FittedTable], source_states: dict[str, dict[str, np.ndarray]],
              model: str, rng: np.random.Generator, seed: int = 0,
              tune_budget: float = TUNE_BUDGET,
              privacy: TableBudget | None = None, device: str = "auto") -> tuple[FittedTable, dict[str, np.ndarray]]:
    """Fit `plan.name`; returns the fitted table and its source rows' states (for its children)."""
    table = schema.table(plan.name)
    frame = frames[plan.name]
    rules = derived_rules.detect(schema, plan, frames, fitted)
    if rules:  # columns filled by a rule are not modelled
        filled = derived_rules.unmodelled(rules)
        plan = replace(plan, modelled=tuple(c for c in plan.modelled if c not in filled))
    result = FittedTable(plan=plan, source_rows=max(table.row_count, len(frame)), train_rows=len(frame),
                         derived=rules)
    # Every state column's source values, built once: own columns, child counts, FK NULL flags.
    values: dict[str, pd.Series] = {col: frame[col] for col in plan.modelled}
    for col in plan.hashed:
        values[col] = pseudonymise(frame[col], table.column(col).type, salt_for(seed))
    shaped = format_columns(table)
    for col in plan.modelled:
        kind = table.column(col).type.kind
        if col in plan.hashed or (col in plan.kept and kind == "text"):
            result.codecs[col] = CategoricalCodec.fit(values[col], min_count=1)   # every value, rare ones too
        else:
            result.codecs[col] = choose_codec(plan.name, table.column(col), frame[col], plan.pii.get(col),
                                              min_count=privacy.rare_k if privacy else MIN_COUNT,
                                              shaped=col in shaped)
    for rule in rules.get("offsets", []):  # time runs forward: the model sees child - parent
        assert plan.primary is not None
        fk = plan.primary.fk(schema)
        parent = frames[fk.referred_table]
        rows = parent_rows(frame, parent, fk.columns, fk.referred_columns)
        col = rule["column"]
        values[col] = derived_rules.offset_values(rule, frame[col], parent, rows)
        result.codecs[col] = NumericCodec.fit(values[col], "integer" if rule["kind"] == "date" else "float")
    for ref in plan.child_edges:
        counts = pd.Series(_child_counts(schema, ref, frame, frames))
        # Under DP the (noised) count column alone decides: a noised total could wipe a small table out.
        result.child_totals[ref] = -1 if privacy is not None else int(counts.sum())
        values[count_column(ref)] = counts
        result.codecs[count_column(ref)] = NumericCodec.fit(counts, "integer")
        if plan.mode == "copy":
            result.copied_counts[ref] = counts.to_numpy(dtype=np.int64)
    if plan.mode == "copy":
        result.copied = _copied_rows(table, plan, frame, rng, salt_for(seed))
    for ref in plan.secondary:
        isnull = frame[list(ref.fk(schema).columns)].isna().any(axis=1)
        if isnull.any():
            values[null_flag_column(ref)] = isnull
            result.codecs[null_flag_column(ref)] = CategoricalCodec.fit(isnull, min_count=1)
    states = {name: codec.encode(values[name]) for name, codec in result.codecs.items()}
    if plan.mode == "model" and privacy is None:   # under DP this correlation would be an unnoised release
        result.within_bin = fit_within_bin({c: result.codecs[c] for c in plan.modelled if c in result.codecs},
                                           values)
    if plan.mode == "model":
        for ref in plan.secondary:
            for name, parent_states in _via_states(schema, ref, frame, frames, fitted, source_states,
                                                   states, result.codecs).items():
                result.codecs[name] = CategoricalCodec.fit(pd.Series(parent_states.tolist(), dtype=object),
                                                           min_count=1)
                states[name] = result.codecs[name].encode(pd.Series(parent_states.tolist(), dtype=object))

    for ref in plan.deferred:
        cols = list(ref.fk(schema).columns)
        result.deferred_null_share[ref] = float(frame[cols].isna().any(axis=1).mean()) if len(frame) else 0.0

    evidence = np.empty((len(frame), 0), dtype=np.int64)
    if plan.primary is not None:
        fk = plan.primary.fk(schema)
        rows = parent_rows(frame, frames[fk.referred_table], fk.columns, fk.referred_columns)
        result.primary_null_share = float((rows < 0).mean()) if len(rows) else 0.0
        parent_fit = fitted[fk.referred_table]
        candidates = {name: _parent_states(source_states[fk.referred_table][name], rows,
                                           parent_fit.codecs[name].n_states)
                      for name in parent_fit.state_columns}
        cards = {name: parent_fit.codecs[name].n_states + 1 for name in candidates}
        result.conditions = _choose_conditions(candidates, cards, states,
                                               {n: c.n_states for n, c in result.codecs.items()})
        result.condition_cards = [cards[c] for c in result.conditions]
        if result.conditions:
            evidence = np.column_stack([candidates[c] for c in result.conditions])

    if len(frame) and result.codecs and plan.mode == "model":
        data = np.column_stack([evidence] + [states[c] for c in result.codecs])
        cards = result.condition_cards + [c.n_states for c in result.codecs.values()]
        name = plan.model or model
        if privacy is not None:  # choosing by a holdout score on real rows would leak: no tuning under DP
            name = "bayesnet" if name == "auto" else name
            result.generator = create(name, **with_device(name, privacy.generator_settings(name), device))
            result.generator.fit(data, cards, len(result.conditions), rng)
        elif name == "auto":
            tuned = choose_generator(data, cards, len(result.conditions), rng, budget_seconds=tune_budget,
                                     device=device)
            result.generator = tuned.generator
            result.tuning = {"name": tuned.name, "settings": tuned.settings, "score": tuned.score,
                             "trials": tuned.trials}
        else:
            result.generator = create(name, **with_device(name, {}, device))
            result.generator.fit(data, cards, len(result.conditions), rng)
    return result, states


def _copied_rows(table: Table, plan: TablePlan, frame: pd.DataFrame, rng: np.random.Generator,
                 salt: bytes) -> pd.DataFrame:
    """A copy table's rows, personal data already faked: the model file never holds it."""
    rows = frame[[c.name for c in table.columns if not c.computed]].copy()
    for col, match in plan.pii.items():
        fake = FakeCodec.fit(rows[col], match.provider, table.column(col).type.length, match.locale)
        rows[col] = fake.decode(fake.encode(rows[col]), rng).to_numpy()
    for col in plan.hashed:
        rows[col] = pseudonymise(rows[col], table.column(col).type, salt)
    for col in plan.nulled:
        rows[col] = None
    return rows.reset_index(drop=True)


def _child_counts(schema: Schema, ref: FkRef, parent: pd.DataFrame,
                  frames: dict[str, pd.DataFrame]) -> np.ndarray:
    fk = ref.fk(schema)
    rows = parent_rows(frames[ref.table], parent, fk.columns, fk.referred_columns)
    return np.bincount(rows[rows >= 0], minlength=len(parent)).astype(np.int64)


def _via_states(schema: Schema, ref: FkRef, frame: pd.DataFrame, frames: dict[str, pd.DataFrame],
                fitted: dict[str, FittedTable], source_states: dict[str, dict[str, np.ndarray]],
                own: dict[str, np.ndarray], own_codecs: dict[str, Codec]) -> dict[str, np.ndarray]:
    """The secondary parent's columns most tied to the child's, as parent states per child row.

    Why: a line's product or a flight's destination airport is not random. The
    child's model learns these parent states jointly with its own columns; at
    sampling time the FK goes to a synthetic parent holding the generated state
    (see sample._secondary_assigner), so "expensive products sell in small
    quantities" survives across the secondary edge. -1 marks a row without one.
    """
    fk = ref.fk(schema)
    parent_name = fk.referred_table
    if parent_name not in fitted or parent_name == ref.table or parent_name not in source_states:
        return {}
    parent_fit = fitted[parent_name]
    rows = parent_rows(frame, frames[parent_name], fk.columns, fk.referred_columns)
    if not (rows >= 0).any():
        return {}
    candidates = {
        name: np.where(rows >= 0, source_states[parent_name][name][np.maximum(rows, 0)], -1)
        for name in parent_fit.state_columns if not name.startswith("#") and name in source_states[parent_name]
    }
    cards = {name: parent_fit.codecs[name].n_states + 1 for name in candidates}
    shifted = {name: np.where(v >= 0, v, cards[name] - 1) for name, v in candidates.items()}
    chosen = _choose_conditions(shifted, cards, own, {n: c.n_states for n, c in own_codecs.items()},
                                corrected=True)
    return {via_column(ref, name): candidates[name] for name in chosen[:MAX_VIA]}


def _choose_conditions(candidates: dict[str, np.ndarray], cards: dict[str, int],
                       own: dict[str, np.ndarray], own_cards: dict[str, int], corrected: bool = False) -> list[str]:
    """The parent columns that tell most about any of the child's own columns.

    `corrected` scores by mutual information less its small-sample bias, so a
    many-valued parent column (a name, an id-like code) is not chosen for noise.
    """
    from dbsynth.models.bayesnet import corrected_information, mutual_information

    score_of = corrected_information if corrected else mutual_information

    scores: list[tuple[float, str]] = []
    for name, values in candidates.items():
        if values.size == 0:  # an empty child table: nothing to learn from
            continue
        if cards[name] <= 2 and len(np.unique(values)) <= 1:
            continue
        best = 0.0
        for col, states in own.items():
            data = np.column_stack([values, states])
            best = max(best, score_of(data, 1, [0], [cards[name], own_cards[col]]))
        scores.append((best, name))
    scores.sort(key=lambda s: (-s[0], s[1]))
    return [name for score, name in scores[:MAX_CONDITIONS] if score >= MIN_CONDITION_MI]


@dataclass
class FittedDatabase:
    """Everything generation needs, and nothing of the source's rows: what `dbsynth train` stores."""

    schema: Schema
    order: LoadOrder
    tables: dict[str, FittedTable]
    seed: int = 0
    privacy: dict[str, Any] | None = None          # the differential-privacy budget spent, when --epsilon
    privacy_notes: list[str] = field(default_factory=list)


def fit_database(schema: Schema, order: LoadOrder, plans: dict[str, TablePlan],
                 frames: dict[str, pd.DataFrame], *, seed: int, model: str, tune_budget: float = 10.0,
                 epsilon: float | None = None, delta: float | None = None,
                 on_table: Callable[[str], None] | None = None, device: str = "auto") -> FittedDatabase:
    """Fit every table, parents first (children are conditioned on their parents' states).

    With `epsilon`, the budget is split across tables (sequential composition)
    and every learned part of each table gets its share; see dbsynth.privacy.
    """
    from dbsynth.relational.sample import table_rng

    budget = None
    if epsilon is not None:
        budget = split_budget(epsilon, delta, {
            name: TableCost(learned=plans[name].mode == "model", totals=0)   # totals are not released
            for name in order.tables})
    fitted: dict[str, FittedTable] = {}
    source_states: dict[str, dict[str, np.ndarray]] = {}
    for name in order.tables:
        fitted[name], source_states[name] = fit_table(
            schema, plans[name], frames, fitted, source_states, model, table_rng(seed, name, "fit"), seed,
            tune_budget, budget[name] if budget else None, device)
        if on_table:
            on_table(name)
    return FittedDatabase(schema, order, fitted, seed, privacy=budget_to_json(budget) if budget else None,
                          privacy_notes=describe(budget) if budget else [])
