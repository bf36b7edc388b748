"""Indexes written as SQL and exclusion constraints, built once the rows are in (see `io.index_ddl`).

Built after the load for speed, like PostgreSQL's other indexes (`io.deferred_ddl`),
and because only then can a unique index or an exclusion constraint meet the
generated rows: when the rows break one, the later row of every colliding pair is
made to collide no more (PostgreSQL): a nullable column of the key is set to NULL
there, or, when no foreign key refers to the table, the row is deleted. If that is
not possible, a unique index is created non-unique, and an exclusion constraint
left out, each with a warning naming it and why. Deleted rows are counted per
table, so the rows-written count the clone reports stays the target's own count. Sampling already keeps unique
indexes on columns and on lower()/upper() of columns (`relational.unique`), so
this is the fallback for other expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from dbsynth.io.index_ddl import EXCLUSIONS_KEY, RAW_INDEXES_KEY, LateExclusion, RawIndex
from dbsynth.io.inheritance import only

__all__ = ["AfterLoad", "build_after_load"]


@dataclass
class AfterLoad:
    """What building the indexes and exclusions changed: warnings, and rows deleted per target table."""

    notes: list[str] = field(default_factory=list)
    deleted: dict[str, int] = field(default_factory=dict)   # the model's table name -> rows deleted


def build_after_load(conn: sa.Connection, metadata: sa.MetaData) -> AfterLoad:
    """Create the raw indexes, then add the exclusion constraints; the warnings and deletions they caused."""
    done = AfterLoad()
    for raw in metadata.info.get(RAW_INDEXES_KEY, ()):
        done.notes += _index(conn, raw, metadata, done)
    for x in metadata.info.get(EXCLUSIONS_KEY, ()):
        done.notes += _exclusion(conn, x, metadata, done)
    return done


def _index(conn: sa.Connection, raw: RawIndex, metadata: sa.MetaData, done: AfterLoad) -> list[str]:
    prep = conn.dialect.identifier_preparer
    head = f"INDEX {prep.quote(raw.name)} ON {prep.format_table(raw.table)} {raw.body}"
    error = _attempt(conn, f"CREATE {'UNIQUE ' if raw.unique else ''}{head}")
    if error is None:
        return []
    if raw.unique:
        fixed = _repair(conn, raw.table, [(e, "=") for e in raw.elements], raw.where, metadata, done)
        if fixed and _attempt(conn, f"CREATE UNIQUE {head}") is None:
            return [f"{raw.label}: {fixed}, so that the unique index holds"]
        if _attempt(conn, f"CREATE {head}") is None:
            return [f"{raw.label} is unique in the source, but the generated rows repeat its key ({error}); "
                    f"it is a non-unique index in the target"]
    return [f"{raw.label} was left out: the target rejected it ({error})"]


def _exclusion(conn: sa.Connection, x: LateExclusion, metadata: sa.MetaData, done: AfterLoad) -> list[str]:
    prep = conn.dialect.identifier_preparer
    table = prep.format_table(x.table)
    statement = f"ALTER TABLE {table} ADD CONSTRAINT {prep.quote(x.name)} {x.definition}"
    label = f"exclusion constraint {x.name} on table {x.table.info.get('dbsynth_name', x.table.name)}"
    error = _attempt(conn, statement)
    if error is None:
        return []
    fixed = _repair(conn, x.table, list(x.elements), x.where, metadata, done)
    if fixed and _attempt(conn, statement) is None:
        return [f"{label}: {fixed}, so that the constraint holds"]
    return [f"{label} was left out: {error}"]


def _attempt(conn: sa.Connection, statement: str) -> str | None:
    """Run one DDL statement in a savepoint; None when it worked, else the target's first error line."""
    if conn.dialect.name != "sqlite":
        statement = statement.replace("%", "%%")
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(statement)
    except sa.exc.DBAPIError as exc:
        text = str(exc.orig).strip()
        line = text.splitlines()[0] if text else type(exc.orig).__name__
        detail = getattr(getattr(exc.orig, "diag", None), "message_detail", None)  # the offending key
        return line + (f" ({detail})" if detail else "")
    return None


def _operator(regoperator: str) -> str:
    """'=(integer,integer)' -> '=', 'public.&&(...)' -> 'OPERATOR(public.&&)'."""
    name = regoperator.split("(", 1)[0]
    return f"OPERATOR({name})" if "." in name else name


def _repair(conn: sa.Connection, t: sa.Table, elements: list[tuple[str, str]], where: str | None,
            metadata: sa.MetaData, done: AfterLoad) -> str | None:
    """PostgreSQL: make the later row of every colliding pair collide no more; what was done, or None.

    Rows deleted are added to `done.deleted`: the clone's rows-written count must match the target."""
    if conn.dialect.name != "postgresql" or not elements:
        return None
    prep = conn.dialect.identifier_preparer
    table = only(t, conn.dialect.name) + prep.format_table(t)   # an INHERITS parent: its own rows, not its children's
    keys = ", ".join(f"({e}) AS e{k}" for k, (e, _) in enumerate(elements))
    match = " AND ".join(f"x.e{k} {_operator(op)} y.e{k}" for k, (_, op) in enumerate(elements))
    query = (f"WITH e AS (SELECT ctid AS c, {keys} FROM {table}{f' WHERE {where}' if where else ''}) "
             f"SELECT DISTINCT y.c::text FROM e x JOIN e y ON x.c < y.c AND {match} ORDER BY 1")
    try:
        with conn.begin_nested():
            rows = [r[0] for r in conn.exec_driver_sql(query.replace("%", "%%")).all()]
    except sa.exc.DBAPIError:
        return None
    if not rows:
        return None
    column = _nullable_column(t, [e for e, _ in elements])
    ctids = {"c": rows}
    if column is not None:
        conn.execute(sa.text(f"UPDATE {table} SET {prep.quote(column)} = NULL WHERE ctid = ANY(CAST(:c AS tid[]))"),
                     ctids)
        return f"{len(rows)} generated rows collided; their {column} was set to NULL"
    if not _referred(t, metadata):
        deleted = conn.execute(sa.text(f"DELETE FROM {table} WHERE ctid = ANY(CAST(:c AS tid[]))"), ctids).rowcount
        name = t.info.get("dbsynth_name", t.name)
        done.deleted[name] = done.deleted.get(name, 0) + deleted
        return f"{len(rows)} generated rows collided and were deleted"
    return None


def _nullable_column(t: sa.Table, elements: list[str]) -> str | None:
    """The last nullable column (not in the primary key) that an element is, or that an expression reads."""
    for element in reversed(elements):
        for c in reversed(list(t.columns)):
            if not c.nullable or c.primary_key:
                continue
            quoted = re.escape('"' + c.name.replace('"', '""') + '"')
            if element in (c.name, f'"{c.name}"') or re.search(rf'(?<![\w."]){re.escape(c.name)}(?![\w"])|{quoted}',
                                                                element):
                return c.name
    return None


def _referred(t: sa.Table, metadata: sa.MetaData) -> bool:
    """Whether a foreign key of the target refers to `t` (then its rows are not deleted)."""
    return any(fk.column.table is t for other in metadata.tables.values() for fk in other.foreign_keys)
