"""The Python API: what the CLI calls, usable on its own.

    import dbsynth
    result = dbsynth.clone("fixtures/chinook.sqlite", "sqlite:///copy.db", seed=7, scale=0.5)
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field


from dbsynth.errors import ConfigError
from dbsynth.graph import LoadOrder, load_order
from dbsynth.io.engines import open_source, open_target, parse_url
from dbsynth.io.read import read_tables
from dbsynth.io.write import check_target, write_database
from dbsynth.progress import Progress, SilentProgress, stage
from dbsynth.relational.fit import FittedTable, fit_table
from dbsynth.relational.plan import TablePlan, plan_tables
from dbsynth.relational.sample import sample_database, table_rng
from dbsynth.schema.introspect import introspect
from dbsynth.schema.model import Schema, Table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inspection:
    schema: Schema
    order: LoadOrder
    plans: dict[str, TablePlan]

    def require_table(self, name: str) -> Table:
        """The named table, or a ConfigError listing the tables there are."""
        try:
            return self.schema.table(name)
        except KeyError:
            known = ", ".join(self.schema.table_names)
            raise ConfigError(f"table {name!r} is not in the source; its tables are: {known}") from None


@dataclass
class CloneResult:
    rows: dict[str, int]
    source_rows: dict[str, int]
    seconds: float
    warnings: list[str] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def inspect(source: str) -> Inspection:
    """Schema, load order and per-table plan (keys, PII, parents) of a source database."""
    engine = open_source(parse_url(source))
    try:
        schema = introspect(engine, strict_types=False)
        order = load_order(schema)
        frames = read_tables(engine, schema)
        return Inspection(schema, order, plan_tables(schema, order, frames))
    finally:
        engine.dispose()


def clone(source: str, target: str, *, seed: int = 0, scale: float = 1.0, if_exists: str = "refuse",
          model: str = "bayesnet", progress: Progress | None = None) -> CloneResult:
    """Read `source`, fit a generator per table, write a synthetic twin into `target`."""
    if not scale > 0:
        raise ConfigError(f"--scale must be a positive number, not {scale}")
    progress = progress or SilentProgress()
    started = time.perf_counter()
    source_url, target_url = parse_url(source), parse_url(target)
    src = open_source(source_url)
    dst = open_target(target_url)
    try:
        schema = introspect(src)
        order = load_order(schema)
        check_target(dst, schema, if_exists)  # refuse before the expensive part
        with stage(progress, "reading source", len(schema.tables)) as p:
            frames = read_tables(src, schema, on_table=lambda name, n: p.advance(name, n))
        plans = plan_tables(schema, order, frames)
        fitted: dict[str, FittedTable] = {}
        source_states: dict = {}
        with stage(progress, "fitting models", len(order.tables)) as p:
            for name in order.tables:
                fitted[name], source_states[name] = fit_table(
                    schema, plans[name], frames, fitted, source_states, model, table_rng(seed, name, "fit"))
                p.advance(name)
        with stage(progress, "sampling", len(order.tables)) as p:
            data = sample_database(schema, order, fitted, scale=scale, seed=seed,
                                   on_table=lambda name, n: p.advance(name, n))
        with stage(progress, "writing target", len(order.tables)) as p:
            written = write_database(dst, schema, order.tables, data, if_exists=if_exists,
                                     on_table=lambda name, n: p.advance(name, n))
    finally:
        src.dispose()
        dst.dispose()
    return CloneResult(
        rows=written.rows,
        source_rows={t.name: t.row_count for t in schema.tables},
        seconds=time.perf_counter() - started,
        warnings=list(schema.warnings) + list(written.warnings),
        models={n: f.generator.name if f.generator else "-" for n, f in fitted.items()},
    )


