"""Write a sampled database into the target: schema, rows, deferred FKs, sequences.

Everything happens in one transaction where the engine has transactional DDL
(PostgreSQL, SQLite), so a failure leaves the target as it was. MySQL/MariaDB
commit DDL implicitly: there we drop the tables we created when a load fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dbsynth.errors import ConfigError, DbsynthError, TargetNotEmpty
from dbsynth.io.after_load import build_after_load
from dbsynth.io.deferred_ddl import SetAside, restore, set_aside
from dbsynth.io.views import create_views, drop_views, existing_views, refresh_materialized_views
from dbsynth.io.naming import reflect_tables
from dbsynth.io.ddl import (
    SAME_ENGINE_KEY, create_schema, drop_tables, existing_tables, restore_not_null, table_for, target_metadata,
)
from dbsynth.io.routines import (
    advance_sequences, create_table_objects, create_triggers, drop_routines, pause_triggers, resume_triggers,
)
from dbsynth.io.load import (
    insert_frame, make_transactional, reset_sequences, transactional_ddl, update_rows,
)
from dbsynth.io.target_checks import TargetChecks
from dbsynth.relational.checks import CheckTally
from dbsynth.relational.sample import SyntheticDatabase, table_rng
from dbsynth.schema.compare import as_written_on
from dbsynth.schema.model import Schema

IF_EXISTS = ("refuse", "replace", "truncate")


@dataclass(frozen=True)
class WriteResult:
    rows: dict[str, int]
    warnings: tuple[str, ...]
    writers: dict[str, int] = field(default_factory=dict)   # rows per Dask worker that wrote; empty: this process


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
    if if_exists == "truncate":
        check_compatible(engine, schema)
    return existing


def check_compatible(engine: Engine, schema: Schema) -> None:
    """--if-exists truncate keeps the target's own schema: it must hold every table and column we write."""
    from dbsynth.schema.introspect import introspect

    target = introspect(engine, count_rows=False, strict_types=False)
    problems = []
    for table in as_written_on(schema, engine.dialect.name).tables:  # schema_table where there are no namespaces
        if table.name not in target.table_names:
            problems.append(f"table {table.name} is missing")
            continue
        theirs = target.table(table.name)
        for col in table.columns:
            if col.computed:
                continue
            if col.name not in theirs.column_names:
                problems.append(f"column {table.name}.{col.name} is missing")
            elif not _compatible(col.type.kind, theirs.column(col.name).type.kind):
                problems.append(f"column {table.name}.{col.name} is {theirs.column(col.name).type.source_name}, "
                                f"not {col.type.source_name or col.type.kind}")
        for col in theirs.columns:
            if col.name not in table.column_names and not col.nullable and col.default is None \
                    and not col.autoincrement and not col.computed:
                problems.append(f"column {table.name}.{col.name} is NOT NULL without a default and not in the source")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(f"--if-exists truncate: the target's schema does not fit the source: {problems[0]}{more}; "
                          f"migrate the target or use --if-exists replace")


def _compatible(ours: str, theirs: str) -> bool:
    """Kinds whose values the target column can take (e.g. an integer into a decimal)."""
    if ours == theirs:
        return True
    widen = {"integer": {"decimal", "float", "text"}, "decimal": {"float", "text"}, "float": {"decimal", "text"},
             "boolean": {"integer", "text"}, "enum": {"text"}, "uuid": {"text"}, "date": {"datetime", "text"},
             "datetime": {"text"}, "json": {"text"}, "network": {"text"}, "array": {"json", "text"},
             "text": {"json", "enum"}}
    return theirs in widen.get(ours, set())


def write_database(engine: Engine, schema: Schema, load_order: tuple[str, ...],
                   data: SyntheticDatabase | Iterable[SyntheticDatabase], *, if_exists: str = "refuse",
                   on_table: Callable[[str, int], None] | None = None, seed: int = 0) -> WriteResult:
    """Write one sampled database, or partitions of one as they come (each before the next is made).

    On a target of the source's engine, CHECKs dbsynth cannot parse are evaluated
    there on each table's rows before they are written (`io.target_checks`);
    `seed` makes their repairs the same run to run.
    """
    parts = [data] if isinstance(data, SyntheticDatabase) else data
    existing = check_target(engine, schema, if_exists)
    dialect = engine.dialect.name
    same = same_family(dialect, schema.dialect)
    checks = TargetChecks(schema, CheckTally(), lambda name, index: table_rng(seed, name, f"target-checks{index}"),
                          enabled=same)
    if if_exists == "truncate":
        return _replace_rows(engine, schema, load_order, parts, on_table, checks)
    metadata, warnings = target_metadata(schema, dialect, same_dialect=same)
    make_transactional(engine)
    rolls_back_ddl = transactional_ddl(dialect)
    rows: dict[str, int] = {}
    created = False
    try:
        with engine.begin() as conn:
            created = True
            aside, notes = prepare_tables(conn, schema, metadata, existing)
            warnings += notes
            _load_parts(conn, lambda name: table_for(metadata, name), load_order, parts, rows, on_table, checks)
            warnings += finish_tables(conn, schema, metadata, aside, rows)
    except (sa.exc.SQLAlchemyError, DbsynthError) as exc:
        if created and not rolls_back_ddl:
            with engine.begin() as conn:
                drop_tables(conn, list(schema.table_names))
                if same:
                    drop_routines(conn, schema)
        raise DbsynthError(f"{one_line(exc)}; the target was rolled back, nothing was written") from exc
    return WriteResult(rows, tuple(warnings + checks.warnings + checks.tally.warnings()))


def prepare_tables(conn: sa.Connection, schema: Schema, metadata: sa.MetaData,
                   existing: list[str]) -> tuple[SetAside, list[str]]:
    """Drop what --if-exists replace replaces, create the tables, set aside what is built after the load;
    the warnings about what the target refused (`ddl.create_schema`)."""
    drop_views(conn, list(schema.views), existing_views(conn.engine, [v.name for v in schema.views]))
    if existing:
        drop_tables(conn, existing)
        if metadata.info.get(SAME_ENGINE_KEY):  # --if-exists replace: the routines are dropped and made again
            drop_routines(conn, schema)
    notes = create_schema(conn, metadata)
    return set_aside(conn, metadata), notes  # PostgreSQL: FKs and plain indexes are built after the load


def finish_tables(conn: sa.Connection, schema: Schema, metadata: sa.MetaData, aside: SetAside,
                  rows: dict[str, int]) -> list[str]:
    """Once every row is in: NOT NULL back on cycle keys, indexes and foreign keys back (validated),
    sequences past the keys, views, and last the triggers (so none fired for the generated rows).

    Rows an index repair deleted are taken off `rows` (rows written per table), so that
    the count the clone reports is the target's own."""
    restore_not_null(conn, metadata)
    restore(conn, aside)
    built = build_after_load(conn, metadata)   # indexes from the source's SQL, exclusion constraints
    for name, deleted in built.deleted.items():
        rows[name] = rows.get(name, 0) - deleted
    notes = built.notes
    reset_sequences(conn, metadata)
    advance_sequences(conn, metadata)
    warnings = notes + create_views(conn, schema)
    if metadata.info.get(SAME_ENGINE_KEY):
        warnings += create_triggers(conn, schema)
        warnings += create_table_objects(conn, schema)
    return warnings


def one_line(exc: BaseException) -> str:
    """A DbsynthError's message, or a driver error's first line."""
    if isinstance(exc, DbsynthError):
        return str(exc)
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _replace_rows(engine: Engine, schema: Schema, load_order: tuple[str, ...], parts: Iterable[SyntheticDatabase],
                  on_table: Callable[[str, int], None] | None, checks: TargetChecks) -> WriteResult:
    """--if-exists truncate: empty the target's own tables and load into them, in one transaction."""
    tables = reflect_tables(engine, schema)   # in their schemas, or as schema_table where there are none
    make_transactional(engine)
    rows: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            paused, notes = pause_triggers(conn, [tables[n] for n in load_order])   # their DELETE triggers too
            empty_tables(conn, [tables[n] for n in load_order])
            _load_parts(conn, tables.__getitem__, load_order, parts, rows, on_table, checks)
            resume_triggers(conn, paused)
            reset_sequences(conn, tables.values())
            advance_sequences(conn, tables.values())
            refresh_materialized_views(conn, [conn.dialect.identifier_preparer.format_table(tables[n])
                                              for n in load_order])
            if engine.dialect.name in ("mysql", "mariadb"):
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
    except (sa.exc.SQLAlchemyError, DbsynthError) as exc:
        raise DbsynthError(f"{one_line(exc)}; the target's data was rolled back") from exc
    return WriteResult(rows, tuple(notes + checks.warnings + checks.tally.warnings()))


def _load_parts(conn: sa.Connection, table_of: Callable[[str], sa.Table], load_order: tuple[str, ...],
                parts: Iterable[SyntheticDatabase], rows: dict[str, int],
                on_table: Callable[[str, int], None] | None, checks: TargetChecks) -> None:
    """Insert partition after partition (parents before children in each), then its deferred FKs.

    Each table's rows first meet the CHECKs only the target can evaluate; the
    repairs sampling made are added to the same tally, for the clone's warnings.
    """
    for index, part in enumerate(parts):
        checks.tally.merge(part.check_repairs)
        for name in load_order:
            if index > 0 and name in part.copied:
                continue  # a verbatim table travels with every partition but is written once
            frame = checks.apply(conn, table_of(name), part, name, index)
            written = insert_frame(conn, table_of(name), frame)
            rows[name] = rows.get(name, 0) + written
            if on_table:
                on_table(name, written)
        for name, keys, columns, values in part.updates:
            update_rows(conn, table_of(name), values, keys, columns)


def empty_tables(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """Delete every row of the tables (given parents first, emptied children first), in the open transaction."""
    quoted = [conn.dialect.identifier_preparer.format_table(t) for t in reversed(tables)]  # schema-qualified
    dialect = conn.dialect.name
    if dialect == "postgresql":  # one statement for all: references among them are allowed
        conn.exec_driver_sql(f"TRUNCATE {', '.join(quoted)}")
        return
    if dialect == "sqlite":
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # cycles: checked at commit
    else:  # MySQL/MariaDB: TRUNCATE would commit; DELETE stays in the transaction
        conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
    for name in quoted:
        conn.exec_driver_sql(f"DELETE FROM {name}")
