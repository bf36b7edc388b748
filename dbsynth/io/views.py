"""Views in the target: recreated from their definitions after the rows are in, never filled.

A view may read another view, so creation runs in passes until nothing more
succeeds; each attempt sits in a savepoint, so a definition the target cannot
run (another dialect's SQL) becomes a warning instead of a failed load.
"""

from __future__ import annotations

import sqlalchemy as sa

from dbsynth.schema.model import View


def existing_views(engine: sa.Engine, names: list[str]) -> list[str]:
    inspector = sa.inspect(engine)
    present = set(inspector.get_view_names())
    try:
        present |= set(inspector.get_materialized_view_names())
    except NotImplementedError:
        pass
    return sorted(n for n in names if n in present)


def drop_views(conn: sa.Connection, views: list[View], present: list[str]) -> None:
    """Drop the views about to be recreated (before their tables go; PostgreSQL would refuse)."""
    quote = conn.dialect.identifier_preparer.quote
    cascade = " CASCADE" if conn.dialect.name == "postgresql" else ""
    for view in views:
        if view.name in present:
            kind = "MATERIALIZED VIEW" if view.materialized and conn.dialect.name == "postgresql" else "VIEW"
            conn.exec_driver_sql(f"DROP {kind} IF EXISTS {quote(view.name)}{cascade}")


def create_views(conn: sa.Connection, views: tuple[View, ...]) -> list[str]:
    """Create every view that the target accepts; warnings name the others and why."""
    quote = conn.dialect.identifier_preparer.quote
    pending = list(views)
    errors: dict[str, str] = {}
    while pending:
        created = []
        for view in pending:
            materialized = view.materialized and conn.dialect.name == "postgresql"
            kind = "MATERIALIZED VIEW" if materialized else "VIEW"
            try:
                with conn.begin_nested():
                    conn.exec_driver_sql(f"CREATE {kind} {quote(view.name)} AS {view.definition}")
                created.append(view)
            except sa.exc.SQLAlchemyError as exc:
                errors[view.name] = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        pending = [v for v in pending if v not in created]
        if not created:
            break
    warnings = [f"view {v.name} was not recreated: the target rejected its definition ({errors[v.name]})"
                for v in pending]
    warnings += [f"materialized view {v.name} was created as a plain view (the target has no materialized views)"
                 for v in views if v.materialized and conn.dialect.name != "postgresql" and v not in pending]
    return warnings
