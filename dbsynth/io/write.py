"""Write a sampled database into the target: schema, rows, deferred FKs, sequences.

Everything happens in one transaction where the engine has transactional DDL
(PostgreSQL, SQLite), so a failure leaves the target as it was. MySQL/MariaDB
commit DDL implicitly: there we drop the tables we created when a load fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dbsynth.errors import ConfigError, DbsynthError, TargetNotEmpty
from dbsynth.io.views import create_views, drop_views, existing_views
from dbsynth.io.ddl import create_schema, drop_tables, existing_tables, table_for, target_metadata
from dbsynth.io.load import (
    insert_frame, make_transactional, reset_sequences, transactional_ddl, update_rows,
)
from dbsynth.relational.sample import SyntheticDatabase
from dbsynth.schema.model import Schema

IF_EXISTS = ("refuse", "replace")


@dataclass(frozen=True)
class WriteResult:
    rows: dict[str, int]
    warnings: tuple[str, ...]


def same_family(a: str, b: str) -> bool:
    """MySQL and MariaDB speak one SQL: DDL, CHECKs and defaults carry over between them."""
    family = {"mariadb": "mysql"}
    return family.get(a, a) == family.get(b, b)


def check_target(engine: Engine, schema: Schema, if_exists: str) -> list[str]:
    """Tables of `schema` already in the target; refuses early unless told to replace."""
    if if_exists not in IF_EXISTS:
        raise ConfigError(f"--if-exists must be one of {', '.join(IF_EXISTS)}, not {if_exists!r}")
    existing = existing_tables(engine, schema.table_names)
    views = existing_views(engine, [v.name for v in schema.views])
    if (existing or views) and if_exists == "refuse":
        raise TargetNotEmpty(existing + views)
    return existing


def write_database(engine: Engine, schema: Schema, load_order: tuple[str, ...], data: SyntheticDatabase,
                   *, if_exists: str = "refuse",
                   on_table: Callable[[str, int], None] | None = None) -> WriteResult:
    existing = check_target(engine, schema, if_exists)
    dialect = engine.dialect.name
    metadata, warnings = target_metadata(schema, dialect, same_dialect=same_family(dialect, schema.dialect))
    make_transactional(engine)
    rolls_back_ddl = transactional_ddl(dialect)
    rows: dict[str, int] = {}
    created = False
    try:
        with engine.begin() as conn:
            drop_views(conn, list(schema.views), existing_views(engine, [v.name for v in schema.views]))
            if existing:
                drop_tables(conn, existing)
            create_schema(conn, metadata)
            created = True
            for name in load_order:
                rows[name] = insert_frame(conn, table_for(metadata, name), data.tables[name])
                if on_table:
                    on_table(name, rows[name])
            for name, keys, columns, values in data.updates:
                update_rows(conn, table_for(metadata, name), values, keys, columns)
            reset_sequences(conn, metadata)
            warnings += create_views(conn, schema.views)
    except (sa.exc.SQLAlchemyError, DbsynthError) as exc:
        if created and not rolls_back_ddl:
            with engine.begin() as conn:
                drop_tables(conn, list(schema.table_names))
        detail = str(exc) if isinstance(exc, DbsynthError) else str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise DbsynthError(f"{detail}; the target was rolled back, nothing was written") from exc
    return WriteResult(rows, tuple(warnings))
