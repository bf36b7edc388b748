"""Where inside their bins a row's numbers fall, correlated across columns (a Gaussian copula).

Generators see numbers as quantile bins; decoding draws each value from its
bin's empirical values. Drawn independently per column, two columns that move
together (a track's length and its file size) lose the part of their
correlation that lives inside the bins, most of all in the wide tail bins
that dominate Pearson's r. Here the within-bin positions of the source rows
(mid-ranks) are turned into normal scores, their correlation matrix is kept,
and sampling draws correlated uniforms that pick the place in each bin.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dbsynth.codecs.numeric import NumericCodec

MIN_ROWS = 50          # fewer rows than this: no reliable correlation
MIN_CORRELATION = 0.1  # weaker than this everywhere: independent draws are as good


def fit_within_bin(codecs: dict[str, Any], values: dict[str, pd.Series]) -> dict[str, Any] | None:
    """The correlation of within-bin normal scores over the table's numeric columns, or None."""
    scores: dict[str, np.ndarray] = {}
    for name, codec in codecs.items():
        if isinstance(codec, NumericCodec) and name in values and len(values[name]) >= MIN_ROWS:
            pos = codec.positions(values[name])
            if np.isfinite(pos).sum() >= MIN_ROWS and np.nanstd(pos) > 0:
                scores[name] = stats.norm.ppf(np.clip(pos, 0.005, 0.995))
    if len(scores) < 2:
        return None
    frame = pd.DataFrame(scores)
    corr = frame.corr(min_periods=MIN_ROWS).fillna(0.0).to_numpy()
    np.fill_diagonal(corr, 1.0)
    off = corr[~np.eye(len(corr), dtype=bool)]
    if not (np.abs(off) >= MIN_CORRELATION).any():
        return None
    return {"columns": list(frame.columns), "correlation": _nearest_correlation(corr).tolist()}


def draw_positions(model: dict[str, Any] | None, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Correlated uniforms, one array per column of the model (empty without a model)."""
    if not model or n == 0:
        return {}
    corr = np.asarray(model["correlation"], dtype=float)
    z = rng.standard_normal((n, len(corr))) @ np.linalg.cholesky(corr).T
    u = stats.norm.cdf(z)
    return {name: u[:, j] for j, name in enumerate(model["columns"])}


def _nearest_correlation(corr: np.ndarray) -> np.ndarray:
    """Pairwise-complete estimates need not be positive definite: clip eigenvalues, rescale the diagonal."""
    values, vectors = np.linalg.eigh((corr + corr.T) / 2)
    fixed = vectors @ np.diag(np.maximum(values, 1e-6)) @ vectors.T
    d = np.sqrt(np.diag(fixed))
    return fixed / np.outer(d, d)
