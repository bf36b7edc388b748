"""Auto-tuning: per table, pick the generator and settings that score best on a holdout.

Rows are split once into train and holdout. Each candidate is fitted on train,
asked for rows given the holdout's own conditioning columns as evidence, and
scored with `dbsynth.models.scoring.fidelity`. The best (earliest on ties, so
the default wins a draw) is refitted on all rows.

A small holdout's evidence is repeated until at least ``SCORE_ROWS`` rows are
sampled: the holdout's own sampling noise is the same for every candidate, but
the synthetic side's is not, and with 70 synthetic rows it swamped the
difference between models (two identical Bayesian networks scored 0.82 and
0.74 on Chinook's artist table).

Budget: spent in *estimated* seconds (a cost model per candidate from rows and
columns, calibrated on a 2-core machine), never in wall time, so that the same
seed picks the same models on a fast or a busy machine: `--seed` promises the
same output. A candidate starts only if its estimate fits what is left (the
first always runs, so there is a score); the skipped are recorded, and the
real seconds are measured and reported. The neural model trains for a fixed
number of epochs with early stopping on a validation split; its wall-clock
cap is only a safety net (logged when it binds); the GAN stops early on a
holdout score, with its cap likewise a safety net. The refit of the winner is
outside the budget.

A challenger replaces the default only when it beats it by ``MIN_GAIN``: on
small tables the candidates' scores differ by less than the holdout's noise.

Determinism: the split and every candidate's fit and sample seeds are drawn from
`rng` up front, so a candidate's score does not depend on which others ran.

Large tables: candidates are fitted on at most ``TUNE_ROWS`` train rows and
scored on at most ``SCORE_HOLD_ROWS`` holdout rows (the first ones of the
already shuffled split, so no extra random draws). The ranking of models
settles long before that (the holdout's noise at 20,000 rows is far below
``MIN_GAIN``), while fitting and sampling every candidate on all rows of a
million-row table cost minutes. Estimated seconds are taken at the capped size,
so the budget stays a pure function of the table's shape. The winner's refit
still sees every row.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from dbsynth.models import Generator, create
from dbsynth.models.gan import TIME_BUDGET as GAN_TIME_BUDGET
from dbsynth.models.neural import TIME_BUDGET as NEURAL_TIME_BUDGET
from dbsynth.models.scoring import fidelity
from dbsynth.models.torch_support import with_device

log = logging.getLogger(__name__)

MIN_GAIN = 0.002
MIN_HOLDOUT_ROWS = 50
# Below this the torch models have never won on our benchmarks (TPC-H part, partsupp; Chinook track,
# invoice_line: 2,000-8,000 rows, always bayesnet) and trying them costs more than the rest of a small
# clone (importing torch alone takes ~9 s); a table this big amortises it.
MIN_NEURAL_ROWS = 10_000
SCORE_ROWS = 10_000
TUNE_ROWS = 50_000        # train rows a candidate is fitted on, at most
SCORE_HOLD_ROWS = 20_000  # holdout rows a candidate is scored on, at most
DEFAULT = ("bayesnet", {})
DEFAULT_CANDIDATES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("bayesnet", {"max_parents": 2}),
    ("copula", {}),
    ("bayesnet", {"max_parents": 1}),
    ("bayesnet", {"max_parents": 3}),
    ("independent", {}),
    ("neural", {}),
    ("gan", {}),
)


@dataclass
class TuningResult:
    generator: Generator              # the winner, fitted on all rows
    name: str
    settings: dict[str, Any]
    score: float                      # holdout fidelity; nan when tuning was skipped
    trials: list[dict[str, Any]] = field(default_factory=list)


def choose_generator(data: np.ndarray, cardinalities: Sequence[int], n_conditions: int,
                     rng: np.random.Generator, *,
                     candidates: Sequence[tuple[str, dict[str, Any]]] | None = None,
                     budget_seconds: float = 10.0, holdout: float = 0.25, device: str = "auto") -> TuningResult:
    """Fit candidates on a train split, score them on the holdout, refit the best on all rows.

    `device` goes to the torch candidates (neural, gan) only, and is not recorded in their settings.
    """
    started = time.perf_counter()
    data = np.asarray(data, dtype=np.int64)
    candidates = list(DEFAULT_CANDIDATES if candidates is None else candidates)
    n_hold = int(round(len(data) * holdout))
    if n_hold < MIN_HOLDOUT_ROWS or len(data) - n_hold < 1:
        name, settings = DEFAULT
        generator = _fit(name, settings, data, cardinalities, n_conditions, rng, device)
        trial = {"name": name, "settings": settings, "skipped": f"{len(data)} rows: too few to tune"}
        return TuningResult(generator, name, dict(settings), math.nan, [trial])

    order = rng.permutation(len(data))
    # Both sides are random rows already (a permutation): their heads are random samples.
    hold, train = data[order[:min(n_hold, SCORE_HOLD_ROWS)]], data[order[n_hold:][:TUNE_ROWS]]
    seeds = rng.integers(2**63, size=(len(candidates), 2))
    refit_seed = int(rng.integers(2**63))
    evidence = np.tile(hold[:, :n_conditions], (-(-SCORE_ROWS // len(hold)), 1))
    trials: list[dict[str, Any]] = []
    spent = 0.0
    for (name, settings), (fit_seed, sample_seed) in zip(candidates, seeds):
        trial: dict[str, Any] = {"name": name, "settings": dict(settings)}
        trials.append(trial)
        if name in ("neural", "gan") and len(data) < MIN_NEURAL_ROWS:
            trial["skipped"] = f"{len(data)} rows: {name} needs {MIN_NEURAL_ROWS}"
            continue
        cost = estimated_seconds(name, settings, len(train), data.shape[1])
        if spent + cost > budget_seconds and any("score" in t for t in trials):
            trial["skipped"] = f"budget: needs ~{cost:.1f}s of the {budget_seconds - spent:.1f}s left"
            continue
        spent += cost
        if name == "neural":  # a safety net only: epochs and early stopping decide, not the clock
            settings = {**settings, "time_budget": max(NEURAL_TIME_BUDGET, 10 * cost)}
        if name == "gan":     # likewise: early stopping and max_steps decide
            settings = {**settings, "time_budget": max(GAN_TIME_BUDGET, 10 * cost)}
        try:
            t0 = time.perf_counter()
            generator = _fit(name, settings, train, cardinalities, n_conditions,
                             np.random.default_rng(int(fit_seed)), device)
            t1 = time.perf_counter()
            synthetic = generator.sample(len(evidence), np.random.default_rng(int(sample_seed)), evidence)
            t2 = time.perf_counter()
        except (ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
            trial["skipped"] = f"failed: {exc}"
            log.warning("tuning: %s %s failed: %s", name, settings, exc)
            continue
        trial.update(score=fidelity(hold, synthetic, cardinalities, n_conditions),
                     fit_rows=len(train), scored_rows=len(hold),
                     fit_seconds=round(t1 - t0, 4), sample_seconds=round(t2 - t1, 4))

    scored = [t for t in trials if "score" in t]
    if not scored:  # every candidate failed: fall back to the default untuned
        name, settings = DEFAULT
        generator = _fit(name, settings, data, cardinalities, n_conditions, np.random.default_rng(refit_seed),
                         device)
        return TuningResult(generator, name, dict(settings), math.nan, trials)
    default = scored[0]
    best = max(scored, key=lambda t: t["score"])  # max keeps the first of equals
    if best is not default and best["score"] < default["score"] + MIN_GAIN:
        best = default
    log.info("tuning: %s %s wins with %.4f", best["name"], best["settings"], best["score"])
    generator = _fit(best["name"], best["settings"], data, cardinalities, n_conditions,
                     np.random.default_rng(refit_seed), device)
    return TuningResult(generator, best["name"], dict(best["settings"]), float(best["score"]), trials)


def estimated_seconds(name: str, settings: dict[str, Any], rows: int, columns: int) -> float:
    """Seconds a candidate is expected to take to fit and sample (2 cores), from its size alone.

    Calibrated on Chinook's track table (3,500 x 10): bayesnet(2) 0.13 s, copula
    0.02 s, neural about 4 s. Structure search grows with columns squared. The GAN
    stops early on a holdout score, typically within 1,000 steps (one critic and
    one generator update each, about 20-30 ms of CPU at a batch of 200 and 6-10
    columns), so ~30 s: under the default budget of 10 it runs only when asked
    for or with a larger --tune-budget.
    """
    scored_rows = min(rows, 20_000)
    if name == "bayesnet":
        return 1e-7 * scored_rows * columns**2 * max(int(settings.get("max_parents", 2)), 1) + 0.01
    if name == "copula":
        return 5e-7 * rows * columns + 0.01
    if name == "neural":
        return 1e-4 * rows * columns + 1.0
    if name == "gan":   # early stopping on a holdout ends most runs by ~1,000 steps (max_steps: 3,000)
        steps = min(int(settings.get("max_steps", 3000)), 1000)
        return steps * (0.01 + 0.002 * columns) + 1.0
    return 1e-8 * rows * columns + 0.001


def _fit(name: str, settings: dict[str, Any], data: np.ndarray, cardinalities: Sequence[int],
         n_conditions: int, rng: np.random.Generator, device: str = "auto") -> Generator:
    generator = create(name, **with_device(name, settings, device))
    generator.fit(data, cardinalities, n_conditions, rng)
    return generator
