"""Codecs of bit strings, ranges, points, xml and tsvector: valid values of the type, the source's shape,
no source text, and a state that survives JSON (a saved model)."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd

from dbsynth.codecs import Codec, codec_from_state
from dbsynth.codecs.bits import BitCodec
from dbsynth.codecs.lexemes import TsvectorCodec, lexemes
from dbsynth.codecs.pairs import GeometricCodec, RangeCodec, parse_range
from dbsynth.codecs.xmldoc import XmlCodec


def roundtrip(codec: Codec, values: pd.Series, seed: int = 0) -> pd.Series:
    """Decoded values of the source's own states, from a codec rebuilt from its JSON state."""
    rebuilt = codec_from_state(json.loads(json.dumps(codec.to_state())))
    states = codec.encode(values)
    assert states.min() >= 0 and states.max() < codec.n_states
    out = rebuilt.decode(states, np.random.default_rng(seed))
    again = codec.decode(states, np.random.default_rng(seed))
    assert out.tolist() == again.tolist()        # same seed, same values: also after a save and load
    return out


def test_fixed_bits_have_exactly_n_digits_and_keep_constant_positions() -> None:
    values = pd.Series([f"1{i % 2}{(i // 2) % 2}0" for i in range(200)] + [None] * 20, dtype=object)
    out = roundtrip(BitCodec.fit(values, 4, fixed=True), values)
    present = out.dropna()
    assert len(present) == 200 and out.isna().sum() == 20
    assert all(len(v) == 4 and v[0] == "1" and v[3] == "0" for v in present)
    assert len(set(present)) == 4


def test_varying_bits_keep_lengths_and_mariadb_numbers_become_digits() -> None:
    values = pd.Series(["1" * (1 + i % 6) for i in range(120)], dtype=object)
    out = roundtrip(BitCodec.fit(values, 8), values)
    assert {len(v) for v in out} == set(range(1, 7))
    numbers = pd.Series([i % 32 for i in range(100)], dtype=object)   # MariaDB BIT(5) as SQLAlchemy reads it
    out = roundtrip(BitCodec.fit(numbers, 5, fixed=True), numbers)
    assert all(len(v) == 5 and set(v) <= {"0", "1"} for v in out)


def test_ranges_keep_upper_above_lower_bounds_empty_and_infinite_ends() -> None:
    values = pd.Series([f"[{i},{i + 1 + i % 5})" for i in range(150)] + ["empty"] * 20 + [f"[{i},)" for i in range(20)]
                       + [None] * 10, dtype=object)
    out = roundtrip(RangeCodec.fit(values, "int4range"), values)
    parsed = [parse_range(v) for v in out.dropna()]
    assert out.isna().sum() == 10
    assert sum(p[0] for p in parsed) == 20                              # empty ranges kept
    assert sum(1 for p in parsed if not p[0] and p[2] is None) == 20    # infinite upper ends kept
    bounded = [(int(p[1]), int(p[2])) for p in parsed if not p[0] and p[2] is not None]
    assert all(1 <= up - lo <= 5 and 0 <= lo <= 149 for lo, up in bounded)


def test_timestamp_ranges_from_range_objects() -> None:
    from sqlalchemy.dialects.postgresql import Range

    start = dt.datetime(2022, 3, 1, 8, tzinfo=dt.timezone.utc)
    values = pd.Series([Range(start + dt.timedelta(hours=i), start + dt.timedelta(hours=i, minutes=90))
                        for i in range(100)], dtype=object)
    out = roundtrip(RangeCodec.fit(values, "tstzrange"), values)
    for v in out:
        _, lo, up, bounds = parse_range(v)
        lo, up = pd.Timestamp(lo), pd.Timestamp(up)
        assert bounds == "[)" and up - lo == pd.Timedelta(minutes=90)
        assert start <= lo <= start + dt.timedelta(hours=99)


def test_points_keep_each_coordinate_range() -> None:
    values = pd.Series([f"({i % 10},{(i * 3) % 7 + 0.5})" for i in range(150)], dtype=object)
    out = roundtrip(GeometricCodec.fit(values), values)
    for v in out:
        x, y = map(float, v.strip("()").split(","))
        assert 0 <= x <= 9 and 0.5 <= y <= 6.5


def test_boxes_and_circles_keep_corners_sizes_and_radii() -> None:
    boxes = pd.Series([f"({i % 10 + 1 + i % 3},{i % 5 + 2}),({i % 10},{i % 5})" for i in range(150)] + [None] * 5,
                      dtype=object)
    out = roundtrip(GeometricCodec.fit(boxes, "box"), boxes)
    assert out.isna().sum() == 5
    for v in out.dropna():
        x2, y2, x1, y1 = (float(n) for n in v.replace("(", "").replace(")", "").split(","))
        assert x2 >= x1 and y2 >= y1 and 1 <= x2 - x1 <= 3 and y2 - y1 == 2 and 0 <= x1 <= 9
    circles = pd.Series([f"<({i % 7},{i % 4}),{1 + i % 3}>" for i in range(120)], dtype=object)
    for v in roundtrip(GeometricCodec.fit(circles, "circle"), circles):
        x, y, r = (float(n) for n in v.strip("<>").replace("(", "").replace(")", "").split(","))
        assert 0 <= x <= 6 and 0 <= y <= 3 and 1 <= r <= 3


def test_xml_keeps_elements_and_attributes_never_source_text() -> None:
    values = pd.Series([f'<order id="{i}"><item sku="A{i % 3}">secret note {i}</item><qty>{i % 4}</qty></order>'
                        for i in range(120)] + [None] * 12, dtype=object)
    out = roundtrip(XmlCodec.fit(values, name="doc"), values)
    assert out.isna().sum() == 12
    for v in out.dropna():
        root = ET.fromstring(v)                        # well-formed
        assert root.tag == "order" and root.find("item") is not None and root.find("qty") is not None
        assert "secret" not in v


def test_tsvector_lexemes_come_from_the_common_vocabulary() -> None:
    docs = ["'brown':2 'fox':3 'quick':1", "'dog':2 'lazi':1", "'brown':1 'dog':2 'fast':4 'run':3"]
    values = pd.Series([f"{docs[i % 3]} 'zork{i}':9" for i in range(90)], dtype=object)
    out = roundtrip(TsvectorCodec.fit(values), values)
    vocabulary = {"brown", "fox", "quick", "dog", "lazi", "fast", "run"}
    assert all(set(lexemes(v)) <= vocabulary and lexemes(v) for v in out)
    assert lexemes("'it''s':1 'a\\\\b'") == ["it's", "a\\b"]     # PostgreSQL's escapes undone


def test_composite_values_parse_and_rebuild_as_record_literals() -> None:
    from dbsynth.codecs.categorical import CategoricalCodec
    from dbsynth.codecs.composite import CompositeCodec, parse_record, record_literal
    from dbsynth.codecs.numeric import NumericCodec

    assert parse_record('("a, \\"b\\"",12,,t)') == ['a, "b"', "12", None, "t"]
    assert parse_record(record_literal(['a, "b"', 12, None, True])) == ['a, "b"', "12", None, "t"]
    values = pd.Series([f'("desk {i % 3}",{100 + i},{"t" if i % 2 else "f"})' for i in range(90)] + [None] * 10,
                       dtype=object)
    kinds = [lambda v: CategoricalCodec.fit(v, min_count=1), lambda v: NumericCodec.fit(v, "integer"),
             lambda v: CategoricalCodec.fit(v, min_count=1)]
    codec = CompositeCodec.fit(values, ["label", "n", "ok"], lambda i, v: kinds[i](v), [False, False, True])
    out = roundtrip(codec, values)
    assert out.isna().sum() == 10
    for doc in out.dropna():
        assert doc["label"] in {"desk 0", "desk 1", "desk 2"} and 100 <= doc["n"] <= 189
        assert isinstance(doc["ok"], bool)
        assert parse_record(record_literal(list(doc.values())))[0] == doc["label"]


def test_text_kept_in_bytes_round_trips_through_its_state() -> None:
    """VARBINARY holding text is modelled as text and written back as bytes; binary stays a BytesCodec."""
    import numpy as np
    import pandas as pd

    from dbsynth.codecs import codec_from_state
    from dbsynth.codecs.binary import BytesCodec, TextInBytesCodec
    from dbsynth.codecs.choose import choose_codec
    from dbsynth.schema.model import Column, SqlType

    column = Column("job_cmd", SqlType("bytes", "VARBINARY(60)", length=60))
    values = pd.Series([b"refreshLinks", b"htmlCacheUpdate", None] * 40, dtype=object)
    codec = choose_codec("job", column, values, None)
    assert isinstance(codec, TextInBytesCodec)
    again = codec_from_state(codec.to_state())
    out = again.decode(again.encode(values), np.random.default_rng(1))
    assert set(out.dropna()) == {b"refreshLinks", b"htmlCacheUpdate"} and out.isna().sum() == 40
    binary = pd.Series([b"\x00\xff\x10", b"\x01\x02"] * 20, dtype=object)
    assert isinstance(choose_codec("job", column, binary, None), BytesCodec)
