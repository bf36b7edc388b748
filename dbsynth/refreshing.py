"""`dbsynth refresh`: regenerate a target atomically, retraining only when the source drifted.

Meant for cron: a staging database rebuilt every night must never be seen
half-written (the shadow-and-swap of dbsynth.atomic), a run killed at any
moment must leave yesterday's copy usable, and a nightly run should not pay
for training when the source has not changed. So with a source URL the model
is cached in a model file (``--model-file``, else one per source and target
under the user's cache folder) together with a fingerprint of the source
(dbsynth.fingerprint); the model is reused while the fingerprint stays within
the drift threshold, and every retraining says why.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from dbsynth.api import (
    DEFAULT_MODEL, CloneResult, ConfigLike, SchemaNames, _fit, _generate, _source_schema, _with_rebalance, place_generators,
    resolve_config,
)
from dbsynth.models.torch_support import require_device
from dbsynth.atomic import shadow_target
from dbsynth.config import Config
from dbsynth.errors import ConfigError
from dbsynth.fingerprint import DRIFT_THRESHOLD, drift_reasons, fingerprint
from dbsynth.io.engines import open_source, parse_url, safe_url
from dbsynth.io.naming import relocated
from dbsynth.io.views import translated_views
from dbsynth.modelfile import ModelFileError, load_model, save_model
from dbsynth.progress import Progress, SilentProgress
from dbsynth.relational.fit import FittedDatabase
from dbsynth.schema.model import Schema


@dataclass
class RefreshResult(CloneResult):
    retrained: bool = False
    reasons: list[str] = field(default_factory=list)   # why the model was retrained (empty: reused or given)
    model_path: Path | None = None
    unchanged_since: str | None = None                  # when the reused model's source was fingerprinted

    @property
    def decision(self) -> str:
        """One line for the log: what happened to the model, and why."""
        if self.retrained:
            return f"retraining: {'; '.join(self.reasons)}"
        if self.unchanged_since:
            return f"source unchanged since {self.unchanged_since}: reusing model {self.model_path}"
        return f"generating from model file {self.model_path}"


@dataclass
class _Model:
    fitted: FittedDatabase
    path: Path
    retrained: bool = False
    reasons: list[str] = field(default_factory=list)
    unchanged_since: str | None = None
    previous: Schema | None = None      # what the target was last generated from, when known
    warnings: list[str] = field(default_factory=list)


def cache_folder() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dbsynth"


def default_model_path(source: str, target: str) -> Path:
    """The cached model of a (source, target) pair: one per cron line, under $XDG_CACHE_HOME/dbsynth."""
    key = "|".join(_identity(text) for text in (source, target))
    return cache_folder() / f"refresh-{hashlib.sha256(key.encode()).hexdigest()[:16]}.dbsynth"


def _identity(text: str) -> str:
    url = parse_url(text)
    if url.get_backend_name() == "sqlite" and url.database:
        return f"sqlite:{Path(url.database).expanduser().resolve()}"
    return safe_url(url)


def is_model_file(text: str) -> bool:
    """MODEL_OR_SOURCE is a model file when it is an existing zip file (a SQLite source is not a zip)."""
    return "://" not in text and Path(text).is_file() and zipfile.is_zipfile(text)


def refresh(model_or_source: str | Path, target: str, *, model_file: str | Path | None = None,
            drift_threshold: float | None = None, retrain: bool = False, config: ConfigLike = None,
            seed: int | None = None, scale: float | None = None, model: str | None = None,
            max_train_rows: int | None = None, tune_budget: float | None = None,
            epsilon: float | None = None, delta: float | None = None, jobs: int | None = None,
            dask: str | None = None, rows_per_partition: int | None = None, rebalance: Sequence[str] = (),
            device: str | None = None, schemas: SchemaNames = None,
            progress: Progress | None = None) -> RefreshResult:
    """Regenerate `target` from a model file, or from a source (retraining only if it drifted), atomically."""
    threshold = DRIFT_THRESHOLD if drift_threshold is None else drift_threshold
    if not 0 <= threshold:
        raise ConfigError(f"--drift-threshold must be 0 or more (a share, 0.05 = 5%), not {threshold}")
    given = str(model_or_source)
    from_model = is_model_file(given)
    training = {"--model": model, "--max-train-rows": max_train_rows, "--tune-budget": tune_budget,
                "--epsilon": epsilon, "--delta": delta, "--model-file": model_file, "--retrain": retrain or None,
                "--drift-threshold": drift_threshold, "--schemas": schemas}
    if from_model and (named := [k for k, v in training.items() if v is not None]):
        raise ConfigError(f"{', '.join(named)} only apply when refreshing from a source database; "
                          f"{given} is a model file")
    cfg = resolve_config(config, seed=seed, scale=scale, model=model, max_train_rows=max_train_rows,
                         tune_budget=tune_budget, epsilon=epsilon, delta=delta, jobs=jobs, dask=dask,
                         device=device, schemas=schemas)
    require_device(cfg.device)
    cfg = _with_rebalance(cfg, rebalance)
    progress = progress or SilentProgress()
    started = time.perf_counter()
    with shadow_target(parse_url(target)) as (shadow, engine):  # the lock first: a busy target costs nothing
        if from_model:
            fitted, _ = load_model(Path(given))
            chosen = _Model(fitted, Path(given))
        else:
            path = Path(model_file) if model_file else default_model_path(given, target)
            chosen = _model_for_source(given, path, cfg, threshold, retrain, progress)
        place_generators(chosen.fitted, cfg.device)
        write_cfg = dataclasses.replace(cfg, if_exists="refuse")  # the shadow is new and empty
        schema = chosen.fitted.schema
        written = chosen.fitted if shadow.writes_views else \
            dataclasses.replace(chosen.fitted, schema=dataclasses.replace(schema, views=()))
        namespaces = {t.schema for t in schema.tables if t.schema} | {v.schema for v in schema.views if v.schema}
        with relocated(shadow.relocation(namespaces)):
            result = _generate(written, engine, write_cfg, progress, started, rows_per_partition)
        tables = set(schema.table_names) | set(chosen.previous.table_names if chosen.previous else ())
        views = {v.name for v in schema.views} | {v.name for v in (chosen.previous.views if chosen.previous else ())}
        swap_warnings = shadow.swap(tables, views, translated_views(schema, engine.dialect.name)[0])
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(CloneResult)}
    fields["warnings"] = chosen.warnings + result.warnings + swap_warnings
    fields["seconds"] = time.perf_counter() - started
    return RefreshResult(**fields, retrained=chosen.retrained, reasons=chosen.reasons, model_path=chosen.path,
                         unchanged_since=chosen.unchanged_since)


def _model_for_source(source: str, path: Path, cfg: Config, threshold: float, retrain: bool,
                      progress: Progress) -> _Model:
    """The cached model when the source has not drifted from its fingerprint; else a new one, saved there."""
    src = open_source(parse_url(source))
    previous: Schema | None = None
    try:
        schema, warnings = _source_schema(src, cfg)
        current = fingerprint(src, schema, cfg)
        if retrain:
            reasons = ["--retrain was given"]
        elif not path.is_file():
            reasons = [f"no model yet at {path}"]
        else:
            try:
                cached, manifest = load_model(path)
            except ModelFileError as exc:
                reasons = [f"the cached model cannot be used ({exc})"]
            else:
                previous = cached.schema
                stored = manifest.get("info", {}).get("fingerprint")
                reasons = drift_reasons(stored, current, threshold, cached.schema, schema)
                if not reasons:
                    return _Model(cached, path, unchanged_since=stored.get("taken"), previous=previous,
                                  warnings=warnings)
        fitted = _fit(src, schema, cfg, progress)
    finally:
        src.dispose()
    if not path.parent.exists() and path.parent == cache_folder():
        path.parent.mkdir(parents=True, exist_ok=True)  # our own cache folder; a user's folder must exist
    save_model(fitted, path, info={"source": safe_url(parse_url(source)), "model": cfg.model or DEFAULT_MODEL,
                                   "warnings": warnings, "fingerprint": current})
    return _Model(fitted, path, retrained=True, reasons=reasons, previous=previous, warnings=warnings)
