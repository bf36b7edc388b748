"""The Gaussian copula: monotone dependence, coarse columns, unordered columns, conditioning, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from dbsynth.models import create, from_state
from dbsynth.models.scoring import fidelity

N = 4000


def binned_normals(n: int, rho: float, states: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Correlated standard normals (pairwise `rho`), each cut into equal-mass ordinal states."""
    rng = np.random.default_rng(seed)
    d = len(states)
    cov = np.full((d, d), rho) + (1 - rho) * np.eye(d)
    z = rng.multivariate_normal(np.zeros(d), cov, n)
    cols = [np.searchsorted(np.quantile(z[:, j], np.linspace(0, 1, k + 1)[1:-1]), z[:, j])
            for j, k in enumerate(states)]
    return np.column_stack(cols).astype(np.int64)


def fitted(data: np.ndarray, cards, n_conditions: int = 0, seed: int = 1, **settings):
    gen = create("copula", **settings)
    gen.fit(data, cards, n_conditions, np.random.default_rng(seed))
    return gen


def test_copula_reproduces_a_strong_monotone_dependence_and_beats_independent():
    data = binned_normals(N, 0.85, (10, 8))
    source = spearmanr(data[:, 0], data[:, 1]).statistic
    assert source > 0.75
    holdout = binned_normals(N, 0.85, (10, 8), seed=1)
    out = fitted(data, [10, 8]).sample(N, np.random.default_rng(2))
    assert abs(spearmanr(out[:, 0], out[:, 1]).statistic - source) < 0.1
    independent = create("independent")
    independent.fit(data, [10, 8], 0, np.random.default_rng(1))
    baseline = independent.sample(N, np.random.default_rng(2))
    assert fidelity(holdout, out, [10, 8], 0) > fidelity(holdout, baseline, [10, 8], 0) + 0.1


def test_coarse_columns_keep_their_latent_correlation():
    # Two binary columns from normals correlated 0.9 agree 86% of the time; their
    # normal-scores correlation is only about 0.71, so an uncorrected copula agrees 79%.
    data = binned_normals(N, 0.9, (2, 2))
    share = float(np.mean(data[:, 0] == data[:, 1]))
    out = fitted(data, [2, 2], shrinkage=0.0).sample(N, np.random.default_rng(2))
    assert abs(float(np.mean(out[:, 0] == out[:, 1])) - share) < 0.02


def test_unordered_columns_are_ordered_by_frequency():
    # Column 0's states have decreasing mass along the latent axis, then are relabelled at
    # random: by index they look unrelated to column 1, by frequency the order returns.
    rng = np.random.default_rng(4)
    z = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], N)
    a = np.searchsorted(np.quantile(z[:, 0], [0.4, 0.7, 0.85, 0.95]), z[:, 0])
    b = np.searchsorted(np.quantile(z[:, 1], np.linspace(0, 1, 9)[1:-1]), z[:, 1])
    data = np.column_stack([np.array([3, 0, 4, 1, 2])[a], b])
    by_frequency = fitted(data, [5, 8], ordinal=[False, True]).sample(N, np.random.default_rng(2))
    by_index = fitted(data, [5, 8]).sample(N, np.random.default_rng(2))
    holdout = data[rng.permutation(N)]
    assert fidelity(holdout, by_frequency, [5, 8], 0) > fidelity(holdout, by_index, [5, 8], 0) + 0.05
    with pytest.raises(ValueError, match="ordinal"):
        fitted(data, [5, 8], ordinal=[True])


def test_copula_follows_the_evidence():
    data = binned_normals(N, 0.9, (6, 6))
    gen = fitted(data, [6, 6], n_conditions=1)
    evidence = np.random.default_rng(9).choice(6, size=(3000, 1), p=[0.6, 0.2, 0.05, 0.05, 0.05, 0.05])
    out = gen.sample(3000, np.random.default_rng(3), evidence)
    np.testing.assert_array_equal(out[:, :1], evidence)
    # rows given the lowest state stay low, as in the source
    source_low = float(np.mean(data[data[:, 0] == 0, 1] <= 1))
    assert source_low > 0.8
    assert abs(float(np.mean(out[evidence[:, 0] == 0, 1] <= 1)) - source_low) < 0.08
    # the generated marginal follows the skewed evidence, not the uniform training marginal
    assert float(np.mean(out[:, 1] <= 1)) > 0.55
    for state in range(6):  # each evidence state's conditional mean, as in the source
        given = out[evidence[:, 0] == state, 1].mean()
        assert abs(given - data[data[:, 0] == state, 1].mean()) < 0.35


def test_copula_handles_constant_and_unseen_states():
    rng = np.random.default_rng(0)
    data = np.column_stack([rng.integers(0, 3, 500), np.zeros(500, dtype=np.int64), rng.integers(0, 2, 500)])
    gen = fitted(data, [4, 1, 3], n_conditions=1)   # state 3 of the condition is never seen
    out = gen.sample(200, np.random.default_rng(1), np.full((200, 1), 3))
    assert (out[:, 1] == 0).all() and set(np.unique(out[:, 2])) <= {0, 1}


def test_copula_round_trips_through_json_and_is_deterministic():
    data = binned_normals(2000, 0.6, (5, 7, 3))
    gen = fitted(data, [5, 7, 3], n_conditions=1, ordinal=[True, False, True])
    evidence = data[:300, :1]
    again = from_state(json.loads(json.dumps(gen.to_state())))
    first = gen.sample(300, np.random.default_rng(5), evidence)
    np.testing.assert_array_equal(first, again.sample(300, np.random.default_rng(5), evidence))
    refit = fitted(data, [5, 7, 3], n_conditions=1, ordinal=[True, False, True])
    np.testing.assert_array_equal(first, refit.sample(300, np.random.default_rng(5), evidence))
