"""Read a source and its synthetic copy into comparable pandas frames.

Both databases are opened read-only: a report never writes anywhere but its
own output file. The target must hold the source's tables; columns only one
side has are left out of the comparison and named in the notes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd
from sqlalchemy.engine import Engine

from dbsynth.errors import ConfigError
from dbsynth.io.engines import open_source, parse_url, safe_url
from dbsynth.io.read import read_tables
from dbsynth.progress import Progress, stage
from dbsynth.report.columns import typed_frame
from dbsynth.schema.introspect import introspect
from dbsynth.schema.model import Schema, Table


@dataclass(frozen=True)
class FramePair:
    """The source schema (restricted to columns both sides have) and typed frames of both sides."""

    schema: Schema
    target_schema: Schema
    real: dict[str, pd.DataFrame]
    synthetic: dict[str, pd.DataFrame]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Databases:
    """Open read-only engines on both sides, and their schemas, for readers that need SQL."""

    source: Engine
    target: Engine
    source_label: str
    target_label: str

    def dispose(self) -> None:
        self.source.dispose()
        self.target.dispose()


def open_databases(source_url: str, target_url: str) -> Databases:
    src_url, dst_url = parse_url(source_url), parse_url(target_url)
    source = open_source(src_url)
    try:
        target = open_source(dst_url)
    except Exception:
        source.dispose()
        raise
    return Databases(source, target, safe_url(src_url), safe_url(dst_url))


def read_pair(dbs: Databases, progress: Progress) -> FramePair:
    """Introspect and read both sides; ConfigError when their tables differ."""
    schema = introspect(dbs.source, strict_types=False)
    target_schema = introspect(dbs.target, strict_types=False)
    if not schema.tables:
        raise ConfigError(f"source {dbs.source_label} has no tables; pass the database the target was cloned from")
    _require_same_tables(schema, target_schema, dbs)
    schema, notes = _shared_columns(schema, target_schema)
    with stage(progress, "reading source and target", 2 * len(schema.tables)) as p:
        real = read_tables(dbs.source, schema, on_table=lambda name, n: p.advance(name, n))
        synthetic = read_tables(dbs.target, target_schema, on_table=lambda name, n: p.advance(name, n))
    return FramePair(
        schema=schema,
        target_schema=target_schema,
        real={t.name: typed_frame(real[t.name], t) for t in schema.tables},
        synthetic={t.name: typed_frame(synthetic[t.name], t) for t in schema.tables},
        notes=tuple(notes),
    )


def _require_same_tables(schema: Schema, target: Schema, dbs: Databases) -> None:
    src, dst = set(schema.table_names), set(target.table_names)
    if src == dst:
        return
    parts = []
    if src - dst:
        parts.append(f"target {dbs.target_label} lacks {_names(src - dst)}")
    if dst - src:
        parts.append(f"source {dbs.source_label} lacks {_names(dst - src)}")
    raise ConfigError(f"source and target do not have the same tables ({'; '.join(parts)}); "
                      f"pass the source the target was cloned from")


def _shared_columns(schema: Schema, target: Schema) -> tuple[Schema, list[str]]:
    """The source schema without columns the target lacks (and a note for each difference)."""
    notes: list[str] = []
    tables = []
    for table in schema.tables:
        theirs = set(target.table(table.name).column_names)
        ours = set(table.column_names)
        kept = tuple(c for c in table.columns if c.name in theirs)
        if ours - theirs:
            notes.append(f"{table.name}: columns missing in the target, not compared: {_names(ours - theirs)}")
        if theirs - ours:
            notes.append(f"{table.name}: columns only in the target, not compared: {_names(theirs - ours)}")
        tables.append(replace(table, columns=kept) if len(kept) != len(table.columns) else table)
    present = {(t.name, c.name) for t in tables for c in t.columns}
    tables = [_without_dangling_keys(t, present) for t in tables]
    return replace(schema, tables=tuple(tables)), notes


def _without_dangling_keys(table: Table, present: set[tuple[str, str]]) -> Table:
    """Keys that name a column left out can no longer be compared: drop them from the model."""
    fks = tuple(fk for fk in table.foreign_keys
                if all((table.name, c) in present for c in fk.columns)
                and all((fk.referred_table, c) in present for c in fk.referred_columns))
    pk = table.primary_key
    if pk and not all((table.name, c) in present for c in pk.columns):
        pk = None
    if fks == table.foreign_keys and pk == table.primary_key:
        return table
    return replace(table, foreign_keys=fks, primary_key=pk)


def _names(names: set[str]) -> str:
    shown = sorted(names)
    return ", ".join(shown[:8]) + (f" and {len(shown) - 8} more" if len(shown) > 8 else "")
