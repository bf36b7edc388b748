"""Length distributions (array lengths, byte counts) as a few model states.

A column whose values are only worth their *size* (an array, a blob) becomes
NULL plus a handful of states, each holding the lengths seen in it; decoding
draws one of those lengths, so the marginal distribution (and its min and max)
is kept exactly and the states correlate with other columns like any other.
"""

from __future__ import annotations

import numpy as np

MAX_LENGTH_STATES = 12
LENGTHS_PER_STATE = 256


def length_groups(lengths: np.ndarray, max_states: int = MAX_LENGTH_STATES) -> list[list[int]]:
    """Observed lengths split into at most `max_states` quantile groups, each sorted, never empty."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.size == 0:
        return [[0]]
    distinct = np.unique(lengths)
    if distinct.size <= max_states:
        return [[int(d)] for d in distinct]  # each length a state of its own
    edges = np.unique(np.quantile(lengths, np.linspace(0, 1, max_states + 1))[1:-1])
    groups = np.searchsorted(edges, lengths, side="right")
    out = [_thin(np.sort(lengths[groups == g])) for g in range(edges.size + 1)]
    return [g for g in out if g]


def encode_lengths(groups: list[np.ndarray], lengths: np.ndarray) -> np.ndarray:
    """The group of each length: the first group whose largest length is >= it (the last one otherwise)."""
    upper = np.array([g.max() for g in groups])
    return np.minimum(np.searchsorted(upper, lengths, side="left"), len(groups) - 1).astype(np.int64)


def draw_lengths(groups: list[np.ndarray], states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A length for every row whose state is a length group; 0 elsewhere (the NULL state)."""
    out = np.zeros(states.shape[0], dtype=np.int64)
    for s, choices in enumerate(groups):
        rows = np.flatnonzero(states == s)
        if rows.size:
            out[rows] = choices[rng.integers(0, choices.size, rows.size)]
    return out


def _thin(values: np.ndarray) -> list[int]:
    """At most LENGTHS_PER_STATE values, evenly spread over the sorted ones (keeps the shape)."""
    if values.size > LENGTHS_PER_STATE:
        values = values[np.linspace(0, values.size - 1, LENGTHS_PER_STATE).round().astype(np.int64)]
    return [int(v) for v in values]
