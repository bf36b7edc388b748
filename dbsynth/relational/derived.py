"""Columns that follow from other rows: copied from a parent, after a parent's date, numbered within a
parent, or an aggregate of the children.

Detected at fit time from the source rows, kept as plain JSON rules in `FittedTable.derived`, and
applied at sampling time on the synthetic rows, so they hold exactly there too:

- ``copies``: a child column equal to a column of one of its parents (primary or secondary FK) in
  >= 99% of the rows where both are non-NULL. Not modelled; set from the synthetic parent row.
- ``offsets``: a child date/datetime >= its primary parent's date in (nearly) all rows. The model sees
  child - parent (days or seconds); sampling adds it back to the synthetic parent's date.
- ``running``: a non-key integer column numbering rows 1..n within their primary parent. Not modelled;
  regenerated 1..n per synthetic parent.
- ``aggregates`` (on the parent's table): a parent column equal to the count of its children or the
  sum of a child column (or of a product of two) over its children, in >= 99% of parents. Recomputed
  from the synthetic children once they are sampled.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dbsynth.codecs.numeric import from_numbers, to_numbers
from dbsynth.graph import FkRef
from dbsynth.relational.plan import TablePlan
from dbsynth.relational.rowindex import parent_rows
from dbsynth.schema.model import Schema, Table

SHARE = 0.99            # rows (or parents) a rule must hold for
MIN_ROWS = 20           # fewer comparable rows than this: no rule (chance agreement)
TEMPORAL = ("date", "datetime")
NUMERIC = ("integer", "decimal", "float")
COPYABLE = ("integer", "decimal", "float", "text", "date", "datetime", "time", "boolean", "enum", "uuid")


def _ref(r: FkRef) -> list[Any]:
    return [r.table, r.index]


def _unref(r: list[Any]) -> FkRef:
    return FkRef(str(r[0]), int(r[1]))


def _normalised(values: pd.Series, kind: str) -> pd.Series:
    """Values comparable across tables and drivers: numbers as rounded floats, the rest as text."""
    if kind in NUMERIC or kind in TEMPORAL or kind == "time":
        value_kind = {"decimal": "float"}.get(kind, kind)
        return pd.Series(np.round(to_numbers(values.reset_index(drop=True), value_kind), 6))
    values = values.reset_index(drop=True)
    items = values.to_numpy(dtype=object)
    isnull = pd.isna(items)
    if set(map(type, items[~isnull])) <= {str}:   # text already: no per-value str()
        out = items.copy()
        out[isnull] = None
        return pd.Series(out, dtype=object)
    return values.astype(object).where(values.notna(), None).map(lambda v: None if v is None else str(v))


def _parent_rows(schema: Schema, ref: FkRef, child: pd.DataFrame, parent: pd.DataFrame) -> np.ndarray:
    fk = ref.fk(schema)
    if not len(child):
        return np.empty(0, dtype=np.int64)
    if not len(parent):
        return np.full(len(child), -1, dtype=np.int64)
    return parent_rows(child, parent, fk.columns, fk.referred_columns)


# --- fit ---------------------------------------------------------------------------------------


def detect(schema: Schema, plan: TablePlan, frames: dict[str, pd.DataFrame],
           fitted: dict[str, Any] | None = None) -> dict[str, Any]:
    """The rules for `plan.name`'s own columns (copies, offsets, running) and its aggregates."""
    if plan.mode != "model":
        return {}
    table = schema.table(plan.name)
    frame = frames[plan.name].reset_index(drop=True)
    out: dict[str, Any] = {}
    if len(frame) < MIN_ROWS:
        return out
    excluded = set(plan.hashed) | set(plan.kept) | set(plan.nulled)
    candidates = [c for c in plan.modelled if c not in excluded]
    rows = {ref: _parent_rows(schema, ref, frame, frames[ref.fk(schema).referred_table].reset_index(drop=True))
            for ref in plan.fk_refs}

    copies, taken = [], set()
    parent_cache: dict[tuple[str, str, str], Any] = {}   # (table, column, kind) -> (reproduced, values, notna)
    for col in candidates:
        kind = table.column(col).type.kind
        if kind not in COPYABLE:
            continue
        rule = _find_copy(schema, table, col, kind, frame, frames, rows, fitted or {}, parent_cache)
        if rule:
            copies.append(rule)
            taken.add(col)
    if copies:
        out["copies"] = copies

    running = []
    if plan.primary is not None:
        prow = rows[plan.primary]
        for col in candidates:
            if col not in taken and table.column(col).type.kind == "integer" and _is_running(frame[col], prow):
                running.append(col)
                taken.add(col)
    if running:
        out["running"] = running

    offsets = []
    if plan.primary is not None:
        parent_name = plan.primary.fk(schema).referred_table
        parent_table = schema.table(parent_name)
        parent = frames[parent_name].reset_index(drop=True)
        prow = rows[plan.primary]
        for col in candidates:
            kind = table.column(col).type.kind
            if col in taken or kind not in TEMPORAL or col in plan.pii:
                continue
            rule = _find_offset(col, kind, frame, parent_table, parent, prow)
            if rule:
                offsets.append(rule)
                taken.add(col)
    if offsets:
        out["offsets"] = offsets

    determined = _find_determined(table, plan, frame, [c for c in candidates if c not in taken])
    if determined:
        out["determined"] = determined

    aggregates = _find_aggregates(schema, plan, table, frame, frames)
    if aggregates:
        out["aggregates"] = aggregates
    return out


def _find_copy(schema: Schema, table: Table, col: str, kind: str, frame: pd.DataFrame,
               frames: dict[str, pd.DataFrame], rows: dict[FkRef, np.ndarray],
               fitted: dict[str, Any], cache: dict[tuple[str, str, str], Any] | None = None) -> dict[str, Any] | None:
    """`cache` keeps per-parent-column work (normalised values, the reproduced check) across child columns."""
    cache = {} if cache is None else cache
    mine = _normalised(frame[col], kind).to_numpy()    # floats (NaN) for numbers and dates, else objects
    mine_ok = pd.notna(mine)
    for ref, prow in rows.items():
        fk = ref.fk(schema)
        parent_table = schema.table(fk.referred_table)
        parent = frames[fk.referred_table].reset_index(drop=True)
        linked = prow >= 0
        for pcol in parent_table.column_names:
            if pcol in fk.referred_columns or pcol not in parent.columns or parent_table.column(pcol).computed:
                continue
            pkind = parent_table.column(pcol).type.kind
            if pkind != kind and not (pkind in NUMERIC and kind in NUMERIC):
                continue
            key = (fk.referred_table, pcol, pkind)
            if key not in cache:
                reproduced = _reproduced(fitted.get(fk.referred_table), pcol, parent[pcol])
                pvals = _normalised(parent[pcol], pkind).to_numpy() if reproduced else None
                cache[key] = (reproduced, pvals, pd.notna(pvals) if reproduced else None)
            reproduced, pvals, pvals_ok = cache[key]
            if not reproduced:
                continue  # the parent's synthetic values are fakes: the child models its own
            has_parent = np.zeros(len(frame), dtype=bool)
            has_parent[linked] = pvals_ok[prow[linked]]
            both = mine_ok & has_parent
            if both.sum() < MIN_ROWS:
                continue
            if (mine[both] == pvals[prow[both]]).mean() >= SHARE:
                # The child's own NULLs where the parent has a value: kept as a share.
                null_share = float((~mine_ok[has_parent]).mean()) if has_parent.any() else 0.0
                return {"column": col, "ref": _ref(ref), "parent_column": pcol, "null_share": null_share}
    return None


def _reproduced(parent_fit: Any, pcol: str, values: pd.Series) -> bool:
    """Whether the synthetic parent column holds source-like values (not fakes) worth copying."""
    from dbsynth.codecs.categorical import CategoricalCodec
    from dbsynth.codecs.numeric import NumericCodec

    if parent_fit is None:
        return False
    plan = parent_fit.plan
    if pcol in plan.pii or pcol in plan.hashed or pcol in plan.nulled or plan.mode == "skip":
        return False
    if plan.mode == "copy" or pcol in unmodelled(parent_fit.derived):
        return True
    codec = parent_fit.codecs.get(pcol)
    if isinstance(codec, NumericCodec):
        return True
    if isinstance(codec, CategoricalCodec):
        present = values.dropna().astype(str)
        known = set(map(str, codec.categories))
        return bool(len(present) == 0 or present.isin(known).mean() >= 0.9)
    return False


def _is_running(values: pd.Series, prow: np.ndarray) -> bool:
    numbers = pd.to_numeric(values.reset_index(drop=True), errors="coerce").to_numpy(dtype=float)
    linked = prow >= 0
    if linked.sum() < MIN_ROWS or np.isnan(numbers[linked]).any():
        return False
    parents, values = prow[linked], numbers[linked]
    # Sorted by parent then value, a group is 1..n exactly when each row equals its rank in the group + 1.
    order = np.lexsort((values, parents))
    parents, values = parents[order], values[order]
    starts = np.flatnonzero(np.r_[True, parents[1:] != parents[:-1]])
    sizes = np.diff(np.r_[starts, parents.size])
    if (sizes >= 2).sum() < 5:
        return False
    rank = np.arange(parents.size) - np.repeat(starts, sizes)
    bad = np.add.reduceat((values != rank + 1).astype(np.int64), starts)
    return bool((bad == 0).mean() >= SHARE)


def _find_offset(col: str, kind: str, frame: pd.DataFrame, parent_table: Table, parent: pd.DataFrame,
                 prow: np.ndarray) -> dict[str, Any] | None:
    mine = to_numbers(frame[col].reset_index(drop=True), kind)
    linked = prow >= 0
    if not linked.all():  # a child without a parent has no date to count from
        return None
    best = None
    for pcol in parent_table.column_names:
        pkind = parent_table.column(pcol).type.kind
        # The parent's date must always be there: parent + offset is how the child's date is rebuilt.
        if pkind not in TEMPORAL or pcol not in parent.columns or parent[pcol].isna().any() \
                or parent_table.column(pcol).nullable and not parent[pcol].notna().all():
            continue
        theirs_all = to_numbers(parent[pcol].reset_index(drop=True), pkind)
        if pkind == "date" and kind == "datetime":
            theirs_all = theirs_all * 86400.0
        elif pkind == "datetime" and kind == "date":
            theirs_all = np.floor(theirs_all / 86400.0)
        theirs = np.full(len(frame), np.nan)
        theirs[linked] = theirs_all[prow[linked]]
        both = ~np.isnan(mine) & ~np.isnan(theirs)
        if both.sum() < MIN_ROWS:
            continue
        diff = mine[both] - theirs[both]
        if (diff >= 0).mean() < SHARE or np.all(diff == 0):
            continue
        gap = float(np.median(diff))
        if best is None or gap < best[0]:
            best = (gap, pcol, pkind)
    if best is None:
        return None
    tz = bool(getattr(frame[col].dtype, "tz", None))
    return {"column": col, "parent_column": best[1], "parent_kind": best[2], "kind": kind, "timezone": tz}


def offset_values(rule: dict[str, Any], child: pd.Series, parent: pd.DataFrame, prow: np.ndarray) -> pd.Series:
    """The source child's offsets from its parent (days for dates, seconds for datetimes)."""
    kind = rule["kind"]
    mine = to_numbers(child.reset_index(drop=True), kind)
    theirs = _parent_numbers(rule, parent, prow)
    return pd.Series(mine - theirs)


def _parent_numbers(rule: dict[str, Any], parent: pd.DataFrame, prow: np.ndarray) -> np.ndarray:
    kind, pkind = rule["kind"], rule["parent_kind"]
    numbers = to_numbers(parent[rule["parent_column"]].reset_index(drop=True), pkind) if len(parent) else \
        np.empty(0)
    if pkind == "date" and kind == "datetime":
        numbers = numbers * 86400.0
    elif pkind == "datetime" and kind == "date":
        numbers = np.floor(numbers / 86400.0)
    out = np.full(prow.size, np.nan)
    linked = prow >= 0
    out[linked] = numbers[prow[linked]]
    return out


def _find_determined(table: Table, plan: TablePlan, frame: pd.DataFrame,
                     columns: list[str]) -> list[dict[str, Any]]:
    """Categorical columns fixed by another one in the same row (city -> country), for frequent values."""
    cats = [c for c in columns if table.column(c).type.kind in ("text", "enum") and c not in plan.pii
            and frame[c].notna().mean() >= SHARE and 2 <= frame[c].nunique() <= 1000]
    found, determined = [], set()
    distinct = {c: frame[c].nunique() for c in cats}
    text = {c: frame[c].dropna().astype(str) for c in cats}   # index-aligned, NULLs left out
    for by in cats:
        for col in cats:
            if col == by or col in determined or by in determined:
                continue
            if distinct[by] <= distinct[col]:
                continue
            sub = pd.concat({by: text[by], col: text[col]}, axis=1, join="inner")
            counts = sub.groupby([by, col]).size()
            top = counts.groupby(level=0).max()
            if top.sum() / max(len(sub), 1) < SHARE:
                continue
            sizes = counts.groupby(level=0).sum()
            best = counts[counts == counts.groupby(level=0).transform("max")].reset_index()
            best = best.drop_duplicates(by).set_index(by)[col]
            mapping = {k: best[k] for k in sizes.index if sizes[k] >= 5 and top[k] == sizes[k]}
            if len(mapping) >= 2:
                found.append({"column": col, "by": by, "map": mapping})
                determined.add(col)
    return found


def apply_determined(derived: dict[str, Any], frame: pd.DataFrame) -> None:
    for rule in derived.get("determined", []):
        if rule["by"] not in frame.columns or rule["column"] not in frame.columns:
            continue
        keys = frame[rule["by"]].astype(object).map(lambda v: None if pd.isna(v) else str(v))
        mapped = keys.map(rule["map"])
        values = frame[rule["column"]].astype(object).to_numpy().copy()
        hit = mapped.notna().to_numpy()
        values[hit] = mapped.to_numpy(dtype=object)[hit]
        frame[rule["column"]] = values


def _find_aggregates(schema: Schema, plan: TablePlan, table: Table, frame: pd.DataFrame,
                     frames: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    targets = [c for c in plan.modelled if table.column(c).type.kind in NUMERIC
               and c not in plan.pii and c not in plan.hashed and c not in plan.kept]
    if not targets or len(frame) < MIN_ROWS:
        return []
    found, taken = [], set()
    own: dict[str, np.ndarray] = {}     # the parent's target columns as numbers, computed once
    for ref in plan.child_edges:
        child_table = schema.table(ref.table)
        child = frames[ref.table].reset_index(drop=True)
        fk = ref.fk(schema)
        rows = _parent_rows(schema, ref, child, frame)
        linked = rows >= 0
        nums = [c.name for c in child_table.columns
                if c.type.kind in NUMERIC and c.name not in child_table.fk_columns
                and c.name not in child_table.pk_columns and c.name in child.columns]
        # The most specific first: sum(price * qty) over sum(price) when qty is always 1.
        terms: list[list[str]] = [[a, b] for i, a in enumerate(nums) for b in nums[i + 1:]] + [
            [c] for c in nums] + [[]]
        values = {c: to_numbers(child[c], "float") for c in nums}   # Decimals without pd.to_numeric's slow path
        for col in targets:
            if col not in own:
                own[col] = to_numbers(frame[col], "float")
        for term in terms:
            product = np.ones(len(child))
            for c in term:
                product = product * values[c]
            if np.isnan(product[linked]).any():
                continue
            agg = np.bincount(rows[linked], weights=product[linked], minlength=len(frame))
            for col in targets:
                if col in taken:
                    continue
                mine = own[col]
                present = ~np.isnan(mine)
                if present.sum() < MIN_ROWS or len(np.unique(mine[present])) < 2:
                    continue
                close = np.abs(mine[present] - agg[present]) <= 0.005 + 1e-9 * np.abs(agg[present])
                if close.mean() >= SHARE:
                    found.append({"column": col, "edge": _ref(ref), "op": "sum" if term else "count",
                                  "terms": term, "kind": table.column(col).type.kind,
                                  "scale": table.column(col).type.scale})
                    taken.add(col)
        del fk
    return found


def unmodelled(derived: dict[str, Any]) -> set[str]:
    """Columns the rules fill entirely (so no codec models them)."""
    return {r["column"] for r in derived.get("copies", [])} | set(derived.get("running", []))


# --- sample ------------------------------------------------------------------------------------


def apply_offsets(schema: Schema, plan: TablePlan, derived: dict[str, Any], frame: pd.DataFrame,
                  parent: pd.DataFrame, parent_rows: np.ndarray) -> None:
    """Offsets decoded as numbers become dates: the synthetic parent's date plus the offset."""
    for rule in derived.get("offsets", []):
        col = rule["column"]
        if col not in frame.columns:
            continue
        offsets = pd.to_numeric(frame[col].astype(object), errors="coerce").to_numpy(dtype=float)
        base = _parent_numbers(rule, parent, parent_rows)
        frame[col] = from_numbers(base + offsets, rule["kind"], None, rule.get("timezone", False)).to_numpy()


def apply_running(derived: dict[str, Any], frame: pd.DataFrame, parent_rows: np.ndarray) -> None:
    from dbsynth.relational.keys import running_index

    for col in derived.get("running", []):
        frame[col] = running_index(parent_rows)


def apply_copies(schema: Schema, derived: dict[str, Any], frame: pd.DataFrame,
                 synthetic_frames: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    for rule in derived.get("copies", []):
        ref = _unref(rule["ref"])
        parent = synthetic_frames[ref.fk(schema).referred_table]
        prow = _parent_rows(schema, ref, frame, parent)
        values = np.full(len(frame), None, dtype=object)
        linked = prow >= 0
        if rule["parent_column"] in parent.columns and linked.any():
            source = parent[rule["parent_column"]].to_numpy(dtype=object)
            values[linked] = source[prow[linked]]
            # a row without this parent (a payment whose rental is NULL) still has a value in the source:
            # one copied for another row, so the marginal holds and a NOT NULL column stays filled
            alone = np.flatnonzero(~linked)
            if alone.size:
                values[alone] = values[linked][rng.integers(0, int(linked.sum()), alone.size)]
        share = float(rule.get("null_share", 0.0))
        if share > 0 and len(frame):
            values[rng.random(len(frame)) < share] = None
        values[pd.isna(values)] = None
        frame[rule["column"]] = values


def apply_aggregates(schema: Schema, rules: list[dict[str, Any]], parent: pd.DataFrame,
                     child: pd.DataFrame) -> None:
    """Recompute parent columns from the synthetic children (in place on the parent's frame)."""
    for rule in rules:
        ref = _unref(rule["edge"])
        col = rule["column"]
        if col not in parent.columns:
            continue
        rows = _parent_rows(schema, ref, child, parent)
        linked = rows >= 0
        product = np.ones(len(child))
        for c in rule["terms"]:
            product = product * pd.to_numeric(child[c].astype(object), errors="coerce").to_numpy(dtype=float)
        product = np.nan_to_num(product)
        agg = np.bincount(rows[linked], weights=product[linked], minlength=len(parent))[:len(parent)]
        kind = rule["kind"]
        if kind == "integer":
            parent[col] = pd.array(np.round(agg).astype(np.int64), dtype="Int64")
        else:
            scale = rule.get("scale")
            parent[col] = np.round(agg, scale) if kind == "decimal" and scale is not None else agg
