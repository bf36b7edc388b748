"""Foreign keys and plain indexes set aside during the load and put back after it (PostgreSQL).

A foreign key checked row by row (one trigger and one index probe per row) and an index
grown row by row cost more than one anti-join validating the whole key and one sorted
index build at the end. The tables are created as usual (dbsynth.io.ddl); just before
the load, their foreign keys and the indexes that back no constraint are dropped, and
after it they are re-created from PostgreSQL's own definitions of them
(``pg_get_constraintdef``, ``pg_get_indexdef``), under the same names, so the final
schema is the one ``create_schema`` made. Primary keys and unique constraints stay
(fix-up UPDATEs join on them). It all runs in the caller's transaction: a key that
does not hold fails the whole write, which rolls back.

Other engines keep their constraints during the load: MySQL's ADD FOREIGN KEY copies the
table, and SQLite cannot add a constraint to an existing table.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from dbsynth.errors import DbsynthError

__all__ = ["SetAside", "restore", "set_aside"]


@dataclass(frozen=True)
class SetAside:
    """What was dropped before the load: (table, name, definition) of indexes and foreign keys."""

    indexes: tuple[tuple[str, str, str], ...] = ()
    foreign_keys: tuple[tuple[str, str, str], ...] = ()


def set_aside(conn: sa.Connection, metadata: sa.MetaData) -> SetAside:
    """Drop the foreign keys and plain indexes of the tables of `metadata`; what to restore() after the load."""
    if conn.dialect.name != "postgresql" or not metadata.tables:
        return SetAside()
    tables = [_regclass(t) for t in metadata.tables.values()]
    fks = conn.execute(sa.text(
        "SELECT c.conrelid::regclass::text, quote_ident(c.conname), pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE c.contype = 'f' AND c.conparentid = 0 AND c.conrelid = ANY(CAST(:t AS regclass[])) "
        "ORDER BY c.oid"), {"t": tables}).all()
    indexes = conn.execute(sa.text(
        "SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
        "FROM pg_index i WHERE i.indrelid = ANY(CAST(:t AS regclass[])) AND NOT EXISTS ("
        "  SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x')) "
        "ORDER BY i.indexrelid"), {"t": tables}).all()
    for table, name, _ in fks:
        _run(conn, f"ALTER TABLE {table} DROP CONSTRAINT {name}", f"setting aside foreign key {name} of {table}")
    for table, name, _ in indexes:
        _run(conn, f"DROP INDEX {name}", f"setting aside index {name} of {table}")
    # A partitioned table's index reads "ON ONLY parent": built that way it would stay invalid, without its partitions'
    indexes = [(table, name, definition.replace(" ON ONLY ", " ON ", 1)) for table, name, definition in indexes]
    return SetAside(tuple(map(tuple, indexes)), tuple(map(tuple, fks)))  # type: ignore[arg-type]


def restore(conn: sa.Connection, aside: SetAside) -> None:
    """Build the indexes, then add (and so validate) the foreign keys; a violation names its table."""
    for table, name, definition in aside.indexes:
        _run(conn, definition, f"creating index {name} on table {table}")
    for table, name, definition in aside.foreign_keys:
        _run(conn, f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}",
             f"checking foreign key {name} of table {table}")


def _run(conn: sa.Connection, statement: str, what: str) -> None:
    try:
        conn.exec_driver_sql(statement.replace("%", "%%"))  # names may hold %: no placeholders here
    except sa.exc.DBAPIError as exc:
        text = str(exc.orig).strip()
        line = text.splitlines()[0] if text else type(exc.orig).__name__
        detail = getattr(getattr(exc.orig, "diag", None), "message_detail", None)  # the offending key
        raise DbsynthError(f"{what} failed: {line}" + (f" ({detail})" if detail else "")) from exc


def _regclass(table: sa.Table) -> str:
    """The table's name quoted for PostgreSQL's own parser (regclass), as a parameter value."""
    parts = [table.schema, table.name] if table.schema else [table.name]
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)
