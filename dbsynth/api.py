"""The Python API: what the CLI calls, usable on its own.

    import dbsynth
    result = dbsynth.clone("fixtures/chinook.sqlite", "sqlite:///copy.db", seed=7, scale=0.5)
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine


from dbsynth.errors import ConfigError
from dbsynth.graph import LoadOrder, load_order
from dbsynth.io.engines import open_source, open_target, parse_url, safe_url
from dbsynth.io.read import read_tables
from dbsynth.io.write import check_target, write_database
from dbsynth.progress import Progress, SilentProgress, stage
from dbsynth.modelfile import load_model, save_model
from dbsynth.relational.fit import FittedDatabase, fit_database
from dbsynth.relational.plan import TablePlan, plan_tables
from dbsynth.relational.sample import sample_database, table_rng
from dbsynth.relational.subset import subtree_subset, sample_roots
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
class TrainResult:
    path: Path
    tables: dict[str, str]          # table -> generator name
    source_rows: dict[str, int]
    seconds: float


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


MAX_TRAIN_ROWS = 1_000_000


def train(source: str, model_path: str | Path, *, seed: int = 0, model: str = "bayesnet",
          max_train_rows: int = MAX_TRAIN_ROWS, progress: Progress | None = None) -> TrainResult:
    """Fit generators on `source` and store them in a model file; no source row is stored."""
    progress = progress or SilentProgress()
    started = time.perf_counter()
    source_url = parse_url(source)
    src = open_source(source_url)
    try:
        fitted = _fit(src, introspect(src), seed=seed, model=model, progress=progress,
                      max_train_rows=max_train_rows)
    finally:
        src.dispose()
    save_model(fitted, Path(model_path), info={"source": safe_url(source_url), "model": model})
    return TrainResult(
        path=Path(model_path), tables={n: f.generator.name if f.generator else "-" for n, f in fitted.tables.items()},
        source_rows={t.name: t.row_count for t in fitted.schema.tables}, seconds=time.perf_counter() - started,
    )


def generate(model_path: str | Path, target: str, *, seed: int = 0, scale: float = 1.0,
             if_exists: str = "refuse", progress: Progress | None = None) -> CloneResult:
    """Write a synthetic database from a model file; the source is not needed."""
    _check_scale(scale)
    started = time.perf_counter()
    fitted, _ = load_model(Path(model_path))
    dst = open_target(parse_url(target))
    try:
        return _generate(fitted, dst, seed=seed, scale=scale, if_exists=if_exists,
                         progress=progress or SilentProgress(), started=started)
    finally:
        dst.dispose()


def clone(source: str, target: str, *, seed: int = 0, scale: float = 1.0, if_exists: str = "refuse",
          model: str = "bayesnet", max_train_rows: int = MAX_TRAIN_ROWS,
          progress: Progress | None = None) -> CloneResult:
    """Read `source`, fit a generator per table, write a synthetic twin into `target`.

    The same as `train` then `generate` with the same seed, without the file.
    """
    _check_scale(scale)
    progress = progress or SilentProgress()
    started = time.perf_counter()
    src = open_source(parse_url(source))
    dst = open_target(parse_url(target))
    try:
        schema = introspect(src)
        check_target(dst, schema, if_exists)  # refuse before the expensive part
        fitted = _fit(src, schema, seed=seed, model=model, progress=progress, max_train_rows=max_train_rows)
        return _generate(fitted, dst, seed=seed, scale=scale, if_exists=if_exists, progress=progress,
                         started=started)
    finally:
        src.dispose()
        dst.dispose()


def _fit(src: Engine, schema: Schema, *, seed: int, model: str, progress: Progress,
         max_train_rows: int) -> FittedDatabase:
    order = load_order(schema)
    with stage(progress, "reading source", len(schema.tables)) as p:
        frames = read_tables(src, schema, on_table=lambda name, n: p.advance(name, n))
    plans = plan_tables(schema, order, frames)
    seeds = sample_roots(schema, plans, frames, max_train_rows, table_rng(seed, "", "train-sample"))
    if seeds:  # train on whole subtrees of a share of the roots: children per parent stay true
        frames = subtree_subset(schema, order, plans, frames, seeds)
    with stage(progress, "fitting models", len(order.tables)) as p:
        return fit_database(schema, order, plans, frames, seed=seed, model=model, on_table=p.advance)


def _generate(fitted: FittedDatabase, dst: Engine, *, seed: int, scale: float, if_exists: str,
              progress: Progress, started: float) -> CloneResult:
    schema, order = fitted.schema, fitted.order
    check_target(dst, schema, if_exists)
    with stage(progress, "sampling", len(order.tables)) as p:
        data = sample_database(schema, order, fitted.tables, scale=scale, seed=seed,
                               on_table=lambda name, n: p.advance(name, n))
    with stage(progress, "writing target", len(order.tables)) as p:
        written = write_database(dst, schema, order.tables, data, if_exists=if_exists,
                                 on_table=lambda name, n: p.advance(name, n))
    return CloneResult(
        rows=written.rows,
        source_rows={t.name: t.row_count for t in schema.tables},
        seconds=time.perf_counter() - started,
        warnings=list(schema.warnings) + list(written.warnings),
        models={n: f.generator.name if f.generator else "-" for n, f in fitted.tables.items()},
    )


def _check_scale(scale: float) -> None:
    if not scale > 0:
        raise ConfigError(f"--scale must be a positive number, not {scale}")
