"""The command line: a thin shell over dbsynth's Python API.

This is the one place where errors become exit codes: a DbsynthError prints
one line and exits non-zero; anything else is a bug, reported in one line
too unless --debug asks for the traceback.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from dbsynth import __version__
from dbsynth.api import MAX_TRAIN_ROWS, CloneResult
from dbsynth.api import clone as clone_database
from dbsynth.api import compare as compare_schemas
from dbsynth.api import generate as generate_database
from dbsynth.api import inspect as inspect_database
from dbsynth.api import refresh as refresh_target
from dbsynth.api import train as train_model
from dbsynth.cli_render import RichProgress, render_inspection, render_table
from dbsynth.cli_warnings import folded
from dbsynth.errors import ConfigError, DbsynthError
from dbsynth.inspection import inspection_to_dict

MODEL_HELP = ("Generator for every table: auto (auto-tuning picks per table on a holdout), bayesnet, copula, "
              "neural (VAE), gan or independent. [default: auto]")
CONFIG_HELP = ("TOML file with every option and per-table / per-column rules (copy, skip, where, fake, null, "
               "hash, ...); see docs/config.md. Flags given on the command line win.")

# Options shared by clone / train / generate: declared once. None means "not given", so a --config
# file can supply the value and a flag on the command line still wins.
Seed = Annotated[Optional[int], typer.Option("--seed", help="Same seed, same output. [default: 0]")]
Scale = Annotated[Optional[float], typer.Option("--scale", help="Multiply root-table rows; children follow. "
                                                                "[default: 1]")]
IfExists = Annotated[Optional[str], typer.Option(
    "--if-exists", help="When the target already has the tables: refuse, replace (drop and recreate) or truncate "
                        "(keep the target's schema, e.g. from your migrations, and replace its rows; PostgreSQL "
                        "materialized views over them are refreshed and the target's own triggers on them do not "
                        "fire for the load). "
                        "[default: refuse]")]
Model = Annotated[Optional[str], typer.Option("--model", help=MODEL_HELP)]
ConfigFile = Annotated[Optional[Path], typer.Option("--config", help=CONFIG_HELP)]
TuneBudget = Annotated[Optional[float], typer.Option(
    "--tune-budget", metavar="SECONDS",
    help="Auto-tuning's budget per table, in estimated seconds (deterministic: not the clock). [default: 10]")]
Jobs = Annotated[Optional[int], typer.Option("--jobs", min=1, help="Processes sampling partitions in parallel. "
                                                                   "[default: 1]")]
Rebalance = Annotated[Optional[list[str]], typer.Option(
    "--rebalance", metavar="[SCHEMA.]TABLE.COLUMN[=uniform|VALUE:SHARE,...]",
    help="Generate TABLE (schema.table outside the default schema) with these class shares of COLUMN (children "
         "follow their parents); repeatable.")]
Dask = Annotated[Optional[str], typer.Option(
    "--dask", metavar="ADDRESS|local",
    help="Run partitions as Dask tasks on this scheduler (local: a LocalCluster of --jobs workers); each worker "
         "writes its partitions straight to a PostgreSQL or MariaDB target, which the workers must reach. A SQLite "
         "target takes one writer: the workers sample and this process writes.")]
Epsilon = Annotated[Optional[float], typer.Option(
    "--epsilon", help="Differential privacy: total epsilon for everything learned (PrivBayes network, noisy "
                      "child counts, DP-SGD).")]
Delta = Annotated[Optional[float], typer.Option("--delta", help="Differential privacy: delta (with --epsilon). "
                                                                "[default: 1e-6]")]
MaxTrainRows = Annotated[Optional[int], typer.Option(
    "--max-train-rows", min=100,
    help=f"Fit on whole subtrees of a share of root rows so that no table exceeds about this many rows; a "
         f"source with a larger table is read as that sample, never whole. [default: {MAX_TRAIN_ROWS:,}]")]

Schemas = Annotated[Optional[str], typer.Option(
    "--schemas", metavar="SCHEMA,...",
    help="PostgreSQL sources: read only these schemas (comma-separated). [default: every schema but system ones "
         "and those extensions own]")]

Device = Annotated[Optional[str], typer.Option(
    "--device", metavar="auto|cpu|cuda",
    help="Where the torch models (neural, gan) train and sample: auto takes a GPU when torch sees one. "
         "[default: auto]")]


app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Clone a relational database into a synthetic twin: same schema, same statistical shape, "
         "perfect referential integrity, not one real row.",
)
_state: dict[str, Any] = {"debug": False, "quiet": False}
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dbsynth {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks, debug logs and every warning (alike ones are folded otherwise)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars, only results and errors."),
    version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                           help="Print the version and exit."),
) -> None:
    _state.update(debug=debug, quiet=quiet)
    _log_to_terminal(logging.DEBUG if debug else logging.WARNING)


def _log_to_terminal(level: int) -> None:
    """Show records of `level` and above on stderr.

    The level sits on the handler, not only on the root logger: libraries that set their own
    loggers' levels (distributed logs at INFO) would otherwise reach the terminal through it.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if h.get_name() == "dbsynth-terminal"]
    if not root.handlers:   # as logging.basicConfig: an embedding application's handlers are left alone
        ours = [logging.StreamHandler()]
        ours[0].set_name("dbsynth-terminal")
        ours[0].setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        root.addHandler(ours[0])
    if ours:
        root.setLevel(level)
        ours[0].setLevel(level)


@app.command()
def inspect(
    source: str = typer.Argument(..., metavar="SOURCE_URL", help="SQLAlchemy URL or SQLite file path."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
    table: Optional[str] = typer.Option(None, "--table", help="Show one table's columns (type and what dbsynth does with each), "
                                                   "indexes (kind and key) and exclusion constraints."),
    config: Optional[Path] = typer.Option(None, "--config", help="Show what this TOML config would do."),
    compare: Optional[str] = typer.Option(None, "--compare", metavar="TARGET_URL",
                                          help="List how TARGET_URL's schema differs from SOURCE_URL's (drift) in every "
                                               "schema, or those of --schemas; exit code 3 when they differ."),
    suggest_fks: bool = typer.Option(False, "--suggest-fks",
                                     help="Suggest foreign keys the schema does not declare (from names and value "
                                          "containment) as [[foreign_keys]] TOML to paste into --config."),
    schemas: Schemas = None,
) -> None:
    """Show the source's tables in dependency order: rows, keys, FK graph, personal data; then its functions,
    triggers and free sequences."""
    if suggest_fks:
        from dbsynth.config import Config, load_config
        from dbsynth.suggest import suggest_for_source, to_toml

        cfg = _run(lambda: (load_config(config) if config else Config.default()).merged_with_cli(schemas=schemas)) \
            if config or schemas else None  # keys it declares are not suggested again; its schemas are read
        found = _run(lambda: suggest_for_source(source, config=cfg))
        if as_json:
            typer.echo(json.dumps([dataclasses.asdict(s) for s in found], indent=2))
        else:
            typer.echo(to_toml(found) or "# no undeclared foreign keys found\n", nl=False)
        return
    if compare is not None:
        differences = _run(lambda: compare_schemas(source, compare, config=config, schemas=schemas))
        if as_json:
            typer.echo(json.dumps({"differences": differences}, indent=2))
        else:
            typer.echo("\n".join(differences) if differences else "the schemas match")
        raise typer.Exit(3 if differences else 0)
    result = _run(lambda: inspect_database(source, config=config, schemas=schemas))
    if table is not None:
        _run(lambda: result.require_table(table))
        render_table(Console(highlight=False), result, table)
    elif as_json:
        typer.echo(json.dumps(inspection_to_dict(result), indent=2, default=str))
    else:
        render_inspection(Console(highlight=False), result)


@app.command()
def clone(
    source: str = typer.Argument(..., metavar="SOURCE_URL", help="Database to learn from (opened read-only)."),
    target: str = typer.Argument(..., metavar="TARGET_URL", help="Database to write (tables are created)."),
    seed: Seed = None,
    scale: Scale = None,
    if_exists: IfExists = None,
    model: Model = None,
    config: ConfigFile = None,
    tune_budget: TuneBudget = None,
    jobs: Jobs = None,
    rebalance: Rebalance = None,
    dask: Dask = None,
    epsilon: Epsilon = None,
    delta: Delta = None,
    max_train_rows: MaxTrainRows = None,
    device: Device = None,
    schemas: Schemas = None,
) -> None:
    """Clone SOURCE_URL into TARGET_URL as synthetic data."""
    progress = RichProgress(err, enabled=not _state["quiet"] and err.is_terminal)
    result = _run(lambda: clone_database(source, target, config=config, seed=seed, scale=scale,
                                         if_exists=if_exists, model=model, max_train_rows=max_train_rows,
                                         tune_budget=tune_budget, epsilon=epsilon, delta=delta, jobs=jobs,
                                         dask=dask, rebalance=rebalance or (), device=device, schemas=schemas,
                                         progress=progress))
    _summarise(result, "cloned")


@app.command()
def train(
    source: str = typer.Argument(..., metavar="SOURCE_URL", help="Database to learn from (opened read-only)."),
    output: Path = typer.Option(..., "--output", "-o", metavar="MODEL_PATH",
                                help="Model file to write (JSON in a zip; holds no source rows)."),
    seed: Seed = None,
    model: Model = None,
    config: ConfigFile = None,
    tune_budget: TuneBudget = None,
    epsilon: Epsilon = None,
    delta: Delta = None,
    max_train_rows: MaxTrainRows = None,
    device: Device = None,
    schemas: Schemas = None,
) -> None:
    """Fit generators on SOURCE_URL and save them, to generate many times without the source."""
    progress = RichProgress(err, enabled=not _state["quiet"] and err.is_terminal)
    result = _run(lambda: train_model(source, output, config=config, seed=seed, model=model,
                                              max_train_rows=max_train_rows, tune_budget=tune_budget,
                                              epsilon=epsilon, delta=delta, device=device, schemas=schemas,
                                              progress=progress))
    _print_notes(result.notes)
    for line in result.privacy:
        typer.echo(f"privacy: {line}")
    _print_warnings(result.warnings)
    _print_models(result.tables)
    size = result.path.stat().st_size
    typer.echo(f"trained {len(result.tables)} tables on {sum(result.source_rows.values()):,} rows in "
               f"{result.seconds:.1f}s: {result.path} ({size / 1e6:.1f} MB)")


@app.command()
def generate(
    model_path: Path = typer.Argument(..., metavar="MODEL_PATH", help="A model file from `dbsynth train`."),
    target: str = typer.Argument(..., metavar="TARGET_URL", help="Database to write (tables are created)."),
    seed: Seed = None,
    scale: Scale = None,
    if_exists: IfExists = None,
    config: Optional[Path] = typer.Option(None, "--config", help="TOML config: seed, scale, if_exists are used."),
    jobs: Jobs = None,
    rebalance: Rebalance = None,
    dask: Dask = None,
    device: Device = None,
) -> None:
    """Write a synthetic database from a model file; the source database is not needed."""
    progress = RichProgress(err, enabled=not _state["quiet"] and err.is_terminal)
    result = _run(lambda: generate_database(model_path, target, config=config, seed=seed, scale=scale,
                                            if_exists=if_exists, jobs=jobs, dask=dask,
                                            rebalance=rebalance or (), device=device, progress=progress))
    _summarise(result, "generated")


@app.command()
def refresh(
    model_or_source: str = typer.Argument(..., metavar="MODEL_OR_SOURCE",
                                          help="A model file from `dbsynth train`, or a source database URL "
                                               "(opened read-only; retrained from only when it drifted)."),
    target: str = typer.Argument(..., metavar="TARGET_URL",
                                 help="Database to regenerate; readers see the old data or the new, never a mix."),
    model_file: Optional[Path] = typer.Option(
        None, "--model-file", metavar="MODEL_PATH",
        help="With a source: where the trained model and the source's fingerprint are cached. "
             "[default: one per source and target under ~/.cache/dbsynth]"),
    drift_threshold: Optional[float] = typer.Option(
        None, "--drift-threshold", metavar="SHARE",
        help="With a source: retrain when a table's rows or a column's NULL share, mean or distinct count moved "
             "more than this share (or the schema or training options changed). [default: 0.05]"),
    retrain: bool = typer.Option(False, "--retrain", help="With a source: retrain even if it did not drift."),
    seed: Seed = None,
    scale: Scale = None,
    model: Model = None,
    config: ConfigFile = None,
    tune_budget: TuneBudget = None,
    jobs: Jobs = None,
    rebalance: Rebalance = None,
    dask: Dask = None,
    epsilon: Epsilon = None,
    delta: Delta = None,
    max_train_rows: MaxTrainRows = None,
    device: Device = None,
    schemas: Schemas = None,
    quiet: bool = typer.Option(False, "--quiet", "-q",
                               help="Print nothing unless it fails (for cron). Exit codes: 0 refreshed, 1 failed "
                                    "(the target is unchanged), 2 bad options, 75 another refresh of the target "
                                    "is running."),
) -> None:
    """Regenerate TARGET_URL atomically from a model, or from a source (retraining only when it drifted)."""
    quiet = quiet or _state["quiet"]
    progress = RichProgress(err, enabled=not quiet and err.is_terminal)
    result = _run(lambda: refresh_target(model_or_source, target, model_file=model_file,
                                         drift_threshold=drift_threshold, retrain=retrain, config=config, seed=seed,
                                         scale=scale, model=model, max_train_rows=max_train_rows,
                                         tune_budget=tune_budget, epsilon=epsilon, delta=delta, jobs=jobs,
                                         dask=dask, rebalance=rebalance or (), device=device,
                                         schemas=schemas, progress=progress))
    if quiet:
        return
    typer.echo(result.decision)
    if result.retrained:
        _print_models(result.models)
    _summarise(result, "refreshed")


@app.command()
def report(
    source: str = typer.Argument(..., metavar="SOURCE_URL", help="The database that was cloned (read-only)."),
    target: str = typer.Argument(..., metavar="TARGET_URL", help="The synthetic copy (read-only)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="report.html",
                                          help="Write a self-contained HTML report (opens offline)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout."),
    max_rows: int = typer.Option(20_000, "--max-rows", min=100,
                                 help="Score at most this many rows a table (whole subtrees are sampled)."),
    model_file: Optional[Path] = typer.Option(None, "--model-file", metavar="MODEL_PATH",
                                              help="The model file the copy came from: adds its generators and "
                                                   "differential-privacy budget to the report."),
    target_column: Optional[str] = typer.Option(None, "--target", metavar="TABLE.COLUMN",
                                                help="Column for machine-learning efficacy (a model trained on "
                                                     "synthetic rows, tested on real ones); guessed when absent."),
) -> None:
    """Quality (sdmetrics), integrity and privacy of a synthetic copy against its source."""
    from dbsynth.report import build_report, report_to_dict, write_html  # sdmetrics is slow to import

    if output is None and not as_json:
        err.print("error: give -o report.html, --json, or both")
        raise typer.Exit(ConfigError.exit_code)
    progress = RichProgress(err, enabled=not _state["quiet"] and err.is_terminal)
    result = _run(lambda: build_report(source, target, max_rows=max_rows, progress=progress,
                                       efficacy_target=target_column,
                                       model_path=str(model_file) if model_file else None))
    if output is not None:
        _run(lambda: write_html(result, output))
    if as_json:
        typer.echo(json.dumps(report_to_dict(result), indent=2))
    else:
        props = ", ".join(f"{name} {score:.2f}" for name, score in result.quality.properties.items())
        verdict = "0 orphans, 0 duplicate keys" if result.integrity.ok else "INTEGRITY PROBLEMS (see report)"
        review = [c.table for c in result.privacy_checks if c.verdict != "ok"]
        privacy = "privacy ok" if not review else f"privacy: review {', '.join(review)}"
        typer.echo(f"quality {result.quality.overall:.2f} ({props}); {verdict}; {privacy}; report: {output}")
        for e in result.efficacy:
            typer.echo(f"ML efficacy {e.table}.{e.column} ({e.metric}): trained on synthetic {e.tstr:.2f}, "
                       f"on real {e.trtr:.2f}, baseline {e.baseline:.2f}")


def _print_models(models: dict[str, str]) -> None:
    if not _state["quiet"]:
        width = max((len(n) for n in models), default=0)
        for table, choice in models.items():
            typer.echo(f"  {table:<{width}}  {choice}")


def _print_notes(notes: list[str]) -> None:
    if not _state["quiet"]:
        for note in notes:
            err.print(f"note: {note}", markup=False)


def _print_warnings(warnings: list[str]) -> None:
    """Every warning with --debug; otherwise those alike but for their object folded into one line."""
    for warning in warnings if _state["debug"] else folded(warnings):
        err.print(f"warning: {warning}", markup=False)


def _summarise(result: CloneResult, verb: str) -> None:
    _print_notes(result.notes)
    _print_warnings(result.warnings)
    if verb == "cloned":
        _print_models(result.models)
    for line in result.privacy:
        typer.echo(f"privacy: {line}")
    for column, shares in result.shares.items():
        typer.echo(f"rebalanced {column}: " + ", ".join(f"{v} {s:.1%}" for v, s in shares.items()))
    source_total = sum(result.source_rows.values())
    typer.echo(
        f"{verb} {len(result.rows)} tables: {result.total_rows:,} rows written "
        f"(source {source_total:,}) in {result.seconds:.1f}s"
        + (f" by {len(result.writers)} Dask worker{'s' if len(result.writers) != 1 else ''}" if result.writers else "")
    )


def _run(action):  # type: ignore[no-untyped-def]
    try:
        return action()
    except DbsynthError as exc:
        if _state["debug"]:
            raise
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug: still one line, unless --debug
        if _state["debug"]:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        err.print(f"internal error: {type(exc).__name__}: {first} (rerun with --debug for details)", markup=False)
        raise typer.Exit(70) from None


def run() -> None:
    """Console-script entry point."""
    app(prog_name="dbsynth")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
