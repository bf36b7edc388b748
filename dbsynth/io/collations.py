"""The source's own PostgreSQL collations in a PostgreSQL target, created before the tables whose columns use them.

`CREATE COLLATION IF NOT EXISTS` leaves a collation the target already has (an application's migration made it)
as it is, and a replaced target keeps them: collations hold no data, and dropping one a column still uses fails.
"""

from __future__ import annotations

import sqlalchemy as sa

from dbsynth.schema.model import Collation

COLLATIONS_KEY = "dbsynth_collations"   # metadata.info: the user collations to create (PostgreSQL, same engine)


def set_collation(typ: sa.types.TypeEngine, name: str, dialect: str) -> None:
    """Give a string type the collation `name` ("app.ci": a PostgreSQL collation in a schema)."""
    if dialect == "postgresql" and "." in name:
        typ.collation_schema, typ.collation = name.split(".", 1)   # COLLATE "app"."ci"
    else:
        typ.collation = name


def create_collations(conn: sa.Connection, collations: list[Collation]) -> None:
    prep = conn.dialect.identifier_preparer
    for collation in collations:
        name = prep.quote(collation.local_name)
        if collation.schema:
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {prep.quote_schema(collation.schema)}")
            name = f"{prep.quote_schema(collation.schema)}.{name}"
        conn.exec_driver_sql(f"CREATE COLLATION IF NOT EXISTS {name} ({collation.options})".replace("%", "%%"))
