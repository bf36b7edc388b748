"""Column codecs: source values <-> discrete model states, one codec per column.

Every modelled column becomes an integer state in ``0..n_states-1``; NULL is a
state of its own, so "fax is NULL when company is NULL" is learnable like any
other correlation. PII and free-text codecs learn only shape (NULL or not, how
many words), never values, so no source string can come back out of them.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd


class Codec(Protocol):
    """Encodes one column to states and decodes states to fresh values."""

    kind: str
    n_states: int

    def encode(self, values: pd.Series) -> np.ndarray: ...

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series: ...

    def to_state(self) -> dict[str, Any]: ...


def codec_from_state(state: dict[str, Any]) -> Codec:
    """Rebuild a codec from `to_state()` output (plain JSON data, never pickle)."""
    from dbsynth.codecs.array import ArrayCodec, SetCodec
    from dbsynth.codecs.binary import BytesCodec, TextInBytesCodec
    from dbsynth.codecs.bits import BitCodec
    from dbsynth.codecs.composite import CompositeCodec
    from dbsynth.codecs.categorical import CategoricalCodec
    from dbsynth.codecs.fake import FakeCodec
    from dbsynth.codecs.jsondoc import JsonCodec
    from dbsynth.codecs.jsonvalues import ConstantCodec
    from dbsynth.codecs.lexemes import TsvectorCodec
    from dbsynth.codecs.network import NetworkCodec
    from dbsynth.codecs.numeric import NumericCodec
    from dbsynth.codecs.pairs import GeometricCodec, RangeCodec
    from dbsynth.codecs.shaped import ShapedTextCodec
    from dbsynth.codecs.text import FreeTextCodec
    from dbsynth.codecs.xmldoc import XmlCodec

    kinds = {c.kind: c for c in (ArrayCodec, BytesCodec, CategoricalCodec, ConstantCodec, FakeCodec,
                                 FreeTextCodec, JsonCodec, NetworkCodec, NumericCodec, SetCodec, ShapedTextCodec,
                                 BitCodec, CompositeCodec, GeometricCodec, RangeCodec, TsvectorCodec, XmlCodec,
                                 TextInBytesCodec)}
    return kinds[state["kind"]].from_state(state)  # type: ignore[attr-defined]
