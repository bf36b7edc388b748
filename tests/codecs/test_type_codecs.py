"""Codecs of the richer column types: JSON, arrays, SETs, network addresses, bytes, intervals, bounds.

Each codec must survive a JSON round trip of its state (no pickle), decode to values
that are valid for the column's type, and keep NULL as a state of its own.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from dbsynth.codecs import codec_from_state
from dbsynth.codecs.array import ArrayCodec, SetCodec
from dbsynth.codecs.binary import BytesCodec
from dbsynth.codecs.categorical import CategoricalCodec
from dbsynth.codecs.choose import choose_codec
from dbsynth.codecs.jsondoc import MAX_PATHS, JsonCodec
from dbsynth.codecs.network import NetworkCodec
from dbsynth.codecs.numeric import NumericCodec
from dbsynth.errors import UnsupportedType
from dbsynth.schema.model import Column, SqlType
from dbsynth.schema.types import classify


def roundtrip(codec, values: pd.Series, seed: int = 0) -> pd.Series:
    states = codec.encode(values)
    assert states.dtype == np.int64 and states.shape == (len(values),)
    assert states.min() >= 0 and states.max() < codec.n_states
    return codec.decode(states, np.random.default_rng(seed))


def via_json(codec):
    """The codec rebuilt from its state after a trip through JSON text; it must decode identically."""
    restored = codec_from_state(json.loads(json.dumps(codec.to_state())))
    assert type(restored) is type(codec) and restored.n_states == codec.n_states
    return restored


def same_decode(a, b, states: np.ndarray) -> None:
    left = a.decode(states, np.random.default_rng(7)).tolist()
    right = b.decode(states, np.random.default_rng(7)).tolist()
    assert json.dumps(left, default=str) == json.dumps(right, default=str)


def events(n: int = 400, seed: int = 0) -> pd.Series:
    """Event documents: a type, numbers, a nested object, an optional long comment, tags; 20% NULL."""
    rng = np.random.default_rng(seed)
    docs = []
    for i in range(n):
        if i % 5 == 0:
            docs.append(None)
            continue
        kind = ["click", "view", "purchase"][i % 3]
        doc = {"type": kind, "score": int(rng.integers(0, 100)), "ok": bool(i % 2),
               "meta": {"source": ["web", "app"][i % 2], "version": 1 + i % 3},
               "tags": ["a", "b", "c", "d"][: 1 + i % 4]}
        if kind == "purchase":
            doc["amount"] = round(float(rng.uniform(1, 500)), 2)
        if i % 3 == 1:
            doc["comment"] = f"a long free text comment number {i} written by someone {rng.integers(1e9)}"
        docs.append(doc)
    return pd.Series(docs, dtype=object)


# -- JSON -----------------------------------------------------------------------------------------

def test_json_keeps_key_structure_leaf_types_and_nulls():
    source = events()
    codec = JsonCodec.fit(source)
    out = roundtrip(codec, source)
    assert out.isna().sum() == source.isna().sum()  # NULL is a state: exactly kept on a round trip
    docs = out.dropna().tolist()
    src = source.dropna().tolist()
    required = set.intersection(*(set(d) for d in src))
    union = set().union(*(set(d) for d in src))
    assert all(isinstance(d, dict) and required <= set(d) <= union for d in docs)
    assert all(d["type"] in {"click", "view", "purchase"} for d in docs)
    assert all(isinstance(d["score"], int) and 0 <= d["score"] < 100 for d in docs)
    assert all(isinstance(d["ok"], bool) for d in docs)
    assert all(set(d["meta"]) == {"source", "version"} and d["meta"]["version"] in (1, 2, 3) for d in docs)
    assert all(1 <= len(d["tags"]) <= 4 and set(d["tags"]) <= set("abcd") for d in docs)
    # optional keys stay optional, in about the source's share
    assert 0.15 < np.mean(["comment" in d for d in docs]) < 0.55


def test_json_free_text_leaves_are_never_copied():
    source = events()
    out = roundtrip(JsonCodec.fit(source), source)
    comments = {d["comment"] for d in source.dropna() if "comment" in d}
    generated = {d["comment"] for d in out.dropna() if "comment" in d}
    assert generated and not generated & comments


def test_json_lead_value_conditions_the_shape():
    # 'amount' exists only on purchases: the lead leaf ('type') and the pattern travel together
    source = events()
    codec = JsonCodec.fit(source)
    assert codec.lead is not None and codec.paths[codec.lead] == ("type",)
    states = np.random.default_rng(3).integers(0, codec.n_states, 2000)
    docs = codec.decode(states, np.random.default_rng(4)).dropna().tolist()
    assert docs and all(("amount" in d) == (d["type"] == "purchase") for d in docs)


def test_json_state_round_trips_through_json_text():
    source = events()
    codec = JsonCodec.fit(source)
    same_decode(codec, via_json(codec), codec.encode(source))


def test_json_with_many_distinct_keys_keeps_the_common_paths():
    rng = np.random.default_rng(1)
    docs = [{"id": i, "kind": ["a", "b"][i % 2], **{f"user_{rng.integers(1e6)}": 1 for _ in range(3)}}
            for i in range(300)]
    codec = JsonCodec.fit(pd.Series(docs, dtype=object))
    assert len(codec.paths) <= MAX_PATHS
    assert ("id",) in codec.paths and ("kind",) in codec.paths
    assert not any(p[0].startswith("user_") for p in codec.paths)  # one-off keys are never reproduced
    out = roundtrip(codec, pd.Series(docs, dtype=object))
    assert all(set(d) == {"id", "kind"} for d in out)


def test_json_text_column_is_detected_and_written_as_text():
    # MariaDB's JSON is LONGTEXT with a JSON CHECK: values arrive as text
    source = pd.Series([json.dumps({"channel": ["web", "app"][i % 2], "items": i % 5, "zone": {"n": i % 3}})
                        if i % 4 else None for i in range(200)], dtype=object)
    codec = choose_codec("t", Column("attrs", SqlType("text", "LONGTEXT")), source, None)
    assert isinstance(codec, JsonCodec) and codec.as_text
    out = roundtrip(via_json(codec), source)
    assert out.isna().sum() == source.isna().sum()
    parsed = [json.loads(v) for v in out.dropna()]
    assert all(set(d) == {"channel", "items", "zone"} and set(d["zone"]) == {"n"} for d in parsed)


def test_json_column_read_as_text_decodes_documents():
    # a JSON column whose driver gives text (MariaDB JSON read as LONGTEXT): parsed in, documents out
    source = pd.Series([json.dumps({"a": i % 3, "b": ["x", "y"][i % 2]}) for i in range(60)], dtype=object)
    codec = choose_codec("t", Column("j", SqlType("json", "JSON")), source, None)
    out = roundtrip(via_json(codec), source)
    assert all(isinstance(d, dict) and set(d) == {"a", "b"} for d in out)


def test_json_text_respects_a_varchar_length():
    source = pd.Series([json.dumps({"a": "x" * (i % 30), "b": i}) for i in range(100)], dtype=object)
    codec = JsonCodec.fit(source, as_text=True, max_length=24)
    out = roundtrip(codec, source)
    assert all(len(v) <= 24 and isinstance(json.loads(v), dict) for v in out)


def test_json_arrays_and_scalars_at_the_top_level():
    source = pd.Series([[1, 2, 3][: 1 + i % 3] if i % 2 else "text" for i in range(100)], dtype=object)
    out = roundtrip(via_json(JsonCodec.fit(source)), source)
    assert all(v == "text" or isinstance(v, list) and 1 <= len(v) <= 3 and set(v) <= {1, 2, 3} for v in out)
    assert {type(v) for v in out} == {str, list}


def test_json_key_with_values_of_several_kinds():
    # one key, numbers in some documents and text in others: each kind is a leaf of its own
    source = pd.Series([{"id": i} if i % 3 else {"id": f"ext-{i % 4}"} for i in range(300)], dtype=object)
    out = roundtrip(JsonCodec.fit(source), source)
    ids = [d["id"] for d in out]
    assert all(isinstance(v, int) and 0 < v < 300 or v in {f"ext-{k}" for k in range(4)} for v in ids)
    assert 0.2 < np.mean([isinstance(v, str) for v in ids]) < 0.5


# -- arrays and SETs ---------------------------------------------------------------------------------

def test_array_lengths_and_elements_stay_within_the_source():
    labels = ["calm", "happy", "sad", "angry"]
    source = pd.Series([labels[i % 2: 2 + i % 3] if i % 7 else None for i in range(300)], dtype=object)
    item = Column("moods", SqlType("enum", "mood", values=tuple(labels)))
    codec = choose_codec("t", Column("moods", SqlType("array", "mood[]", item=item.type)), source, None)
    assert isinstance(codec, ArrayCodec) and isinstance(codec.element, CategoricalCodec)
    out = roundtrip(via_json(codec), source)
    assert out.isna().sum() == source.isna().sum()
    lengths = [len(v) for v in source.dropna()]
    assert all(min(lengths) <= len(v) <= max(lengths) for v in out.dropna())
    assert all(set(v) <= set(labels) and len(set(v)) == len(v) for v in out.dropna())  # no repeats, as in source


def test_integer_arrays_draw_elements_from_the_element_codec():
    source = pd.Series([[int(x) for x in np.arange(i % 5) * 7] for i in range(200)], dtype=object)
    codec = choose_codec("t", Column("s", SqlType("array", "INTEGER[]", item=SqlType("integer", size=32))),
                         source, None)
    out = roundtrip(codec, source)
    assert all(isinstance(x, int) and 0 <= x <= 28 for v in out for x in v)
    assert {len(v) for v in out} <= set(range(5))
    same_decode(codec, via_json(codec), codec.encode(source))


def test_set_values_are_subsets_of_the_labels():
    labels = ("gift", "express", "fragile", "insured")
    source = pd.Series([{labels[j] for j in range(4) if (i >> j) & 1} if i % 8 else None for i in range(1, 300)],
                       dtype=object)
    codec = choose_codec("t", Column("flags", SqlType("array", "SET(...)", values=labels, item=SqlType("text"))),
                         source, None)
    assert isinstance(codec, SetCodec)
    out = roundtrip(via_json(codec), source)
    assert out.isna().sum() == source.isna().sum()
    for value in out.dropna():
        assert set(value) <= set(labels)
        assert value == [lab for lab in labels if lab in value]  # declared order, no repeats
    rare = codec.decode(np.full(50, codec.rare_state or 0), np.random.default_rng(0))
    assert all(set(v) <= set(labels) for v in rare)


# -- network addresses, bytes, intervals ---------------------------------------------------------------

def test_inet_cidr_and_mac_values_are_valid():
    inet = pd.Series([ipaddress.ip_address(f"10.0.{i}.1") if i % 3 else ipaddress.ip_address(f"2001:db8::{i:x}")
                      for i in range(1, 120)] + [None] * 10, dtype=object)
    cidr = pd.Series([ipaddress.ip_network(f"192.168.{i}.0/24") for i in range(100)] + [None], dtype=object)
    macs = pd.Series([f"08:00:2b:00:00:{i:02x}" for i in range(50)] + [None], dtype=object)
    codec = choose_codec("t", Column("ip", SqlType("network", "INET")), inet, None)
    out = roundtrip(via_json(codec), inet)
    assert out.isna().sum() == 10
    versions = [ipaddress.ip_interface(v).version for v in out.dropna()]
    assert set(versions) == {4, 6} and 0.5 < np.mean(np.array(versions) == 4) < 0.85
    out = roundtrip(NetworkCodec.fit(cidr, "cidr"), cidr)
    assert all(ipaddress.ip_network(v, strict=True).prefixlen == 24 for v in out.dropna())
    out = roundtrip(NetworkCodec.fit(macs, "macaddr"), macs)
    assert all(re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", v) for v in out.dropna())
    assert not set(out.dropna()) & set(macs.dropna())


def test_bytes_keep_their_lengths_and_the_column_bound():
    source = pd.Series([bytes(range(i % 40)) if i % 6 else None for i in range(200)], dtype=object)
    codec = BytesCodec.fit(source)
    out = roundtrip(via_json(codec), source)
    assert out.isna().sum() == source.isna().sum()
    assert {len(v) for v in out.dropna()} <= {len(v) for v in source.dropna()}
    bounded = roundtrip(BytesCodec.fit(source, max_length=16), source)
    assert all(isinstance(v, bytes) and len(v) <= 16 for v in bounded.dropna())


def test_intervals_round_trip_as_timedeltas():
    source = pd.Series([dt.timedelta(days=i % 30, seconds=i * 61 % 3600) - dt.timedelta(days=40 * (i % 25 == 0))
                        if i % 8 else None for i in range(300)], dtype=object)
    codec = choose_codec("t", Column("d", SqlType("interval", "INTERVAL")), source, None)
    assert isinstance(codec, NumericCodec)
    out = roundtrip(via_json(codec), source)
    assert out.isna().sum() == source.isna().sum()
    present = pd.to_timedelta(out.dropna())
    assert present.min() >= min(source.dropna()) and present.max() <= max(source.dropna())


def test_decimal_values_stay_within_precision():
    # numeric(20, 2): beyond 15 digits a float rounds 999...9.99 up to 10^18, which does not fit
    top = Decimal("999999999999999999.99")
    source = pd.Series([top, -top, Decimal("1.50"), None] * 20, dtype=object)
    codec = choose_codec("t", Column("a", SqlType("decimal", "NUMERIC(20, 2)", precision=20, scale=2)), source, None)
    out = roundtrip(via_json(codec), source)
    quantum = Decimal("0.01")
    assert all(abs(Decimal(repr(float(v))).quantize(quantum)) <= top for v in out.dropna())


# -- dispatch and reflection ------------------------------------------------------------------------------

def test_unsupported_types_still_raise():
    with pytest.raises(UnsupportedType):
        choose_codec("t", Column("g", SqlType("other", "POINT")), pd.Series([None]), None)


def test_domains_reflect_as_their_base_type_and_mediumint_has_24_bits():
    pg, my = postgresql.dialect(), mysql.dialect()
    assert classify(postgresql.DOMAIN("positive", sa.Integer()), pg).kind == "integer"
    text = classify(postgresql.DOMAIN("code", sa.String(6)), pg)
    assert text.kind == "text" and text.length == 6
    assert classify(postgresql.ARRAY(postgresql.DOMAIN("positive", sa.Integer())), pg).item.kind == "integer"
    medium = classify(mysql.MEDIUMINT(unsigned=True), my)
    assert medium.size == 24 and medium.unsigned
