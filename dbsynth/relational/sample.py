"""Sample a whole database: parents first, children from the parents' sampled child counts.

Each table is drawn once its parents exist. A child's rows are laid out per
synthetic parent row (as many as that parent's sampled count for the edge),
its model is given the parent's states as evidence, and its FK columns are
copied from the parent row: every child row hangs off a synthetic parent by
construction. Randomness is per table (seed, table name), so output is
identical run to run for the same seed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from dbsynth.graph import FkRef, LoadOrder
from dbsynth.relational import derived as derived_rules
from dbsynth.relational.deferred import fill_cross_reference, fill_self_reference, require_update_key
from dbsynth.relational.fit import FittedTable, count_column, null_flag_column, via_columns
from dbsynth.relational.keys import degree_weighted_parents, generate_keys, matched_parents, running_index
from dbsynth.errors import DbsynthError
from dbsynth.relational.bounds import bound_columns, fit_bounds, keep_in_bounds
from dbsynth.relational.checks import CheckTally, enforce_checks, readable_checks, satisfied
from dbsynth.schema.checks import passes
from dbsynth.relational.unique import enforce_unique
from dbsynth.relational.within_bin import draw_positions
from dbsynth.config import Rebalance
from dbsynth.relational.rebalance import rebalance_rows, target_shares
from dbsynth.schema.model import Schema, Table


@dataclass
class SyntheticTable:
    frame: pd.DataFrame
    states: dict[str, np.ndarray]
    counts: dict[FkRef, np.ndarray] = field(default_factory=dict)   # child counts per row, per edge


@dataclass
class SyntheticDatabase:
    tables: dict[str, pd.DataFrame]
    updates: list[tuple[str, tuple[str, ...], tuple[str, ...], pd.DataFrame]]  # table, keys, cols, rows
    copied: frozenset[str] = frozenset()     # verbatim tables: written with the first partition only
    check_repairs: CheckTally = field(default_factory=CheckTally)   # rows repaired/dropped for a CHECK


SWAP_ROUNDS = 8                 # duplicate junction pairs first swap parents (degrees kept), then redraw
MIN_ROOTS_PER_PARTITION = 100   # fewer root rows than this per partition: not worth splitting


def table_rng(seed: int, table: str, stream: str = "") -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(f"{table}\0{stream}".encode())])


def sample_database(schema: Schema, order: LoadOrder, fitted: dict[str, FittedTable], *,
                    scale: float, seed: int, partition: int = 0, partitions: int = 1,
                    rebalance: tuple[Rebalance, ...] = (),
                    on_table: Callable[[str, int], None] | None = None) -> SyntheticDatabase:
    """One partition of the synthetic database (the whole of it when `partitions` is 1).

    A partition is a miniature database: its share of every root table's rows
    with their whole subtrees, secondary parents matched inside the partition
    (each partition holds the same share of every table, so degrees keep their
    distribution), keys numbered from 1 (`partitions.py` moves them into the
    partition's own range). Copied tables are in every partition, for their
    children to point at, and are written once.
    """
    stream = "" if partition == 0 else f"part{partition}"  # partition 0 = the unpartitioned output
    share = (partition, partitions)
    rules = {r.table: r for r in rebalance}
    synthetic: dict[str, SyntheticTable] = {}
    tally = CheckTally()
    for name in order.tables:
        synthetic[name] = sample_table(schema, fitted[name], synthetic, scale=scale,
                                       rng=table_rng(seed, name, stream), share=share, rebalance=rules.get(name),
                                       tally=tally)
        for parent in _recompute_aggregates(schema, fitted, synthetic, name):
            _recheck_parent(schema, fitted[parent], synthetic[parent].frame,
                            table_rng(seed, parent, f"recheck-{name}{stream}"), tally)
        if on_table:
            on_table(name, len(synthetic[name].frame))
    updates = _deferred_updates(schema, fitted, synthetic, seed, stream, tally)
    copied = frozenset(n for n, f in fitted.items() if f.plan.mode == "copy" and f.copied is not None)
    return SyntheticDatabase({n: s.frame for n, s in synthetic.items()}, updates, copied, tally)


def sample_table(schema: Schema, fit: FittedTable, synthetic: dict[str, SyntheticTable], *,
                 scale: float, rng: np.random.Generator, share: tuple[int, int] = (0, 1),
                 rebalance: Rebalance | None = None, tally: CheckTally | None = None) -> SyntheticTable:
    plan, table = fit.plan, schema.table(fit.plan.name)
    index, count = share
    if plan.mode == "skip":
        return _skipped_table(table, fit)
    if plan.mode == "copy" and fit.copied is not None:
        return _copied_table(fit, scale / count, rng)
    parent_rows = np.empty(0, dtype=np.int64)
    evidence = None
    if plan.primary is None:
        total = int(round(fit.source_rows * (plan.scale if plan.scale is not None else scale)))
        n = total * (index + 1) // count - total * index // count   # this partition's slice of the roots
    else:
        fk = plan.primary.fk(schema)
        parent = synthetic[fk.referred_table]
        counts = parent.counts.get(plan.primary, np.zeros(len(parent.frame), dtype=np.int64))
        linked = np.repeat(np.arange(len(parent.frame)), counts)
        n_null = _null_rows(fit, linked.size, scale / count)
        parent_rows = np.concatenate([linked, np.full(n_null, -1, dtype=np.int64)])
        n = parent_rows.size
        if fit.conditions:
            evidence = np.column_stack([
                np.where(parent_rows >= 0, parent.states[c][np.maximum(parent_rows, 0)], card - 1)
                for c, card in zip(fit.conditions, fit.condition_cards)
            ]) if n else np.empty((0, len(fit.conditions)), dtype=np.int64)

    states: dict[str, np.ndarray] = {}
    if fit.generator is not None and n:
        matrix = fit.generator.sample(n, rng, evidence)
        if rebalance is not None and rebalance.column in fit.codecs:
            column = len(fit.conditions) + list(fit.codecs).index(rebalance.column)
            probs = target_shares(rebalance, fit.codecs[rebalance.column], plan.name)
            matrix = rebalance_rows(matrix, column, probs, fit.generator, evidence, rng)
        states = {c: matrix[:, len(fit.conditions) + j] for j, c in enumerate(fit.codecs)}
    else:
        states = {c: np.zeros(n, dtype=np.int64) for c in fit.codecs}

    columns: dict[str, pd.Series] = {}
    places = draw_positions(fit.within_bin, n, np.random.default_rng(rng.integers(2**63))) if fit.within_bin else {}
    for col in plan.modelled:
        if col in places:
            columns[col] = fit.codecs[col].decode(states[col], rng, u=places[col]).reset_index(drop=True)
        else:
            columns[col] = fit.codecs[col].decode(states[col], rng).reset_index(drop=True)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(n))
    counts = {ref: _rescaled_counts(fit.codecs[count_column(ref)].decode(states[count_column(ref)], rng)
                                    .fillna(0).to_numpy(dtype=np.int64),
                                    fit.child_totals.get(ref, 0) * n / max(fit.train_rows, 1)
                                    if fit.child_totals.get(ref, 0) >= 0 else None, rng)
              for ref in plan.child_edges}

    if plan.primary is not None:
        fk = plan.primary.fk(schema)
        _assign_fk(frame, fk.columns, fk.referred_columns, synthetic[fk.referred_table].frame, parent_rows)
    redraws = {}
    for ref in plan.secondary:
        redraws[ref.fk(schema).columns] = _secondary_assigner(schema, ref, fit, frame, states, synthetic, rng)
        redraws[ref.fk(schema).columns](np.arange(n))
    for col in plan.key_columns:
        frame[col] = generate_keys(table.column(col), n, rng)
    for col in plan.running_index:
        frame[col] = running_index(parent_rows)
    for ref in plan.deferred:
        for col in ref.fk(schema).columns:
            frame[col] = pd.Series([None] * n, dtype=object)
    for col in plan.nulled:
        frame[col] = pd.Series([None] * n, dtype=object)
    rules = fit.derived
    if rebalance is not None:  # the requested shares win over a "city fixes the country" mapping
        rules = {**rules, "determined": [r for r in rules.get("determined", []) if r["column"] != rebalance.column]}
    if rules:
        derived_rules.apply_determined(rules, frame)
    if rules and plan.primary is not None:
        derived_rules.apply_offsets(schema, plan, rules, frame,
                                    synthetic[plan.primary.fk(schema).referred_table].frame, parent_rows)
    if rules:  # before uniqueness (constraints see them) and again after (rows dropped, FKs redrawn)
        derived_rules.apply_running(rules, frame, parent_rows)
        derived_rules.apply_copies(schema, rules, frame, {t: s.frame for t, s in synthetic.items()},
                                   np.random.default_rng(rng.integers(2**63)))

    skip = {plan.key_columns} if plan.key_columns else set()
    if plan.primary is not None and plan.running_index:
        skip.add(tuple(c for c in table.pk_columns))
    protected = set(table.pk_columns) | set(table.fk_columns) | set(plan.key_columns) | set(plan.running_index)
    # a partition key in the primary key is redrawn into the bounds, not dropped (`relational.bounds`)
    in_bounds = bound_columns(table, set(table.fk_columns) | set(plan.key_columns) | set(plan.running_index))
    fit_bounds(frame, table, in_bounds, np.ones(len(frame), dtype=bool), rng, tally)
    valid = enforce_checks(frame, table, protected, rng, tally)
    keep = enforce_unique(frame, table, skip, redraws, rng) & valid
    if in_bounds:
        keep = keep_in_bounds(frame, table, in_bounds, valid, keep,
                              lambda: enforce_unique(frame, table, skip, redraws, rng), rng, tally)
    keep &= satisfied(frame, table, tally, among=keep)  # a value made unique must not break a CHECK
    ordered = [c for c in table.column_names if c in frame.columns]
    frame = frame.loc[keep, ordered].reset_index(drop=True)
    states = {c: s[keep] for c, s in states.items()}
    if rules:
        copy_rng = np.random.default_rng(rng.integers(2**63))
        derived_rules.apply_running(rules, frame, parent_rows[keep] if parent_rows.size else parent_rows)
        derived_rules.apply_copies(schema, rules, frame, {t: s.frame for t, s in synthetic.items()}, copy_rng)
    counts = {r: c[keep] for r, c in counts.items()}
    _cap_unique_fk_counts(schema, counts)
    return SyntheticTable(frame, states, counts)


def _recompute_aggregates(schema: Schema, fitted: dict[str, FittedTable],
                          synthetic: dict[str, SyntheticTable], child: str) -> list[str]:
    """Parent columns that are sums or counts over `child`'s rows, recomputed from the synthetic rows.

    Returns the parents whose columns changed.
    """
    changed = []
    for parent, fit in fitted.items():
        rules = [r for r in fit.derived.get("aggregates", []) if r["edge"][0] == child]
        if rules and parent in synthetic:
            derived_rules.apply_aggregates(schema, rules, synthetic[parent].frame, synthetic[child].frame)
            changed.append(parent)
    return changed


def _recheck_parent(schema: Schema, fit: FittedTable, frame: pd.DataFrame, rng: np.random.Generator,
                    tally: CheckTally) -> None:
    """A parent's CHECKs again, once a column of it was recomputed from its children (order total).

    Its rows cannot be dropped any more (children point at them), so they are
    repaired on their other columns first, keeping the aggregate true; a row
    that still fails gets the aggregate column changed too (the CHECK is a rule
    of the schema, the sum only a pattern of the data); a row that fails even
    then stops the clone with the table and the CHECK named.
    """
    plan, table = fit.plan, schema.table(fit.plan.name)
    keys = set(table.pk_columns) | set(table.fk_columns) | set(plan.key_columns) | set(plan.running_index)
    aggregates = {r["column"] for r in fit.derived.get("aggregates", [])}
    local = CheckTally()
    ok = enforce_checks(frame, table, keys | aggregates, rng, local)
    if not ok.all():
        ok = enforce_checks(frame, table, keys, rng, local)
    for (name, check), (repaired, _) in local.counts.items():
        tally.add(name, check, repaired=repaired)
    if not ok.all():
        bad = next((n for n, c in readable_checks(table) if set(c.columns) <= set(frame.columns)
                    and not passes(c, frame[~ok]).all()), "(several)")
        raise DbsynthError(f"table {table.name}: {int((~ok).sum())} generated rows fail CHECK {bad} after columns "
                           f"were recomputed from their child rows, and no repair made them pass; "
                           f"check that the CHECK holds for the source's rows")


def _skipped_table(table: Table, fit: FittedTable) -> SyntheticTable:
    """Mode "skip": the table exists in the target but holds no rows."""
    frame = pd.DataFrame({c.name: pd.Series([], dtype=object) for c in table.columns if not c.computed})
    return SyntheticTable(frame, {c: np.zeros(0, dtype=np.int64) for c in fit.codecs},
                          {ref: np.zeros(0, dtype=np.int64) for ref in fit.plan.child_edges})


def _copied_table(fit: FittedTable, scale: float, rng: np.random.Generator) -> SyntheticTable:
    """Mode "copy": the source rows as they are (lookup tables); their children follow the real counts."""
    frame = fit.copied.copy() if fit.copied is not None else pd.DataFrame()
    states = {name: codec.encode(frame[name]) for name, codec in fit.codecs.items() if name in frame.columns}
    counts = {}
    for ref, real in fit.copied_counts.items():
        exact = real * scale
        counts[ref] = (np.floor(exact) + (rng.random(real.size) < exact - np.floor(exact))).astype(np.int64)
        states[count_column(ref)] = fit.codecs[count_column(ref)].encode(pd.Series(real))
    for name in fit.codecs:
        states.setdefault(name, np.zeros(len(frame), dtype=np.int64))
    return SyntheticTable(frame, states, counts)


def _rescaled_counts(counts: np.ndarray, expected_total: float | None,
                     rng: np.random.Generator | None = None) -> np.ndarray:
    """Counts nudged so they add up to the expected number of children.

    With few parents (8 employees, 59 customers) independent draws make the
    child table's size swing widely. Scaling every count would move them off
    the values the source has (an invoice has 1, 2, 4, 6, 9 or 14 lines; scaled
    by 1.04 they become 7, 10 and 15), so instead a few parents move one step
    to the next count value already drawn, until the total is met; only when
    that cannot close the gap is every count scaled.
    """
    counts = np.maximum(counts, 0)
    if expected_total is None:  # trained with differential privacy: no exact total was kept
        return counts
    target = int(round(expected_total))
    if counts.size == 0 or counts.sum() == target:
        return counts
    if counts.sum() == 0 and target > 0:
        # every parent drew no child, yet the source has some: a single row under 8 parents (the random-schema
        # test's t1) vanished, and a NOT NULL key pointing at it had nothing to point at
        picks = rng.choice(counts.size, target) if rng is not None else np.arange(target) % counts.size
        np.add.at(counts, picks, 1)
        return counts
    if counts.sum() > 0 and rng is not None:
        counts = _stepped_towards(counts.copy(), target, rng)
        residual = target - int(counts.sum())
        if residual and abs(residual) <= max(1, target // 100):
            # the last few children go to (or leave) one parent that stays within the drawn range
            room = (counts + residual <= counts.max()) & (counts + residual >= 0) & (counts > 0)
            if room.any():
                counts[rng.choice(np.flatnonzero(room))] += residual
                return counts
    total = counts.sum()
    if total == 0 or total == target:
        return counts
    exact = counts * (target / total)
    out = np.floor(exact).astype(np.int64)
    short = target - out.sum()
    if short > 0:  # largest remainders get the missing units
        out[np.argsort(-(exact - out), kind="stable")[:short]] += 1
    return out


def _stepped_towards(counts: np.ndarray, target: int, rng: np.random.Generator) -> np.ndarray:
    """Move randomly chosen counts to the neighbouring drawn value until the sum is `target`."""
    support = np.unique(counts)
    if support.size < 2:
        return counts
    for _ in range(64):
        diff = target - int(counts.sum())
        if diff == 0:
            break
        at = np.searchsorted(support, counts)
        if diff > 0:
            step = support[np.minimum(at + 1, support.size - 1)] - counts
        else:
            step = counts - support[np.maximum(at - 1, 0)]
        movable = np.flatnonzero(step > 0)
        fits = movable[step[movable] <= abs(diff)]
        if fits.size:  # steps that do not overshoot, in random order, as many as the gap takes
            order = fits[rng.permutation(fits.size)]
            chosen = order[:int(np.searchsorted(np.cumsum(step[order]), abs(diff), side="right"))]
        elif movable.size:  # every step overshoots: take the smallest if it lands closer
            smallest = movable[np.argmin(step[movable])]
            if step[smallest] >= 2 * abs(diff):
                break
            chosen = np.array([smallest])
        else:
            break
        counts[chosen] += np.sign(diff) * step[chosen]
    return counts


def _null_rows(fit: FittedTable, linked: int, scale: float) -> int:
    share = fit.primary_null_share
    if share <= 0:
        return 0
    if share >= 1:
        return int(round(fit.source_rows * scale))
    return int(round(linked * share / (1 - share)))


def _assign_fk(frame: pd.DataFrame, fk_cols: tuple[str, ...], ref_cols: tuple[str, ...],
               parent: pd.DataFrame, rows: np.ndarray) -> None:
    referred = parent[list(ref_cols)].to_numpy(dtype=object) if len(parent) else np.empty((0, len(ref_cols)))
    for j, col in enumerate(fk_cols):
        values = np.full(rows.size, None, dtype=object)
        has = rows >= 0
        values[has] = referred[rows[has], j]
        frame[col] = values


def _secondary_assigner(schema: Schema, ref: FkRef, fit: FittedTable, frame: pd.DataFrame,
                        states: dict[str, np.ndarray], synthetic: dict[str, SyntheticTable],
                        rng: np.random.Generator) -> Callable[[np.ndarray], None]:
    """Points the secondary FK at synthetic parents of the kind the child's model asked for.

    The first call assigns every row (see keys.matched_parents). Later calls
    come from enforce_unique for rows that duplicate a key (a junction pair
    drawn twice): those rows swap parents with other rows wanting the same
    kind, so each parent keeps exactly its sampled number of children.
    """
    fk = ref.fk(schema)
    parent = synthetic[fk.referred_table]
    degrees = parent.counts.get(ref, np.ones(len(parent.frame), dtype=np.int64))
    flag = null_flag_column(ref)
    is_null = np.zeros(len(frame), dtype=bool)
    if flag in fit.codecs and flag in states:
        decoded = fit.codecs[flag].decode(states[flag], rng)
        is_null = decoded.astype("boolean").fillna(False).to_numpy(dtype=bool)
    if len(parent.frame) == 0:
        is_null[:] = True
    referred = parent.frame[list(fk.referred_columns)].to_numpy(dtype=object)
    wanted, parent_keys = _wanted_kinds(fit, ref, states, parent, len(frame), rng)
    picks = np.full(len(frame), -1, dtype=np.int64)
    redraws = [0]

    def write(rows: np.ndarray) -> None:
        for j, col in enumerate(fk.columns):
            if col not in frame.columns:
                frame[col] = pd.Series([None] * len(frame), dtype=object)
            values = frame[col].to_numpy(dtype=object).copy()
            values[rows] = referred[picks[rows], j] if rows.size and referred.size else None
            values[rows[is_null[rows]]] = None
            frame[col] = values

    def assign(rows: np.ndarray, unique_set: tuple[str, ...] = ()) -> None:
        if not rows.size or not len(parent.frame):
            write(rows)
            return
        if (picks < 0).all():  # the first call: every row
            siblings = _junction_columns(schema.table(ref.table), fk.columns, frame)
            if siblings and (wanted[-1] < 0).all() and rows.size == len(frame):
                picks[rows] = _dealt_by_levels(frame, siblings, degrees, rng)
            else:
                picks[rows] = matched_parents([w[rows] for w in wanted], parent_keys, degrees, rng)
            write(rows)
            return
        redraws[0] += 1
        if redraws[0] > SWAP_ROUNDS:  # swapping did not settle it (one parent holds most rows)
            others = [c for c in unique_set if c not in fk.columns and c in frame.columns]
            if others:
                picks[rows] = _unused_parents(frame, others, picks, rows, degrees, rng)
            else:
                picks[rows] = matched_parents([w[rows] for w in wanted], parent_keys, degrees, rng)
            write(rows)
            return
        partners = _swap_partners(rows, wanted[0], rng)
        picks[rows], picks[partners] = picks[partners], picks[rows].copy()
        write(np.union1d(rows, partners))

    return assign


def _junction_columns(table: Table, fk_columns: tuple[str, ...], frame: pd.DataFrame) -> list[str]:
    """The other columns of a unique set this FK is part of (a junction's other key), when already filled."""
    for columns in table.unique_column_sets():
        others = [c for c in columns if c not in fk_columns]
        if set(fk_columns) <= set(columns) and others and all(c in frame.columns for c in others):
            return others
    return []


def _dealt_by_levels(frame: pd.DataFrame, siblings: list[str], degrees: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
    """Parents for a junction's rows with exact degrees and (nearly) no repeated pair.

    Rows are grouped by their other key (a track's playlists); the busiest parents
    are dealt first, one row per group before any group gets a second, so a parent
    never meets the same group twice until every group has one of its rows. Random
    dealing would pair a playlist holding nearly every track with the same track
    twice again and again.
    """
    n, m = len(frame), degrees.size
    degrees = np.maximum(degrees.astype(np.int64), 0)
    if n == 0 or m == 0 or degrees.sum() < n:
        return degree_weighted_parents(n, degrees, rng)
    groups = pd.factorize(frame[siblings].astype(str).agg("\x1f".join, axis=1) if len(siblings) > 1
                          else frame[siblings[0]].astype(str))[0]
    group_order = rng.permutation(int(groups.max()) + 1 if groups.size else 0)
    level = pd.Series(groups).groupby(groups).cumcount().to_numpy()
    rows = np.lexsort((group_order[groups], level))            # level 0 of every group, then level 1, ...
    parents_first = np.lexsort((rng.random(m), -degrees))       # busiest parents first, ties at random
    slots = np.repeat(parents_first, degrees[parents_first])[:n]
    out = np.empty(n, dtype=np.int64)
    out[rows] = slots
    return out


def _unused_parents(frame: pd.DataFrame, others: list[str], picks: np.ndarray, rows: np.ndarray,
                    degrees: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each row, a parent no other row of its group (same values in `others`) points at yet.

    A playlist holding nearly every track leaves few free tracks; drawing at random
    would hit a taken one almost every time and the row would be dropped.
    """
    groups = frame[others].astype(str).agg("\x1f".join, axis=1).to_numpy() if len(others) > 1 \
        else frame[others[0]].astype(str).to_numpy()
    others_in_play = np.isin(groups, np.unique(groups[rows])) & (picks >= 0)
    others_in_play[rows] = False
    taken: dict[str, set[int]] = {}
    for g, p in zip(groups[others_in_play], picks[others_in_play]):
        taken.setdefault(g, set()).add(int(p))
    weights = degrees.astype(float) + 1.0
    out = np.empty(rows.size, dtype=np.int64)
    for j, r in enumerate(rows):
        used = taken.setdefault(groups[r], set())
        free = np.setdiff1d(np.arange(degrees.size), np.fromiter(used, dtype=np.int64, count=len(used)))
        if not free.size:
            free = np.arange(degrees.size)   # every parent taken: the row stays a duplicate and is dropped
        out[j] = free[rng.choice(free.size, p=weights[free] / weights[free].sum())]
        used.add(int(out[j]))
    return out


def _wanted_kinds(fit: FittedTable, ref: FkRef, states: dict[str, np.ndarray], parent: SyntheticTable,
                  n: int, rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per child row the kind of parent it wants (-1: any), and each synthetic parent's kind.

    One level per prefix of the modelled parent columns, finest first: all of
    them, then fewer, down to the most telling one alone.
    """
    wanted = np.zeros(n, dtype=np.int64)
    parent_keys = np.zeros(len(parent.frame), dtype=np.int64)
    levels: list[tuple[np.ndarray, np.ndarray]] = []
    for state_column, parent_column in via_columns(fit, ref):
        if state_column not in states or parent_column not in parent.states:
            continue
        want = pd.to_numeric(fit.codecs[state_column].decode(states[state_column], rng), errors="coerce")
        want = want.fillna(-1).to_numpy(dtype=np.int64)
        have = parent.states[parent_column].astype(np.int64)
        base = max(int(have.max(initial=0)), int(want.max(initial=0))) + 2
        wanted = np.where((wanted < 0) | (want < 0), -1, wanted * base + want)
        parent_keys = parent_keys * base + have
        levels.append((wanted, parent_keys))
    if not levels:
        return [np.full(n, -1, dtype=np.int64)], [parent_keys]
    levels.reverse()
    return [w for w, _ in levels], [k for _, k in levels]


def _swap_partners(rows: np.ndarray, wanted: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each row, another row wanting the same kind of parent (any row when it is alone)."""
    n = wanted.size
    partners = rng.integers(0, n, rows.size)
    order = np.argsort(wanted, kind="stable")
    sorted_keys = wanted[order]
    lo = np.searchsorted(sorted_keys, wanted[rows], side="left")
    hi = np.searchsorted(sorted_keys, wanted[rows], side="right")
    many = hi - lo > 1
    offsets = (rng.random(rows.size) * (hi - lo)).astype(np.int64)
    partners[many] = order[(lo + offsets)[many]]
    return partners


def _cap_unique_fk_counts(schema: Schema, counts: dict[FkRef, np.ndarray]) -> None:
    """A parent referenced through a UNIQUE FK (one-to-one) has at most one child."""
    for ref, c in counts.items():
        child = schema.table(ref.table)
        if ref.fk(schema).columns in child.unique_column_sets():
            np.minimum(c, 1, out=c)


def _deferred_updates(schema: Schema, fitted: dict[str, FittedTable],
                      synthetic: dict[str, SyntheticTable], seed: int, stream: str = "",
                      tally: CheckTally | None = None):  # type: ignore[no-untyped-def]
    updates = []
    for name, fit in fitted.items():
        table = schema.table(name)
        for ref in fit.plan.deferred:
            fk = ref.fk(schema)
            frame = synthetic[name].frame
            rng = table_rng(seed, name, f"deferred{ref.index}{stream}")
            nullable = all(table.column(c).nullable for c in fk.columns)
            share = fit.deferred_null_share.get(ref, 0.0)
            rejects = _fk_check_rejects(table, frame, fk.columns)
            if fk.referred_table == name:
                values = fill_self_reference(frame, fk, share, nullable, rng, rejects)
            else:
                values = fill_cross_reference(len(frame), fk, synthetic[fk.referred_table].frame, share, rng, rejects)
            if rejects is not None:
                rejects.report(values, tally)
            key = require_update_key(table)
            rows = pd.concat([frame[list(key)].reset_index(drop=True), values], axis=1)
            rows = rows[values.notna().all(axis=1).to_numpy()]
            updates.append((name, key, fk.columns, rows.reset_index(drop=True)))
    return updates


class _FkCheckRejects:
    """The rows whose deferred FK values break a readable CHECK over them (``manager_id < id``)."""

    def __init__(self, table: Table, frame: pd.DataFrame, checks: list[tuple[str, Any]]) -> None:
        self.table, self.frame, self.checks = table, frame, checks
        self.first: dict[str, np.ndarray] = {}

    def failing(self, values: pd.DataFrame) -> dict[str, np.ndarray]:
        merged = self.frame.reset_index(drop=True).copy()
        for col in values.columns:
            merged[col] = values[col].to_numpy(dtype=object)
        return {name: ~passes(check, merged) for name, check in self.checks}

    def __call__(self, values: pd.DataFrame) -> np.ndarray:
        masks = self.failing(values)
        if not self.first:  # the first picks: what the counts of repairs start from
            self.first = masks
        return np.logical_or.reduce(list(masks.values()))

    def report(self, values: pd.DataFrame, tally: CheckTally | None) -> None:
        """Count repairs; a row still failing (a NOT NULL self-reference) stops the clone with one line."""
        final = self.failing(values)
        for name, mask in final.items():
            if tally is not None and name in self.first:
                tally.add(self.table.name, name, repaired=int((self.first[name] & ~mask).sum()))
            if mask.any():
                raise DbsynthError(f"table {self.table.name}: {int(mask.sum())} rows break CHECK {name} whatever "
                                   f"row their foreign key points at; make the foreign key nullable or relax the CHECK")


def _fk_check_rejects(table: Table, frame: pd.DataFrame, fk_columns: tuple[str, ...]) -> _FkCheckRejects | None:
    """None when no readable CHECK names the FK columns (nothing to test the picks against)."""
    checks = [(name, c) for name, c in readable_checks(table)
              if set(c.columns) & set(fk_columns) and set(c.columns) <= set(frame.columns) | set(fk_columns)]
    return _FkCheckRejects(table, frame, checks) if checks and len(frame) else None
