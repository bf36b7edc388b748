"""Categories (low-cardinality text, booleans, enums): one state per frequent value.

Values seen fewer than ``min_count`` times are never reproduced: they share one
"rare" state that decodes to a fresh fake value, so a one-off (a single
customer's city) cannot leak while the share of rare values is kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dbsynth.codecs.fake import fake_values

MIN_COUNT = 2


class CategoricalCodec:
    kind = "categorical"

    def __init__(self, categories: list[Any], has_rare: bool, has_null: bool,
                 rare_provider: str = "word", max_length: int | None = None) -> None:
        self.categories = list(categories)
        self.has_rare = has_rare
        self.has_null = has_null
        self.rare_provider = rare_provider
        self.max_length = max_length
        self._index = {c: i for i, c in enumerate(self.categories)}
        self.n_states = len(self.categories) + int(has_rare) + int(has_null)

    @property
    def rare_state(self) -> int | None:
        return len(self.categories) if self.has_rare else None

    @property
    def null_state(self) -> int | None:
        return len(self.categories) + int(self.has_rare) if self.has_null else None

    @classmethod
    def fit(cls, values: pd.Series, rare_provider: str = "word", max_length: int | None = None,
            min_count: int = MIN_COUNT) -> CategoricalCodec:
        counts = _plain(values.dropna()).value_counts()
        frequent = counts[counts >= min_count]
        categories = sorted(frequent.index.tolist(), key=lambda v: (-int(frequent[v]), str(v)))
        return cls(categories, bool((counts < min_count).any()), bool(values.isna().any()),
                   rare_provider, max_length)

    def encode(self, values: pd.Series) -> np.ndarray:
        plain = _plain(values)
        isnull = values.isna().to_numpy()
        fallback = self.rare_state if self.has_rare else 0
        # An object Index looks values up by Python equality and hash, as the dict does, in one call.
        states = pd.Index(self.categories, dtype=object).get_indexer(plain.to_numpy(dtype=object))
        states = np.where(states < 0, fallback, states).astype(np.int64)
        if self.has_null:
            states[isnull] = self.null_state
        return states

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        table = np.array(self.categories + [None, None], dtype=object)
        out = table[np.minimum(states, len(self.categories))].copy()
        if self.has_null:
            out[states == self.null_state] = None
        if self.has_rare:
            rare = np.flatnonzero(states == self.rare_state)
            out[rare] = fake_values(self.rare_provider, rare.size, rng, max_length=self.max_length)
        return pd.Series(out, dtype=object)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "categories": self.categories, "has_rare": self.has_rare,
                "has_null": self.has_null, "rare_provider": self.rare_provider, "max_length": self.max_length}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> CategoricalCodec:
        return cls(s["categories"], s["has_rare"], s["has_null"], s["rare_provider"], s["max_length"])


def _plain(values: pd.Series) -> pd.Series:
    """Python scalars (bool/int/float/str) so categories survive a JSON round trip."""
    values = values.astype(object)
    if not any(hasattr(t, "item") for t in set(map(type, values.to_numpy()))):
        return values   # Python scalars already (what the drivers return): no per-value call
    return values.map(lambda v: v.item() if hasattr(v, "item") else v)
