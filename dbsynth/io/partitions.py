"""Recreate a PostgreSQL source's partitions in a PostgreSQL target.

The partitioned table itself is created by `io.ddl` with PARTITION BY; its
partitions are created here right after it, each PARTITION OF its parent in
the parent's target namespace, so the load can COPY into the partitioned table
and let PostgreSQL route every row. Other engines get one plain table (`io.ddl`
warns), since their partitioning is a storage choice, not part of the schema.
"""

from __future__ import annotations

import sqlalchemy as sa

from dbsynth.schema.model import Partition

__all__ = ["PARTITIONS_KEY", "create_partitions", "partition_names"]

PARTITIONS_KEY = "dbsynth_partitions"   # sa.Table.info: the source's partitions of that table


def partition_names(metadata: sa.MetaData) -> list[tuple[str | None, str]]:
    """(schema, name) of every partition the tables of `metadata` will get."""
    return [(t.schema, p.name) for t in metadata.tables.values() for p in t.info.get(PARTITIONS_KEY, ())]


def create_partitions(conn: sa.Connection, metadata: sa.MetaData) -> None:
    """CREATE TABLE ... PARTITION OF for every partition, parents before their own partitions."""
    prep = conn.dialect.identifier_preparer
    for table in metadata.tables.values():
        partitions: tuple[Partition, ...] = table.info.get(PARTITIONS_KEY, ())
        root = {p.name for p in partitions}
        for p in partitions:
            parent = prep.format_table(table) if p.parent not in root else _qualified(prep, table.schema, p.parent)
            sub = f" PARTITION BY {p.key}" if p.key else ""
            conn.exec_driver_sql(f"CREATE TABLE {_qualified(prep, table.schema, p.name)} "
                                 f"PARTITION OF {parent} {p.bound}{sub}")


def _qualified(prep: sa.sql.compiler.IdentifierPreparer, schema: str | None, name: str) -> str:
    return f"{prep.quote_schema(schema)}.{prep.quote(name)}" if schema else prep.quote(name)
