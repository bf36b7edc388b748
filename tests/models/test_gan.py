"""The conditional GAN: planted dependence, evidence, JSON persistence, determinism, registration."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from dbsynth.errors import ConfigError
from dbsynth.models import create, from_state, generator_names
from dbsynth.models.gan import _Sampler
from dbsynth.models.scoring import fidelity_parts

CARDS = [4, 4, 5, 3]


def planted(n: int, seed: int = 0) -> np.ndarray:
    """b copies a 90% of the time, c = b + 1 80% of the time, d is noise."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, n)
    b = np.where(rng.random(n) < 0.9, a, rng.integers(0, 4, n))
    c = np.where(rng.random(n) < 0.8, b + 1, rng.integers(0, 5, n))
    d = rng.integers(0, 3, n)
    return np.column_stack([a, b, c, d]).astype(np.int64)


def fitted(name: str, data: np.ndarray, n_conditions: int = 0, seed: int = 1, **settings):
    gen = create(name, **settings)
    gen.fit(data, CARDS, n_conditions, np.random.default_rng(seed))
    return gen


@pytest.fixture(scope="module")
def conditioned():
    """One model with column a as its parent condition, shared: training is the slow part (<= 600 steps)."""
    return fitted("gan", planted(2000), n_conditions=1, max_steps=600, device="cpu")


def test_gan_learns_a_planted_dependence_that_independent_loses(conditioned):
    data, holdout = planted(2000), planted(2000, seed=1)
    evidence = holdout[:, :1]
    gan = conditioned.sample(2000, np.random.default_rng(2), evidence)
    baseline = fitted("independent", data, n_conditions=1).sample(2000, np.random.default_rng(2), evidence)
    got, floor = fidelity_parts(holdout, gan, CARDS, 1), fidelity_parts(holdout, baseline, CARDS, 1)
    assert got.pairs > floor.pairs + 0.04
    assert got.score > floor.score
    assert float(np.mean(gan[:, 1] == gan[:, 0])) > 0.75      # b follows the parent a (0.9 + 0.1/4 real)


def test_gan_respects_the_evidence_exactly(conditioned):
    evidence = np.random.default_rng(9).choice(4, size=(1500, 1), p=[0.7, 0.1, 0.1, 0.1])
    out = conditioned.sample(1500, np.random.default_rng(3), evidence)
    assert out.shape == (1500, 4)
    np.testing.assert_array_equal(out[:, :1], evidence)
    assert all(out[:, j].min() >= 0 and out[:, j].max() < CARDS[j] for j in range(4))
    assert float(np.mean(out[:, 1] == 0)) > 0.5              # follows the skewed evidence
    with pytest.raises(ValueError, match="evidence"):
        conditioned.sample(10, np.random.default_rng(3))


def test_gan_round_trips_through_json_to_identical_samples(conditioned):
    state = json.loads(json.dumps(conditioned.to_state()))
    assert all(set(w) == {"shape", "float32"} for w in state["weights"].values())
    again = from_state(state)
    evidence = planted(500, seed=4)[:, :1]
    np.testing.assert_array_equal(conditioned.sample(500, np.random.default_rng(5), evidence),
                                  again.sample(500, np.random.default_rng(5), evidence))


def test_same_seed_same_samples_and_the_global_torch_rng_is_untouched():
    data = planted(400)
    small = {"max_steps": 20, "eval_every": 10, "batch_size": 100, "pac": 5, "hidden": 32, "embedding_dim": 16,
             "device": "cpu"}
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    threads = torch.get_num_threads()
    one = fitted("gan", data, **small).sample(300, np.random.default_rng(7))
    assert torch.equal(before, torch.random.get_rng_state())
    assert torch.get_num_threads() == threads
    two = fitted("gan", data, **small).sample(300, np.random.default_rng(7))
    np.testing.assert_array_equal(one, two)
    other = fitted("gan", data, seed=2, **small).sample(300, np.random.default_rng(7))
    assert not np.array_equal(one, other)


def test_max_steps_early_stopping_and_the_time_cap_stop_training():
    data = planted(600)
    small = {"batch_size": 100, "pac": 5, "hidden": 16, "embedding_dim": 8, "eval_every": 5}
    assert fitted("gan", data, max_steps=12, patience=100, **small).steps_run == 12
    assert fitted("gan", data, max_steps=1000, time_budget=0.0, **small).steps_run == 5    # first check
    # the learning rate 0 never improves on the first check: patience 2 stops at the third
    assert fitted("gan", data, max_steps=1000, learning_rate=0.0, patience=2, **small).steps_run == 15


def test_early_stopping_keeps_the_best_checkpoint():
    data = planted(2000)
    gan = fitted("gan", data, max_steps=400, eval_every=50, patience=100, device="cpu")
    assert gan.steps_run == 400
    # the kept weights reproduce the best holdout score seen, which beats the untrained one
    assert 0.5 < gan.holdout_score <= 1.0


def test_training_by_sampling_picks_states_by_log_frequency():
    column = np.array([0] * 990 + [1] * 10)[:, None]
    rows, condvec, columns = _Sampler(column, [3]).draw(20_000, np.random.default_rng(0))
    assert set(np.unique(columns)) == {0}
    np.testing.assert_array_equal(column[rows, 0], condvec)              # the real row has the state
    share = float(np.mean(condvec == 1))
    assert share == pytest.approx(np.log(11) / (np.log(991) + np.log(11)), abs=0.02)
    assert not np.any(condvec == 2)                                      # unseen states never drawn


def test_settings_are_checked():
    assert "gan" in generator_names()
    with pytest.raises(ValueError, match="device"):
        create("gan", device="tpu")
    with pytest.raises(ConfigError):
        create("gan", epsilon=1.0)
    create("gan", epsilon=float("inf"))   # no privacy asked for


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
def test_degenerate_inputs():
    only_conditions = fitted("gan", planted(50)[:, :1].repeat(4, axis=1), n_conditions=4, max_steps=1)
    assert only_conditions.sample(3, np.random.default_rng(0), np.zeros((3, 4), dtype=np.int64)).shape == (3, 4)
    empty = fitted("gan", np.empty((0, 4), dtype=np.int64), max_steps=1)
    assert empty.sample(5, np.random.default_rng(0)).shape == (5, 4)


def test_registering_the_gan_does_not_import_torch():
    code = ("import sys; from dbsynth.models import create, generator_names; "
            "assert 'gan' in generator_names(); create('gan'); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
