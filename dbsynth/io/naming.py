"""Where a source table lives in a database of a given engine, and reflecting tables from there.

The schema model names a table "schema.table" outside the default namespace
(see `schema.model.qualified_name`). PostgreSQL keeps the namespace. MySQL has
no namespaces inside a database (its "schema" is the database, and the source's
database name could be the source itself) and SQLite has none: there the table
is called "schema_table" in the default database, and a warning says so.
"""

from __future__ import annotations

import warnings

import sqlalchemy as sa

from dbsynth.schema.model import Schema, Table, View


def keeps_namespaces(dialect: str) -> bool:
    return dialect == "postgresql"


def located(schema: str | None, local: str, dialect: str) -> tuple[str | None, str]:
    """(namespace, name) of a source table or view of namespace `schema` on `dialect`."""
    if not schema:
        return None, local
    if keeps_namespaces(dialect):
        return schema, local
    return None, f"{schema}_{local}"


def located_table(table: Table | View, dialect: str) -> tuple[str | None, str]:
    return located(table.schema, table.local_name, dialect)


def namespace_notes(schema: Schema, dialect: str) -> list[str]:
    """One warning per namespace flattened into prefixed table names on `dialect`."""
    if keeps_namespaces(dialect):
        return []
    spaces = sorted({t.schema for t in schema.tables if t.schema})
    return [f"schema {s}: {dialect} has no namespaces inside a database, so its tables are written as "
            f"{s}_<table> (e.g. {located(s, next(t.local_name for t in schema.tables if t.schema == s), dialect)[1]})"
            for s in spaces]


def reflect_tables(engine: sa.Engine, schema: Schema) -> dict[str, sa.Table]:
    """The database's tables for every table of `schema`, keyed by the model's (qualified) name."""
    dialect = engine.dialect.name
    where = {t.name: located_table(t, dialect) for t in schema.tables}
    metadata = sa.MetaData()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=sa.exc.SAWarning)  # SQLite Decimal notices, unknown types
        for namespace in dict.fromkeys(ns for ns, _ in where.values()):
            only = [name for ns, name in where.values() if ns == namespace]
            metadata.reflect(engine, schema=namespace, only=only)
    return {key: metadata.tables[f"{ns}.{name}" if ns else name] for key, (ns, name) in where.items()}
