"""Views in the target: recreated from their definitions after the rows are in, never filled.

A view may read another view, so creation runs in passes until nothing more
succeeds; each attempt sits in a savepoint, so a definition the target cannot
run (another dialect's SQL) becomes a warning instead of a failed load.
"""

from __future__ import annotations

import re
from typing import Callable

import sqlalchemy as sa

from dbsynth.io.naming import located, located_table
from dbsynth.schema.model import View


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


def create_views(conn: sa.Connection, views: tuple[View, ...], source_dialect: str | None = None) -> list[str]:
    """Create every view that the target accepts; warnings name the others and why."""
    def create(view: View) -> None:
        materialized = view.materialized and conn.dialect.name == "postgresql"
        kind = "MATERIALIZED VIEW" if materialized else "VIEW"
        definition = definition_for(view.definition, source_dialect, conn.dialect.name)
        statement = f"CREATE {kind} {_quoted(conn, view)} AS {definition}"
        if conn.dialect.name in ("mysql", "mariadb"):
            # DDL commits implicitly there, which ends any savepoint; a rejected CREATE VIEW changes nothing
            conn.exec_driver_sql(statement.replace("%", "%%"))
            return
        with conn.begin_nested():
            conn.exec_driver_sql(statement)

    rejected = create_in_passes(list(views), create)
    warnings = rejection_warnings(rejected)
    warnings += [f"materialized view {v.name} was created as a plain view (the target has no materialized views)"
                 for v in views if v.materialized and conn.dialect.name != "postgresql" and v.name not in rejected]
    return warnings


_MYSQL_LITERAL_OR_NAME = re.compile(r"('(?:[^'\\]|\\.|'')*')|`((?:[^`]|``)*)`")


def definition_for(definition: str, source_dialect: str | None, target_dialect: str) -> str:
    """A view's SELECT with MySQL's `quoted` names in ANSI "quotes" for PostgreSQL (SQLite reads both).

    Only the quoting is translated: a definition using MySQL's own functions is still rejected there.
    """
    if source_dialect not in ("mysql", "mariadb") or target_dialect != "postgresql":
        return definition

    def swap(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1)  # a string literal stays as it is
        return '"' + match.group(2).replace("``", "`").replace('"', '""') + '"'

    return _MYSQL_LITERAL_OR_NAME.sub(swap, definition)


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


def rejection_warnings(rejected: dict[str, str]) -> list[str]:
    return [f"view {name} was not recreated: the target rejected its definition ({error})"
            for name, error in rejected.items()]
