"""Integrity of a database, measured by SQL in the database itself.

Counted where the data lives (not in pandas) so the figures are what an
application would see: orphan foreign keys and duplicated unique keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dbsynth.io.inheritance import own_rows
from dbsynth.io.naming import reflect_tables
from dbsynth.schema.model import Schema


def orphan_counts(engine: Engine, schema: Schema) -> dict[str, int]:
    """Rows whose non-NULL foreign key points at no parent row, per 'table.fk_columns'."""
    out: dict[str, int] = {}
    tables = reflect_tables(engine, schema)
    with engine.connect() as conn:
        for table in schema.tables:
            child = tables[table.name].alias("c")
            for fk in table.foreign_keys:
                parent = tables[fk.referred_table].alias("p")
                join_on = sa.and_(*(child.c[c] == parent.c[r] for c, r in zip(fk.columns, fk.referred_columns)))
                query = (
                    sa.select(sa.func.count())
                    .select_from(child.outerjoin(parent, join_on))
                    .where(sa.and_(*(child.c[c].is_not(None) for c in fk.columns)))
                    .where(parent.c[fk.referred_columns[0]].is_(None))
                )
                # PostgreSQL inheritance: each table's own rows, as its foreign key sees them
                query = own_rows(own_rows(query, child), parent)
                out[f"{table.name}.{','.join(fk.columns)}"] = int(conn.execute(query).scalar_one())
    return out


def duplicate_key_counts(engine: Engine, schema: Schema) -> dict[str, int]:
    """Extra rows sharing a value of a PRIMARY KEY / UNIQUE column set (NULLs excluded)."""
    out: dict[str, int] = {}
    tables = reflect_tables(engine, schema)
    with engine.connect() as conn:
        for table in schema.tables:
            t = tables[table.name]
            for cols in table.unique_column_sets():
                keyed = own_rows(sa.select(*(t.c[c] for c in cols)), t)   # an INHERITS parent: its own rows
                keyed = keyed.where(sa.and_(*(t.c[c].is_not(None) for c in cols)))
                total = conn.execute(sa.select(sa.func.count()).select_from(keyed.subquery())).scalar_one()
                distinct = conn.execute(
                    sa.select(sa.func.count()).select_from(keyed.distinct().subquery())).scalar_one()
                out[f"{table.name}({','.join(cols)})"] = int(total) - int(distinct)
    return out


@dataclass(frozen=True)
class IntegrityResult:
    """What an application would trip over: dangling foreign keys and repeated unique keys."""

    orphans: dict[str, int]     # per 'table.fk_columns'
    duplicates: dict[str, int]  # per 'table(key_columns)'

    @property
    def orphan_total(self) -> int:
        return sum(self.orphans.values())

    @property
    def duplicate_total(self) -> int:
        return sum(self.duplicates.values())

    @property
    def ok(self) -> bool:
        return self.orphan_total == 0 and self.duplicate_total == 0


def check_integrity(engine: Engine, schema: Schema) -> IntegrityResult:
    """Orphan and duplicate-key counts of the database behind `engine`."""
    return IntegrityResult(orphans=orphan_counts(engine, schema), duplicates=duplicate_key_counts(engine, schema))
