"""Text-search vectors (PostgreSQL tsvector): lexemes drawn from the source's common vocabulary.

A tsvector is a sorted set of lexemes (normalised words) with positions. What is
learned: how many lexemes a value has (as model states) and the lexemes that
occur in at least ``MIN_COUNT`` rows (or the privacy settings' threshold for rare values), with their row counts. Decoding draws that
many distinct lexemes by frequency; a rare lexeme (a name, an id) is never
emitted, and no source document is rebuilt: positions and weights are left out.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from dbsynth.codecs.categorical import MIN_COUNT
from dbsynth.codecs.lengths import draw_lengths, encode_lengths, length_groups

MAX_LEXEMES = 2000
_LEXEME = re.compile(r"'((?:[^'\\]|''|\\.)*)'(?::[0-9A-D,]+)?|([^\s':]+)(?::[0-9A-D,]+)?")
_ESCAPED = re.compile(r"''|\\(.)")


def lexemes(v: Any) -> list[str]:
    """The lexemes of a tsvector's text form ("'cat':3 'fat':2" -> ['cat', 'fat'])."""
    return [(_ESCAPED.sub(lambda m: m.group(1) or "'", quoted) if quoted else bare)
            for quoted, bare in _LEXEME.findall(str(v)) if quoted or bare]


class TsvectorCodec:
    kind = "tsvector"

    def __init__(self, lengths: list[list[int]], vocabulary: list[str], counts: list[int], has_null: bool) -> None:
        self.lengths = [np.asarray(g, dtype=np.int64) for g in lengths]
        self.vocabulary = list(vocabulary)
        self.counts = np.asarray(counts, dtype=float)
        self.has_null = has_null
        self.n_states = len(self.lengths) + int(has_null)
        self._quoted = ["'" + _escaped(lex) + "'" for lex in self.vocabulary]

    @classmethod
    def fit(cls, values: pd.Series, min_count: int = MIN_COUNT) -> TsvectorCodec:
        """Lexemes in fewer than `min_count` rows (the threshold rare categories get) are never emitted."""
        rows = [sorted(set(lexemes(v))) for v in values.dropna()]
        counts = Counter(lex for r in rows for lex in r)
        common = [(lex, n) for lex, n in counts.most_common(MAX_LEXEMES) if n >= max(min_count, MIN_COUNT)]
        sizes = np.array([min(len(r), len(common)) for r in rows], dtype=np.int64)
        groups = length_groups(sizes) if sizes.size else [[0]]
        return cls(groups, [lex for lex, _ in common], [n for _, n in common], bool(values.isna().any()))

    def encode(self, values: pd.Series) -> np.ndarray:
        isnull = values.isna().to_numpy(dtype=bool)
        sizes = np.array([0 if n else min(len(set(lexemes(v))), len(self.vocabulary))
                          for v, n in zip(values, isnull)], dtype=np.int64)
        states = encode_lengths(self.lengths, sizes)
        if self.has_null:
            states[isnull] = len(self.lengths)
        return states

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        sizes = np.minimum(draw_lengths(self.lengths, states, rng), len(self.vocabulary))
        present = states < len(self.lengths)
        out = np.full(states.shape[0], None, dtype=object)
        out[present & (sizes == 0)] = ""
        if self.vocabulary:
            log_p = np.log(self.counts / self.counts.sum())
            chunk = max(1, 4_000_000 // len(self.vocabulary))
            for n in np.unique(sizes[present & (sizes > 0)]):
                rows = np.flatnonzero(present & (sizes == n))
                for start in range(0, rows.size, chunk):
                    part = rows[start:start + chunk]
                    # n distinct lexemes by frequency at once: the n largest of log p + Gumbel noise
                    keys = log_p + rng.gumbel(size=(part.size, len(self.vocabulary)))
                    picks = np.sort(np.argpartition(-keys, int(n) - 1, axis=1)[:, :int(n)], axis=1)
                    out[part] = [" ".join(self._quoted[i] for i in row) for row in picks.tolist()]
        return pd.Series(out, dtype=object)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "lengths": [g.tolist() for g in self.lengths], "vocabulary": self.vocabulary,
                "counts": self.counts.tolist(), "has_null": self.has_null}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> TsvectorCodec:
        return cls(s["lengths"], s["vocabulary"], s["counts"], s["has_null"])


def _escaped(lexeme: str) -> str:
    """A lexeme quoted for tsvector input: backslashes and quotes doubled."""
    return lexeme.replace("\\", "\\\\").replace("'", "''")
