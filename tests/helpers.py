"""Reading databases back in tests: rows, checksums, schemas."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import sqlalchemy as sa

from dbsynth.io.engines import open_source, parse_url
from dbsynth.schema.introspect import introspect
from dbsynth.schema.model import Schema


def schema_of(url: str) -> Schema:
    engine = open_source(parse_url(url))
    try:
        return introspect(engine)
    finally:
        engine.dispose()


def rows_of(url: str, table: str, columns: list[str] | None = None, *, schema: str | None = None) -> list[tuple]:
    """All rows of a table as tuples of normalised values, sorted.

    `table` is a model name ("sales.orders" outside PostgreSQL's default schema); pass `schema`
    with the local name when the table's own name holds a dot ("sales", "Weird.Name").
    """
    engine = open_source(parse_url(url))
    try:
        if schema is None and "." in table and engine.dialect.name == "postgresql":
            schema, _, table = table.partition(".")
        t = sa.Table(table, sa.MetaData(), schema=schema or None, autoload_with=engine)
        cols = [t.c[c] for c in columns] if columns else list(t.c)
        with engine.connect() as conn:
            rows = conn.execute(sa.select(*cols)).fetchall()
        return sorted((tuple(_norm(v) for v in r) for r in rows), key=repr)
    finally:
        engine.dispose()


def _norm(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, float):
        return round(value, 6)
    try:
        from decimal import Decimal

        if isinstance(value, Decimal):
            return round(float(value), 6)
    except ImportError:  # pragma: no cover
        pass
    return str(value) if not isinstance(value, (int, str)) else value


def database_checksum(url: str) -> str:
    """One hash over every table's sorted rows: equal before and after means untouched."""
    schema = schema_of(url)
    digest = hashlib.sha256()
    for table in schema.tables:   # every namespace on PostgreSQL: address each by (schema, local name)
        digest.update(table.name.encode())
        for row in rows_of(url, table.local_name, schema=table.schema):
            digest.update(repr(row).encode())
    return digest.hexdigest()


def load_mariadb_sql(url: str, script: Path) -> None:
    """Run a MariaDB SQL file (statements end with ';' at a line's end; '--' lines are comments)."""
    text = "\n".join(line for line in script.read_text().splitlines() if not line.startswith("--"))
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            for statement in re.split(r";\s*\n", text):
                if statement.strip():
                    conn.exec_driver_sql(statement.replace("%", "%%"))  # PyMySQL formats even without parameters
    finally:
        engine.dispose()
