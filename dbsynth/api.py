"""The Python API: what the CLI calls, usable on its own.

    import dbsynth
    result = dbsynth.clone("fixtures/chinook.sqlite", "sqlite:///copy.db", seed=7, scale=0.5)
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from sqlalchemy.engine import Engine

from dbsynth.config import Config, check_against_schema, load_config, with_declared_foreign_keys
from dbsynth.errors import ConfigError
from dbsynth.graph import LoadOrder, load_order
from dbsynth.io.engines import open_source, parse_url, safe_url, target_engine
from dbsynth.io.inheritance import inherited_tables, own_rows
from dbsynth.io.read import read_tables, where_mask
from dbsynth.io.sampled_read import count_subsets, read_sampled
from dbsynth.io.worker_write import write_on_workers
from dbsynth.io.write import check_target, write_database
from dbsynth.progress import Progress, SilentProgress, stage
from dbsynth.modelfile import load_model, save_model
from dbsynth.models.torch_support import require_device
from dbsynth.relational.fit import TUNE_BUDGET, FittedDatabase, fit_database
from dbsynth.relational.plan import TablePlan, plan_tables
from dbsynth.relational.partitions import ROWS_PER_PARTITION, generate_partitions, partition_count
from dbsynth.relational.rebalance import target_shares
from dbsynth.relational.sample import table_rng
from dbsynth.relational.facts import SourceFacts
from dbsynth.relational.subset import root_sample_sizes, sample_roots, small_tables_as_roots, subtree_subset
from dbsynth.schema.introspect import introspect
from dbsynth.schema.model import Schema, Table

if TYPE_CHECKING:
    from dbsynth.refreshing import RefreshResult

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
    warnings: list[str] = field(default_factory=list)
    privacy: list[str] = field(default_factory=list)   # the DP budget spent and what it does not cover
    notes: list[str] = field(default_factory=list)     # what was left out on purpose (extension objects)


@dataclass
class CloneResult:
    rows: dict[str, int]
    source_rows: dict[str, int]
    seconds: float
    warnings: list[str] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)
    privacy: list[str] = field(default_factory=list)   # the DP budget spent and what it does not cover
    shares: dict[str, dict[str, float]] = field(default_factory=dict)   # --rebalance: class shares achieved
    partitions: int = 1                                                  # how many partitions were generated
    notes: list[str] = field(default_factory=list)     # what was left out on purpose (extension objects)
    writers: dict[str, int] = field(default_factory=dict)   # --dask: rows each worker wrote (empty: this process)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def inspect(source: str, *, config: ConfigLike = None, schemas: SchemaNames = None) -> Inspection:
    """Schema, load order and per-table plan (keys, PII, parents, the config's rules) of a source."""
    cfg = resolve_config(config, schemas=schemas)
    engine = open_source(parse_url(source))
    try:
        schema = introspect(engine, strict_types=False, schemas=cfg.schemas)
        schema = with_declared_foreign_keys(schema, cfg)
        check_against_schema(cfg, schema)
        order = load_order(schema)
        # Counted by the source: inspecting a large database must not read it whole.
        return Inspection(schema, order, plan_tables(schema, order, SourceFacts.from_database(engine, schema), cfg))
    finally:
        engine.dispose()


def compare(source: str, target: str, *, config: ConfigLike = None, schemas: SchemaNames = None) -> list[str]:
    """Schema drift: what differs in `target` from `source` (both opened read-only), one line each.

    Every schema (namespace) of both is compared, or those of `schemas` (the config's `schemas`).
    """
    from dbsynth.schema.drift import compare_databases

    cfg = resolve_config(config, schemas=schemas)
    src, dst = open_source(parse_url(source)), open_source(parse_url(target))
    try:
        return compare_databases(src, dst, introspect(src, count_rows=False, strict_types=False, schemas=cfg.schemas),
                                 introspect(dst, count_rows=False, strict_types=False, schemas=cfg.schemas))
    finally:
        src.dispose()
        dst.dispose()


MAX_TRAIN_ROWS = 1_000_000
DEFAULT_MODEL = "auto"   # auto-tuning per table

ConfigLike = Config | str | Path | None
SchemaNames = Sequence[str] | str | None   # PostgreSQL schemas to read: ["a", "b"] or "a,b"; None: the config's


def resolve_config(config: ConfigLike = None, **options: Any) -> Config:
    """The config file (or object) with explicitly given options on top; None means not given."""
    base = config if isinstance(config, Config) else load_config(Path(config)) if config else Config.default()
    return base.merged_with_cli(**options)


def train(source: str, model_path: str | Path, *, config: ConfigLike = None, seed: int | None = None,
          model: str | None = None, max_train_rows: int | None = None, tune_budget: float | None = None,
          epsilon: float | None = None, delta: float | None = None, device: str | None = None,
          schemas: SchemaNames = None, progress: Progress | None = None) -> TrainResult:
    """Fit generators on `source` and store them in a model file; no source row is stored."""
    cfg = resolve_config(config, seed=seed, model=model, max_train_rows=max_train_rows, tune_budget=tune_budget,
                         epsilon=epsilon, delta=delta, device=device, schemas=schemas)
    require_device(cfg.device)
    progress = progress or SilentProgress()
    started = time.perf_counter()
    source_url = parse_url(source)
    src = open_source(source_url)
    try:
        schema, warnings = _source_schema(src, cfg)
        fitted = _fit(src, schema, cfg, progress)
    finally:
        src.dispose()
    save_model(fitted, Path(model_path), info={"source": safe_url(source_url), "model": cfg.model or DEFAULT_MODEL,
                                               "warnings": warnings})
    return TrainResult(
        path=Path(model_path), tables=model_choices(fitted),
        source_rows={t.name: t.row_count for t in fitted.schema.tables}, seconds=time.perf_counter() - started,
        warnings=warnings, privacy=fitted.privacy_notes, notes=list(schema.notes),
    )


def generate(model_path: str | Path, target: str, *, config: ConfigLike = None, seed: int | None = None,
             scale: float | None = None, if_exists: str | None = None, jobs: int | None = None,
             dask: str | None = None, rows_per_partition: int | None = None,
             rebalance: Sequence[str] = (), device: str | None = None,
             progress: Progress | None = None) -> CloneResult:
    """Write a synthetic database from a model file; the source is not needed.

    Rows are generated in partitions of about `rows_per_partition` rows (memory
    stays flat whatever the scale), sampled by `jobs` processes. Torch generators
    sample on `device` (the config's, default auto), wherever they were trained.
    """
    cfg = _with_rebalance(resolve_config(config, seed=seed, scale=scale, if_exists=if_exists, jobs=jobs, dask=dask,
                                         device=device), rebalance)
    require_device(cfg.device)
    started = time.perf_counter()
    fitted, manifest = load_model(Path(model_path))
    place_generators(fitted, cfg.device)
    with target_engine(parse_url(target)) as dst:
        result = _generate(fitted, dst, cfg, progress or SilentProgress(), started, rows_per_partition)
    result.warnings[:0] = list(manifest.get("info", {}).get("warnings", []))
    return result


def clone(source: str, target: str, *, config: ConfigLike = None, seed: int | None = None,
          scale: float | None = None, if_exists: str | None = None, model: str | None = None,
          max_train_rows: int | None = None, tune_budget: float | None = None,
          epsilon: float | None = None, delta: float | None = None, jobs: int | None = None,
          dask: str | None = None, rows_per_partition: int | None = None, rebalance: Sequence[str] = (),
          device: str | None = None, schemas: SchemaNames = None, progress: Progress | None = None) -> CloneResult:
    """Read `source`, fit a generator per table, write a synthetic twin into `target`.

    The same as `train` then `generate` with the same seed, without the file.
    Keyword options override the config's values, as command-line flags do.
    """
    cfg = resolve_config(config, seed=seed, scale=scale, if_exists=if_exists, model=model,
                         max_train_rows=max_train_rows, tune_budget=tune_budget, epsilon=epsilon, delta=delta,
                         jobs=jobs, dask=dask, device=device, schemas=schemas)
    cfg = _with_rebalance(cfg, rebalance)
    require_device(cfg.device)
    progress = progress or SilentProgress()
    started = time.perf_counter()
    src = open_source(parse_url(source))
    try:
        with target_engine(parse_url(target)) as dst:
            schema, warnings = _source_schema(src, cfg)
            check_target(dst, schema, cfg.if_exists)  # refuse before the expensive part
            fitted = _fit(src, schema, cfg, progress)
            result = _generate(fitted, dst, cfg, progress, started, rows_per_partition)
    finally:
        src.dispose()
    result.warnings[:0] = warnings
    return result


def refresh(model_or_source: str | Path, target: str, **options: Any) -> "RefreshResult":
    """Regenerate `target` atomically from a model file or a source URL (retraining only on drift).

    Options are those of `clone` plus model_file, drift_threshold and retrain;
    see dbsynth.refreshing.refresh. Imported lazily: refreshing builds on this module.
    """
    from dbsynth.refreshing import refresh as refresh_target

    return refresh_target(model_or_source, target, **options)


def _with_rebalance(cfg: Config, specs: Sequence[str]) -> Config:
    """--rebalance TABLE.COLUMN[=...] flags replace the config's rule for the same column."""
    if not specs:
        return cfg
    import dataclasses

    from dbsynth.relational.rebalance import parse_rebalance

    given = [parse_rebalance(s) for s in specs]
    keep = [r for r in cfg.rebalance if (r.table, r.column) not in {(g.table, g.column) for g in given}]
    return dataclasses.replace(cfg, rebalance=tuple(keep + given))


def _source_schema(src: Engine, cfg: Config) -> tuple[Schema, list[str]]:
    """The source's schema with the config's declared FKs, after checking the config names real things."""
    schema = with_declared_foreign_keys(introspect(src, schemas=cfg.schemas), cfg)
    return schema, check_against_schema(cfg, schema)


def _fit(src: Engine, schema: Schema, cfg: Config, progress: Progress) -> FittedDatabase:
    order = load_order(schema)
    max_rows = cfg.max_train_rows or MAX_TRAIN_ROWS
    rng = table_rng(cfg.seed, "", "train-sample")
    subset_rows: dict[str, int] = {}
    if _reads_a_sample(schema, cfg, max_rows):
        with stage(progress, "counting source", 1) as p:
            facts = SourceFacts.from_database(src, schema)
            p.advance("foreign keys", sum(facts.rows.values()))
        plans = plan_tables(schema, order, facts, cfg)
        wheres = {name: rule.where for name in order.tables if (rule := cfg.table_rule(name)).where}
        subset_rows = count_subsets(src, schema, wheres)
        # A root keeps the same number of rows whether or not a `where` rule thins it first.
        sizes = root_sample_sizes(schema, plans, facts.rows, max_rows)
        plans = small_tables_as_roots(schema, plans, facts.rows, sizes)
        with stage(progress, "reading source sample", len(schema.tables)) as p:
            frames = read_sampled(src, schema, order, plans, sizes, rng, wheres, on_table=p.advance)
        full_rows = {**facts.rows, **subset_rows}
    else:
        with stage(progress, "reading source", len(schema.tables)) as p:
            frames = read_tables(src, schema, on_table=lambda name, n: p.advance(name, n))
        plans = plan_tables(schema, order, frames, cfg)
        parents = inherited_tables(schema)
        seeds = {name: where_mask(src, schema.table(name), frames[name], rule.where, name in parents)
                 for name in order.tables if (rule := cfg.table_rule(name)).where}
        subset_rows = {name: int(mask.sum()) for name, mask in seeds.items()}
        if seeds:
            frames = subtree_subset(schema, order, plans, frames, seeds)
        counted = {name: len(frame) for name, frame in frames.items()}
        plans = small_tables_as_roots(schema, plans, counted, root_sample_sizes(schema, plans, counted, max_rows))
        sampled = sample_roots(schema, plans, frames, max_rows, rng)
        full_rows = {name: len(frame) for name, frame in frames.items()}
        if sampled:  # train on whole subtrees of a share of the roots: children per parent stay true
            frames = subtree_subset(schema, order, plans, frames, sampled)
    with stage(progress, "fitting models", len(order.tables)) as p:
        fitted = fit_database(schema, order, plans, frames, seed=cfg.seed, model=cfg.model or DEFAULT_MODEL,
                              tune_budget=cfg.tune_budget or TUNE_BUDGET, epsilon=cfg.epsilon, delta=cfg.delta,
                              on_table=p.advance, device=cfg.device)
    for name, rows in subset_rows.items():  # a `where` subset is the new full size of its table
        fitted.tables[name].source_rows = rows
    trained_rows = {name: len(frame) for name, frame in frames.items()}
    if trained_rows != full_rows:
        _scale_copied_counts(fitted, full_rows, trained_rows)
    return fitted


def _reads_a_sample(schema: Schema, cfg: Config, max_rows: int) -> bool:
    """Whether the source is read as a sample (rows chosen by the source) instead of whole.

    Only a source with a table over `max_rows` is sampled at all, and then its
    tables are never read whole; smaller sources are read whole, which is faster.
    """
    return any(t.row_count > max_rows for t in schema.tables)


def _scale_copied_counts(fitted: FittedDatabase, full_rows: dict[str, int], trained_rows: dict[str, int]) -> None:
    """A copied lookup's children per row, counted on a training sample, scaled back to the full table.

    A copied table's children follow its per-row counts; trained on 20% of the
    customers, a nation would otherwise get 20% of its customers at --scale 1.
    """
    for fit in fitted.tables.values():
        for ref, counts in fit.copied_counts.items():
            full, trained = full_rows.get(ref.table, 0), trained_rows.get(ref.table, 0)
            if trained and full > trained and counts.sum():
                exact = counts * (full / trained)
                scaled = np.floor(exact).astype(np.int64)
                short = int(round(counts.sum() * full / trained)) - int(scaled.sum())
                if short > 0:  # largest remainders get the missing children
                    scaled[np.argsort(-(exact - scaled), kind="stable")[:short]] += 1
                fit.copied_counts[ref] = scaled


def _generate(fitted: FittedDatabase, dst: Engine, cfg: Config, progress: Progress, started: float,
              rows_per_partition: int | None = None) -> CloneResult:
    schema, order = fitted.schema, fitted.order
    check_target(dst, schema, cfg.if_exists)
    count = partition_count(fitted.tables, cfg.scale, rows_per_partition or ROWS_PER_PARTITION)
    for rule in cfg.rebalance:  # refuse an unknown table/column/value before writing anything
        fit = fitted.tables.get(rule.table)
        if fit is None or rule.column not in fit.codecs:
            raise ConfigError(f"rebalance {rule.table}.{rule.column}: no modelled column of that name")
        target_shares(rule, fit.codecs[rule.column], rule.table)
    with stage(progress, "generating", count * len(order.tables)) as p:
        if cfg.dask and dst.dialect.name != "sqlite":  # workers write; SQLite takes one writer: this process
            written = write_on_workers(dst, schema, order, fitted.tables, scale=cfg.scale, seed=cfg.seed,
                                       partitions=count, jobs=cfg.jobs, address=cfg.dask, rebalance=cfg.rebalance,
                                       if_exists=cfg.if_exists, on_table=lambda name, n: p.advance(name, n))
        else:
            parts = generate_partitions(schema, order, fitted.tables, scale=cfg.scale, seed=cfg.seed,
                                        partitions=count, jobs=cfg.jobs, dask=cfg.dask, rebalance=cfg.rebalance)
            written = write_database(dst, schema, order.tables, parts, if_exists=cfg.if_exists, seed=cfg.seed,
                                     on_table=lambda name, n: p.advance(name, n))
    parents = inherited_tables(schema)
    shares = {f"{r.table}.{r.column}": _shares_in(dst, schema.table(r.table), r.column, r.table in parents)
              for r in cfg.rebalance}
    return CloneResult(
        partitions=count,
        writers=dict(written.writers),
        shares=shares,
        rows=written.rows,
        source_rows={t.name: t.row_count for t in schema.tables},
        seconds=time.perf_counter() - started,
        warnings=list(schema.warnings) + list(written.warnings),
        models=model_choices(fitted),
        privacy=fitted.privacy_notes,
        notes=list(schema.notes),
    )


def _shares_in(engine: Engine, table: Table, column: str, inherited: bool = False) -> dict[str, float]:
    """The class shares the target now holds (what --rebalance achieved), read where the table was written."""
    import sqlalchemy as sa

    from dbsynth.io.naming import located_table

    namespace, name = located_table(table, engine.dialect.name)
    t = sa.Table(name, sa.MetaData(), sa.Column(column), schema=namespace)
    query = own_rows(sa.select(t.c[column], sa.func.count()), t, inherited)   # an INHERITS parent: its own rows
    with engine.connect() as conn:
        rows = conn.execute(query.group_by(t.c[column])).fetchall()
    total = max(sum(n for _, n in rows), 1)
    return {str(v): n / total for v, n in sorted(rows, key=lambda r: -r[1])}


def place_generators(fitted: FittedDatabase, device: str) -> None:
    """Move the torch generators of a loaded model onto `device` (auto, cpu or cuda)."""
    for f in fitted.tables.values():
        place = getattr(f.generator, "place", None)
        if place is not None:
            place(device)


def model_choices(fitted: FittedDatabase) -> dict[str, str]:
    """Per table, the generator used and why: 'bayesnet max_parents=2 (tuned, holdout 0.931)'."""
    out = {}
    for name, f in fitted.tables.items():
        if f.generator is None:
            out[name] = f.plan.mode if f.plan.mode != "model" else "keys only"
            continue
        tuning = f.tuning or {}
        settings = " ".join(f"{k}={v}" for k, v in sorted(tuning.get("settings", {}).items())
                            if k != "time_budget")
        label = " ".join(x for x in (f.generator.name, settings) if x)
        score = tuning.get("score")
        if f.tuning is None:
            out[name] = label
        elif score is None or score != score:
            out[name] = f"{label} (too few rows to tune)"
        else:
            out[name] = f"{label} (tuned, holdout {score:.3f})"
    return out
