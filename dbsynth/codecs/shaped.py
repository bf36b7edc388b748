"""Codes of a fixed character shape (``ABC123``, ``X-0042``): learn the shapes, never the characters.

A mostly-unique text column is usually written as lorem words, which can never
satisfy a format rule such as ``CHECK (code ~ '^[A-Z]{3}[0-9]+$')``. When such a
CHECK names the column (`relational.fit` asks for this codec then), each value
is reduced to its shape: an upper-case letter becomes ``A``, a lower-case one
``a``, a digit ``9``, anything else stays as it is. States are NULL plus the
most frequent shapes; decoding fills each position with a random character of
its class. So values keep their length and layout, and no source string can
come back out except by chance (a random code equal to a real one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

MAX_SHAPES = 12      # states: the most frequent shapes
COVERAGE = 0.99      # ...which must cover this share of the present values
MAX_LENGTH = 64      # longer values are prose, not codes

_CLASSES = {"A": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "a": "abcdefghijklmnopqrstuvwxyz", "9": "0123456789"}


def shape_of(value: str) -> str:
    """``AB-12x`` -> ``AA-99a``: letters and digits become their class, so a literal is never A, a or 9."""
    out = []
    for ch in value:
        if "A" <= ch <= "Z":
            out.append("A")
        elif "a" <= ch <= "z":
            out.append("a")
        elif "0" <= ch <= "9":
            out.append("9")
        else:
            out.append(ch)
    return "".join(out)


class ShapedTextCodec:
    kind = "shaped_text"

    def __init__(self, shapes: list[str], has_null: bool) -> None:
        self.shapes = list(shapes)
        self.has_null = has_null
        self.n_states = len(self.shapes) + int(has_null)

    @classmethod
    def fit(cls, values: pd.Series) -> ShapedTextCodec | None:
        """None when the values are not codes: whitespace, long values, or too many shapes."""
        present = values.dropna().astype(str)
        if present.empty or present.str.len().max() > MAX_LENGTH or present.str.contains(r"\s").any():
            return None
        counts = present.map(shape_of).value_counts()
        top = counts.iloc[:MAX_SHAPES]
        if top.sum() < COVERAGE * len(present):
            return None
        return cls(sorted(top.index.tolist(), key=lambda s: (-int(counts[s]), s)), bool(values.isna().any()))

    def encode(self, values: pd.Series) -> np.ndarray:
        index = {s: i for i, s in enumerate(self.shapes)}
        shapes = values.fillna("").astype(str).map(shape_of)
        states = shapes.map(lambda s: index.get(s, 0)).to_numpy(dtype=np.int64)  # a rare shape: the commonest
        if self.has_null:
            states = np.where(values.isna().to_numpy(), len(self.shapes), states)
        return states

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """Per shape, all rows' characters drawn at once, one column of characters per position."""
        out = np.full(states.shape[0], None, dtype=object)
        for s, shape in enumerate(self.shapes):
            rows = np.flatnonzero(states == s)
            if not rows.size:
                continue
            positions = []
            for ch in shape:
                alphabet = _CLASSES.get(ch)
                if alphabet is None:
                    positions.append(np.full(rows.size, ch, dtype=object))
                else:
                    letters = np.array(list(alphabet), dtype=object)
                    positions.append(letters[rng.integers(0, len(alphabet), rows.size)])
            out[rows] = ["".join(chars) for chars in zip(*positions)] if positions else ""
        return pd.Series(out, dtype=object)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "shapes": self.shapes, "has_null": self.has_null}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> ShapedTextCodec:
        return cls(s["shapes"], s["has_null"])

