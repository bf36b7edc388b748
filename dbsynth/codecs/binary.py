"""Binary values (bytea, BLOB, VARBINARY): learn the length, never the bytes.

States are NULL plus groups of byte lengths; decoding writes that many random
bytes from the seeded generator, never longer than the column allows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dbsynth.codecs.lengths import draw_lengths, encode_lengths, length_groups


class BytesCodec:
    kind = "bytes"

    def __init__(self, lengths: list[list[int]], has_null: bool, max_length: int | None = None) -> None:
        self.lengths = [np.asarray(g, dtype=np.int64) for g in lengths]
        self.has_null = has_null
        self.max_length = max_length
        self.n_states = len(self.lengths) + int(has_null)

    @classmethod
    def fit(cls, values: pd.Series, max_length: int | None = None) -> BytesCodec:
        present = values.dropna()
        return cls(length_groups(_sizes(present)), bool(values.isna().any()), max_length)

    def encode(self, values: pd.Series) -> np.ndarray:
        isnull = values.isna().to_numpy(dtype=bool)
        states = encode_lengths(self.lengths, _sizes(values.where(~isnull, b"")))
        if self.has_null:
            states[isnull] = len(self.lengths)
        return states

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        sizes = draw_lengths(self.lengths, states, rng)
        if self.max_length:
            sizes = np.minimum(sizes, self.max_length)
        out = np.full(states.shape[0], None, dtype=object)
        for row in np.flatnonzero(states < len(self.lengths)):
            out[row] = rng.bytes(int(sizes[row]))
        return pd.Series(out, dtype=object)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "lengths": [g.tolist() for g in self.lengths], "has_null": self.has_null,
                "max_length": self.max_length}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> BytesCodec:
        return cls(s["lengths"], s["has_null"], s.get("max_length"))


def _sizes(values: pd.Series) -> np.ndarray:
    return np.array([len(v) if isinstance(v, (bytes, bytearray, memoryview)) else len(str(v)) for v in values],
                    dtype=np.int64)


class TextInBytesCodec:
    """Binary values that are all UTF-8 text, modelled as that text and written back as its bytes.

    MediaWiki keeps page titles, job commands and yyyymmddhhmmss timestamps in VARBINARY/BINARY columns;
    random bytes of the right length would fit the type but no application could read them. `inner` is the
    text codec the decoded values would get (categories, shaped codes, free text).
    """

    kind = "text_in_bytes"

    def __init__(self, inner: Any, max_length: int | None = None) -> None:
        self.inner = inner
        self.max_length = max_length
        self.n_states = inner.n_states

    @classmethod
    def fit(cls, values: pd.Series, text_codec: Any, max_length: int | None = None) -> TextInBytesCodec:
        return cls(text_codec(as_text(values)), max_length)

    def encode(self, values: pd.Series) -> np.ndarray:
        return self.inner.encode(as_text(values))

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        texts = self.inner.decode(states, rng)
        out = [None if not isinstance(t, str) else t.encode("utf-8")[:self.max_length or None] for t in texts]
        return pd.Series(out, dtype=object)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "inner": self.inner.to_state(), "max_length": self.max_length}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> TextInBytesCodec:
        from dbsynth.codecs import codec_from_state

        return cls(codec_from_state(s["inner"]), s.get("max_length"))


_CONTROL = {*range(0, 9), 11, 12, *range(14, 32), 127}


def holds_text(values: pd.Series) -> bool:
    """Every present value is UTF-8 text without control characters (tab and newlines allowed)."""
    present = values.dropna()
    if not len(present):
        return False
    for v in present:
        if not isinstance(v, (bytes, bytearray, memoryview)):
            return False
        raw = bytes(v)
        if _CONTROL.intersection(raw):
            return False
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


def as_text(values: pd.Series) -> pd.Series:
    """Binary values as text (NULL stays NULL); values that are text already are kept."""
    return pd.Series([bytes(v).decode("utf-8", "replace") if isinstance(v, (bytes, bytearray, memoryview)) else v
                      for v in values], index=values.index, dtype=object)
