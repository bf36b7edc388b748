"""Free text (titles, descriptions, mostly-unique strings): learn the shape, never the words.

States are NULL plus bins of the word count; decoding writes that many words
drawn from Faker's lorem vocabulary. The length distribution and its
correlation with other columns survive; no source string can.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from faker.providers.lorem.en_US import Provider as _Lorem

_WORDS = np.array(sorted(set(_Lorem.word_list)), dtype=object)
_MAX_STATES = 12


class FreeTextCodec:
    kind = "text"

    def __init__(self, word_counts: list[list[int]], has_null: bool, max_length: int | None) -> None:
        self.word_counts = [np.asarray(w, dtype=np.int64) for w in word_counts]
        self.has_null = has_null
        self.max_length = max_length
        self.n_states = len(self.word_counts) + int(has_null)

    @classmethod
    def fit(cls, values: pd.Series, max_length: int | None = None) -> FreeTextCodec:
        counts = _word_counts(values.dropna())
        distinct = sorted(set(counts.tolist())) or [1]
        if len(distinct) > _MAX_STATES:
            edges = np.unique(np.quantile(counts, np.linspace(0, 1, _MAX_STATES + 1))[1:-1])
            groups = np.searchsorted(edges, counts, side="right")
            word_counts = [counts[groups == g].tolist() for g in range(len(edges) + 1)]
            word_counts = [w for w in word_counts if w]
        else:
            word_counts = [[d] for d in distinct]
        return cls(word_counts, bool(values.isna().any()), max_length)

    def encode(self, values: pd.Series) -> np.ndarray:
        counts = _word_counts(values.fillna(""))
        upper = np.array([w.max() for w in self.word_counts])
        states = np.minimum(np.searchsorted(upper, counts, side="left"), len(self.word_counts) - 1)
        if self.has_null:
            states = np.where(values.isna().to_numpy(), len(self.word_counts), states)
        return states.astype(np.int64)

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """All words of a state's rows drawn in one call, then cut into rows (no RNG call per row)."""
        out = np.full(states.shape[0], None, dtype=object)
        for s, choices in enumerate(self.word_counts):
            rows = np.flatnonzero(states == s)
            if not rows.size:
                continue
            counts = np.maximum(choices[rng.integers(0, choices.size, rows.size)], 1)
            words = _WORDS[rng.integers(0, _WORDS.size, int(counts.sum()))]
            texts = _joined(words, counts)
            out[rows] = [t[: self.max_length] for t in texts] if self.max_length else texts
        return pd.Series(out, dtype=object)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "word_counts": [w.tolist() for w in self.word_counts],
                "has_null": self.has_null, "max_length": self.max_length}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> FreeTextCodec:
        return cls(s["word_counts"], s["has_null"], s["max_length"])


def _joined(words: np.ndarray, counts: np.ndarray) -> list[str]:
    """Consecutive runs of `counts` words as capitalised texts, by one join and one split.

    Splitting the array into a view per row cost more than writing the rows
    (25 s of TPC-H SF1's 230 s generate); the vocabulary holds no newline.
    """
    spaced = np.empty(2 * words.size, dtype=object)
    spaced[0::2] = words
    ends = np.full(words.size, " ", dtype=object)
    ends[np.cumsum(counts) - 1] = "\n"
    spaced[1::2] = ends
    return [text.capitalize() for text in "".join(spaced.tolist()).split("\n")[:-1]]


def _word_counts(values: pd.Series) -> np.ndarray:
    return np.array([len(str(v).split()) for v in values], dtype=np.int64)
