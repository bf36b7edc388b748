"""Differences between two schema models, as readable one-line texts.

Constraint names and row counts are ignored (engines name things their own
way); tables, columns, types, nullability, keys, uniques and indexes are not.
Types are compared by their portable kind and bounds, and by their spelling
when both schemas come from the same dialect.
"""

from __future__ import annotations

import dataclasses
import re

from dbsynth.schema.model import Column, Schema, Table


def as_written_on(schema: Schema, dialect: str) -> Schema:
    """`schema` with the table and view names dbsynth writes on `dialect` (schema_table where it has no
    namespaces), so a cross-engine clone compares table by table."""
    from dbsynth.io.naming import keeps_namespaces, located_table

    if keeps_namespaces(dialect) or not any(t.schema for t in schema.tables):
        return schema
    names = {t.name: located_table(t, dialect)[1] for t in schema.tables}
    tables = tuple(dataclasses.replace(
        t, name=names[t.name], schema=None,
        foreign_keys=tuple(dataclasses.replace(fk, referred_table=names.get(fk.referred_table, fk.referred_table),
                                               referred_schema=None) for fk in t.foreign_keys))
        for t in schema.tables)
    views = tuple(dataclasses.replace(v, name=located_table(v, dialect)[1], schema=None) for v in schema.views)
    triggers = tuple(dataclasses.replace(t, table=names.get(t.table, t.table)) for t in schema.triggers)
    return dataclasses.replace(schema, tables=tables, views=views, triggers=triggers)


def schema_differences(source: Schema, target: Schema) -> list[str]:
    source = as_written_on(source, target.dialect)
    diffs: list[str] = []
    src, dst = set(source.table_names), set(target.table_names)
    diffs += [f"table {t} missing in target" for t in sorted(src - dst)]
    diffs += [f"table {t} only in target" for t in sorted(dst - src)]
    same_dialect = source.dialect == target.dialect
    for name in sorted(src & dst):
        diffs += _table_differences(source.table(name), target.table(name), same_dialect)
    views_a = {v.name: v.materialized for v in source.views}
    views_b = {v.name: v.materialized for v in target.views}
    diffs += [f"view {v} missing in target" for v in sorted(set(views_a) - set(views_b))]
    diffs += [f"view {v} only in target" for v in sorted(set(views_b) - set(views_a))]
    if same_dialect:
        diffs += [f"view {v}: materialized {views_a[v]} != {views_b[v]}" for v in sorted(set(views_a) & set(views_b))
                  if views_a[v] != views_b[v]]
    return diffs + routine_differences(source, target)


def routine_differences(source: Schema, target: Schema) -> list[str]:
    """Functions, procedures, aggregates, triggers and free sequences missing, extra or (same engine)
    defined otherwise in `target`. Definitions are compared with the object's own name taken out, since
    the target may print it in another schema."""
    same = source.dialect == target.dialect
    diffs: list[str] = []
    for kind, a, b in (("routine", _routines(source), _routines(target)),
                       ("trigger", _triggers(source), _triggers(target))):
        for key in sorted(set(a) - set(b)):
            diffs.append(f"{a[key][0]} missing in target")
        for key in sorted(set(b) - set(a)):
            diffs.append(f"{b[key][0]} only in target")
        if same:
            diffs += [f"{a[key][0]}: definition differs in target" for key in sorted(set(a) & set(b))
                      if a[key][1] != b[key][1]]
    seqs_a, seqs_b = {q.name for q in source.sequences}, {q.name for q in target.sequences}
    diffs += [f"sequence {q} missing in target" for q in sorted(seqs_a - seqs_b)]
    diffs += [f"sequence {q} only in target" for q in sorted(seqs_b - seqs_a)]
    return diffs


def _routines(schema: Schema) -> dict[str, tuple[str, str]]:
    return {r.signature: (f"{r.kind} {r.signature}", " ".join(r.definition.replace(r.name_ref, "", 1).split()))
            for r in schema.routines}


def _triggers(schema: Schema) -> dict[tuple[str, str], tuple[str, str]]:
    return {(t.table, t.name): (f"trigger {t.name} on table {t.table}",
                                " ".join(t.definition.replace(f" ON {t.table_ref} ", " ON ", 1).split()))
            for t in schema.triggers}


def _table_differences(a: Table, b: Table, same_dialect: bool) -> list[str]:
    diffs: list[str] = []
    if a.column_names != b.column_names:
        diffs.append(f"{a.name}: columns {list(a.column_names)} != {list(b.column_names)}")
    for col in a.columns:
        if col.name in b.column_names:
            diffs += [f"{a.name}.{col.name}: {d}" for d in _column_differences(col, b.column(col.name), same_dialect)]
    if a.pk_columns != b.pk_columns:
        diffs.append(f"{a.name}: primary key {a.pk_columns} != {b.pk_columns}")
    fks_a = sorted((fk.columns, fk.referred_table, fk.referred_columns) for fk in a.foreign_keys)
    fks_b = sorted((fk.columns, fk.referred_table, fk.referred_columns) for fk in b.foreign_keys)
    if fks_a != fks_b:
        diffs.append(f"{a.name}: foreign keys {fks_a} != {fks_b}")
    uniq_a, uniq_b = sorted(a.unique_column_sets()), sorted(b.unique_column_sets())
    if uniq_a != uniq_b:
        diffs.append(f"{a.name}: unique sets {uniq_a} != {uniq_b}")
    idx_a, idx_b = _index_keys(a, same_dialect), _index_keys(b, same_dialect)
    if idx_a != idx_b:
        diffs.append(f"{a.name}: indexes {idx_a} != {idx_b}")
    if same_dialect:
        excl_a = sorted(" ".join(x.definition.split()) for x in a.exclusions)
        excl_b = sorted(" ".join(x.definition.split()) for x in b.exclusions)
        if excl_a != excl_b:
            diffs.append(f"{a.name}: exclusion constraints {excl_a} != {excl_b}")
    if same_dialect and _partitions(a) != _partitions(b):   # elsewhere a partitioned table is one plain table
        diffs.append(f"{a.name}: partitioning {_partitions(a) or 'none'} != {_partitions(b) or 'none'}")
    if same_dialect and a.inherits != b.inherits:   # elsewhere an INHERITS child is a plain table by design
        diffs.append(f"{a.name}: inherits from {', '.join(a.inherits) or 'none'} != {', '.join(b.inherits) or 'none'}")
    return diffs


def _index_keys(table: Table, same_dialect: bool) -> list[tuple[object, ...]]:
    """What makes two indexes the same: their key elements, uniqueness and kind (method, expressions).

    Between engines, expressions are spelled differently and methods differ by design (a gin index is a
    plain one on MariaDB), so only the columns and uniqueness are compared there.
    """
    if same_dialect:
        return sorted((i.elements, i.unique, i.method or "btree") for i in table.indexes)
    return sorted((i.columns, i.unique) for i in table.indexes)


def _partitions(table: Table) -> tuple[str, list[tuple[str, str, str | None]]] | None:
    """A partitioned table's key and its partitions (name, bound, own key), in a comparable order."""
    if table.partitioning is None:
        return None
    return table.partitioning.key, sorted((p.name, p.bound, p.key) for p in table.partitioning.partitions)


def _column_differences(a: Column, b: Column, same_dialect: bool) -> list[str]:
    diffs = []
    ta, tb = a.type, b.type
    bounds_a = (ta.kind, ta.length, ta.precision if ta.kind == "decimal" else None, ta.scale, ta.size)
    bounds_b = (tb.kind, tb.length, tb.precision if tb.kind == "decimal" else None, tb.scale, tb.size)
    if bounds_a != bounds_b or (same_dialect and ta.source_name != tb.source_name):
        diffs.append(f"type {ta.source_name or ta.kind} != {tb.source_name or tb.kind}")
    if a.nullable != b.nullable:
        diffs.append(f"nullable {a.nullable} != {b.nullable}")
    if a.autoincrement != b.autoincrement:
        diffs.append(f"autoincrement {a.autoincrement} != {b.autoincrement}")
    return diffs


def check_differences(source: Schema, target: Schema) -> list[str]:
    """CHECK constraints missing or extra per table, by their text; only between schemas of one dialect,
    since a CHECK rewritten for another engine is spelled differently there."""
    if source.dialect != target.dialect:
        return []
    diffs: list[str] = []
    theirs = {t.name: t for t in target.tables}
    for table in source.tables:
        if table.name not in theirs:
            continue
        a, b = _check_texts(table), _check_texts(theirs[table.name])
        diffs += [f"{table.name}: check ({text}) missing in target" for text in sorted(a - b)]
        diffs += [f"{table.name}: check ({text}) only in target" for text in sorted(b - a)]
    return diffs


def _check_texts(table: Table) -> set[str]:
    return {_printed(c.sqltext) for c in table.check_constraints if not c.partition}


def _printed(sqltext: str) -> str:
    """A CHECK's text without the casts PostgreSQL adds each time it prints one back: created from its own
    printout, `ARRAY['a'::character varying]::text[]` returns as `ARRAY['a'::character varying::text]`."""
    return " ".join(_REPRINTED_CASTS.sub("", sqltext).split())


_REPRINTED_CASTS = re.compile(r"::(?:text|character varying)(?:\[\])?")
