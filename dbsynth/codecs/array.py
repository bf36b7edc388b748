"""Arrays (PostgreSQL arrays, JSON arrays) and MySQL SETs.

An array column's model state is NULL or a group of lengths; decoding draws a
length from the state and that many elements from the *element codec* (the
codec the element type would get as a column of its own: categories for enum
or low-cardinality text, quantile bins for numbers, lorem for free text...),
with element states drawn from their frequencies in the source. Lengths stay
within the source's min..max and elements are valid values of the element type.
Where no source array repeats an element (tags, a subset of labels), element
states are drawn without replacement, so generated arrays do not either.

A SET is a subset of declared labels: frequent subsets are categories of their
own (co-occurrence kept); rare ones are redrawn label by label.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from dbsynth.codecs import Codec, codec_from_state
from dbsynth.codecs.categorical import MIN_COUNT
from dbsynth.codecs.lengths import draw_lengths, encode_lengths, length_groups

MAX_SUBSETS = 32


class ArrayCodec:
    kind = "array"

    def __init__(self, lengths: list[list[int]], has_null: bool, element: Codec,
                 element_weights: list[float], flatten: bool = True, distinct: bool = False) -> None:
        self.flatten = flatten
        self.distinct = distinct
        self.lengths = [np.asarray(g, dtype=np.int64) for g in lengths]
        self.has_null = has_null
        self.element = element
        weights = np.asarray(element_weights, dtype=float)
        self.element_weights = weights
        self._p = weights / weights.sum() if weights.sum() > 0 else None
        self.n_states = len(self.lengths) + int(has_null)

    @classmethod
    def fit(cls, values: pd.Series, element_codec: Callable[[pd.Series], Codec],
            flatten: bool = True) -> ArrayCodec:
        """`element_codec` builds the codec of the elements from all of them (one Series).

        `flatten`: nested lists are one array (PostgreSQL does not enforce an array's
        dimensions, so a 1-d array of the same elements is valid); JSON arrays keep
        nested lists as elements.
        """
        rows = [_items(v, flatten) for v in values.dropna()]
        elements = pd.Series([e for r in rows for e in r], dtype=object)
        element = element_codec(elements)
        counts = np.bincount(element.encode(elements), minlength=element.n_states) if len(elements) else \
            np.zeros(element.n_states)
        lengths = length_groups(np.array([len(r) for r in rows], dtype=np.int64))
        return cls(lengths, bool(values.isna().any()), element, counts.tolist(), flatten, _distinct(rows))

    def encode(self, values: pd.Series) -> np.ndarray:
        isnull = values.isna().to_numpy(dtype=bool)
        sizes = np.array([0 if n else len(_items(v, self.flatten)) for v, n in zip(values, isnull)], dtype=np.int64)
        states = encode_lengths(self.lengths, sizes)
        if self.has_null:
            states[isnull] = len(self.lengths)
        return states

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        sizes = draw_lengths(self.lengths, states, rng)
        present = states < len(self.lengths)
        sizes[~present] = 0
        total = int(sizes.sum())
        if total and self._p is not None:
            flat = python_values(self.element.decode(self._element_states(sizes, rng), rng))
        else:
            flat = [None] * total
        out = np.full(states.shape[0], None, dtype=object)
        ends = np.cumsum(sizes)
        for row in np.flatnonzero(present):
            out[row] = flat[ends[row] - sizes[row]:ends[row]]
        return pd.Series(out, dtype=object)

    def _element_states(self, sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Element states for all rows, row after row; without repeats within a row where learned."""
        assert self._p is not None
        n = self.element.n_states
        if not self.distinct:
            return rng.choice(n, size=int(sizes.sum()), p=self._p).astype(np.int64)
        possible = int((self._p > 0).sum())
        parts = [rng.choice(n, size=int(k), p=self._p, replace=k > possible) for k in sizes if k]
        return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, dtype=np.int64)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "lengths": [g.tolist() for g in self.lengths], "has_null": self.has_null,
                "element": self.element.to_state(), "element_weights": self.element_weights.tolist(),
                "flatten": self.flatten, "distinct": self.distinct}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> ArrayCodec:
        return cls(s["lengths"], s["has_null"], codec_from_state(s["element"]), s["element_weights"],
                   s.get("flatten", True), s.get("distinct", False))


class SetCodec:
    """A MySQL SET: a subset of `labels`, decoded as a list in the declared label order."""

    kind = "set"

    def __init__(self, labels: list[str], subsets: list[list[str]], label_share: list[float],
                 has_rare: bool, has_null: bool) -> None:
        self.labels = list(labels)
        self.subsets = [list(s) for s in subsets]
        self.label_share = np.asarray(label_share, dtype=float)
        self.has_rare = has_rare
        self.has_null = has_null
        self._index = {tuple(s): i for i, s in enumerate(self.subsets)}
        self.n_states = len(self.subsets) + int(has_rare) + int(has_null)

    @classmethod
    def fit(cls, values: pd.Series, labels: Iterable[str]) -> SetCodec:
        labels = list(labels)
        present = [_subset(v, labels) for v in values.dropna()]
        counts = pd.Series([",".join(s) for s in present], dtype=object).value_counts()
        frequent = [k for k in sorted(counts.index, key=lambda k: (-int(counts[k]), k))
                    if counts[k] >= MIN_COUNT][:MAX_SUBSETS]
        subsets = [k.split(",") if k else [] for k in frequent]
        share = [sum(lab in s for s in present) / max(len(present), 1) for lab in labels]
        has_rare = len(frequent) < len(counts) or not subsets
        return cls(labels, subsets, share, has_rare, bool(values.isna().any()))

    @property
    def rare_state(self) -> int | None:
        return len(self.subsets) if self.has_rare else None

    @property
    def null_state(self) -> int | None:
        return len(self.subsets) + int(self.has_rare) if self.has_null else None

    def encode(self, values: pd.Series) -> np.ndarray:
        isnull = values.isna().to_numpy(dtype=bool)
        fallback = self.rare_state if self.has_rare else 0
        states = np.array([0 if n else self._index.get(tuple(_subset(v, self.labels)), fallback)
                           for v, n in zip(values, isnull)], dtype=np.int64)
        if self.has_null:
            states[isnull] = self.null_state
        return states

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        out = np.full(states.shape[0], None, dtype=object)
        for row, s in enumerate(states):
            if s < len(self.subsets):
                out[row] = list(self.subsets[s])
            elif self.has_rare and s == self.rare_state:
                chosen = rng.random(len(self.labels)) < self.label_share
                out[row] = [lab for lab, c in zip(self.labels, chosen) if c]
        return pd.Series(out, dtype=object)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "labels": self.labels, "subsets": self.subsets,
                "label_share": self.label_share.tolist(), "has_rare": self.has_rare, "has_null": self.has_null}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> SetCodec:
        return cls(s["labels"], s["subsets"], s["label_share"], s["has_rare"], s["has_null"])


def python_values(series: pd.Series) -> list[Any]:
    """Plain Python values (int, float, str, bool, list, dict, None) from a decoded Series.

    numpy scalars become Python ones, and every kind of missing (NaN, NaT, pd.NA) becomes None.
    """
    out: list[Any] = []
    for v in series.astype(object).tolist():
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
        elif isinstance(v, np.generic):
            out.append(v.item())
        else:
            out.append(v)
    return out


def _distinct(rows: list[list[Any]]) -> bool:
    """No row repeats an element (and some row has two or more to tell)."""
    try:
        return any(len(r) > 1 for r in rows) and all(len(set(map(_hashable, r))) == len(r) for r in rows)
    except TypeError:
        return False


def _hashable(v: Any) -> Any:
    return json.dumps(v, sort_keys=True, default=str) if isinstance(v, (dict, list)) else v


def _items(value: Any, flatten: bool) -> list[Any]:
    if isinstance(value, str) or not isinstance(value, (list, tuple, np.ndarray, set, frozenset)):
        return [value]
    if not flatten:
        return list(value)
    out: list[Any] = []
    for v in value:
        out.extend(_items(v, True) if isinstance(v, (list, tuple, np.ndarray)) else [v])
    return out


def _subset(value: Any, labels: list[str]) -> list[str]:
    """A SET value (Python set, list or 'a,b' text) as its labels in declared order."""
    items = set(value.split(",")) if isinstance(value, str) else {str(v) for v in value}
    return [lab for lab in labels if lab in items]
