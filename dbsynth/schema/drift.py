"""Schema drift between two databases (`dbsynth inspect SOURCE --compare TARGET`).

On the same engine we ask alembic's autogenerate comparison, which knows each
dialect's types, defaults and index quirks; across engines its type checks
would flag every mapping, so we compare our portable schema models instead.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dbsynth.io.write import same_family
from dbsynth.schema.compare import schema_differences
from dbsynth.schema.model import Schema


def compare_databases(source: sa.Engine, target: sa.Engine, source_schema: Schema, target_schema: Schema) -> list[str]:
    """What differs in `target` from `source`, one readable line each (empty: they match)."""
    if not same_family(source.dialect.name, target.dialect.name):
        return schema_differences(source_schema, target_schema)
    metadata = sa.MetaData()
    metadata.reflect(source, only=list(source_schema.table_names))
    with target.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        diffs = compare_metadata(context, metadata)
    lines = [_describe(d) for d in _flatten(diffs)]
    views = [line for line in schema_differences(source_schema, target_schema) if line.startswith("view ")]
    return lines + views


def _flatten(diffs: list[Any]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for d in diffs:  # column modifications come grouped in a list
        out.extend(d if isinstance(d, list) else [d])
    return out


def _describe(diff: tuple[Any, ...]) -> str:
    kind = diff[0]
    if kind == "add_table":
        return f"table {diff[1].name} missing in target"
    if kind == "remove_table":
        return f"table {diff[1].name} only in target"
    if kind == "add_column":
        return f"column {diff[2]}.{diff[3].name} missing in target"
    if kind == "remove_column":
        return f"column {diff[2]}.{diff[3].name} only in target"
    if kind == "modify_type":
        return f"column {diff[2]}.{diff[3]}: type {diff[5]} in target, {diff[6]} in source"
    if kind == "modify_nullable":
        return f"column {diff[2]}.{diff[3]}: nullable {diff[5]} in target, {diff[6]} in source"
    if kind in ("add_index", "remove_index"):
        index = diff[1]
        where = "missing in target" if kind == "add_index" else "only in target"
        return f"index {index.name} on {index.table.name} ({', '.join(c.name for c in index.columns)}) {where}"
    if kind in ("add_fk", "remove_fk"):
        fk = diff[1]
        where = "missing in target" if kind == "add_fk" else "only in target"
        cols = ", ".join(c.name for c in fk.columns)
        return f"foreign key {fk.parent.name}({cols}) -> {fk.referred_table.name} {where}"
    if kind in ("add_constraint", "remove_constraint"):
        c = diff[1]
        where = "missing in target" if kind == "add_constraint" else "only in target"
        return f"constraint {c.name} on {c.table.name} {where}"
    return " ".join(str(x) for x in diff)
