"""Fitted tables and plans as plain JSON data, and back.

This is what `dbsynth train` stores: only dicts, lists, strings and numbers,
so reading a model file parses data and can never run code (no pickle).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from dbsynth.codecs import codec_from_state
from dbsynth.graph import FkRef, LoadOrder
from dbsynth.models import from_state as generator_from_state
from dbsynth.pii import PiiMatch
from dbsynth.relational.fit import FittedTable
from dbsynth.relational.plan import TablePlan


def _ref(r: FkRef) -> list[Any]:
    return [r.table, r.index]


def _unref(r: list[Any]) -> FkRef:
    table, index = r
    return FkRef(str(table), int(index))


def plan_to_state(p: TablePlan) -> dict[str, Any]:
    return {
        "name": p.name, "key_columns": list(p.key_columns), "running_index": list(p.running_index),
        "primary": _ref(p.primary) if p.primary else None, "secondary": [_ref(r) for r in p.secondary],
        "deferred": [_ref(r) for r in p.deferred], "modelled": list(p.modelled), "computed": list(p.computed),
        "pii": {c: [m.provider, m.reason, m.locale] for c, m in p.pii.items()},
        "child_edges": [_ref(r) for r in p.child_edges],
        "mode": p.mode, "mode_reason": p.mode_reason, "model": p.model, "scale": p.scale,
        "nulled": list(p.nulled), "hashed": list(p.hashed), "kept": list(p.kept),
    }


def plan_from_state(s: dict[str, Any]) -> TablePlan:
    return TablePlan(
        name=s["name"], key_columns=tuple(s["key_columns"]), running_index=tuple(s["running_index"]),
        primary=_unref(s["primary"]) if s["primary"] else None,
        secondary=tuple(_unref(r) for r in s["secondary"]), deferred=tuple(_unref(r) for r in s["deferred"]),
        modelled=tuple(s["modelled"]), computed=tuple(s["computed"]),
        pii={c: PiiMatch(provider, reason, locale) for c, (provider, reason, locale) in s["pii"].items()},
        child_edges=tuple(_unref(r) for r in s["child_edges"]),
        mode=s["mode"], mode_reason=s["mode_reason"], model=s["model"], scale=s["scale"],
        nulled=tuple(s["nulled"]), hashed=tuple(s["hashed"]), kept=tuple(s["kept"]),
    )


def fitted_to_state(f: FittedTable) -> dict[str, Any]:
    return {
        "plan": plan_to_state(f.plan), "source_rows": f.source_rows, "train_rows": f.train_rows,
        "codecs": [[name, codec.to_state()] for name, codec in f.codecs.items()],  # order matters
        "conditions": f.conditions, "condition_cards": f.condition_cards,
        "generator": f.generator.to_state() if f.generator is not None else None,
        "primary_null_share": f.primary_null_share,
        "deferred_null_share": [[_ref(r), v] for r, v in f.deferred_null_share.items()],
        "child_totals": [[_ref(r), v] for r, v in f.child_totals.items()],
        "copied": _frame_to_state(f.copied) if f.copied is not None else None,
        "copied_counts": [[_ref(r), v.tolist()] for r, v in f.copied_counts.items()],
        "tuning": f.tuning,
        "derived": f.derived,
        "within_bin": f.within_bin,
    }


def fitted_from_state(s: dict[str, Any]) -> FittedTable:
    return FittedTable(
        plan=plan_from_state(s["plan"]), source_rows=int(s["source_rows"]),
        train_rows=int(s["train_rows"]),
        codecs={name: codec_from_state(c) for name, c in s["codecs"]},
        conditions=list(s["conditions"]), condition_cards=[int(c) for c in s["condition_cards"]],
        generator=generator_from_state(s["generator"]) if s["generator"] is not None else None,
        primary_null_share=float(s["primary_null_share"]),
        deferred_null_share={_unref(r): float(v) for r, v in s["deferred_null_share"]},
        child_totals={_unref(r): int(v) for r, v in s["child_totals"]},
        copied=_frame_from_state(s["copied"]) if s["copied"] is not None else None,
        copied_counts={_unref(r): np.asarray(v, dtype=np.int64) for r, v in s["copied_counts"]},
        tuning=s["tuning"],
        derived=s.get("derived") or {},
        within_bin=s.get("within_bin"),
    )


def _frame_to_state(frame: pd.DataFrame) -> dict[str, Any]:
    """Rows of a copy table as JSON: dates/times as ISO text, decimals as text, bytes as hex."""
    return {"columns": list(frame.columns),
            "rows": [[_plain(v) for v in row] for row in frame.itertuples(index=False, name=None)]}


def _frame_from_state(s: dict[str, Any]) -> pd.DataFrame:
    rows = [[bytes.fromhex(v["hex"]) if isinstance(v, dict) and "hex" in v else v for v in row] for row in s["rows"]]
    return pd.DataFrame(rows, columns=s["columns"], dtype=object)


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"hex": bytes(value).hex()}
    if isinstance(value, (dt.date, dt.time, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (dict, list, str, int, float, bool)):
        return value
    return str(value)


def order_to_state(o: LoadOrder) -> dict[str, Any]:
    return {"tables": list(o.tables), "deferred": sorted(_ref(r) for r in o.deferred)}


def order_from_state(s: dict[str, Any]) -> LoadOrder:
    return LoadOrder(tables=tuple(s["tables"]), deferred=frozenset(_unref(r) for r in s["deferred"]))
