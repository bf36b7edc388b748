"""PostgreSQL composite types in a PostgreSQL target: created from the source's definition before the tables.

A column of a composite type (`CREATE TYPE postal AS (street text, zip integer)`) keeps that type on a
PostgreSQL target; the type is created in its own schema unless the target already has one of that name
(an application's, left as it is), and dropped with the tables that used it when they are replaced.
"""

from __future__ import annotations

import sqlalchemy as sa

from dbsynth.io.domains import drop_if_unused, type_exists
from dbsynth.io.typemap import CompositeType, composite_location
from dbsynth.schema.model import Schema

COMPOSITES_KEY = "dbsynth_composites"   # metadata.info: [(schema, name, [(field, type spelling)])]


def composite_definitions(schema: Schema) -> list[tuple[str | None, str, list[tuple[str, str]]]]:
    """Every composite type the schema's columns use, once, with its fields."""
    found: dict[tuple[str | None, str], list[tuple[str, str]]] = {}
    for table in schema.tables:
        for col in table.columns:
            if col.type.kind == "composite":
                found.setdefault(composite_location(col.type),
                                 [(name, t.source_name) for name, t in col.type.fields])
    return [(s, n, fields) for (s, n), fields in found.items()]


def create_composites(conn: sa.Connection, metadata: sa.MetaData) -> None:
    prep = conn.dialect.identifier_preparer
    for schema, name, fields in metadata.info.get(COMPOSITES_KEY, ()):
        if type_exists(conn, schema, name, "c"):
            continue
        body = ", ".join(f"{prep.quote(f)} {spelling}" for f, spelling in fields)
        conn.exec_driver_sql(f"CREATE TYPE {CompositeType(schema, name).get_col_spec()} AS ({body})".replace("%", "%%"))


def drop_unused_composites(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """Drop the composite types the dropped tables used, unless something else still uses them."""
    found = {(c.type.schema, c.type.name) for t in tables for c in t.columns if isinstance(c.type, CompositeType)}
    drop_if_unused(conn, [f"DROP TYPE IF EXISTS {CompositeType(schema, name).get_col_spec()}"
                          for schema, name in sorted(found, key=str)])
