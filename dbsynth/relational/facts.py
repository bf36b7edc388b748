"""What planning needs to know about the source's rows, without holding every row.

Planning decides a table's primary parent (from how its FKs are filled and
covered) and which small tables are lookups to copy (from how many rows point at
them), and detects personal data from a table's first values. None of that needs
whole tables: on a small source it is counted on frames already in memory, on a
large one the source counts it (one aggregate query per foreign key) and only the
first rows of each table are read. The two give the same plan.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dbsynth.graph import FkRef
from dbsynth.io.inheritance import own_rows
from dbsynth.io.naming import reflect_tables
from dbsynth.io.read import read_table
from dbsynth.relational.rowindex import parent_rows
from dbsynth.schema.model import Schema

HEAD_ROWS = 2_000   # first rows per table (in key order) that personal-data detection looks at


@dataclass(frozen=True)
class ForeignKeyFacts:
    pointing: int        # child rows whose FK is set (every column non-NULL)
    always_set: bool     # no child row leaves the FK NULL: the data's NOT NULL, whatever the DDL says
    covered: int         # parent rows at least one child row points at


@dataclass
class SourceFacts:
    rows: dict[str, int]                                   # table -> rows
    foreign_keys: dict[FkRef, ForeignKeyFacts]             # every FK of every table
    heads: dict[str, pd.DataFrame] = field(default_factory=dict)   # table -> first rows in key order

    def coverage(self, ref: FkRef, parent: str) -> float:
        """Share of the parent's rows that have at least one child along `ref`."""
        return self.foreign_keys[ref].covered / max(self.rows.get(parent, 0), 1)

    @classmethod
    def from_frames(cls, schema: Schema, frames: dict[str, pd.DataFrame]) -> "SourceFacts":
        """Facts counted on whole tables already read."""
        facts = {}
        for table in schema.tables:
            if table.name not in frames:
                continue
            child = frames[table.name]
            for i, fk in enumerate(table.foreign_keys):
                keys = child[list(fk.columns)]
                set_rows = keys.notna().all(axis=1).to_numpy()
                parent = frames.get(fk.referred_table)
                covered = 0
                if parent is not None and len(parent) and set_rows.any():
                    found = parent_rows(child[set_rows], parent, fk.columns, fk.referred_columns)
                    covered = int(np.unique(found[found >= 0]).size)
                facts[FkRef(table.name, i)] = ForeignKeyFacts(int(set_rows.sum()), bool(set_rows.all()), covered)
        return cls({name: len(frame) for name, frame in frames.items()}, facts, dict(frames))

    @classmethod
    def from_database(cls, engine: Engine, schema: Schema, head_rows: int = HEAD_ROWS) -> "SourceFacts":
        """Facts counted by the source itself: read-only aggregate queries and each table's first rows."""
        reflected = reflect_tables(engine, schema, reading=True)
        facts: dict[FkRef, ForeignKeyFacts] = {}
        heads: dict[str, pd.DataFrame] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=sa.exc.SAWarning)
            with engine.connect() as conn:
                _roomy_aggregates(conn)
                for table in schema.tables:
                    child = reflected[table.name]
                    for i, fk in enumerate(table.foreign_keys):
                        parent_rows = schema.table(fk.referred_table).row_count
                        facts[FkRef(table.name, i)] = _fk_facts(conn, child, parent_rows, fk.columns)
                    heads[table.name] = read_table(conn, table, child, limit=head_rows)
        return cls({t.name: t.row_count for t in schema.tables}, facts, heads)


def _fk_facts(conn: sa.Connection, child: sa.Table, parent_rows: int, columns: tuple[str, ...]) -> ForeignKeyFacts:
    """Two scans of the child: rows with the FK set, and the distinct keys they point at.

    Distinct child keys are the covered parents when every FK resolves (twice as
    fast as an EXISTS join on PostgreSQL, and SQLite needs no index for it); a
    source without enforced FKs could hold dangling keys, hence the cap.
    """
    set_clause = sa.and_(*(child.c[c].isnot(None) for c in columns))
    pointing, total = conn.execute(own_rows(
        sa.select(sa.func.sum(sa.case((set_clause, 1), else_=0)), sa.func.count()).select_from(child), child)).one()
    keys = own_rows(sa.select(*(child.c[c] for c in columns)), child).where(set_clause).distinct().subquery()
    covered = conn.execute(sa.select(sa.func.count()).select_from(keys)).scalar_one()
    pointing = int(pointing or 0)
    return ForeignKeyFacts(pointing, pointing == int(total), min(int(covered), parent_rows))


AGGREGATE_MEMORY_MB = 256


def _roomy_aggregates(conn: sa.Connection) -> None:
    """Let this session's DISTINCT hash in memory (a session setting, not a write).

    With PostgreSQL's default 4 MB work_mem and a freshly loaded table's low
    group estimate, the distinct keys of TPC-H SF1's lineitem spilled and
    re-spilled to disk for over 8 minutes; with room it takes 6 s.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET work_mem = '{AGGREGATE_MEMORY_MB}MB'")
    elif conn.dialect.name in ("mysql", "mariadb"):
        size = AGGREGATE_MEMORY_MB * 1024 * 1024
        conn.exec_driver_sql(f"SET SESSION tmp_table_size = {size}, max_heap_table_size = {size}")
