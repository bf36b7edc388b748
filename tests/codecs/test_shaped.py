"""ShapedTextCodec: codes keep their character shape, never their characters."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dbsynth.codecs import codec_from_state
from dbsynth.codecs.shaped import ShapedTextCodec
from dbsynth.schema.checks import mentioned_columns


def test_codes_keep_their_shape_and_nulls_and_survive_the_model_file() -> None:
    source = pd.Series([f"{a}{b}{c}-{i:04d}" for i, (a, b, c) in enumerate(zip("ABCDEFGH" * 20, "QRSTUVWX" * 20,
                                                                                   "KLMNOPQR" * 20))] + [None] * 10)
    codec = ShapedTextCodec.fit(source)
    assert codec is not None and codec.shapes == ["AAA-9999"]
    codec = codec_from_state(codec.to_state())
    out = codec.decode(codec.encode(source), np.random.default_rng(1))
    assert out.isna().sum() == 10
    assert all(re.fullmatch(r"[A-Z]{3}-[0-9]{4}", v) for v in out.dropna())
    assert not set(out.dropna()) & set(source.dropna())  # fresh codes, not the source's


def test_prose_is_not_a_code() -> None:
    assert ShapedTextCodec.fit(pd.Series(["two words", "and three more"] * 10)) is None


def test_mentioned_columns_skip_string_literals_and_unknown_operators() -> None:
    columns = ("id", "code", "Label")
    assert mentioned_columns("(code ~ '^id[0-9]+$'::text)", columns) == ("code",)
    assert mentioned_columns('char_length(TRIM(BOTH FROM "Label")) > 2', columns) == ("Label",)
    assert mentioned_columns("`CODE` REGEXP 'x'", columns) == ("code",)
