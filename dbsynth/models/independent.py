"""Independent columns: every column from its own marginal. The baseline to beat.

With ``epsilon``: each generated column's histogram gets Laplace noise of scale
2m / epsilon (one replaced row moves two cells of each of the m histograms, so
the L1 sensitivity of all of them together is 2m), negatives clipped, then
normalised (uniform where nothing survives).
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

import numpy as np

from dbsynth.models.base import check_evidence, register
from dbsynth.privacy.mechanisms import is_private, laplace_counts


@register
class IndependentGenerator:
    name: ClassVar[str] = "independent"

    def __init__(self, epsilon: float | None = None) -> None:
        if epsilon is not None and not epsilon > 0:
            raise ValueError("epsilon must be positive")
        self.epsilon = None if epsilon is None or not is_private(epsilon) else float(epsilon)
        self.marginals: list[np.ndarray] = []
        self.n_conditions = 0

    def fit(self, data: np.ndarray, cardinalities: Sequence[int], n_conditions: int,
            rng: np.random.Generator) -> None:
        self.n_conditions = n_conditions
        columns = range(n_conditions, data.shape[1])
        eps_each = None if self.epsilon is None else self.epsilon / max(len(columns), 1)
        counts = [np.bincount(data[:, j], minlength=cardinalities[j]).astype(float) for j in columns]
        if eps_each is not None:
            counts = [laplace_counts(c, eps_each, rng) for c in counts]
        self.marginals = [c + 1e-9 for c in counts]
        self.marginals = [m / m.sum() for m in self.marginals]

    def sample(self, n: int, rng: np.random.Generator, evidence: np.ndarray | None = None) -> np.ndarray:
        cols = [check_evidence(evidence, n, self.n_conditions)]
        cols += [rng.choice(m.size, size=n, p=m)[:, None] for m in self.marginals]
        return np.hstack(cols).astype(np.int64)

    def to_state(self) -> dict[str, Any]:
        return {"name": self.name, "n_conditions": self.n_conditions, "epsilon": self.epsilon,
                "marginals": [m.tolist() for m in self.marginals]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> IndependentGenerator:
        g = cls(state.get("epsilon"))
        g.n_conditions = state["n_conditions"]
        g.marginals = [np.asarray(m) for m in state["marginals"]]
        return g
