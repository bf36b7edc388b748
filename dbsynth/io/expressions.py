"""DEFAULT, generated-column and CHECK expressions a same-engine target rejects.

A target of the source's engine gets the source's DEFAULTs and generated columns as written, but they may
call functions the target lacks: an extension's (``uuid_generate_v1()`` from uuid-ossp) or the
application's own. One such expression used to stop the whole clone. So a PostgreSQL target first gets
the source's extensions that its server offers (``pg_available_extensions``); then each table's
expressions are tried on a temporary table, and those the server still refuses are left out with a
warning naming the column, the expression and the server's reason, while the rest is cloned.
"""

from __future__ import annotations

import sqlalchemy as sa

EXTENSIONS_KEY = "dbsynth_extensions"   # metadata.info: the source's PostgreSQL extensions
EXTENSION_TYPES_KEY = "dbsynth_extension_types"   # metadata.info: [(table key, column, type)] of extensions' types


def create_extensions(conn: sa.Connection, metadata: sa.MetaData) -> list[str]:
    """CREATE EXTENSION in a PostgreSQL target for each source extension its server offers; notes on the rest."""
    wanted = metadata.info.get(EXTENSIONS_KEY, ())
    if not wanted or conn.dialect.name != "postgresql":
        return []
    offered = dict(conn.execute(sa.text("SELECT name, installed_version FROM pg_available_extensions")).all())
    notes: list[str] = []
    for name in wanted:
        if name not in offered:
            notes.append(f"extension {name} of the source is not available on the target server; DEFAULTs and "
                         f"generated columns calling its functions are left out")
        elif offered[name] is None:
            try:
                with conn.begin_nested():
                    conn.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS {conn.dialect.identifier_preparer.quote(name)}")
            except sa.exc.DBAPIError as exc:
                notes.append(f"extension {name} of the source could not be created in the target "
                             f"({_first_line(exc)}); DEFAULTs and generated columns calling its functions are left out")
    return notes


def fall_back_to_text(conn: sa.Connection, metadata: sa.MetaData) -> list[str]:
    """Columns of an extension's type (citext, hstore, ltree, cube) keep it where the target has it once its
    extensions are created; where it does not, they become TEXT, each named in a warning."""
    notes = []
    for key, column, spelling in metadata.info.get(EXTENSION_TYPES_KEY, ()):
        if conn.execute(sa.text("SELECT to_regtype(:name) IS NOT NULL"), {"name": spelling}).scalar_one():
            continue
        table = metadata.tables[key]
        table.c[column].type = sa.Text()
        notes.append(f"column {table.info.get('dbsynth_name', key)}.{column} has type {spelling}, which the target "
                     f"lacks (its extension is not installed there); created as TEXT")
    return notes


def leave_out_rejected(conn: sa.Connection, metadata: sa.MetaData) -> list[str]:
    """Drop from `metadata` the DEFAULTs and generated columns the target refuses; one warning for each.

    Each table holding expressions is tried once as a temporary table (the usual case: accepted); only a
    refused table is tried again expression by expression, to name the culprits.
    """
    notes: list[str] = []
    for n, table in enumerate(metadata.tables.values()):
        columns = [c for c in table.columns if _expression(c) is not None]
        checks = [c for c in table.constraints if isinstance(c, sa.CheckConstraint)]
        if not (columns or checks) or _refusal(conn, table, {c.name for c in columns}, n, checks) is None:
            continue
        for col in columns:
            reason = _refusal(conn, table, {col.name}, n)
            if reason is not None:
                notes.append(_leave_out(table, col, reason))
        for check in checks:  # a CHECK calling the application's own function (is_valid_sku(code))
            reason = _refusal(conn, table, set(), n, [check])
            if reason is not None:
                table.constraints.discard(check)
                notes.append(f"CHECK {check.name or ''} ({check.sqltext}) on table "
                             f"{table.info.get('dbsynth_name', table.name)} is rejected by the target ({reason}): "
                             f"it was left out there".replace("CHECK  (", "CHECK ("))
    return notes


def _expression(col: sa.Column) -> str | None:
    """The column's generated-column or DEFAULT expression as SQL text, if it has one."""
    if col.computed is not None:
        return str(col.computed.sqltext)
    if isinstance(col.server_default, sa.DefaultClause):
        arg = col.server_default.arg
        return arg if isinstance(arg, str) else str(arg)
    return None


def _refusal(conn: sa.Connection, table: sa.Table, keep: set[str], n: int,
             checks: list[sa.CheckConstraint] = ()) -> str | None:  # type: ignore[assignment]
    """None when a temporary copy of `table` (its columns and types, the expressions of `keep` only, the
    given CHECKs, unnamed so no name clashes) is accepted by the target; else the server's reason.
    Nothing of the try is left behind."""
    probe = sa.Table(f"dbsynth_probe_{n}", sa.MetaData(), *[_probe_column(c, c.name in keep) for c in table.columns],
                     *[sa.CheckConstraint(c.sqltext) for c in checks], prefixes=["TEMPORARY"])
    if conn.dialect.name in ("mysql", "mariadb"):
        # No savepoint there: DDL commits implicitly and ends it. CREATE/DROP TEMPORARY TABLE commit
        # nothing, and a refused CREATE leaves nothing behind.
        try:
            probe.create(conn)
        except sa.exc.DBAPIError as exc:
            return _first_line(exc)
        conn.exec_driver_sql(f"DROP TEMPORARY TABLE {conn.dialect.identifier_preparer.quote(probe.name)}")
        return None
    try:
        with conn.begin_nested() as savepoint:
            probe.create(conn)
            savepoint.rollback()
    except sa.exc.DBAPIError as exc:
        return _first_line(exc)
    return None


def _probe_column(col: sa.Column, with_expression: bool) -> sa.Column:
    args: list[sa.schema.SchemaItem] = []
    default = None
    if with_expression and col.computed is not None:
        args.append(sa.Computed(col.computed.sqltext, persisted=col.computed.persisted))
    elif with_expression and isinstance(col.server_default, sa.DefaultClause):
        default = sa.DefaultClause(col.server_default.arg)
    return sa.Column(col.name, col.type, *args, server_default=default, autoincrement=False)


def _leave_out(table: sa.Table, col: sa.Column, reason: str) -> str:
    """Take the refused expression off `col`; the warning that says so."""
    where = f"column {table.info.get('dbsynth_name', table.name)}.{col.name}"
    expression = _expression(col)
    if col.computed is not None:
        col.computed = None
        col.server_default = col.server_onupdate = None
        col.nullable = True
        return (f"{where} is generated by {expression!r} in the source, which the target rejects ({reason}): "
                f"it is a plain nullable column there, written as NULL")
    col.server_default = None
    return f"{where} has DEFAULT {expression}, which the target rejects ({reason}): the default was left out"


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__
