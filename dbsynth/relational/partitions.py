"""Generation in partitions: flat memory whatever --scale says, and parallel sampling.

Each partition is sampled as a miniature database with local keys 1..n
(`sample_database(partition=i)`), in this process or in worker processes
(`--jobs`). Partitions are then taken in order here: integer keys (and every
foreign key pointing at them) move into the partition's own range, unique
columns are checked against what earlier partitions wrote, and the partition
goes to the writer before the next is looked at. Only `jobs` partitions are in
memory at once, plus one set of values per UNIQUE column. (With --dask on a
server target, :mod:`dbsynth.io.worker_write` makes the same fixes while the
partitions stay on the workers, which write them.)
"""

from __future__ import annotations

import math
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Iterator


from dbsynth.graph import LoadOrder
from dbsynth.relational.cluster import dask_client
from dbsynth.relational.fit import FittedTable
from dbsynth.relational.sample import MIN_ROOTS_PER_PARTITION, SyntheticDatabase, sample_database
from dbsynth.relational.stitching import Layout, Stitcher, apply_fixes, summarise
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
    layout = Layout.of(schema, fitted)
    stitcher = Stitcher(layout, seed)
    source = (_sampled_on_dask(schema, order, fitted, scale, seed, partitions, jobs, dask, rebalance) if dask
              else _sampled(schema, order, fitted, scale, seed, partitions, jobs, rebalance))
    for part in source:
        apply_fixes(part, stitcher.fixes_for(summarise(part, layout)), layout)
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
    """The same partitions as Dask tasks, brought back here (a SQLite target takes one writer)."""
    with dask_client(address, jobs) as client:
        payload = client.scatter((schema, order, fitted, scale, seed, partitions, rebalance), broadcast=True)
        window: deque[Any] = deque()
        in_flight = max(jobs, 1) * 2
        for index in range(partitions):
            window.append(client.submit(sample_task, payload, index, pure=False))
            if len(window) >= in_flight:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def sample_task(payload: tuple[Any, ...], index: int) -> SyntheticDatabase:
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
