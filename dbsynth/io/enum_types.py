"""The source's enum types that no column uses, created on a PostgreSQL target before its routines."""

from __future__ import annotations

import sqlalchemy as sa

from dbsynth.io.domains import type_exists
from dbsynth.schema.model import EnumType

ENUMS_KEY = "dbsynth_enums"   # metadata.info: enum types no column uses (PostgreSQL, same engine)


def create_unused_enums(conn: sa.Connection, enums: list[EnumType]) -> None:
    """Create each one the target lacks (an application's own type of that name is left as it is)."""
    prep = conn.dialect.identifier_preparer
    for enum in enums:
        if type_exists(conn, enum.schema, enum.local_name, "e"):
            continue
        name = prep.quote(enum.local_name)
        if enum.schema:
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {prep.quote_schema(enum.schema)}")
            name = f"{prep.quote_schema(enum.schema)}.{name}"
        labels = ", ".join("'" + label.replace("'", "''") + "'" for label in enum.labels)
        conn.exec_driver_sql(f"CREATE TYPE {name} AS ENUM ({labels})".replace("%", "%%"))
