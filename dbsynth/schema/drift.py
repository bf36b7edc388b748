"""Schema drift between two databases (`dbsynth inspect SOURCE --compare TARGET`).

On the same engine we ask alembic's autogenerate comparison, which knows each
dialect's types, defaults and index quirks; across engines its type checks
would flag every mapping, so we compare our portable schema models instead.
"""

from __future__ import annotations

import warnings
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dbsynth.io.write import same_family
from dbsynth.io.naming import reflect_tables
from dbsynth.schema.compare import check_differences, routine_differences, schema_differences
from dbsynth.schema.model import Schema, qualified_name


def compare_databases(source: sa.Engine, target: sa.Engine, source_schema: Schema, target_schema: Schema) -> list[str]:
    """What differs in `target` from `source`, one readable line each (empty: they match).

    Every namespace the two schema models hold is compared (on PostgreSQL, each
    schema), and only the tables the models hold, so extension objects and
    refresh shadows left out of them stay out of the comparison too.
    """
    if not same_family(source.dialect.name, target.dialect.name):
        return schema_differences(source_schema, target_schema)
    tables = reflect_tables(source, source_schema)
    metadata = next(iter(tables.values())).metadata if tables else sa.MetaData()
    keep = _names(source_schema) | _names(target_schema)
    spaces = {t.schema for t in (*source_schema.tables, *target_schema.tables)}

    def include_name(name: str | None, type_: str, parent: dict[str, str | None]) -> bool:
        if type_ == "schema":
            return name in spaces
        if type_ == "table":
            return qualified_name(parent.get("schema_name"), name or "") in keep
        return True

    with target.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore", category=sa.exc.SAWarning)  # FK cycles (filled after insert) are fine
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "compare_server_default": False, "include_schemas": True,
            "include_name": include_name})
        diffs = compare_metadata(context, metadata)
    partitions = _partitions(source_schema) | _partitions(target_schema)
    lines = [_describe(d) for d in _flatten(diffs) if _table_of(d) not in partitions]
    portable = schema_differences(source_schema, target_schema)
    lines += [line for line in portable if line.startswith("view ")]
    kept = (": primary key ", ": partitioning ", ": inherits ")   # what alembic's comparison does not see
    lines += [line for line in portable if any(k in line for k in kept) and line not in lines]
    return lines + check_differences(source_schema, target_schema) + routine_differences(source_schema, target_schema)


def _names(schema: Schema) -> set[str]:
    return {t.name for t in schema.tables}


def _partitions(schema: Schema) -> set[str]:
    """Partitions are compared with their partitioned table (`schema.compare`), not as tables of their own;
    reflection still reaches them through the foreign keys PostgreSQL clones onto each partition."""
    return {qualified_name(t.schema, p.name) for t in schema.tables if t.partitioning is not None
            for p in t.partitioning.partitions}


def _table_of(diff: tuple[Any, ...]) -> str | None:
    """The qualified name of the table an alembic difference is about (None when it is not about one)."""
    item = diff[1] if len(diff) > 1 else None
    table = item if isinstance(item, sa.Table) else getattr(item, "table", None)
    if table is None:
        table = getattr(item, "parent", None)
    if isinstance(table, sa.Table):
        return qualified_name(table.schema, table.name)
    if len(diff) > 2 and isinstance(diff[2], str):   # column differences: (kind, schema, table, column, ...)
        return qualified_name(diff[1], diff[2])
    return None


def _flatten(diffs: list[Any]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for d in diffs:  # column modifications come grouped in a list
        out.extend(d if isinstance(d, list) else [d])
    return out


def _describe(diff: tuple[Any, ...]) -> str:
    kind = diff[0]
    if kind == "add_table":
        return f"table {_table(diff[1])} missing in target"
    if kind == "remove_table":
        return f"table {_table(diff[1])} only in target"
    if kind == "add_column":
        return f"column {qualified_name(diff[1], diff[2])}.{diff[3].name} missing in target"
    if kind == "remove_column":
        return f"column {qualified_name(diff[1], diff[2])}.{diff[3].name} only in target"
    if kind == "modify_type":
        return f"column {qualified_name(diff[1], diff[2])}.{diff[3]}: type {diff[5]} in target, {diff[6]} in source"
    if kind == "modify_nullable":
        return f"column {qualified_name(diff[1], diff[2])}.{diff[3]}: nullable {diff[5]} in target, {diff[6]} in source"
    if kind in ("add_index", "remove_index"):
        index = diff[1]
        where = "missing in target" if kind == "add_index" else "only in target"
        return f"index {index.name} on {_table(index.table)} ({', '.join(c.name for c in index.columns)}) {where}"
    if kind in ("add_fk", "remove_fk"):
        fk = diff[1]
        where = "missing in target" if kind == "add_fk" else "only in target"
        cols = ", ".join(c.name for c in fk.columns)
        return f"foreign key {_table(fk.parent)}({cols}) -> {_table(fk.referred_table)} {where}"
    if kind in ("add_constraint", "remove_constraint"):
        c = diff[1]
        where = "missing in target" if kind == "add_constraint" else "only in target"
        return f"constraint {c.name} on {_table(c.table)} {where}"
    return " ".join(str(x) for x in diff)


def _table(table: sa.Table) -> str:
    """The model's name of a reflected table: "schema.table" outside the default namespace."""
    return qualified_name(table.schema, table.name)
