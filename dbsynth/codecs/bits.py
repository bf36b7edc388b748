"""Bit strings (PostgreSQL bit(n) / bit varying(n), MySQL/MariaDB BIT(n)): length and per-position bits.

What is learned: the lengths (bit(n): always n; bit varying: the source's length
distribution, as model states) and, per position, how often that bit is set.
Decoding draws a length from the state and each bit from its position's share,
so constant flags stay constant and every value has a length the type accepts.
Values are written as text of 0/1 digits; MariaDB's BIT gets the number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dbsynth.codecs.lengths import draw_lengths, encode_lengths, length_groups

MAX_POSITIONS = 256   # per-position shares kept; further positions share the last one's


def bit_text(v: Any, length: int | None) -> str | None:
    """The 0/1 text of a bit value as a driver returns it: text, a bit string, an int (MariaDB), bytes."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (bytes, bytearray, memoryview)):
        v = int.from_bytes(bytes(v), "big")
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return format(int(v), f"0{length or 1}b")
    text = str(v).strip()
    if text.lower().startswith("b'") and text.endswith("'"):
        text = text[2:-1]
    return text if set(text) <= {"0", "1"} else None


class BitCodec:
    kind = "bit"

    def __init__(self, lengths: list[list[int]], ones: list[float], has_null: bool) -> None:
        self.lengths = [np.asarray(g, dtype=np.int64) for g in lengths]
        self.ones = np.asarray(ones, dtype=float)
        self.has_null = has_null
        self.n_states = len(self.lengths) + int(has_null)

    @classmethod
    def fit(cls, values: pd.Series, length: int | None = None, fixed: bool = False) -> BitCodec:
        texts = [bit_text(v, length) for v in values.to_numpy(dtype=object)]
        present = [t for t in texts if t is not None]
        sizes = np.array([len(t) for t in present], dtype=np.int64)
        if fixed and length:
            groups = [[length]]
        else:
            groups = length_groups(sizes) if sizes.size else [[length or 1]]
        width = min(max([len(t) for t in present] + [length or 1]), MAX_POSITIONS)
        ones = np.zeros(width)
        seen = np.zeros(width)
        for t in present:
            digits = np.frombuffer(t[:width].encode(), dtype=np.uint8) - ord("0")
            ones[:digits.size] += digits
            seen[:digits.size] += 1
        shares = np.where(seen > 0, ones / np.maximum(seen, 1), 0.5)
        return cls(groups, shares.tolist(), any(t is None for t in texts))

    def encode(self, values: pd.Series) -> np.ndarray:
        texts = [bit_text(v, int(self.lengths[-1].max())) for v in values.to_numpy(dtype=object)]
        sizes = np.array([0 if t is None else len(t) for t in texts], dtype=np.int64)
        states = encode_lengths(self.lengths, sizes)
        if self.has_null:
            states[np.array([t is None for t in texts], dtype=bool)] = len(self.lengths)
        return states

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        sizes = draw_lengths(self.lengths, states, rng)
        present = states < len(self.lengths)
        out: list[str | None] = []
        for n, p in zip(sizes.tolist(), present):
            if not p:
                out.append(None)
                continue
            shares = self.ones[np.minimum(np.arange(n), self.ones.size - 1)] if n else np.zeros(0)
            bits = rng.random(n) < shares
            out.append("".join("1" if b else "0" for b in bits))
        return pd.Series(out, dtype=object)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "lengths": [g.tolist() for g in self.lengths], "ones": self.ones.tolist(),
                "has_null": self.has_null}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> BitCodec:
        return cls(s["lengths"], s["ones"], s["has_null"])
