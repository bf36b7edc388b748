"""--dask on a server target: each Dask worker writes its partitions straight to the target.

Per partition, three tasks that Dask's scheduler places (we write no scheduler):

1. ``sample_task`` samples the partition on a worker, where it stays (a future);
2. :func:`_summarise_task`, run where the partition is, sends back only its key
   extents and UNIQUE values (:mod:`dbsynth.relational.stitching`);
3. the coordinator takes summaries in partition order, computes the partition's
   fixes (key offsets as running sums, UNIQUE values to change: the fixes a local
   run makes, so a seed gives the same rows) and submits :func:`_write_task`,
   which applies them where the partition is, lets the target evaluate the CHECKs
   dbsynth cannot read (:mod:`dbsynth.io.target_checks`, as a local write does)
   and bulk loads it (COPY on PostgreSQL) through its own connection, in its own
   transaction. The repairs and warnings come back with the write's report.

Before the load the coordinator creates the tables (on PostgreSQL, setting aside
foreign keys and plain indexes) and commits, so that the workers' connections see
them; after it, in one transaction, indexes and foreign keys come back (validating
every key), sequences are reset and views created. Copied lookup tables are
written once, from partition 0, by a task every other write waits on, since the
children's foreign keys may be checked during the load. At most two partitions per
worker are alive at a time, so memory stays flat.

The workers commit on their own, so a failure cannot be rolled back: every
outstanding write is waited for, then the tables this run created are dropped
(with --if-exists truncate, their rows deleted) and the error is one line.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool

from dbsynth.errors import DbsynthError
from dbsynth.graph import LoadOrder
from dbsynth.io.ddl import drop_tables, table_for, target_metadata
from dbsynth.io.deferred_ddl import SetAside
from dbsynth.io.naming import reflect_tables
from dbsynth.io.target_checks import TargetChecks
from dbsynth.io.load import insert_frame, reset_sequences, update_rows
from dbsynth.io.write import (
    WriteResult, check_target, empty_tables, finish_tables, one_line, prepare_tables, same_family,
)
from dbsynth.relational.checks import CheckTally
from dbsynth.relational.cluster import dask_client
from dbsynth.relational.fit import FittedTable
from dbsynth.relational.partitions import sample_task
from dbsynth.relational.sample import SyntheticDatabase, table_rng
from dbsynth.relational.stitching import Layout, PartitionFixes, PartitionSummary, Stitcher, apply_fixes, summarise
from dbsynth.schema.model import Schema

if TYPE_CHECKING:
    from dask.distributed import Client, Future

__all__ = ["write_on_workers"]


@dataclass(frozen=True)
class WorkerTarget:
    """What a worker needs to write: where (the URL, password included: it never reaches a message) and into what."""

    url: URL
    tables: dict[str, sa.Table]    # the model's table name -> the target table
    order: tuple[str, ...]
    search_path: str | None = None  # PostgreSQL: the coordinator's (a refresh writes into a shadow schema so)
    same_engine: bool = False       # the target holds the source's CHECKs as written (io.target_checks)
    seed: int = 0                   # for the repairs those CHECKs make, as on the local path




@dataclass(frozen=True)
class WriteReport:
    worker: str
    rows: dict[str, int]
    repairs: CheckTally = field(default_factory=CheckTally)   # rows repaired/dropped for a CHECK, on any step
    warnings: tuple[str, ...] = ()                             # CHECKs the target could not evaluate


def write_on_workers(engine: Engine, schema: Schema, order: LoadOrder, fitted: dict[str, FittedTable], *,
                     scale: float, seed: int, partitions: int, jobs: int, address: str,
                     rebalance: tuple[Any, ...] = (), if_exists: str = "refuse",
                     on_table: Callable[[str, int], None] | None = None) -> WriteResult:
    """Sample and write every partition on the Dask cluster at `address`; rows per table and per worker."""
    existing = check_target(engine, schema, if_exists)
    truncate = if_exists == "truncate"
    with dask_client(address, jobs) as client:  # the cluster first: an unreachable one writes nothing
        try:
            metadata, aside, warnings = _prepare(engine, schema, existing, truncate)
            tables = {name: metadata.tables[name] if truncate else table_for(metadata, name)
                      for name in order.tables}
            target = WorkerTarget(engine.url, tables, order.tables, _search_path(engine),
                                  same_family(engine.dialect.name, schema.dialect), seed)
            pipeline = _Pipeline(client, schema, order, fitted, target, (scale, seed, partitions, rebalance),
                                 on_table)
            rows, writers = pipeline.run()
            with engine.begin() as conn:
                if truncate:
                    reset_sequences(conn, metadata)
                else:
                    warnings += finish_tables(conn, schema, metadata, aside, rows)
        except BaseException as exc:
            undone = _undo(engine, schema, order.tables, truncate)
            if not isinstance(exc, Exception):
                raise
            raise DbsynthError(f"{one_line(exc)}; {undone}") from exc
    return WriteResult(rows, tuple(warnings + pipeline.check_warnings()), writers)


def _prepare(engine: Engine, schema: Schema, existing: list[str],
             truncate: bool) -> tuple[sa.MetaData, SetAside, list[str]]:
    """Create (or empty) the tables and commit: the workers' own connections must see them."""
    if truncate:
        metadata = sa.MetaData()
        metadata.reflect(engine, only=list(schema.table_names))
        with engine.begin() as conn:
            empty_tables(conn, list(metadata.tables.values()))
            if engine.dialect.name in ("mysql", "mariadb"):
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
        return metadata, SetAside(), []
    dialect = engine.dialect.name
    metadata, warnings = target_metadata(schema, dialect, same_dialect=same_family(dialect, schema.dialect))
    with engine.begin() as conn:
        aside, notes = prepare_tables(conn, schema, metadata, existing)
    return metadata, aside, warnings + notes


def _undo(engine: Engine, schema: Schema, load_order: tuple[str, ...], truncate: bool) -> str:
    """After a failure: drop the tables this run created, or delete the rows written into the target's own."""
    try:
        with engine.begin() as conn:
            if truncate:
                empty_tables(conn, list(reflect_tables(engine, schema).values()))
                if engine.dialect.name in ("mysql", "mariadb"):
                    conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
            else:
                drop_tables(conn, list(schema.table_names))
    except sa.exc.SQLAlchemyError as exc:
        return f"cleaning up failed too ({one_line(exc)}): drop the tables by hand"
    if truncate:
        return "the target's tables were emptied (Dask workers commit on their own: the old rows cannot come back)"
    return "the tables this run created were dropped, nothing was written"


class _Pipeline:
    """Keeps at most two partitions per worker alive; fixes go out in partition order."""

    def __init__(self, client: "Client", schema: Schema, order: LoadOrder, fitted: dict[str, FittedTable],
                 target: WorkerTarget, sampling: tuple[float, int, int, tuple[Any, ...]],
                 on_table: Callable[[str, int], None] | None) -> None:
        scale, seed, self.partitions, rebalance = sampling
        self.client, self.on_table = client, on_table
        self.layout = Layout.of(schema, fitted)
        self.stitcher = Stitcher(self.layout, seed)
        self.payload = client.scatter((schema, order, fitted, scale, seed, self.partitions, rebalance),
                                      broadcast=True)
        self.shared = client.scatter([self.layout, target], broadcast=True)
        self.in_flight = 2 * max(len(client.scheduler_info().get("workers", {})), 1)
        self.sampled: deque[tuple[int, Future, Future]] = deque()   # waiting for their fixes, in order
        self.writing: set[Future] = set()
        self.copied: Future | None = None
        self.rows: dict[str, int] = {}
        self.writers: dict[str, int] = {}
        self.reports: dict[int, list[WriteReport]] = {}   # partition -> its writes' reports, for the warnings

    def run(self) -> tuple[dict[str, int], dict[str, int]]:
        try:
            for index in range(self.partitions):
                while len(self.sampled) + len(self.writing) >= self.in_flight:
                    self._step(block=True)
                part = self.client.submit(sample_task, self.payload, index, pure=False)
                summary = self.client.submit(_summarise_task, part, self.shared[0], pure=False)
                self.sampled.append((index, part, summary))
                self._step(block=False)
            while self.sampled or self.writing:
                self._step(block=True)
        except BaseException:
            self._settle()
            raise
        return self.rows, self.writers

    def _step(self, block: bool) -> None:
        from dask.distributed import wait

        if block:
            head = [self.sampled[0][2]] if self.sampled else []
            wait(list(self.writing) + head, return_when="FIRST_COMPLETED")
        while self.sampled and self.sampled[0][2].done():
            index, part, summary = self.sampled.popleft()
            self._write(index, part, self.stitcher.fixes_for(summary.result()))
        for done in [f for f in self.writing if f.done()]:
            self.writing.discard(done)
            index, report = done.result()
            self.reports.setdefault(index, []).append(report)
            self.writers[report.worker] = self.writers.get(report.worker, 0) + sum(report.rows.values())
            for name, n in report.rows.items():
                self.rows[name] = self.rows.get(name, 0) + n
                if self.on_table:
                    self.on_table(name, n)

    def _write(self, index: int, part: "Future", fixes: PartitionFixes) -> None:
        layout, target = self.shared
        if self.copied is None:  # partition 0 writes the copied tables; every other write waits for them
            self.copied = self.client.submit(_write_task, part, None, layout, target, None, index, pure=False)
            self.writing.add(self.copied)
        self.writing.add(self.client.submit(_write_task, part, fixes, layout, target, self.copied, index,
                                            pure=False))

    def check_warnings(self) -> list[str]:
        """The CHECK warnings a local run gives: in partition order, each once, and the repairs summed."""
        tally, notes = CheckTally(), []
        for index in sorted(self.reports):
            for report in self.reports[index]:
                tally.merge(report.repairs)
                notes += report.warnings
        return list(dict.fromkeys(notes)) + tally.warnings()

    def _settle(self) -> None:
        """After a failure: drop what is not written yet, and wait for writes under way to end."""
        from dask.distributed import wait

        self.client.cancel([f for _, part, summary in self.sampled for f in (part, summary)])
        self.sampled.clear()
        wait(list(self.writing))


def _summarise_task(part: SyntheticDatabase, layout: Layout) -> PartitionSummary:
    return summarise(part, layout)


def _write_task(part: SyntheticDatabase, fixes: PartitionFixes | None, layout: Layout, target: WorkerTarget,
                after: tuple[int, WriteReport] | None, index: int) -> tuple[int, WriteReport]:
    """Write partition `index` from the worker holding it: the copied tables (fixes None), or the rest.

    `after` is the copied tables' report: taking it as an argument makes Dask run this task after that one.
    Each table's rows first meet the CHECKs only the target can evaluate, as on the local path
    (`write._load_parts`), with the same random streams: a seed gives the same rows.
    """
    checks = TargetChecks(layout.schema, CheckTally(),
                          lambda name, i: table_rng(target.seed, name, f"target-checks{i}"), enabled=target.same_engine)
    if fixes is None:
        names = [n for n in target.order if n in part.copied]
    else:
        apply_fixes(part, fixes, layout)
        names = [n for n in target.order if n not in part.copied]
        checks.tally.merge(part.check_repairs)   # sampling's and stitching's repairs, reported once per partition
    engine = sa.create_engine(target.url, poolclass=NullPool, connect_args=_session(target.url, index))
    rows: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            if target.search_path is not None:  # unqualified tables land where the coordinator's would
                conn.execute(sa.text("SELECT set_config('search_path', :path, true)"), {"path": target.search_path})
            for name in names:
                frame = checks.apply(conn, target.tables[name], part, name, index)
                rows[name] = insert_frame(conn, target.tables[name], frame)
            for name, keys, columns, values in (part.updates if fixes is not None else ()):
                update_rows(conn, target.tables[name], values, keys, columns)
    finally:
        engine.dispose()
    return index, WriteReport(_worker_address(), rows, checks.tally, tuple(checks.warnings))


def _search_path(engine: Engine) -> str | None:
    """The search_path of the coordinator's sessions, which an engine's connect options may have set."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT current_setting('search_path')")).scalar_one())


def _session(url: URL, index: int) -> dict[str, Any]:
    """PostgreSQL shows which partition a connection writes (pg_stat_activity.application_name)."""
    return {"application_name": f"dbsynth partition {index}"} if url.get_backend_name() == "postgresql" else {}


def _worker_address() -> str:
    from dask.distributed import get_worker

    try:
        return str(get_worker().address)
    except ValueError:  # not on a worker (a task run inline)
        return "local"
