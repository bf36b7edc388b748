"""Column codecs: encode -> decode keeps marginals, types, granularity and NULLs; never leaks values."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbsynth.codecs import codec_from_state
from dbsynth.codecs.categorical import CategoricalCodec
from dbsynth.codecs.fake import FakeCodec
from dbsynth.codecs.numeric import NumericCodec
from dbsynth.codecs.text import FreeTextCodec


def roundtrip(codec, values: pd.Series, seed: int = 0) -> pd.Series:
    states = codec.encode(values)
    assert states.dtype == np.int64
    assert states.shape == (len(values),)
    assert states.min() >= 0 and states.max() < codec.n_states
    return codec.decode(states, np.random.default_rng(seed))


def via_json(codec):
    return codec_from_state(json.loads(json.dumps(codec.to_state())))


# -- numeric -----------------------------------------------------------------------------------

def test_float_marginal_quantiles_are_kept():
    source = pd.Series(np.random.default_rng(0).lognormal(3.0, 1.0, 5000))
    codec = NumericCodec.fit(source, "float")
    out = roundtrip(codec, source)
    assert out.notna().all()
    qs = np.linspace(0.05, 0.95, 19)
    src_q, out_q = np.quantile(source, qs), np.quantile(out.astype(float), qs)
    np.testing.assert_allclose(out_q, src_q, rtol=0.05)
    # values are drawn from the source's own values in the bin
    assert set(out.tolist()) <= set(source.tolist())


def test_encode_puts_each_value_in_its_own_bin_range():
    source = pd.Series(np.random.default_rng(1).normal(0, 1, 3000))
    codec = NumericCodec.fit(source, "float")
    states = codec.encode(source)
    assert codec.n_states == 20  # MAX_BINS quantile bins, no NULL state
    # bins are ordered: a larger value never gets a smaller state
    order = np.argsort(source.to_numpy())
    assert np.all(np.diff(states[order]) >= 0)
    # quantile bins are about equally populated
    counts = np.bincount(states, minlength=codec.n_states)
    assert counts.min() > 0.5 * len(source) / codec.n_states


def test_integers_stay_integers_within_range():
    source = pd.Series(np.random.default_rng(2).poisson(40, 3000) * 3 + 7)
    codec = NumericCodec.fit(source, "integer")
    out = roundtrip(codec, source)
    assert str(out.dtype) == "Int64"
    assert out.notna().all()
    assert out.min() >= source.min() and out.max() <= source.max()
    assert set(out.tolist()) <= set(source.tolist())  # multiples of 3 plus 7, like the source
    assert abs(out.mean() - source.mean()) < 0.03 * source.mean()


def test_few_distinct_values_are_one_state_each_and_exact():
    source = pd.Series([1, 5, 5, 9, 9, 9, 100] * 50)
    codec = NumericCodec.fit(source, "integer")
    assert codec.n_states == 4
    out = roundtrip(codec, source)
    assert out.tolist() == source.tolist()


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_bigint_values_survive():
    source = pd.Series([2**63 - 1, 2**53 + 1, 5] * 10)
    codec = NumericCodec.fit(source, "integer")
    out = roundtrip(codec, source)
    assert set(out.tolist()) <= set(source.tolist())


def test_decimals_keep_their_scale():
    rng = np.random.default_rng(3)
    cents = rng.integers(0, 1_000_000, 2000)
    source = pd.Series([Decimal(int(c)) / Decimal(100) for c in cents], dtype=object)
    codec = NumericCodec.fit(source, "decimal", scale=2)
    out = roundtrip(codec, source).astype(float)
    assert out.notna().all()
    np.testing.assert_allclose(out * 100, np.round(out * 100), atol=1e-6)
    assert out.min() >= float(min(source)) and out.max() <= float(max(source))
    # and the values really use both decimals (not silently rounded to whole numbers)
    assert (np.round(out * 100) % 100 != 0).mean() > 0.9


def test_decimal_scale_zero_rounds_to_whole_numbers():
    source = pd.Series(np.random.default_rng(4).integers(0, 10_000, 500).astype(float))
    codec = NumericCodec.fit(source, "decimal", scale=0)
    out = roundtrip(codec, source).astype(float)
    assert (out == np.round(out)).all()


def test_pandas_timestamps_keep_range_and_second_granularity():
    rng = np.random.default_rng(5)
    start = pd.Timestamp("2021-03-01 00:00:00")
    source = pd.Series(start + pd.to_timedelta(rng.integers(0, 86400 * 400, 3000), unit="s"))
    codec = NumericCodec.fit(source, "datetime")
    out = roundtrip(codec, source)
    assert pd.api.types.is_datetime64_dtype(out.dtype)
    assert out.dt.tz is None  # naive in, naive out
    assert out.notna().all()
    assert out.min() >= source.min() and out.max() <= source.max()
    assert (out.dt.microsecond == 0).all() and (out.dt.nanosecond == 0).all()
    assert set(out) <= set(source)
    # time of day is still spread over the day, like the source
    assert out.dt.hour.nunique() > 20


def test_python_midnight_datetimes_stay_at_midnight():
    rng = np.random.default_rng(6)
    days = rng.integers(0, 1500, 2000)
    source = pd.Series([dt.datetime(2019, 1, 1) + dt.timedelta(days=int(d)) for d in days], dtype=object)
    codec = NumericCodec.fit(source, "datetime")
    out = roundtrip(codec, source)
    assert out.notna().all()
    assert (out.dt.hour == 0).all() and (out.dt.minute == 0).all() and (out.dt.second == 0).all()
    assert out.min() >= pd.Timestamp(min(source)) and out.max() <= pd.Timestamp(max(source))
    src_q = pd.Series(pd.to_datetime(source)).quantile([0.1, 0.5, 0.9])
    out_q = out.quantile([0.1, 0.5, 0.9])
    assert (abs(out_q - src_q) <= pd.Timedelta(days=45)).all()


def test_dates_come_back_as_dates_in_range():
    rng = np.random.default_rng(7)
    source = pd.Series([dt.date(2020, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 700, 1000)]
                       + [None] * 100, dtype=object)
    codec = NumericCodec.fit(source, "date")
    out = roundtrip(codec, source)
    present = out.dropna()
    assert all(type(v) is dt.date for v in present)
    assert min(present) >= min(source.dropna()) and max(present) <= max(source.dropna())
    assert out.isna().sum() == 100


@pytest.mark.parametrize("kind,make", [
    ("float", lambda rng, n: rng.normal(10, 3, n)),
    ("integer", lambda rng, n: rng.integers(0, 1000, n)),
    ("datetime", lambda rng, n: pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s")),
])
def test_null_share_is_preserved(kind, make):
    rng = np.random.default_rng(8)
    values = pd.Series(make(rng, 2000))
    values = values.astype(object).where(rng.random(2000) > 0.3, None)
    codec = NumericCodec.fit(values, kind)
    assert codec.null_state is not None
    out = roundtrip(codec, values)
    # NULL is a state: the same rows are NULL after a round trip
    np.testing.assert_array_equal(out.isna().to_numpy(), values.isna().to_numpy())


def test_all_null_column_decodes_to_nulls():
    values = pd.Series([None] * 20, dtype=object)
    codec = NumericCodec.fit(values, "float")
    assert codec.n_states == 1
    assert roundtrip(codec, values).isna().all()


def test_every_non_null_state_decodes_to_a_value():
    values = pd.Series([0.0] * 50 + [float(i) for i in range(1, 51)])
    codec = NumericCodec.fit(values, "float")
    assert codec.null_state is None
    out = codec.decode(np.arange(codec.n_states), np.random.default_rng(0))
    assert out.notna().all()


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-10**6, 10**6)), min_size=1, max_size=200),
    seed=st.integers(0, 1000),
)
def test_integer_roundtrip_invariants(values, seed):
    source = pd.Series(values, dtype=object)
    codec = NumericCodec.fit(source, "integer")
    out = roundtrip(codec, source, seed)
    np.testing.assert_array_equal(out.isna().to_numpy(), source.isna().to_numpy())
    present = [v for v in values if v is not None]
    # every decoded value is a source value of the same bin: exact integers, never out of range
    assert set(out.dropna().tolist()) <= set(present)
    again = codec.encode(out.astype(object).where(out.notna(), None))
    np.testing.assert_array_equal(again, codec.encode(source))


@pytest.mark.parametrize("kind,values", [
    ("float", pd.Series(np.random.default_rng(9).normal(0, 1, 500)).where(lambda s: s > -1.5)),
    ("decimal", pd.Series(np.round(np.random.default_rng(9).uniform(0, 100, 500), 2))),
    ("integer", pd.Series(np.random.default_rng(9).integers(0, 50, 500))),
    ("datetime", pd.Series(pd.date_range("2022-01-01", periods=500, freq="7h"))),
])
def test_numeric_state_round_trips_through_json(kind, values):
    codec = NumericCodec.fit(values, kind, scale=2 if kind == "decimal" else None)
    restored = via_json(codec)
    assert isinstance(restored, NumericCodec)
    np.testing.assert_array_equal(restored.encode(values), codec.encode(values))
    states = codec.encode(values)
    pd.testing.assert_series_equal(restored.decode(states, np.random.default_rng(3)),
                                   codec.decode(states, np.random.default_rng(3)))


# -- categorical -------------------------------------------------------------------------------

def test_categorical_rare_values_never_come_back_frequent_ones_do():
    frequent = ["red_cat", "green_cat", "blue_cat"]
    rare = [f"one_off_{i}" for i in range(40)]
    values = pd.Series(frequent * 100 + rare + [None] * 60, dtype=object)
    codec = CategoricalCodec.fit(values)
    assert codec.categories == sorted(frequent)  # equal counts: ties broken by name
    out = roundtrip(codec, values)
    seen = set(out.dropna())
    assert not seen & set(rare)
    assert set(frequent) <= seen
    # the rare share survives as fresh values, and NULLs stay on the same rows
    assert (~out.isin(frequent) & out.notna()).sum() == len(rare)
    np.testing.assert_array_equal(out.isna().to_numpy(), values.isna().to_numpy())


def test_categorical_frequencies_are_kept():
    rng = np.random.default_rng(10)
    values = pd.Series(rng.choice(["a1", "b2", "c3", "d4"], 4000, p=[0.55, 0.25, 0.15, 0.05]))
    codec = CategoricalCodec.fit(values)
    assert codec.categories == ["a1", "b2", "c3", "d4"]  # most frequent first
    out = roundtrip(codec, values)
    assert out.tolist() == values.tolist()  # one state per frequent value: exact


def test_categorical_rare_values_use_the_provider_and_max_length():
    values = pd.Series(["Paris"] * 10 + ["Smallville", "Twin Peaks", "Hill Valley"], dtype=object)
    codec = CategoricalCodec.fit(values, rare_provider="city", max_length=6)
    states = np.full(200, codec.rare_state)
    out = codec.decode(states, np.random.default_rng(0))
    assert out.notna().all()
    assert out.str.len().max() <= 6
    assert not set(out) & {"Smallville"[:6], "Twin P", "Hill V"}
    assert out.nunique() > 20


def test_categorical_booleans_and_ints_round_trip_through_json():
    for values in (pd.Series([True, False, True, None] * 5, dtype=object),
                   pd.Series(np.array([3, 1, 3, 2, 2, 1] * 5, dtype=np.int64))):
        codec = CategoricalCodec.fit(values, min_count=1)
        restored = via_json(codec)
        assert isinstance(restored, CategoricalCodec)
        np.testing.assert_array_equal(restored.encode(values), codec.encode(values))
        out = restored.decode(codec.encode(values), np.random.default_rng(0))
        assert [None if pd.isna(v) else v for v in out] == [None if pd.isna(v) else v for v in values]


def test_categorical_json_round_trip_decodes_identically():
    values = pd.Series(["x"] * 30 + ["y"] * 20 + [f"r{i}" for i in range(15)] + [None] * 5, dtype=object)
    codec = CategoricalCodec.fit(values)
    restored = via_json(codec)
    states = codec.encode(values)
    pd.testing.assert_series_equal(restored.decode(states, np.random.default_rng(5)),
                                   codec.decode(states, np.random.default_rng(5)))


# -- free text ---------------------------------------------------------------------------------

SENTENCES = pd.Series(
    [f"Customer {i} called about invoice {1000 + i} and the delayed parcel" if i % 3 else f"Refund #{i}"
     for i in range(300)] + [None] * 30, dtype=object)


def test_free_text_never_contains_a_source_string():
    codec = FreeTextCodec.fit(SENTENCES)
    out = roundtrip(codec, SENTENCES)
    source = set(SENTENCES.dropna())
    decoded = out.dropna().tolist()
    assert not set(decoded) & source
    assert not any(s in d for d in decoded for s in source)
    # words of the source outside the generic vocabulary never appear
    assert not any(w in d.lower().split() for d in decoded for w in ("invoice", "refund", "parcel", "delayed"))


def test_free_text_keeps_word_counts_and_nulls():
    codec = FreeTextCodec.fit(SENTENCES)
    out = roundtrip(codec, SENTENCES)
    np.testing.assert_array_equal(out.isna().to_numpy(), SENTENCES.isna().to_numpy())
    src_words = SENTENCES.dropna().str.split().str.len().to_numpy()
    out_words = out.dropna().str.split().str.len().to_numpy()
    np.testing.assert_array_equal(out_words, src_words)  # few distinct counts: one state each


def test_free_text_with_many_lengths_respects_max_length():
    rng = np.random.default_rng(11)
    values = pd.Series([" ".join(["w"] * int(k)) for k in rng.integers(1, 60, 500)])
    codec = FreeTextCodec.fit(values, max_length=40)
    assert codec.n_states <= 12
    out = roundtrip(codec, values)
    assert out.notna().all()
    assert out.str.len().max() <= 40


def test_free_text_json_round_trip_decodes_identically():
    codec = FreeTextCodec.fit(SENTENCES, max_length=30)
    restored = via_json(codec)
    assert isinstance(restored, FreeTextCodec)
    states = codec.encode(SENTENCES)
    np.testing.assert_array_equal(restored.encode(SENTENCES), states)
    pd.testing.assert_series_equal(restored.decode(states, np.random.default_rng(1)),
                                   codec.decode(states, np.random.default_rng(1)))


# -- fake (PII) --------------------------------------------------------------------------------

EMAILS = pd.Series([f"real.person{i}@corp.example" for i in range(200)] + [None] * 50, dtype=object)


def test_fake_codec_never_returns_source_values_and_keeps_nulls():
    codec = FakeCodec.fit(EMAILS, "email")
    assert codec.n_states == 2
    out = roundtrip(codec, EMAILS)
    np.testing.assert_array_equal(out.isna().to_numpy(), EMAILS.isna().to_numpy())
    present = out.dropna()
    assert not set(present) & set(EMAILS.dropna())
    assert present.str.contains("@").all()
    assert not present.str.contains("corp.example").any()
    assert present.nunique() > 150


def test_fake_codec_respects_max_length_and_uuid_provider():
    out = roundtrip(FakeCodec.fit(pd.Series(["x"] * 100), "street_address", max_length=8), pd.Series(["x"] * 100))
    assert out.str.len().max() <= 8
    uuids = roundtrip(FakeCodec.fit(pd.Series(["x"] * 100), "uuid"), pd.Series(["x"] * 100))
    assert uuids.nunique() == 100
    assert uuids.str.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}").all()


def test_fake_json_round_trip_decodes_identically():
    codec = FakeCodec.fit(EMAILS, "phone_number", max_length=20)
    restored = via_json(codec)
    assert isinstance(restored, FakeCodec)
    states = codec.encode(EMAILS)
    a = codec.decode(states, np.random.default_rng(2))
    b = restored.decode(states, np.random.default_rng(2))
    pd.testing.assert_series_equal(a, b)
    c = codec.decode(states, np.random.default_rng(3))
    assert not a.equals(c)
