"""Key allocation: fresh unique keys, running indexes within a parent, degree-preserving parent choice."""

from __future__ import annotations

import uuid
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbsynth.relational.keys import degree_weighted_parents, generate_keys, running_index
from dbsynth.schema.model import Column, SqlType

FAST = settings(max_examples=50, deadline=None)


# -- running_index -----------------------------------------------------------------------------

def test_running_index_small_example():
    rows = np.array([3, 3, 1, 3, 1, 7])
    np.testing.assert_array_equal(running_index(rows), [1, 2, 1, 3, 2, 1])
    assert running_index(np.array([], dtype=np.int64)).size == 0


@FAST
@given(st.lists(st.integers(-5, 30), max_size=200))
def test_running_index_is_1_to_k_within_each_parent(parents):
    rows = np.array(parents, dtype=np.int64)
    idx = running_index(rows)
    assert idx.shape == rows.shape
    # in order of appearance, the j-th row of a parent gets j
    seen: Counter[int] = Counter()
    expected = []
    for p in parents:
        seen[p] += 1
        expected.append(seen[p])
    np.testing.assert_array_equal(idx, expected)
    for p, k in seen.items():
        assert sorted(idx[rows == p].tolist()) == list(range(1, k + 1))


# -- degree_weighted_parents -------------------------------------------------------------------

@FAST
@given(n=st.integers(0, 120), degrees=st.lists(st.integers(0, 12), min_size=1, max_size=25),
       seed=st.integers(0, 10_000))
def test_degree_weighted_parents_in_range_and_within_degrees(n, degrees, seed):
    deg = np.array(degrees, dtype=np.int64)
    out = degree_weighted_parents(n, deg, np.random.default_rng(seed))
    assert out.shape == (n,)
    assert np.issubdtype(out.dtype, np.integer)
    if n == 0:
        return
    assert out.min() >= 0 and out.max() < deg.size
    used = np.bincount(out, minlength=deg.size)
    total = int(deg.sum())
    if total >= n:
        assert (used <= deg).all()
    elif total > 0:
        # every slot is dealt, the extra rows go only to parents that have children at all
        assert (used >= deg).all()
        assert (used[deg == 0] == 0).all()
    if total == n:
        np.testing.assert_array_equal(used, deg)


def test_degree_weighted_parents_is_seeded_and_shuffled():
    deg = np.array([5, 0, 3, 2])
    a = degree_weighted_parents(10, deg, np.random.default_rng(1))
    b = degree_weighted_parents(10, deg, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    # slots are dealt in random order, not parent by parent
    orders = {tuple(degree_weighted_parents(10, deg, np.random.default_rng(s))) for s in range(10)}
    assert len(orders) > 1


def test_degree_weighted_parents_without_degrees_is_uniform_over_parents():
    out = degree_weighted_parents(3000, np.zeros(3, dtype=np.int64), np.random.default_rng(0))
    counts = np.bincount(out, minlength=3)
    assert counts.min() > 800


# -- generate_keys -----------------------------------------------------------------------------

def col(kind: str, length: int | None = None) -> Column:
    return Column("id", SqlType(kind, length=length), nullable=False)


@FAST
@given(n=st.integers(0, 400), start=st.integers(1, 5000))
def test_integer_keys_are_consecutive_from_start(n, start):
    keys = generate_keys(col("integer"), n, np.random.default_rng(0), start=start)
    assert len(keys) == n
    assert keys.tolist() == list(range(start, start + n))


@FAST
@given(n=st.integers(0, 300), seed=st.integers(0, 1000))
def test_uuid_keys_are_unique_valid_uuids(n, seed):
    keys = generate_keys(col("uuid"), n, np.random.default_rng(seed))
    assert len(keys) == n
    assert keys.is_unique
    for k in keys:
        assert uuid.UUID(k).version == 4


@FAST
@given(n=st.integers(0, 400), start=st.integers(1, 2000), extra=st.integers(1, 4))
def test_text_keys_are_unique_and_fit_a_roomy_length(n, start, extra):
    # room for every digit plus a prefix
    length = len(str(start + n)) + extra
    keys = generate_keys(col("text", length), n, np.random.default_rng(0), start=start)
    assert len(keys) == n
    assert keys.is_unique
    assert all(isinstance(k, str) and 0 < len(k) <= length for k in keys)


@FAST
@given(n=st.integers(1, 400), start=st.integers(1, 2000))
def test_text_keys_without_length_are_unique(n, start):
    keys = generate_keys(col("text"), n, np.random.default_rng(0), start=start)
    assert keys.is_unique and len(keys) == n


@pytest.mark.parametrize("n,length", [(9, 1), (99, 2), (999, 3)])
def test_text_keys_fit_the_tightest_length_that_can_hold_them(n, length):
    keys = generate_keys(col("text", length), n, np.random.default_rng(0))
    assert keys.is_unique
    assert keys.str.len().max() <= length


@pytest.mark.parametrize("n,length", [(5, 1), (10, 2), (50, 2)])
def test_text_keys_drop_the_prefix_when_the_length_is_tight(n, length):
    keys = generate_keys(col("text", length), n, np.random.default_rng(0))
    assert keys.is_unique
    assert keys.str.len().max() <= length
