"""Independent columns: every column from its own marginal. The baseline to beat."""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

import numpy as np

from dbsynth.models.base import check_evidence, register


@register
class IndependentGenerator:
    name: ClassVar[str] = "independent"

    def __init__(self) -> None:
        self.marginals: list[np.ndarray] = []
        self.n_conditions = 0

    def fit(self, data: np.ndarray, cardinalities: Sequence[int], n_conditions: int,
            rng: np.random.Generator) -> None:
        self.n_conditions = n_conditions
        self.marginals = [
            np.bincount(data[:, j], minlength=cardinalities[j]).astype(float) + 1e-9
            for j in range(n_conditions, data.shape[1])
        ]
        self.marginals = [m / m.sum() for m in self.marginals]

    def sample(self, n: int, rng: np.random.Generator, evidence: np.ndarray | None = None) -> np.ndarray:
        cols = [check_evidence(evidence, n, self.n_conditions)]
        cols += [rng.choice(m.size, size=n, p=m)[:, None] for m in self.marginals]
        return np.hstack(cols).astype(np.int64)

    def to_state(self) -> dict[str, Any]:
        return {"name": self.name, "n_conditions": self.n_conditions,
                "marginals": [m.tolist() for m in self.marginals]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> IndependentGenerator:
        g = cls()
        g.n_conditions = state["n_conditions"]
        g.marginals = [np.asarray(m) for m in state["marginals"]]
        return g
