"""A cheap holdout score for state matrices: how close are the synthetic rows' marginals?

``fidelity`` = 1 - (mean TVD over single columns + mean TVD over column pairs) / 2,
where TVD is the total-variation distance between the real and the synthetic
(joint) state frequencies, in [0, 1]. Singles and pairs weigh half each, as in
SDMetrics' quality report (column shapes, column pair trends), so that a table
with many columns is not judged on its pairs alone.

- Singles: generated columns only; conditioning columns are evidence, equal in
  both matrices by construction, and would only dilute the score.
- Pairs: generated x generated and conditioning x generated (child-given-parent
  fit is what conditioning is for), never conditioning x conditioning. When
  there are more than ``max_pairs``, a fixed-seed subsample, so the score is a
  pure function of its inputs.
- For pairs, wide columns are coarsened into contiguous runs of states of
  about equal real mass, at most ``max_states`` runs and fewer for a small
  holdout (about ``ROWS_PER_CELL`` real rows per cell of a pair). Contiguous
  runs suit both kinds of state: numeric bins are ordinal, and categorical
  codecs number categories by descending frequency (the head keeps its own
  states, the tail is pooled). Without it, a pair of two 300-state columns has
  90,000 cells and its TVD measures the holdout's sampling noise, not the
  model; even at 10 rows a cell, two samples of one distribution differ by a
  pair TVD of about 0.4 * sqrt(2 / 10) = 0.18, an offset common to all
  candidates scored on the same holdout. Singles are never coarsened.

Only ``np.bincount``: scoring a 10,000-row holdout with 30 columns takes milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Sequence

import numpy as np

MAX_PAIRS = 300
MAX_STATES = 20
ROWS_PER_CELL = 10


@dataclass(frozen=True)
class Fidelity:
    columns: float   # 1 - mean single-column TVD (1.0 when there is none)
    pairs: float     # 1 - mean pair TVD (1.0 when there is none)

    @property
    def score(self) -> float:
        return (self.columns + self.pairs) / 2


def fidelity(real: np.ndarray, synthetic: np.ndarray, cardinalities: Sequence[int], n_conditions: int,
             *, max_pairs: int = MAX_PAIRS, max_states: int = MAX_STATES) -> float:
    """1 - mean total-variation distance over single columns and column pairs, in [0, 1]."""
    return fidelity_parts(real, synthetic, cardinalities, n_conditions,
                          max_pairs=max_pairs, max_states=max_states).score


def fidelity_parts(real: np.ndarray, synthetic: np.ndarray, cardinalities: Sequence[int], n_conditions: int,
                   *, max_pairs: int = MAX_PAIRS, max_states: int = MAX_STATES) -> Fidelity:
    """The singles and pairs halves of `fidelity`, separately."""
    real, synthetic = np.asarray(real, dtype=np.int64), np.asarray(synthetic, dtype=np.int64)
    if real.shape[1] != synthetic.shape[1] or real.shape[1] != len(cardinalities):
        raise ValueError("real, synthetic and cardinalities disagree on the number of columns")
    if len(real) == 0 or len(synthetic) == 0:
        raise ValueError("fidelity needs rows in both matrices")
    cards = [int(c) for c in cardinalities]
    d = len(cards)
    singles = [_tvd(real[:, j], synthetic[:, j], cards[j]) for j in range(n_conditions, d)]
    pairs = [(a, b) for a, b in combinations(range(d), 2) if b >= n_conditions]
    if len(pairs) > max_pairs:
        keep = np.random.default_rng(0).choice(len(pairs), max_pairs, replace=False)
        pairs = [pairs[i] for i in np.sort(keep)]
    runs = int(np.clip(np.sqrt(len(real) / ROWS_PER_CELL), 2, max(max_states, 2)))
    coarse: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}
    for j in sorted({c for pair in pairs for c in pair}):
        groups = _groups(real[:, j], cards[j], runs)
        coarse[j] = (groups[real[:, j]], groups[synthetic[:, j]], int(groups.max()) + 1)
    pair_tvd = []
    for a, b in pairs:
        ra, sa, ka = coarse[a]
        rb, sb, kb = coarse[b]
        pair_tvd.append(_tvd(ra * kb + rb, sa * kb + sb, ka * kb))
    return Fidelity(1.0 - float(np.mean(singles)) if singles else 1.0,
                    1.0 - float(np.mean(pair_tvd)) if pair_tvd else 1.0)


def _tvd(real: np.ndarray, synthetic: np.ndarray, size: int) -> float:
    p = np.bincount(real, minlength=size) / len(real)
    q = np.bincount(synthetic, minlength=size) / len(synthetic)
    return 0.5 * float(np.abs(p - q).sum())


def _groups(states: np.ndarray, card: int, max_states: int) -> np.ndarray:
    """state -> group: itself when few states, else contiguous runs of about equal real mass."""
    if card <= max_states:
        return np.arange(card)
    cdf = np.cumsum(np.bincount(states, minlength=card)) / len(states)
    # a state's group is where its run starts; a heavy state fills a run of its own
    starts = np.concatenate([[0.0], cdf[:-1]])
    groups = np.minimum((starts * max_states).astype(np.int64), max_states - 1)
    return np.unique(groups, return_inverse=True)[1].astype(np.int64)
