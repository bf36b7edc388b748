"""Generators in dbsynth.models: bayesnet against the independent baseline, conditioning, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbsynth.errors import ConfigError
from dbsynth.models import create, from_state, generator_names

GENERATORS = ["bayesnet", "independent"]
N = 4000


def dependent_pair(n: int, seed: int = 0, cards: int = 4, p_same: float = 0.9) -> np.ndarray:
    """Column a uniform over `cards` states; b = a with probability p_same, else another state."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, cards, n)
    other = (a + rng.integers(1, cards, n)) % cards  # never equal to a
    b = np.where(rng.random(n) < p_same, a, other)
    return np.column_stack([a, b]).astype(np.int64)


def fitted(name: str, data: np.ndarray, cards, n_conditions: int = 0, seed: int = 1):
    gen = create(name)
    gen.fit(data, cards, n_conditions, np.random.default_rng(seed))
    return gen


def test_registry_lists_builtins_and_rejects_unknown_names():
    assert {"bayesnet", "independent"} <= set(generator_names())
    with pytest.raises(ConfigError, match="nope"):
        create("nope")


def test_bayesnet_reproduces_a_dependence_that_independent_loses():
    data = dependent_pair(N)
    source_share = float(np.mean(data[:, 0] == data[:, 1]))
    assert 0.85 < source_share < 0.95

    bn = fitted("bayesnet", data, [4, 4]).sample(N, np.random.default_rng(2))
    ind = fitted("independent", data, [4, 4]).sample(N, np.random.default_rng(2))
    assert abs(float(np.mean(bn[:, 0] == bn[:, 1])) - source_share) < 0.05
    # independent columns agree about 1/4 of the time
    assert float(np.mean(ind[:, 0] == ind[:, 1])) < 0.35


def test_bayesnet_finds_the_edge_between_the_dependent_columns():
    rng = np.random.default_rng(5)
    pair = dependent_pair(N, seed=3)
    noise = rng.integers(0, 3, N)
    data = np.column_stack([noise, pair])  # column 0 is unrelated noise
    gen = fitted("bayesnet", data, [3, 4, 4])
    edges = set(gen.describe())
    assert edges & {"1 -> 2", "2 -> 1"}
    assert not any(e.startswith("0 ->") or e.endswith("-> 0") for e in edges)


@pytest.mark.parametrize("name", GENERATORS)
def test_first_n_conditions_columns_equal_the_evidence(name):
    data = dependent_pair(N)
    gen = fitted(name, data, [4, 4], n_conditions=1)
    evidence = np.random.default_rng(9).integers(0, 4, (500, 1))
    out = gen.sample(500, np.random.default_rng(3), evidence)
    assert out.shape == (500, 2)
    np.testing.assert_array_equal(out[:, :1], evidence)


def test_bayesnet_follows_the_evidence():
    data = dependent_pair(N)
    gen = fitted("bayesnet", data, [4, 4], n_conditions=1)
    # skewed evidence, unlike the uniform training column, so the marginal alone would not do
    evidence = np.random.default_rng(9).choice(4, size=(2000, 1), p=[0.7, 0.1, 0.1, 0.1])
    out = gen.sample(2000, np.random.default_rng(3), evidence)
    assert float(np.mean(out[:, 1] == evidence[:, 0])) > 0.85
    # the generated column's marginal follows the evidence's, not the training marginal
    assert float(np.mean(out[:, 1] == 0)) > 0.6


@pytest.mark.parametrize("name", GENERATORS)
def test_evidence_of_the_wrong_shape_is_refused(name):
    gen = fitted(name, dependent_pair(200), [4, 4], n_conditions=1)
    with pytest.raises(ValueError):
        gen.sample(10, np.random.default_rng(0), None)
    with pytest.raises(ValueError):
        gen.sample(10, np.random.default_rng(0), np.zeros((9, 1), dtype=np.int64))


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("n_conditions", [0, 1])
def test_state_round_trips_through_json_and_samples_identically(name, n_conditions):
    data = dependent_pair(1000)
    gen = fitted(name, data, [4, 4], n_conditions=n_conditions)
    state = gen.to_state()
    text = json.dumps(state)  # plain JSON data, no numpy objects
    restored = from_state(json.loads(text))
    assert type(restored) is type(gen)
    evidence = np.random.default_rng(4).integers(0, 4, (300, 1)) if n_conditions else None
    a = gen.sample(300, np.random.default_rng(11), evidence)
    b = restored.sample(300, np.random.default_rng(11), evidence)
    np.testing.assert_array_equal(a, b)
    assert json.dumps(restored.to_state()) == text


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_sample_other_seed_other_sample(name):
    gen = fitted(name, dependent_pair(1000), [4, 4])
    a = gen.sample(500, np.random.default_rng(7))
    b = gen.sample(500, np.random.default_rng(7))
    c = gen.sample(500, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fit_is_deterministic_for_a_seed():
    data = np.column_stack([dependent_pair(2000, seed=1), dependent_pair(2000, seed=2)])
    s1 = fitted("bayesnet", data, [4, 4, 4, 4], seed=5).to_state()
    s2 = fitted("bayesnet", data, [4, 4, 4, 4], seed=5).to_state()
    assert s1 == s2


@pytest.mark.parametrize("name", GENERATORS)
def test_single_column_marginal_is_reproduced(name):
    p = np.array([0.5, 0.3, 0.15, 0.05, 0.0])  # state 4 never occurs
    data = np.random.default_rng(0).choice(5, size=(10_000, 1), p=p)
    source = np.bincount(data[:, 0], minlength=5) / len(data)
    out = fitted(name, data, [5]).sample(10_000, np.random.default_rng(1))
    synth = np.bincount(out[:, 0], minlength=5) / len(out)
    assert np.abs(synth - source).max() < 0.02
    assert synth[4] == 0.0


@settings(max_examples=40, deadline=None)
@given(
    cards=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    n_rows=st.integers(1, 60),
    n_conditions=st.integers(0, 4),
    name=st.sampled_from(GENERATORS),
    seed=st.integers(0, 2**16),
)
def test_samples_are_valid_states_for_any_data(cards, n_rows, n_conditions, name, seed):
    n_conditions = min(n_conditions, len(cards))
    rng = np.random.default_rng(seed)
    data = np.column_stack([rng.integers(0, c, n_rows) for c in cards]).astype(np.int64)
    gen = fitted(name, data, cards, n_conditions=n_conditions, seed=seed)
    evidence = data[:, :n_conditions] if n_conditions else None
    out = gen.sample(n_rows, np.random.default_rng(seed + 1), evidence)
    assert out.shape == (n_rows, len(cards))
    assert out.dtype == np.int64
    for j, c in enumerate(cards):
        assert out[:, j].min() >= 0 and out[:, j].max() < c
    np.testing.assert_array_equal(out[:, :n_conditions], data[:, :n_conditions])
    # states never seen in a generated column are never produced (bayesnet backs off to the marginal)
    if name == "bayesnet":
        for j in range(n_conditions, len(cards)):
            assert set(out[:, j].tolist()) <= set(data[:, j].tolist())
