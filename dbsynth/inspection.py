"""An Inspection as plain data (for `inspect --json` and reports)."""

from __future__ import annotations

import dataclasses
from typing import Any

from dbsynth.api import Inspection


def column_role(inspection: Inspection, table: str, column: str) -> str:
    plan = inspection.plans[table]
    schema_table = inspection.schema.table(table)
    if column in plan.key_columns:
        return "key"
    if column in plan.running_index:
        return "running index"
    if column in schema_table.fk_columns:
        return "foreign key"
    if column in plan.computed:
        return "computed"
    if column in plan.pii:
        return f"fake ({plan.pii[column].provider})"
    return "model"


def inspection_to_dict(inspection: Inspection) -> dict[str, Any]:
    schema = inspection.schema
    tables = []
    for name in inspection.order.tables:
        t = schema.table(name)
        plan = inspection.plans[name]
        data = dataclasses.asdict(t)
        data["rows"] = data.pop("row_count")
        for col in data["columns"]:
            col["role"] = column_role(inspection, name, col["name"])
        data["primary_parent"] = plan.primary.fk(schema).referred_table if plan.primary else None
        data["mode"] = plan.mode
        data["mode_reason"] = plan.mode_reason
        data["personal_data"] = {c: {"provider": m.provider, "detected_by": m.reason} for c, m in plan.pii.items()}
        tables.append(data)
    return {
        "dialect": schema.dialect,
        "load_order": list(inspection.order.tables),
        "deferred_foreign_keys": [
            {"table": r.table, "columns": list(r.fk(schema).columns), "referred_table": r.fk(schema).referred_table}
            for r in sorted(inspection.order.deferred, key=lambda r: (r.table, r.index))
        ],
        "tables": tables,
        "notes": list(schema.notes),
        "routines": [dataclasses.asdict(r) | {"signature": r.signature} for r in schema.routines],
        "triggers": [dataclasses.asdict(t) for t in schema.triggers],
        "sequences": [dataclasses.asdict(q) for q in schema.sequences],
        "warnings": list(schema.warnings),
    }
