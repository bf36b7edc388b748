"""Which codec a column gets, from its SQL type, its values and PII detection."""

from __future__ import annotations

import dataclasses

import pandas as pd

from dbsynth.codecs import Codec
from dbsynth.codecs.array import ArrayCodec, SetCodec
from dbsynth.codecs.binary import BytesCodec, TextInBytesCodec, holds_text
from dbsynth.codecs.bits import BitCodec
from dbsynth.codecs.composite import CompositeCodec
from dbsynth.codecs.categorical import MIN_COUNT, CategoricalCodec
from dbsynth.codecs.fake import FakeCodec
from dbsynth.codecs.jsondoc import JsonCodec
from dbsynth.codecs.jsonvalues import looks_like_json
from dbsynth.codecs.lexemes import TsvectorCodec
from dbsynth.codecs.network import NetworkCodec, network_subtype
from dbsynth.codecs.numeric import NumericCodec
from dbsynth.codecs.pairs import GeometricCodec, RangeCodec, geometric_shape
from dbsynth.codecs.shaped import ShapedTextCodec
from dbsynth.codecs.text import FreeTextCodec
from dbsynth.codecs.xmldoc import XmlCodec
from dbsynth.errors import UnsupportedType
from dbsynth.pii import PiiMatch, semantic_provider
from dbsynth.schema.model import Column, SqlType
from dbsynth.schema.types import is_varying_bit

# Text is categorical when frequent values (seen >= MIN_COUNT times) cover this share of rows.
CATEGORICAL_COVERAGE = 0.6

_NUMERIC_KINDS = {"integer": "integer", "float": "float", "decimal": "decimal",
                  "datetime": "datetime", "date": "date", "time": "time", "interval": "interval"}


def choose_codec(table: str, column: Column, values: pd.Series, pii: PiiMatch | None,
                 min_count: int = MIN_COUNT, shaped: bool = False) -> Codec:
    """The codec for one column; categories seen fewer than `min_count` times are never emitted.

    `shaped`: a CHECK dbsynth cannot read names the column, so mostly-unique codes
    keep their character shape (`ShapedTextCodec`) instead of becoming words.
    """
    t = column.type
    if pii is not None:
        return FakeCodec.fit(values, pii.provider, t.length, pii.locale)
    if t.kind in _NUMERIC_KINDS:
        # decimal places of a decimal, fractional-second digits of a timestamp(0)/time(3)
        scale = t.scale if t.kind == "decimal" else t.precision if t.kind in ("datetime", "time") else None
        value_kind = "integer" if t.kind == "decimal" and t.scale == 0 else _NUMERIC_KINDS[t.kind]
        return NumericCodec.fit(values, value_kind, scale=scale, timezone=t.timezone,
                                precision=t.precision if value_kind == "decimal" else None)
    if t.kind in ("boolean", "enum"):
        return CategoricalCodec.fit(values, min_count=1)  # the domain is the type's, not the data's
    if t.kind == "uuid":
        return FakeCodec.fit(values, "uuid")
    if t.kind == "bytes" and holds_text(values):   # text kept in VARBINARY (MediaWiki): generated as text
        return TextInBytesCodec.fit(values, lambda texts: _text_codec(texts, t.length, column.name, min_count,
                                                                      shaped), t.length)
    if t.kind == "bytes":
        return BytesCodec.fit(values, t.length)
    if t.kind == "text":
        provider = semantic_provider(column)
        if provider:
            return CategoricalCodec.fit(values, rare_provider=provider, max_length=t.length, min_count=min_count)
        return _text_codec(values, t.length, column.name, min_count, shaped)
    if t.kind == "json":  # documents; JSON text where the driver gave text (a JSON column read as LONGTEXT)
        return JsonCodec.fit(values, name=column.name, text_input=looks_like_json(values))
    if t.kind == "array" and t.values:  # MySQL SET: a subset of the declared labels
        return SetCodec.fit(values, t.values)
    if t.kind == "array":
        element = dataclasses.replace(column, type=t.item or SqlType("text"), nullable=True)
        return ArrayCodec.fit(values, lambda items: choose_codec(table, element, items, None))
    if t.kind == "network":
        return NetworkCodec.fit(values, network_subtype(t.source_name))
    if t.kind == "bit":
        return BitCodec.fit(values, t.length, fixed=not is_varying_bit(t))
    if t.kind == "range":
        return RangeCodec.fit(values, t.source_name)
    if t.kind == "geometric":
        return GeometricCodec.fit(values, geometric_shape(t.source_name))
    if t.kind == "xml":
        return XmlCodec.fit(values, name=column.name)
    if t.kind == "tsvector":
        return TsvectorCodec.fit(values, min_count)
    if t.kind == "composite":
        fields = [dataclasses.replace(column, name=f"{column.name}.{n}", type=ft, nullable=True) for n, ft in t.fields]
        return CompositeCodec.fit(values, [n for n, _ in t.fields],
                                  lambda i, items: choose_codec(table, fields[i], items, None, min_count),
                                  [ft.kind == "boolean" for _, ft in t.fields])
    raise UnsupportedType(table, column.name, t.source_name or t.kind)


def _text_codec(values: pd.Series, max_length: int | None, name: str = "value",
                min_count: int = MIN_COUNT, shaped: bool = False) -> Codec:
    present = values.dropna()
    if looks_like_json(present):
        # JSON kept as text (MariaDB's JSON type is LONGTEXT with a CHECK): modelled as JSON, written as text.
        return JsonCodec.fit(values, as_text=True, name=name, max_length=max_length)
    counts = present.value_counts()
    frequent_share = counts[counts >= MIN_COUNT].sum() / max(len(present), 1)
    if len(present) and frequent_share >= CATEGORICAL_COVERAGE:
        return CategoricalCodec.fit(values, max_length=max_length, min_count=min_count)
    codes = ShapedTextCodec.fit(values) if shaped else None
    return codes if codes is not None else FreeTextCodec.fit(values, max_length)
