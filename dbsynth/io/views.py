"""Views in the target: recreated from their definitions after the rows are in, never filled.

A definition written for another engine is translated first (io/sqltranslate),
its tables renamed as the tables are on the target. A view may read another view,
so creation runs in passes until nothing more succeeds; each attempt sits in a
savepoint where the engine keeps one across DDL, so a definition the target
rejects becomes one warning naming the view instead of a failed load.
"""

from __future__ import annotations

import dataclasses
import graphlib
import re
from typing import Callable

import sqlalchemy as sa
from sqlglot import exp

from dbsynth.io.naming import located, located_table
from dbsynth.io.sqlscope import SourceTables
from dbsynth.io.sqltranslate import UntranslatableSQL, function_names, translate
from dbsynth.schema.model import Schema, Table, View


def existing_views(engine: sa.Engine, names: list[str]) -> list[str]:
    """Which of `names` (the model's "view" or "schema.view") exist in the target."""
    inspector = sa.inspect(engine)
    dialect = engine.dialect.name
    found = []
    for name in names:
        schema, _, local = name.rpartition(".") if "." in name else ("", "", name)
        namespace, target = located(schema or None, local, dialect)
        try:
            present = set(inspector.get_view_names(schema=namespace))
            try:
                present |= set(inspector.get_materialized_view_names(schema=namespace))
            except NotImplementedError:
                pass
        except sa.exc.SQLAlchemyError:  # no such schema
            present = set()
        if target in present or name in present:
            found.append(name)
    return sorted(found)


def _quoted(conn: sa.Connection, view: View) -> str:
    prep = conn.dialect.identifier_preparer
    namespace, name = located_table(view, conn.dialect.name)
    return f"{prep.quote_schema(namespace)}.{prep.quote(name)}" if namespace else prep.quote(name)


def drop_views(conn: sa.Connection, views: list[View], present: list[str]) -> None:
    """Drop the views about to be recreated (before their tables go; PostgreSQL would refuse)."""
    cascade = " CASCADE" if conn.dialect.name == "postgresql" else ""
    for view in views:
        if view.name in present:
            kind = "MATERIALIZED VIEW" if view.materialized and conn.dialect.name == "postgresql" else "VIEW"
            conn.exec_driver_sql(f"DROP {kind} IF EXISTS {_quoted(conn, view)}{cascade}")


def translated_views(schema: Schema, target_dialect: str) -> tuple[tuple[View, ...], dict[str, str]]:
    """The views with their SELECTs in the target's SQL, and those that have none (name -> reason).

    Tables keep the names they get on the target (`schema_table` where it has no namespaces).
    """
    map_table = _table_mapper(schema, target_dialect)
    tables = source_tables(schema)
    done, untranslatable = [], {}
    for view in schema.views:
        try:
            sql = translate(view.definition, schema.dialect or target_dialect, target_dialect, map_table, tables)
        except UntranslatableSQL as exc:
            untranslatable[view.name] = exc.reason
            continue
        done.append(dataclasses.replace(view, definition=sql))
    return tuple(done), untranslatable


def source_tables(schema: Schema) -> SourceTables:
    """The column kinds and primary keys the type-dependent translations need (date arithmetic, `/`, GROUP BY)."""
    return SourceTables.of((t.name, t.schema, {c.name: c.type.kind for c in t.columns},
                            t.primary_key.columns if t.primary_key else ()) for t in schema.tables)


def create_views(conn: sa.Connection, schema: Schema) -> list[str]:
    """Create every view that the target accepts; one warning names each other one and why."""
    dialect = conn.dialect.name
    views, skipped = translated_views(schema, dialect)

    def create(view: View) -> None:
        materialized = view.materialized and dialect == "postgresql"
        kind = "MATERIALIZED VIEW" if materialized else "VIEW"
        statement = f"CREATE {kind} {_quoted(conn, view)} AS {view.definition}"
        if dialect != "sqlite":
            statement = statement.replace("%", "%%")  # the drivers' paramstyle (SQLite's is "?")
        if dialect in ("mysql", "mariadb"):
            # DDL commits implicitly there and ends any savepoint, so a second failing view would fail on
            # "SAVEPOINT ... does not exist"; a rejected CREATE VIEW changes nothing, so none is needed
            conn.exec_driver_sql(statement)
            return
        with conn.begin_nested():
            conn.exec_driver_sql(statement)
            if dialect == "sqlite":  # SQLite checks tables, columns and functions only when a view is read
                conn.exec_driver_sql(f"SELECT * FROM {_quoted(conn, view)} LIMIT 0").fetchall()

    rejected = create_in_passes(list(views), create)
    originals = {v.name: v.definition for v in schema.views}
    reasons = skipped | {name: rejection_reason(error, originals[name], schema.dialect or dialect, dialect)
                         for name, error in rejected.items()}
    warnings = [f"view {name} not created on {dialect}: {reason}" for name, reason in sorted(reasons.items())]
    warnings += [f"materialized view {v.name} was created as a plain view (the target has no materialized views)"
                 for v in views if v.materialized and dialect != "postgresql" and v.name not in rejected]
    return warnings


def refresh_materialized_views(conn: sa.Connection, quoted_tables: list[str]) -> None:
    """--if-exists truncate on PostgreSQL: the target's materialized views over the replaced tables are refreshed.

    They would otherwise keep the rows they were built from. One reading another is refreshed after it.
    """
    if conn.dialect.name != "postgresql" or not quoted_tables:
        return
    replaced = {conn.exec_driver_sql(f"SELECT to_regclass('{name.replace(chr(39), chr(39) * 2)}')::oid").scalar()
                for name in quoted_tables}
    reads: dict[int, set[int]] = {}
    names: dict[int, str] = {}
    for view, name, read in conn.exec_driver_sql(
            "SELECT v.oid, format('%%I.%%I', n.nspname, v.relname), d.refobjid FROM pg_class v "
            "JOIN pg_namespace n ON n.oid = v.relnamespace JOIN pg_rewrite r ON r.ev_class = v.oid "
            "JOIN pg_depend d ON d.objid = r.oid AND d.classid = 'pg_rewrite'::regclass "
            "WHERE v.relkind = 'm' AND d.refobjid <> v.oid"):
        reads.setdefault(view, set()).add(read)
        names[view] = name
    stale: set[int] = set()
    while True:  # a materialized view over a stale one is stale too
        more = {v for v, read in reads.items() if read & (replaced | stale)} - stale
        if not more:
            break
        stale |= more
    order = graphlib.TopologicalSorter({v: reads[v] & stale for v in stale}).static_order()
    for view in order:
        conn.exec_driver_sql(f"REFRESH MATERIALIZED VIEW {names[view]}")


def _table_mapper(schema: Schema, target_dialect: str) -> Callable[[exp.Table], None]:
    """Points each table (or view) a definition reads at its name on the target.

    A PostgreSQL definition names tables outside the search path with their schema;
    MySQL's may name the source database, which means nothing on the target; SQLite
    and MySQL compare names without case. A renamed table keeps its old name as alias,
    so the definition's `order.id` still resolves.
    """
    objects: list[Table | View] = [*schema.tables, *schema.views]
    known = {o.name: o for o in objects}
    folded = {o.name.lower(): o for o in objects} if schema.dialect != "postgresql" else {}

    def map_table(table: exp.Table) -> None:
        local, db = table.name, table.db
        wanted = f"{db}.{local}" if db else local
        found = (known.get(wanted) or (known.get(local) if db else None)
                 or folded.get(wanted.lower()) or folded.get(local.lower()))
        if found is None:
            return  # not ours: the target resolves it (or says it cannot)
        namespace, name = located_table(found, target_dialect)
        table.set("this", exp.to_identifier(name, quoted=True))
        table.set("db", exp.to_identifier(namespace, quoted=True) if namespace else None)
        table.set("catalog", None)
        if name != local and not table.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(local, quoted=True)))

    return map_table


_MISSING_FUNCTION = re.compile(
    r"no such function: (\w+)|FUNCTION `?[\w$]+`?\.`?(\w+)`? does not exist|function ([\w.]+)\(.*?\) does not exist",
    re.I)


def rejection_reason(error: str, definition: str, source_dialect: str, target_dialect: str) -> str:
    """Why the target refused a translated view, in the source's words where a function is missing."""
    missing = _MISSING_FUNCTION.search(error)
    if missing:
        theirs = next(g for g in missing.groups() if g).rsplit(".", 1)[-1]
        ours = function_names(definition, source_dialect, target_dialect).get(theirs.upper(), theirs)
        return f"function {ours} has no equivalent"
    return f"the target rejected its definition ({error})"


def create_in_passes(views: list[View], create: Callable[[View], None]) -> dict[str, str]:
    """Run `create` on every view, pass after pass, until a pass creates none (views may read views).

    Returns the views the target rejected, each with its first error line.
    """
    pending, errors = list(views), {}
    while pending:
        created = []
        for view in pending:
            try:
                create(view)
                created.append(view)
            except sa.exc.SQLAlchemyError as exc:
                errors[view.name] = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        pending = [v for v in pending if v not in created]
        if not created:
            break
    return {v.name: errors[v.name] for v in pending}


def rejection_warnings(rejected: dict[str, str], dialect: str) -> list[str]:
    return [f"view {name} not created on {dialect}: the target rejected its definition ({error})"
            for name, error in sorted(rejected.items())]
