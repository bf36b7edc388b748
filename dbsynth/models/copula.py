"""Gaussian copula over discrete states: exact marginals, pairwise dependence, closed-form conditioning.

Each column's states are laid out on [0, 1] by its empirical CDF, in an order:
by state index when the column is ordinal (numeric bins), by descending
frequency when it is not. A state owns the interval (F(s-), F(s)] and the
normal score Phi^-1 of that interval. The dependence between columns is one
correlation matrix of the latent normals, estimated from normal scores (each
row's score is the mean of the standard normal truncated to its state's
interval), corrected for the coarsening that shrinks correlations of columns
with few states (inverting Mehler's expansion, exact for the Gaussian model: a
binary pair with latent correlation 0.9 shows only 0.70), repaired to be
positive definite and shrunk a little towards the identity so that sparse
columns cannot produce wild conditionals.

Ordering: the state matrix does not say which columns are ordinal, so the
default treats every column as ordinal by index. That is right for the codecs
we have: numeric bins are ordinal, and categorical codecs number their
categories by descending frequency, so index order *is* frequency order there.
Pass ``ordinal=[...]`` (one flag per column, conditions included) to have
unordered columns re-ordered by frequency in the training data instead.

Conditioning: given the conditioning columns' states, their latent normals are
drawn uniformly within their states' CDF intervals (then Phi^-1), and the other
columns from the conditional Gaussian (Schur complement), all vectorised.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

import numpy as np
from scipy.special import ndtr, ndtri

from dbsynth.models.base import check_evidence, register

EPS = 1e-9
MAX_CORRELATION = 0.995   # after the coarsening correction, before the PSD repair
MIN_EIGENVALUE = 1e-4
HERMITE_TERMS = 40


@register
class CopulaGenerator:
    name: ClassVar[str] = "copula"

    def __init__(self, shrinkage: float = 0.05, ordinal: Sequence[bool] | None = None,
                 correct_coarsening: bool = True) -> None:
        self.shrinkage = float(shrinkage)
        self.ordinal = None if ordinal is None else [bool(o) for o in ordinal]
        self.correct_coarsening = correct_coarsening
        self.cards: list[int] = []
        self.n_conditions = 0
        self.rank_of: list[np.ndarray] = []   # per column: state -> position in its CDF order
        self.cdf: list[np.ndarray] = []       # per column: cumulative share at each position, cdf[-1] == 1
        self.corr = np.eye(0)

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, data: np.ndarray, cardinalities: Sequence[int], n_conditions: int,
            rng: np.random.Generator) -> None:
        data = np.asarray(data, dtype=np.int64)
        self.cards = [int(c) for c in cardinalities]
        self.n_conditions = n_conditions
        d = len(self.cards)
        if self.ordinal is not None and len(self.ordinal) != d:
            raise ValueError(f"ordinal has {len(self.ordinal)} flags for {d} columns")
        self.rank_of, self.cdf = [], []
        scores = np.zeros(data.shape, dtype=float)
        for j in range(d):
            counts = np.bincount(data[:, j], minlength=self.cards[j]).astype(float)
            ordinal = True if self.ordinal is None else self.ordinal[j]
            order = np.arange(counts.size) if ordinal else np.argsort(-counts, kind="stable")
            rank_of = np.empty(counts.size, dtype=np.int64)
            rank_of[order] = np.arange(counts.size)
            cdf = np.cumsum(counts[order]) / max(counts.sum(), 1.0)
            cdf[-1] = 1.0
            self.rank_of.append(rank_of)
            self.cdf.append(cdf)
            scores[:, j] = _interval_means(cdf)[rank_of[data[:, j]]]
        self.corr = self._correlation(scores)

    def _correlation(self, scores: np.ndarray) -> np.ndarray:
        d = scores.shape[1]
        if d == 0 or len(scores) < 2:
            return np.eye(d)
        centred = scores - scores.mean(axis=0)
        std = np.sqrt((centred ** 2).mean(axis=0))
        live = std > EPS
        corr = np.eye(d)
        if live.sum() >= 2:
            z = centred[:, live] / std[live]
            sub = (z.T @ z) / len(z)
            if self.correct_coarsening:
                # Few states keep only part of a latent normal's information, so the observed
                # correlation understates the latent one; invert the exact relation instead.
                coeffs = np.array([_hermite_coefficients(self.cdf[j]) for j in np.flatnonzero(live)])
                sub = _latent_correlation(sub, coeffs)
            sub = np.clip(sub, -MAX_CORRELATION, MAX_CORRELATION)
            np.fill_diagonal(sub, 1.0)
            corr[np.ix_(live, live)] = sub
        corr = _nearest_correlation(corr)
        return (1.0 - self.shrinkage) * corr + self.shrinkage * np.eye(d)

    # -- sampling ----------------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator, evidence: np.ndarray | None = None) -> np.ndarray:
        k, d = self.n_conditions, len(self.cards)
        out = np.zeros((n, d), dtype=np.int64)
        out[:, :k] = check_evidence(evidence, n, k)
        if d == k:
            return out
        latent_c = np.empty((n, k))
        for j in range(k):  # uniform within the evidence state's CDF interval, then Phi^-1
            states = np.clip(out[:, j], 0, self.cards[j] - 1)
            rank = self.rank_of[j][states]
            hi = self.cdf[j][rank]
            lo = np.where(rank > 0, self.cdf[j][np.maximum(rank - 1, 0)], 0.0)
            latent_c[:, j] = ndtri(np.clip(lo + rng.random(n) * (hi - lo), EPS, 1 - EPS))
        mean, chol = self._conditional(latent_c)
        latent = mean + rng.standard_normal((n, d - k)) @ chol.T
        for i, j in enumerate(range(k, d)):
            rank = np.searchsorted(self.cdf[j], ndtr(latent[:, i]), side="left")
            order = np.argsort(self.rank_of[j])
            out[:, j] = order[np.minimum(rank, self.cards[j] - 1)]
        return out

    def _conditional(self, latent_c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean (n, d-k) and Cholesky factor of the generated columns' Gaussian given the conditions."""
        k = self.n_conditions
        s_cc, s_cr, s_rr = self.corr[:k, :k], self.corr[:k, k:], self.corr[k:, k:]
        if k:
            weights = np.linalg.solve(s_cc, s_cr)          # (k, d-k)
            mean = latent_c @ weights
            cov = s_rr - s_cr.T @ weights
        else:
            mean = np.zeros((len(latent_c), s_rr.shape[0]))
            cov = s_rr
        cov = (cov + cov.T) / 2 + MIN_EIGENVALUE * np.eye(cov.shape[0])
        return mean, np.linalg.cholesky(cov)

    # -- persistence -------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {
            "name": self.name, "shrinkage": self.shrinkage, "ordinal": self.ordinal,
            "correct_coarsening": self.correct_coarsening, "cards": self.cards,
            "n_conditions": self.n_conditions, "rank_of": [r.tolist() for r in self.rank_of],
            "cdf": [c.tolist() for c in self.cdf], "corr": self.corr.tolist(),
        }

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> CopulaGenerator:
        g = cls(s["shrinkage"], s["ordinal"], s["correct_coarsening"])
        g.cards, g.n_conditions = list(s["cards"]), int(s["n_conditions"])
        g.rank_of = [np.asarray(r, dtype=np.int64) for r in s["rank_of"]]
        g.cdf = [np.asarray(c, dtype=float) for c in s["cdf"]]
        g.corr = np.asarray(s["corr"], dtype=float).reshape(len(g.cards), len(g.cards))
        return g


def _interval_means(cdf: np.ndarray) -> np.ndarray:
    """E[Z | Z in (Phi^-1(F(s-)), Phi^-1(F(s))]] per position; the point itself for empty states."""
    lo = np.concatenate([[0.0], cdf[:-1]])
    a, b = ndtri(np.clip(lo, 0, 1)), ndtri(np.clip(cdf, 0, 1))
    mass = cdf - lo
    density = np.exp(-0.5 * np.nan_to_num(a, posinf=40, neginf=-40) ** 2) \
        - np.exp(-0.5 * np.nan_to_num(b, posinf=40, neginf=-40) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = density / np.sqrt(2 * np.pi) / mass
    point = ndtri(np.clip(cdf, EPS, 1 - EPS))
    return np.where(mass > EPS, means, point)


def _hermite_coefficients(cdf: np.ndarray, terms: int = HERMITE_TERMS) -> np.ndarray:
    """E[g(Z) h_k(Z)] / sd(g), k = 1..terms, for g = the column's interval-mean step function.

    h_k are the orthonormal Hermite polynomials. For Z1, Z2 standard normal with correlation
    rho, corr(g1(Z1), g2(Z2)) = sum_k rho**k * c1_k * c2_k (Mehler's expansion), so the
    observed normal-scores correlation is a known increasing function of the latent one.
    Uses the integral of h_k * phi over (a, b] = (h_{k-1} phi)(a) - (h_{k-1} phi)(b) / sqrt(k).
    """
    lo = np.concatenate([[0.0], cdf[:-1]])
    means = _interval_means(cdf)
    mass = cdf - lo
    sd = np.sqrt(max(float((mass * means ** 2).sum()), EPS))
    ends = np.stack([ndtri(np.clip(lo, 0, 1)), ndtri(np.clip(cdf, 0, 1))])   # (2, states)
    finite = np.isfinite(ends)
    x = np.where(finite, ends, 0.0)
    phi = np.where(finite, np.exp(-0.5 * x ** 2) / np.sqrt(2 * np.pi), 0.0)
    h_prev, h = np.zeros_like(x), np.ones_like(x)            # h_{-1}, h_0
    out = np.empty(terms)
    for k in range(1, terms + 1):
        integral = (h[0] * phi[0] - h[1] * phi[1]) / np.sqrt(k)   # of h_k * phi over each interval
        out[k - 1] = float((means * integral).sum()) / sd
        h_prev, h = h, (x * h - np.sqrt(k - 1) * h_prev) / np.sqrt(k)
    return out


def _latent_correlation(observed: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """The latent correlations whose normal-scores correlations are `observed` (vectorised bisection)."""
    powers = np.arange(1, coeffs.shape[1] + 1)
    out = np.empty_like(observed)
    for first in range(0, len(observed), 64):  # blocks of rows: (64, d, terms) at a time
        rows = slice(first, first + 64)
        pair = coeffs[rows, None, :] * coeffs[None, :, :]
        lo = np.full(observed[rows].shape, -MAX_CORRELATION)
        hi = np.full(observed[rows].shape, MAX_CORRELATION)
        for _ in range(40):
            mid = (lo + hi) / 2
            below = (pair * mid[..., None] ** powers).sum(axis=-1) < observed[rows]
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        out[rows] = (lo + hi) / 2
    return out


def _nearest_correlation(corr: np.ndarray) -> np.ndarray:
    """Clip eigenvalues from below and rescale to a unit diagonal: a valid correlation matrix."""
    values, vectors = np.linalg.eigh((corr + corr.T) / 2)
    if values.min() >= MIN_EIGENVALUE:
        return corr
    fixed = (vectors * np.maximum(values, MIN_EIGENVALUE)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return fixed / np.outer(scale, scale)
