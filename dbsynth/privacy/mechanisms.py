"""The two pure-DP building blocks the Bayesian network and the independent model use.

Neighbouring datasets differ in one row *replaced* by another (the table's row
count n is public). Under that neighbourhood one row moves a histogram by at
most 2 in L1 norm (one cell down, one up), and changes the empirical mutual
information I(X; parents) by at most

    S(I) = (2/n) ln((n+1)/2) + ((n-1)/n) ln((n+1)/(n-1))

(PrivBayes, Zhang et al., TODS 2017, Lemma 4.1, general domains; the binary
case has a smaller bound, which we do not use). ``epsilon=None`` or ``inf``
anywhere here means "no privacy": the exact value is returned.
"""

from __future__ import annotations

import math

import numpy as np

HISTOGRAM_SENSITIVITY = 2.0   # L1, one row replaced


def is_private(epsilon: float | None) -> bool:
    return epsilon is not None and math.isfinite(epsilon)


def mi_sensitivity(n: int) -> float:
    """Sensitivity of empirical mutual information (nats) for n rows, replace-one (PrivBayes Lemma 4.1)."""
    if n <= 1:
        return math.log(2.0)   # MI of a single row is 0; any bound >= the range would do
    return (2.0 / n) * math.log((n + 1) / 2.0) + ((n - 1) / n) * math.log((n + 1) / (n - 1))


def laplace_counts(counts: np.ndarray, epsilon: float | None, rng: np.random.Generator,
                   sensitivity: float = HISTOGRAM_SENSITIVITY) -> np.ndarray:
    """Counts plus Laplace(sensitivity / epsilon) noise, negatives clipped to 0 (post-processing)."""
    counts = np.asarray(counts, dtype=float)
    if not is_private(epsilon):
        return counts
    if epsilon <= 0:  # type: ignore[operator]
        raise ValueError("epsilon must be positive")
    noisy = counts + rng.laplace(0.0, sensitivity / epsilon, size=counts.shape)  # type: ignore[operator]
    return np.maximum(noisy, 0.0)


def exponential_mechanism(scores: np.ndarray, epsilon: float | None, sensitivity: float,
                          rng: np.random.Generator) -> int:
    """Index i drawn with probability proportional to exp(epsilon * score_i / (2 sensitivity)).

    epsilon-DP for a score whose sensitivity is `sensitivity` (McSherry and Talwar 2007).
    Without privacy, the argmax (the first on ties).
    """
    scores = np.asarray(scores, dtype=float)
    if not is_private(epsilon):
        return int(np.argmax(scores))
    logits = epsilon * scores / (2.0 * sensitivity)  # type: ignore[operator]
    p = np.exp(logits - logits.max())
    return int(rng.choice(len(p), p=p / p.sum()))
