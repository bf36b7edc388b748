"""Generation in partitions: flat memory whatever --scale says, and parallel sampling.

Each partition is sampled as a miniature database with local keys 1..n
(`sample_database(partition=i)`), in this process or in worker processes
(`--jobs`). Partitions are then taken in order here: integer keys (and every
foreign key pointing at them) move into the partition's own range, unique
columns are checked against what earlier partitions wrote, and the partition
goes to the writer before the next is looked at. Only `jobs` partitions are in
memory at once, plus one set of values per UNIQUE column.
"""

from __future__ import annotations

import math
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Iterator

import numpy as np
import pandas as pd

from dbsynth.graph import LoadOrder
from dbsynth.relational.fit import FittedTable
from dbsynth.relational.keys import generate_keys
from dbsynth.relational.sample import MIN_ROOTS_PER_PARTITION, SyntheticDatabase, sample_database, table_rng
from dbsynth.relational.unique import _perturb
from dbsynth.schema.model import Schema

ROWS_PER_PARTITION = 250_000


def partition_count(fitted: dict[str, FittedTable], scale: float, rows_per_partition: int) -> int:
    """How many partitions: expected synthetic rows / rows_per_partition (1 for small databases).

    Every modelled root must keep MIN_ROOTS_PER_PARTITION rows in each partition:
    a root split thinner loses its children's distribution (8 employees over 5
    partitions), and a root that is some table's secondary parent must exist in
    every partition for that table to point at. So a tiny root caps the count.
    """
    expected = sum(f.source_rows * scale for f in fitted.values() if f.plan.mode == "model")
    count = max(1, math.ceil(expected / max(rows_per_partition, 1)))
    for f in fitted.values():
        if f.plan.mode == "model" and f.plan.primary is None and f.source_rows:
            roots = int(round(f.source_rows * (f.plan.scale if f.plan.scale is not None else scale)))
            count = min(count, max(1, roots // MIN_ROOTS_PER_PARTITION))
    return count


def generate_partitions(schema: Schema, order: LoadOrder, fitted: dict[str, FittedTable], *, scale: float,
                        seed: int, partitions: int, jobs: int = 1, dask: str | None = None,
                        rebalance: tuple[Any, ...] = ()) -> Iterator[SyntheticDatabase]:
    """Every partition, keys made disjoint and uniques global, in order.

    Sampled here, by `jobs` local processes, or as Dask tasks on the cluster at
    `dask` ("local" starts a LocalCluster of `jobs` workers).
    """
    keys = _KeyRanges(schema, fitted)
    uniques = _GlobalUniques(schema, fitted, seed)
    source = (_sampled_on_dask(schema, order, fitted, scale, seed, partitions, jobs, dask, rebalance) if dask
              else _sampled(schema, order, fitted, scale, seed, partitions, jobs, rebalance))
    for index, part in enumerate(source):
        keys.shift(part, index)
        uniques.enforce(part)
        yield part


def _sampled(schema: Schema, order: LoadOrder, fitted: dict[str, FittedTable], scale: float, seed: int,
             partitions: int, jobs: int, rebalance: tuple[Any, ...] = ()) -> Iterator[SyntheticDatabase]:
    if jobs <= 1 or partitions == 1:
        for index in range(partitions):
            yield sample_database(schema, order, fitted, scale=scale, seed=seed, partition=index,
                                  partitions=partitions, rebalance=rebalance)
        return
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                             initargs=(schema, order, fitted, scale, seed, partitions, rebalance)) as pool:
        window: deque[Future[SyntheticDatabase]] = deque()
        upcoming = iter(range(partitions))
        for index in upcoming:  # keep `jobs` partitions in flight, hand them over in order
            window.append(pool.submit(_sample_in_worker, index))
            if len(window) >= jobs:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def _sampled_on_dask(schema: Schema, order: LoadOrder, fitted: dict[str, FittedTable], scale: float, seed: int,
                     partitions: int, jobs: int, address: str,
                     rebalance: tuple[Any, ...] = ()) -> Iterator[SyntheticDatabase]:
    """The same partitions as Dask tasks; we use Dask's scheduler rather than writing one."""
    from dask.distributed import Client, LocalCluster

    from dbsynth.errors import ConnectionFailed

    cluster = None
    try:
        if address == "local":
            cluster = LocalCluster(n_workers=max(jobs, 1), threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(address, timeout=10)
    except (OSError, TimeoutError) as exc:
        raise ConnectionFailed(f"cannot reach the Dask scheduler at {address}: {exc}; check the address "
                               f"or use --dask local") from None
    try:
        payload = client.scatter((schema, order, fitted, scale, seed, partitions, rebalance), broadcast=True)
        window: deque[Any] = deque()
        in_flight = max(jobs, 1) * 2
        for index in range(partitions):
            window.append(client.submit(_sample_task, payload, index, pure=False))
            if len(window) >= in_flight:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _sample_task(payload: tuple[Any, ...], index: int) -> SyntheticDatabase:
    schema, order, fitted, scale, seed, partitions, rebalance = payload
    return sample_database(schema, order, fitted, scale=scale, seed=seed, partition=index, partitions=partitions,
                           rebalance=rebalance)


_WORKER: dict[str, Any] = {}


def _init_worker(schema: Schema, order: LoadOrder, fitted: dict[str, FittedTable], scale: float, seed: int,
                 partitions: int, rebalance: tuple[Any, ...] = ()) -> None:
    """The fitted models travel to each worker once, not with every partition."""
    _WORKER.update(schema=schema, order=order, fitted=fitted, scale=scale, seed=seed, partitions=partitions,
                   rebalance=rebalance)


def _sample_in_worker(index: int) -> SyntheticDatabase:
    w = _WORKER
    return sample_database(w["schema"], w["order"], w["fitted"], scale=w["scale"], seed=w["seed"],
                           partition=index, partitions=w["partitions"], rebalance=w["rebalance"])


class _KeyRanges:
    """Moves each partition's local keys into a range of its own, and the foreign keys with them."""

    def __init__(self, schema: Schema, fitted: dict[str, FittedTable]) -> None:
        self.schema = schema
        self.key_columns = {name: [c for c in f.plan.key_columns if f.plan.mode == "model"]
                            for name, f in fitted.items()}
        self.offsets: dict[tuple[str, str], int] = {}

    def shift(self, part: SyntheticDatabase, index: int) -> None:
        mapping: dict[tuple[str, str], Any] = {}   # (table, key column) -> offset or old->new map
        for table, columns in self.key_columns.items():
            frame = part.tables[table]
            for col in columns:
                values = frame[col]
                kind = self.schema.table(table).column(col).type.kind
                if kind in ("integer", "decimal"):
                    offset = self.offsets.get((table, col), 0)
                    local_max = int(pd.to_numeric(values).max()) if len(values) else 0
                    self.offsets[(table, col)] = offset + local_max
                    if offset:
                        mapping[(table, col)] = offset
                elif kind == "text" and index > 0:
                    start = self.offsets.get((table, col), 0)
                    fresh = generate_keys(self.schema.table(table).column(col), len(values),
                                          np.random.default_rng(0), start=start + 1)
                    self.offsets[(table, col)] = start + len(values)
                    mapping[(table, col)] = dict(zip(values.tolist(), fresh.tolist()))
                elif kind == "text":
                    self.offsets[(table, col)] = len(values)
        if mapping:
            for table, frame in part.tables.items():
                _apply(frame, self._columns_to_move(table, mapping), mapping)
            for table, key_cols, fk_cols, rows in part.updates:
                moves = {c: m for c, m in self._columns_to_move(table, mapping).items() if c in rows.columns}
                _apply(rows, moves, mapping)

    def _columns_to_move(self, table: str, mapping: dict[tuple[str, str], Any]) -> dict[str, tuple[str, str]]:
        """Columns of `table` holding a moved key: its own keys and the FKs that point at one."""
        moves = {c: (table, c) for (t, c) in mapping if t == table}
        for fk in self.schema.table(table).foreign_keys:
            for col, ref in zip(fk.columns, fk.referred_columns):
                if (key := self._moved_key(fk.referred_table, ref, mapping, frozenset())) is not None:
                    moves[col] = key
        return moves

    def _moved_key(self, table: str, column: str, mapping: dict[tuple[str, str], Any],
                   seen: frozenset[tuple[str, str]]) -> tuple[str, str] | None:
        """The generated key a column's values come from, following FKs that point at FK columns.

        TPC-H's lineitem points at partsupp's (ps_partkey, ps_suppkey), which are
        themselves FKs to part and supplier: a moved part key moves l_partkey too.
        """
        if (table, column) in mapping:
            return table, column
        for fk in self.schema.table(table).foreign_keys:
            if column in fk.columns and (table, column) not in seen:
                ref = fk.referred_columns[fk.columns.index(column)]
                found = self._moved_key(fk.referred_table, ref, mapping, seen | {(table, column)})
                if found is not None:
                    return found
        return None


def _apply(frame: pd.DataFrame, moves: dict[str, tuple[str, str]], mapping: dict[tuple[str, str], Any]) -> None:
    for col, key in moves.items():
        if col not in frame.columns or not len(frame):
            continue
        how = mapping[key]
        if isinstance(how, dict):
            frame[col] = frame[col].map(lambda v, m=how: m.get(v, v))
        else:
            values = frame[col].astype(object)
            frame[col] = values.map(lambda v, o=how: v if v is None or v != v else int(v) + o)


class _GlobalUniques:
    """UNIQUE sets of generated values (e-mails, codes) stay unique across partitions."""

    def __init__(self, schema: Schema, fitted: dict[str, FittedTable], seed: int) -> None:
        self.schema = schema
        self.sets: dict[str, list[tuple[str, ...]]] = {}
        for name, f in fitted.items():
            table = schema.table(name)
            local = set(f.plan.key_columns) | table.fk_columns | set(f.plan.running_index)
            chosen = [cols for cols in table.unique_column_sets() if not set(cols) & local]
            if chosen and f.plan.mode == "model":
                self.sets[name] = chosen
        self.seen: dict[tuple[str, tuple[str, ...]], set[tuple[Any, ...]]] = {}
        self.rng = table_rng(seed, "", "unique-across-partitions")

    def enforce(self, part: SyntheticDatabase) -> None:
        for name, sets in self.sets.items():
            frame, table = part.tables[name], self.schema.table(name)
            for cols in sets:
                seen = self.seen.setdefault((name, cols), set())
                for _ in range(30):
                    tuples = list(map(tuple, frame[list(cols)].astype(object).to_numpy().tolist()))
                    clash = np.array([t in seen and None not in t for t in tuples], dtype=bool)
                    if not clash.any():
                        break
                    _perturb(frame, table, cols, np.flatnonzero(clash), self.rng)
                seen.update(map(tuple, frame[list(cols)].astype(object).to_numpy().tolist()))
