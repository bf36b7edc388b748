"""A cheap fingerprint of a source database, and the drift between two of them.

`dbsynth refresh` retrains only when the source drifted. Reading the whole
source to find out would cost as much as training, so the fingerprint is what
the database can tell in one aggregate query per table: the schema (as
canonical JSON, hashed), row counts, and per column its NULL share plus either
its mean (numbers) or its number of distinct values (categories, dates, text).
Those move when rows are added, deleted or rewritten in bulk, which is what
makes a trained model stale; small moves below a relative threshold do not
retrain, so a busy source does not retrain on every run.

A new fingerprint is always compared with the one taken when the model was
trained (not with the last run's), so slow drift adds up until it retrains.
The fingerprint is stored in the model file's manifest (``info.fingerprint``)
next to the training options, so a changed ``--seed``, ``--model`` or config
rule retrains too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dbsynth.config import Config
from dbsynth.io.inheritance import inherited_tables, own_rows
from dbsynth.schema.model import Schema, Table

DRIFT_THRESHOLD = 0.05
# Options that only shape generation: changing them needs no retraining.
_GENERATION_ONLY = {"scale", "if_exists", "jobs", "dask", "rebalance", "path", "device"}
_MEAN_KINDS = {"integer", "float", "decimal"}
_DISTINCT_KINDS = {"text", "enum", "boolean", "date", "datetime", "time", "uuid"}


def schema_digest(schema: Schema) -> str:
    """SHA-256 of the schema as canonical JSON, without row counts, warnings and notes (they are not structure)."""
    tables = tuple(dataclasses.replace(t, row_count=0) for t in schema.tables)
    data = dataclasses.asdict(dataclasses.replace(schema, tables=tables, warnings=(), notes=()))
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def training_options(cfg: Config) -> dict[str, Any]:
    """The resolved options that shape what is learned, as JSON-safe values (compared key by key)."""
    data = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in _GENERATION_ONLY}
    return json.loads(json.dumps(data, sort_keys=True, default=str))


def fingerprint(engine: Engine, schema: Schema, cfg: Config) -> dict[str, Any]:
    """Schema digest, row counts and per-column statistics of the source, with the training options."""
    metadata = sa.MetaData()
    tables: dict[str, Any] = {}
    parents = inherited_tables(schema)
    with engine.connect() as conn:
        for table in schema.tables:
            tables[table.name] = _table_statistics(conn, metadata, table, table.name in parents)
    return {
        "taken": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "schema": schema_digest(schema),
        "tables": tables,
        "options": training_options(cfg),
    }


def _table_statistics(conn: sa.Connection, metadata: sa.MetaData, table: Table, inherited: bool) -> dict[str, Any]:
    """One aggregate query: COUNT(*), and per column COUNT(col) with AVG or COUNT(DISTINCT); `inherited`:
    a PostgreSQL inheritance parent, whose own rows only are counted (FROM ONLY)."""
    t = sa.Table(table.local_name, metadata, *[sa.Column(c.name) for c in table.columns], schema=table.schema)
    columns: list[tuple[str, str]] = []  # (column, statistic)
    selects: list[Any] = [sa.func.count()]
    for col in table.columns:
        c = t.c[col.name]
        selects.append(sa.func.count(c))
        if col.type.kind in _MEAN_KINDS:
            selects.append(sa.func.avg(c))
            columns.append((col.name, "mean"))
        elif col.type.kind in _DISTINCT_KINDS:
            selects.append(sa.func.count(sa.distinct(c)))
            columns.append((col.name, "distinct"))
        else:
            columns.append((col.name, ""))
    row = conn.execute(own_rows(sa.select(*selects).select_from(t), t, inherited)).one()
    total, values = int(row[0]), list(row[1:])
    stats: dict[str, Any] = {}
    for name, kind in columns:
        present = int(values.pop(0))
        entry: dict[str, Any] = {"nulls": 1 - present / total if total else 0.0}
        if kind:
            value = values.pop(0)
            entry[kind] = None if value is None else float(value)
        stats[name] = entry
    return {"rows": total, "columns": stats}


def drift_reasons(old: dict[str, Any] | None, new: dict[str, Any], threshold: float = DRIFT_THRESHOLD,
                  old_schema: Schema | None = None, new_schema: Schema | None = None) -> list[str]:
    """Why the model trained at `old` is stale for a source at `new`; empty when it is still good.

    Each reason is one readable line: "table orders grew 12% (threshold 5%)".
    """
    if not old:
        return ["the model file holds no source fingerprint (written by `dbsynth train`?)"]
    reasons: list[str] = []
    if old.get("schema") != new["schema"]:
        reasons.append("schema changed: " + _schema_change(old_schema, new_schema))
    options_old, options_new = old.get("options", {}), new["options"]
    changed = sorted(k for k in set(options_old) | set(options_new) if options_old.get(k) != options_new.get(k))
    if changed:
        reasons.append(f"training options changed: {', '.join(changed)}")
    old_tables = old.get("tables", {})
    for name, now in new["tables"].items():
        before = old_tables.get(name)
        if before is None:
            continue  # a new table is a schema change, reported above
        reasons += _table_drift(name, before, now, threshold)
    return reasons


def _table_drift(name: str, before: dict[str, Any], now: dict[str, Any], threshold: float) -> list[str]:
    reasons = []
    change = _relative(before["rows"], now["rows"])
    if change > threshold:
        verb = "grew" if now["rows"] > before["rows"] else "shrank"
        reasons.append(f"table {name} {verb} {change:.0%} ({before['rows']:,} -> {now['rows']:,} rows, "
                       f"threshold {threshold:.0%})")
    for column, stats in now["columns"].items():
        old = before["columns"].get(column)
        if old is None:
            continue
        where = f"column {name}.{column}"
        if abs(stats["nulls"] - old["nulls"]) > threshold:
            reasons.append(f"{where}: NULL share {old['nulls']:.0%} -> {stats['nulls']:.0%} "
                           f"(threshold {threshold:.0%})")
        for kind in ("mean", "distinct"):
            a, b = old.get(kind), stats.get(kind)
            if a is None or b is None:
                continue
            if _relative(a, b) > threshold:
                label = "mean" if kind == "mean" else "distinct values"
                reasons.append(f"{where}: {label} moved {_relative(a, b):.0%} ({_short(a)} -> {_short(b)}, "
                               f"threshold {threshold:.0%})")
    return reasons


def _relative(a: float, b: float) -> float:
    """|b - a| relative to |a| (to 1 when a is 0, so 0 -> 3 rows counts as 300%)."""
    if a == b:
        return 0.0
    return abs(b - a) / max(abs(a), 1.0) if math.isfinite(a) and math.isfinite(b) else math.inf


def _short(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 or float(x).is_integer() else f"{x:.3g}"


def _schema_change(old: Schema | None, new: Schema | None) -> str:
    """The first structural difference in words: "column orders.note added", "table refunds removed"."""
    if old is None or new is None:
        return "its digest differs"
    before, after = set(old.table_names), set(new.table_names)
    for name in sorted(after - before):
        return f"table {name} added"
    for name in sorted(before - after):
        return f"table {name} removed"
    for table in new.tables:
        previous = old.table(table.name)
        added = [c for c in table.column_names if c not in previous.column_names]
        removed = [c for c in previous.column_names if c not in table.column_names]
        if added:
            return f"column {table.name}.{added[0]} added"
        if removed:
            return f"column {table.name}.{removed[0]} removed"
    from dbsynth.schema.compare import schema_differences

    differences = schema_differences(old, new)
    return differences[0] if differences else "constraints, defaults or views differ"
