"""The conditional VAE: planted dependence, evidence, JSON persistence, determinism, side effects."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from dbsynth.models import create, from_state
from dbsynth.models.scoring import fidelity_parts

CARDS = [4, 4, 5, 3]


def planted(n: int, seed: int = 0) -> np.ndarray:
    """b copies a 85% of the time, c = b + 1 80% of the time, d is noise."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, n)
    b = np.where(rng.random(n) < 0.85, a, rng.integers(0, 4, n))
    c = np.where(rng.random(n) < 0.8, b + 1, rng.integers(0, 5, n))
    d = rng.integers(0, 3, n)
    return np.column_stack([a, b, c, d]).astype(np.int64)


def fitted(name: str, data: np.ndarray, n_conditions: int = 0, seed: int = 1, **settings):
    gen = create(name, **settings)
    gen.fit(data, CARDS, n_conditions, np.random.default_rng(seed))
    return gen


@pytest.fixture(scope="module")
def conditioned():
    """One model with column a as its condition, shared: training is the slow part."""
    return fitted("neural", planted(3000), n_conditions=1, epochs=60, time_budget=60)


def test_neural_learns_a_planted_dependence_that_independent_loses(conditioned):
    data, holdout = planted(3000), planted(3000, seed=1)
    evidence = holdout[:, :1]
    neural = conditioned.sample(3000, np.random.default_rng(2), evidence)
    baseline = fitted("independent", data, n_conditions=1).sample(3000, np.random.default_rng(2), evidence)
    got, floor = fidelity_parts(holdout, neural, CARDS, 1), fidelity_parts(holdout, baseline, CARDS, 1)
    assert got.pairs > floor.pairs + 0.1
    assert got.columns > 0.93
    # c = b + 1 links two generated columns: only the latent z can carry that
    source = float(np.mean(holdout[:, 2] == holdout[:, 1] + 1))
    assert abs(float(np.mean(neural[:, 2] == neural[:, 1] + 1)) - source) < 0.1


def test_neural_follows_the_evidence(conditioned):
    evidence = np.random.default_rng(9).choice(4, size=(2000, 1), p=[0.7, 0.1, 0.1, 0.1])
    out = conditioned.sample(2000, np.random.default_rng(3), evidence)
    assert out.shape == (2000, 4)
    np.testing.assert_array_equal(out[:, :1], evidence)
    assert float(np.mean(out[:, 1] == evidence[:, 0])) > 0.75
    # the generated column's marginal follows the skewed evidence, not the uniform training one
    assert float(np.mean(out[:, 1] == 0)) > 0.5


def test_neural_round_trips_through_json_to_identical_samples(conditioned):
    state = json.loads(json.dumps(conditioned.to_state()))
    assert all(set(w) == {"shape", "float32"} for w in state["weights"].values())
    again = from_state(state)
    evidence = planted(500, seed=4)[:, :1]
    np.testing.assert_array_equal(conditioned.sample(500, np.random.default_rng(5), evidence),
                                  again.sample(500, np.random.default_rng(5), evidence))


def test_same_seed_same_samples_and_the_global_torch_rng_is_untouched():
    data = planted(600)
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    threads = torch.get_num_threads()
    one = fitted("neural", data, epochs=5, device="cpu").sample(400, np.random.default_rng(7))
    assert torch.equal(before, torch.random.get_rng_state())
    assert torch.get_num_threads() == threads
    two = fitted("neural", data, epochs=5, device="cpu").sample(400, np.random.default_rng(7))
    np.testing.assert_array_equal(one, two)
    other = fitted("neural", data, seed=2, epochs=5, device="cpu").sample(400, np.random.default_rng(7))
    assert not np.array_equal(one, other)


def test_epoch_and_time_budgets_stop_training():
    data = planted(600)
    assert fitted("neural", data, epochs=3).epochs_run == 3
    assert fitted("neural", data, epochs=1000, patience=1000, time_budget=0.0).epochs_run == 1


def test_bad_device_is_refused():
    with pytest.raises(ValueError, match="device"):
        create("neural", device="tpu")


def test_registering_the_neural_model_does_not_import_torch():
    code = ("import sys; from dbsynth.models import create, generator_names; "
            "assert 'neural' in generator_names(); create('neural'); create('bayesnet'); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
