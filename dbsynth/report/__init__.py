"""Evaluation of a synthetic copy: quality (sdmetrics), integrity, privacy, plots, HTML and JSON.

    from dbsynth.report import build_report, report_to_dict, write_html
    report = build_report("fixtures/chinook.sqlite", "sqlite:///copy.db")
    write_html(report, Path("report.html"))

Both databases are only read. The stages live in their own modules: `frames`
(read and type both sides), `columns` (what each column is), `sampling` (cut
large tables), `quality`, `integrity`, `privacy`, `plots` and `html`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from dbsynth.errors import ConfigError
from dbsynth.progress import Progress, SilentProgress, stage
from dbsynth.report.efficacy import EfficacyResult, efficacy, efficacy_to_dict
from dbsynth.report.frames import FramePair, open_databases, read_pair
from dbsynth.report.integrity import IntegrityResult, check_integrity
from dbsynth.report.plots import Figure, build_figures
from dbsynth.report.privacy import CopyShare, TablePrivacy, copy_shares, privacy_to_dict, table_privacy
from dbsynth.report.quality import (
    QualityResult, column_roles, error_notes, measure_quality, scored_frames, sdmetrics_metadata,
)
from dbsynth.report.sampling import DESCRIPTION, owner_fks, subsample

MAX_ROWS = 20_000

Frames = dict[str, pd.DataFrame]

__all__ = ["MAX_ROWS", "Report", "build_report", "report_to_dict", "write_html"]


@dataclass(frozen=True)
class Report:
    source: str                      # URLs with passwords hidden
    target: str
    created: str                     # ISO 8601, UTC
    seconds: float
    max_rows: int
    quality: QualityResult
    integrity: IntegrityResult       # of the target, against the source's keys
    privacy: tuple[CopyShare, ...]   # exact copies, every table with non-key columns
    notes: tuple[str, ...]           # what was left out of the comparison, and why
    figures: tuple[Figure, ...] = field(default=(), repr=False)
    privacy_checks: tuple[TablePrivacy, ...] = ()   # distances, rare values, attacks and a verdict per table
    efficacy: tuple[EfficacyResult, ...] = ()        # TSTR vs TRTR per target column
    model: dict[str, Any] | None = None               # from --model-file: generators and DP budget


def _model_info(path: str) -> dict[str, Any]:
    """What the model file says about how the copy was made: generators and the DP budget spent."""
    from dbsynth.api import model_choices
    from dbsynth.modelfile import load_model

    fitted, manifest = load_model(Path(path))
    return {"path": str(path), "created": manifest.get("created"), "generators": model_choices(fitted),
            "privacy": list(fitted.privacy_notes)}


def build_report(source_url: str, target_url: str, *, max_rows: int = MAX_ROWS,
                 progress: Progress | None = None, efficacy_target: str | None = None,
                 model_path: str | None = None) -> Report:
    """Compare `target_url` (a synthetic copy) with `source_url`; both are opened read-only.

    `efficacy_target` ("TABLE.COLUMN") is the column the machine-learning efficacy
    check predicts; None guesses up to three (see `dbsynth.report.efficacy`).

    Raises ConnectionFailed when a database cannot be reached, ConfigError when
    the two do not hold the same tables, `max_rows` is not positive or
    `efficacy_target` names no predictable column.
    """
    if max_rows < 1:
        raise ConfigError(f"max_rows must be a positive number of rows, not {max_rows}")
    progress = progress or SilentProgress()
    started = time.perf_counter()
    dbs = open_databases(source_url, target_url)
    try:
        pair = read_pair(dbs, progress)
        with stage(progress, "training efficacy models", 1) as p:
            efficacy_results = efficacy(pair.real, pair.synthetic, pair.schema, target=efficacy_target)
            p.advance("efficacy")
        with stage(progress, "scoring quality", 1) as p:
            quality, compared, quality_notes = _quality(pair, max_rows)
            p.advance("quality")
        with stage(progress, "checking integrity and privacy", 3) as p:
            integrity = check_integrity(dbs.target, pair.schema)
            p.advance("integrity")
            privacy, privacy_notes = copy_shares(pair.schema, pair.real, pair.synthetic)
            p.advance("privacy")
            checks, check_notes = table_privacy(pair.schema, pair.real, pair.synthetic)
            p.advance("distances")
        with stage(progress, "plotting", 1) as p:
            figures = build_figures(pair.schema, quality, compared, (pair.real, pair.synthetic))
            p.advance("plots")
    finally:
        dbs.dispose()
    notes = list(pair.notes) + quality_notes + privacy_notes + check_notes
    return Report(
        source=dbs.source_label, target=dbs.target_label,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        seconds=time.perf_counter() - started, max_rows=max_rows, quality=quality, integrity=integrity,
        privacy=tuple(privacy), notes=tuple(notes), figures=tuple(figures), privacy_checks=tuple(checks),
        efficacy=tuple(efficacy_results),
        model=_model_info(model_path) if model_path else None,
    )


def _quality(pair: FramePair, max_rows: int) -> tuple[QualityResult, tuple[Frames, Frames], list[str]]:
    """sdmetrics' scores on (a sample of) both sides, the frames compared, and notes on what was left out."""
    schema = pair.schema
    roles = column_roles(schema, pair.real)
    metadata, notes = sdmetrics_metadata(schema, roles, pair.real)
    big = any(len(f) > max_rows for side in (pair.real, pair.synthetic) for f in side.values())
    owners = owner_fks(schema, pair.real) if big else None  # both sides cut along the real data's edges
    real = scored_frames(subsample(schema, pair.real, max_rows, owners), metadata)
    synthetic = scored_frames(subsample(schema, pair.synthetic, max_rows, owners), metadata)
    quality = measure_quality(
        real, synthetic, metadata, roles=roles, sampling=DESCRIPTION.format(max_rows=max_rows),
        full_rows=({n: len(f) for n, f in pair.real.items()}, {n: len(f) for n, f in pair.synthetic.items()}),
    )
    notes += error_notes(quality)
    cut = [n for n in real if len(real[n]) < len(pair.real[n]) or len(synthetic[n]) < len(pair.synthetic[n])]
    if cut:
        notes.append(f"compared a sample of {', '.join(cut)}: {quality.sampling}")
    return quality, (real, synthetic), notes


def report_to_dict(report: Report) -> dict[str, Any]:
    """Everything but the figures, as JSON-able plain data (None where a score could not be computed)."""
    quality = report.quality
    return {
        "source": report.source,
        "target": report.target,
        "created": report.created,
        "seconds": round(report.seconds, 3),
        "max_rows": report.max_rows,
        "quality": {
            "overall": quality.overall,
            "properties": dict(quality.properties),
            "sampling": quality.sampling,
            "tables": [dataclasses.asdict(t) for t in quality.tables],
            "columns": [dataclasses.asdict(c) for c in quality.columns],
            "column_pairs": [dataclasses.asdict(p) for p in quality.pairs],
            "relationships": [dataclasses.asdict(r) for r in quality.relationships],
            "intertable_pairs": [dataclasses.asdict(p) for p in quality.intertable_pairs],
            "column_roles": {t: {c: r.sdtype or f"excluded: {r.reason}" for c, r in cols.items()}
                             for t, cols in quality.roles.items()},
        },
        "integrity": {
            "ok": report.integrity.ok,
            "orphans": dict(report.integrity.orphans),
            "orphan_total": report.integrity.orphan_total,
            "duplicates": dict(report.integrity.duplicates),
            "duplicate_total": report.integrity.duplicate_total,
        },
        "privacy": [dataclasses.asdict(p) for p in report.privacy],
        "privacy_checks": privacy_to_dict(report.privacy_checks),
        "efficacy": efficacy_to_dict(report.efficacy),
        "model": report.model,
        "notes": list(report.notes),
    }


def write_html(report: Report, path: Path) -> None:
    """One self-contained HTML file (plotly.js inlined once): it opens offline."""
    from dbsynth.report.html import render_html

    path = Path(path)
    if not path.parent.expanduser().resolve().is_dir():
        raise ConfigError(f"folder {str(path.parent)!r} for the report does not exist; create it first")
    path.write_text(render_html(report), encoding="utf-8")

