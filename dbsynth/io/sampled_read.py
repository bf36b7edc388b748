"""Read only a training sample of a large source: chosen root rows and their whole subtrees.

Reading TPC-H at scale factor 1 whole (8.6M rows as Python objects) takes
12-15 GB before a model sees a row, only to keep a sixth of it. Here the source
does the filtering: a sampled root is read and its rows drawn, then each table
below it along primary edges is read with `WHERE fk IN (kept parent keys)`, so
memory holds the sample and nothing else. The source is read-only (no temporary
tables), so the keys travel in the query: one array parameter on PostgreSQL,
batches of bound parameters elsewhere.

The rows chosen are those `subset.sample_roots` + `subset.subtree_subset` keep
on whole frames: the same root draws in the same order, children in key order.
"""

from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine

from dbsynth.graph import LoadOrder
from dbsynth.io.inheritance import own_rows
from dbsynth.io.naming import reflect_tables
from dbsynth.io.read import count_matching, read_table, row_frame, where_error
from dbsynth.relational.plan import TablePlan
from dbsynth.relational.subset import sample_mask
from dbsynth.schema.model import Schema, Table

KEYS_PER_QUERY = 20_000   # bound parameters per batch: under SQLite's 32,766 and PostgreSQL's 65,535


def read_sampled(engine: Engine, schema: Schema, order: LoadOrder, plans: dict[str, TablePlan],
                 sizes: dict[str, int], rng: np.random.Generator, wheres: dict[str, str] | None = None,
                 on_table: Callable[[str, int], None] | None = None) -> dict[str, pd.DataFrame]:
    """Training frames: `sizes[root]` drawn rows of each sampled root, with everything below them.

    A table whose primary parent was cut down keeps the rows pointing at a kept
    parent row and those whose FK is NULL; every other table is read whole.
    A table with a `where` rule keeps its matching rows (and a sampled root
    draws among them), and the tables below it follow.
    """
    wheres = wheres or {}
    reflected = reflect_tables(engine, schema, reading=True)
    frames: dict[str, pd.DataFrame] = {}
    cut: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=sa.exc.SAWarning)  # SQLite Decimal notices
        with engine.connect() as conn:
            for name in order.tables:
                table, primary, where = schema.table(name), plans[name].primary, wheres.get(name)
                fk = primary.fk(schema) if primary is not None else None
                try:
                    if fk is not None and fk.referred_table in cut:
                        keys = frames[fk.referred_table][list(fk.referred_columns)]
                        frame = read_children(conn, table, reflected[name], fk.columns, keys, where)
                        cut.add(name)
                    else:
                        frame = read_table(conn, table, reflected[name], where=where)
                except sa.exc.SQLAlchemyError as exc:
                    if where is None:
                        raise
                    raise where_error(table, where, exc) from None
                if where is not None:
                    cut.add(name)
                if name in sizes:
                    frame = frame[sample_mask(len(frame), sizes[name], rng)].reset_index(drop=True)
                    cut.add(name)
                frames[name] = frame
                if on_table:
                    on_table(name, len(frame))
    return frames


def count_subsets(engine: Engine, schema: Schema, wheres: dict[str, str]) -> dict[str, int]:
    """Rows matching each table's `where` rule, counted by the source."""
    if not wheres:
        return {}
    reflected = reflect_tables(engine, schema, reading=True)
    with engine.connect() as conn:
        return {name: count_matching(conn, schema.table(name), reflected[name], where)
                for name, where in wheres.items()}


def read_children(conn: sa.Connection, table: Table, reflected: sa.Table, columns: Sequence[str],
                  parent_keys: pd.DataFrame, where: str | None = None) -> pd.DataFrame:
    """Rows of `table` whose FK `columns` hold one of `parent_keys` or are NULL (and that match
    `where`), in key order."""
    matching = sa.text(f"({where})") if where else sa.true()
    rows = own_rows(sa.select(reflected), reflected)   # a PostgreSQL inheritance parent: its own rows only
    cols = [reflected.c[c] for c in columns]
    order = [reflected.c[c] for c in table.pk_columns] or [reflected.c[table.columns[0].name]]
    nullable = any(table.column(c).nullable for c in columns)
    unset = sa.or_(*(c.is_(None) for c in cols)) if nullable else sa.false()
    keys = _distinct_keys(parent_keys)
    if len(cols) == 1 and conn.dialect.name == "postgresql":  # one scan, the server hashes the array
        values = [k[0] for k in keys]
        param = sa.bindparam("keys", values, type_=postgresql.ARRAY(cols[0].type))
        return row_frame(conn.execute(rows.where(sa.or_(cols[0] == sa.any_(param), unset))
                                      .where(matching).order_by(*order)))
    column = cols[0] if len(cols) == 1 else sa.tuple_(*cols)
    step = max(1, KEYS_PER_QUERY // len(cols))
    batches = [row_frame(conn.execute(rows.where(unset, matching)))] if nullable else []
    for start in range(0, len(keys), step):
        chunk = [k[0] for k in keys[start:start + step]] if len(cols) == 1 else keys[start:start + step]
        batches.append(row_frame(conn.execute(rows.where(column.in_(chunk), matching))))
    if not batches:
        return row_frame(conn.execute(rows.where(sa.false())))
    frame = pd.concat([b for b in batches if len(b)] or batches[:1], ignore_index=True)
    return _in_key_order(frame, [c.name for c in order])


def _distinct_keys(parent_keys: pd.DataFrame) -> list[tuple]:
    """The parent's key tuples without NULLs or repeats (a NULL key is never pointed at)."""
    present = parent_keys.dropna()
    return list(dict.fromkeys(map(tuple, present.to_numpy().tolist())))


def _in_key_order(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Batches put back in key order, as one ordered query would have returned them."""
    if len(frame) < 2:
        return frame
    try:
        return frame.sort_values(key, kind="stable").reset_index(drop=True)
    except TypeError:  # keys of mixed Python types: keep the batches' order (still deterministic)
        return frame
