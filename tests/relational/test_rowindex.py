"""parent_rows: integer keys looked up in an index give exactly the text join's answer."""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from dbsynth.relational.fit import parent_row_index
from dbsynth.relational.rowindex import _integer_lookup, parent_rows


def test_integer_keys_single_and_composite_with_nulls_and_dangling():
    parent = pd.DataFrame({"a": pd.Series([10, 20, 30], dtype=object), "b": pd.Series([1, 1, 2], dtype=object)})
    child = pd.DataFrame({"x": pd.Series([30, None, 10, 99, 20], dtype=object),
                          "y": pd.Series([2, 1, 1, 1, 2], dtype=object)})
    assert parent_rows(child, parent, ("x",), ("a",)).tolist() == [2, -1, 0, -1, 1]
    assert parent_rows(child, parent, ("x", "y"), ("a", "b")).tolist() == [2, -1, 0, -1, -1]
    assert _integer_lookup(child, parent, ("x",), ("a",)) is not None   # the index path ran


def test_other_key_types_take_the_text_join():
    parent = pd.DataFrame({"a": pd.Series(["7", "8"], dtype=object)})
    child = pd.DataFrame({"x": pd.Series([decimal.Decimal(8), 7, None], dtype=object)})
    assert _integer_lookup(child, parent, ("x",), ("a",)) is None
    assert parent_rows(child, parent, ("x",), ("a",)).tolist() == [1, 0, -1]


@settings(max_examples=60, deadline=None)
@given(keys=st.lists(st.integers(-2**62, 2**62), min_size=0, max_size=30, unique=True),
       picks=st.lists(st.one_of(st.none(), st.integers(0, 40)), max_size=60),
       typed=st.sampled_from(["object", "int64", "Int64"]))
def test_same_answer_as_the_text_join(keys, picks, typed):
    parent = pd.DataFrame({"a": pd.Series(keys, dtype=object if typed == "object" else typed)})
    values = [None if p is None else (keys[p] if p < len(keys) else 2**62 + p) for p in picks]
    child = pd.DataFrame({"x": pd.Series(values, dtype=object)})
    expected = parent_row_index(child, parent, ("x",), ("a",))
    np.testing.assert_array_equal(parent_rows(child, parent, ("x",), ("a",)), expected)
