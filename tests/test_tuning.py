"""Auto-tuning: picks a better model than the baseline, respects its budget, records and repeats itself."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dbsynth.models.scoring import fidelity, fidelity_parts
from dbsynth.tuning import MIN_GAIN, DEFAULT_CANDIDATES, choose_generator

FAST = [("bayesnet", {"max_parents": 2}), ("copula", {}), ("bayesnet", {"max_parents": 1}), ("independent", {})]


def dependent(n: int, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """A condition column p, then a = p most of the time, b = a most of the time, c noise."""
    rng = np.random.default_rng(seed)
    p = rng.integers(0, 4, n)
    a = np.where(rng.random(n) < 0.8, p, rng.integers(0, 4, n))
    b = np.where(rng.random(n) < 0.85, a, rng.integers(0, 4, n))
    c = rng.integers(0, 3, n)
    return np.column_stack([p, a, b, c]).astype(np.int64), [4, 4, 4, 3]


def test_tuning_beats_independent_on_dependent_data_and_records_trials():
    data, cards = dependent(2000)
    result = choose_generator(data, cards, 1, np.random.default_rng(0), candidates=FAST, budget_seconds=60)
    assert result.name != "independent"
    assert [(t["name"], t["settings"]) for t in result.trials] == FAST
    for trial in result.trials:
        assert {"score", "fit_seconds", "sample_seconds"} <= set(trial) and 0 <= trial["score"] <= 1
    baseline = next(t["score"] for t in result.trials if t["name"] == "independent")
    best = max(t["score"] for t in result.trials)
    assert best - MIN_GAIN <= result.score <= best   # the default keeps its place unless clearly beaten
    assert result.score > baseline + 0.05
    # the winner was refitted and respects evidence
    evidence = dependent(500, seed=3)[0][:, :1]
    out = result.generator.sample(500, np.random.default_rng(1), evidence)
    np.testing.assert_array_equal(out[:, :1], evidence)
    assert float(np.mean(out[:, 1] == evidence[:, 0])) > 0.7


def test_tuning_is_deterministic_given_the_rng():
    data, cards = dependent(1000)
    one, two = (choose_generator(data, cards, 1, np.random.default_rng(7), candidates=FAST, budget_seconds=60)
                for _ in range(2))
    assert (one.name, one.settings, one.score) == (two.name, two.settings, two.score)
    assert [t["score"] for t in one.trials] == [t["score"] for t in two.trials]
    evidence = data[:300, :1]
    np.testing.assert_array_equal(one.generator.sample(300, np.random.default_rng(2), evidence),
                                  two.generator.sample(300, np.random.default_rng(2), evidence))


def test_large_tables_tune_on_capped_samples(monkeypatch):
    import dbsynth.tuning as tuning

    monkeypatch.setattr(tuning, "TUNE_ROWS", 600)
    monkeypatch.setattr(tuning, "SCORE_HOLD_ROWS", 300)
    data, cards = dependent(4000)
    result = choose_generator(data, cards, 1, np.random.default_rng(0), candidates=FAST, budget_seconds=60)
    assert {(t["fit_rows"], t["scored_rows"]) for t in result.trials} == {(600, 300)}
    assert result.name != "independent"
    baseline = next(t["score"] for t in result.trials if t["name"] == "independent")
    assert result.score > baseline + 0.05
    again = choose_generator(data, cards, 1, np.random.default_rng(0), candidates=FAST, budget_seconds=60)
    assert [t["score"] for t in again.trials] == [t["score"] for t in result.trials]


def test_a_tiny_budget_tries_fewer_candidates():
    data, cards = dependent(1000)
    result = choose_generator(data, cards, 1, np.random.default_rng(0), candidates=FAST, budget_seconds=1e-6)
    ran = [t for t in result.trials if "score" in t]
    assert len(ran) == 1 and ran[0]["name"] == "bayesnet"   # the first always runs
    assert all(t["skipped"].startswith("budget: needs") for t in result.trials[1:])
    assert len(result.trials) == 4
    assert result.name == "bayesnet" and not math.isnan(result.score)


def test_small_tables_skip_tuning_and_neural_needs_rows():
    data, cards = dependent(120)
    result = choose_generator(data, cards, 1, np.random.default_rng(0))
    assert result.name == "bayesnet" and math.isnan(result.score)
    assert "too few" in result.trials[0]["skipped"]
    # 400 rows: tuned, but the neural candidate is skipped
    data, cards = dependent(400)
    result = choose_generator(data, cards, 1, np.random.default_rng(0), budget_seconds=60)
    assert [(t["name"], t["settings"]) for t in result.trials] == list(DEFAULT_CANDIDATES)
    neural = next(t for t in result.trials if t["name"] == "neural")
    assert "neural needs" in neural["skipped"]


def test_fidelity_is_one_for_identical_data_and_lower_for_broken_pairs():
    data, cards = dependent(3000)
    assert fidelity(data, data, cards, 1) == pytest.approx(1.0)
    shuffled = data.copy()
    for j in range(1, 4):  # same marginals, no dependence left
        shuffled[:, j] = np.random.default_rng(j).permutation(shuffled[:, j])
    parts = fidelity_parts(data, shuffled, cards, 1)
    assert parts.columns == pytest.approx(1.0)
    assert parts.pairs < 0.85
    assert 0.0 <= fidelity(data, np.zeros_like(data), cards, 1) < 0.5


def test_fidelity_coarsens_wide_columns_for_pairs():
    rng = np.random.default_rng(0)
    wide, again = (np.column_stack([rng.integers(0, 300, n), rng.integers(0, 300, n)]) for n in (2000, 2000))
    # two samples of one independent distribution: coarsened, the pair looks alike
    # (cell by cell, 90,000 cells for 2,000 rows, it would score below 0.1), and
    # smaller holdouts are coarsened further so their score stays as steady
    assert fidelity_parts(wide, again, [300, 300], 0).pairs > 0.75
    assert fidelity_parts(wide[:200], again[:200], [300, 300], 0).pairs > 0.75
    # and a dependence between the wide columns still shows
    copy = np.column_stack([wide[:, 0], wide[:, 0]])
    assert fidelity_parts(copy, again, [300, 300], 0).pairs < 0.3
