"""Read source tables into pandas frames, through SQLAlchemy's typed result processing.

Selecting through a reflected Table (not a text query) makes SQLite's text
timestamps come back as datetimes and its numerics as Decimals, like the
server engines do, so codecs see one set of Python types whatever the source.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dbsynth.errors import ConfigError
from dbsynth.io.inheritance import own_rows
from dbsynth.io.naming import reflect_tables
from dbsynth.schema.model import Schema, Table


def read_table(conn: sa.Connection, table: Table, reflected: sa.Table, limit: int | None = None,
               where: str | None = None) -> pd.DataFrame:
    """The table's rows (those matching the config's `where`, the first `limit` of them) in key order,
    so the same seed sees the same frame."""
    order = [reflected.c[c] for c in table.pk_columns] or [reflected.c[c.name] for c in table.columns[:1]]
    query = own_rows(sa.select(reflected), reflected).order_by(*order).limit(limit)
    return row_frame(conn.execute(query.where(sa.text(f"({where})")) if where else query))


def count_matching(conn: sa.Connection, table: Table, reflected: sa.Table, where: str) -> int:
    """Rows of the table matching the config's `where`: the new full size of a subset table."""
    try:
        return int(conn.execute(own_rows(sa.select(sa.func.count()).select_from(reflected), reflected)
                                .where(sa.text(f"({where})"))).scalar_one())
    except sa.exc.SQLAlchemyError as exc:
        raise where_error(table, where, exc) from None


def where_error(table: Table, where: str, exc: sa.exc.SQLAlchemyError) -> ConfigError:
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    return ConfigError(f"tables.{table.name}.where: the source rejected {where!r}: {reason}")


def row_frame(result: sa.CursorResult) -> pd.DataFrame:
    """A query's rows as an object frame: values stay the driver's Python values (Decimal, datetime)."""
    # Already object columns: a further astype(object) only copied every value once more.
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()), dtype=object)


def read_tables(engine: Engine, schema: Schema,
                on_table: Callable[[str, int], None] | None = None) -> dict[str, pd.DataFrame]:
    frames: dict[str, pd.DataFrame] = {}
    reflected = reflect_tables(engine, schema, reading=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=sa.exc.SAWarning)  # SQLite Decimal notices
        with engine.connect() as conn:
            for t in schema.tables:
                frames[t.name] = read_table(conn, t, reflected[t.name])
                if on_table:
                    on_table(t.name, len(frames[t.name]))
    return frames


def where_mask(engine: Engine, table: Table, frame: pd.DataFrame, where: str, inherited: bool = False) -> np.ndarray:
    """Which rows of `frame` match the config's `where` clause, evaluated by the source itself.

    Rows are matched on the primary key (all columns when there is none). The
    source connection is read-only, so a clause can filter but never write.
    `inherited`: other tables INHERIT from it (PostgreSQL), so only its own rows are matched.
    """
    key = list(table.pk_columns) or list(table.column_names)
    reflected = sa.Table(table.local_name, sa.MetaData(), schema=table.schema, autoload_with=engine)
    query = own_rows(sa.select(*(reflected.c[c] for c in key)), reflected, inherited).where(sa.text(f"({where})"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=sa.exc.SAWarning)
            with engine.connect() as conn:
                matching = {tuple(map(str, row)) for row in conn.execute(query)}
    except sa.exc.SQLAlchemyError as exc:
        raise where_error(table, where, exc) from None
    rows = frame[key].astype(object).to_numpy()
    return np.array([tuple(map(str, r)) in matching for r in rows], dtype=bool)
