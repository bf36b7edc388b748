"""The privacy budget: the split never exceeds the total, describe says what is not covered."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dbsynth.errors import ConfigError
from dbsynth.models import create
from dbsynth.privacy import (
    TableCost, budget_from_json, budget_to_json, describe, noisy_total, rare_threshold, split_budget,
    suppress_rare,
)


@given(st.floats(0.01, 100), st.floats(0, 0.1),
       st.dictionaries(st.text(min_size=1, max_size=5),
                       st.builds(TableCost, st.booleans(), st.integers(0, 3), st.floats(0.1, 5)),
                       max_size=8))
def test_split_never_exceeds_the_total(epsilon, delta, tables):
    budget = split_budget(epsilon, delta, tables)
    assert set(budget) == set(tables)
    assert sum(b.epsilon for b in budget.values()) <= epsilon * (1 + 1e-9)
    assert sum(b.delta for b in budget.values()) <= delta * (1 + 1e-9) + 1e-15
    for name, b in budget.items():
        spent = b.generator + b.totals * tables[name].totals
        assert spent <= b.epsilon * (1 + 1e-9) + 1e-12


def test_split_by_weight_and_parts():
    budget = split_budget(2.0, 1e-6, {"customer": TableCost(totals=1), "invoice": TableCost(),
                                      "country": TableCost(learned=False)})
    c, i, k = budget["customer"], budget["invoice"], budget["country"]
    assert c.epsilon == pytest.approx(1.0) and i.epsilon == pytest.approx(1.0) and k.epsilon == 0
    assert c.generator + c.totals == pytest.approx(1.0) and c.totals > 0
    assert i.generator == pytest.approx(1.0) and i.totals == 0
    assert c.generator_settings("bayesnet") == {"epsilon": c.generator}
    assert c.generator_settings("neural")["delta"] == c.delta
    with pytest.raises(ConfigError, match="copula"):
        c.generator_settings("copula")
    create("bayesnet", **c.generator_settings("bayesnet"))


def test_describe_says_what_is_not_covered_and_json_round_trips():
    budget = split_budget(1.0, 1e-6, {"a": TableCost(), "b": TableCost(learned=False)})
    text = "\n".join(describe(budget))
    assert "epsilon 1" in text and "not covered" in text
    assert "category domains" in text and "per table" in text
    assert "b: no budget" in text
    assert budget_from_json(json.loads(json.dumps(budget_to_json(budget)))) == budget


def test_noisy_total_and_rare_suppression():
    rng = np.random.default_rng(0)
    assert noisy_total(100, None, rng) == 100
    draws = [noisy_total(100, 1.0, rng) for _ in range(500)]
    assert all(d >= 0 for d in draws) and abs(np.mean(draws) - 100) < 0.5 and np.std(draws) > 0.5
    assert noisy_total(0, 0.01, rng) >= 0
    values = pd.Series(["a"] * 10 + ["b"] * 3 + ["c"] + [None] * 5)
    assert suppress_rare(values, 3) == ["a", "b"]
    assert suppress_rare(values, 11) == []
    assert rare_threshold(1.0, 1e-6) > rare_threshold(10.0, 1e-6) >= 2


def test_invalid_budgets_are_refused():
    with pytest.raises(ValueError):
        split_budget(0.0, 1e-6, {"a": TableCost()})
    with pytest.raises(ValueError):
        split_budget(1.0, 1.5, {"a": TableCost()})
