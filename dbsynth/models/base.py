"""The generator interface and its registry.

A generator models one table's rows as a matrix of discrete states (one column
per codec). The first ``n_conditions`` columns are *conditioning* columns (a
parent's attributes): they are evidence at sampling time, never generated.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, Sequence

import numpy as np


class Generator(Protocol):
    name: ClassVar[str]

    def fit(self, data: np.ndarray, cardinalities: Sequence[int], n_conditions: int,
            rng: np.random.Generator) -> None: ...

    def sample(self, n: int, rng: np.random.Generator, evidence: np.ndarray | None = None) -> np.ndarray:
        """An (n, d) state matrix; its first n_conditions columns equal `evidence`."""
        ...

    def to_state(self) -> dict[str, Any]: ...

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Generator: ...


_REGISTRY: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: make a generator available by its `name`."""
    _REGISTRY[cls.name] = cls  # type: ignore[attr-defined]
    return cls


def generator_names() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def create(name: str, **settings: Any) -> Generator:
    _load_builtins()
    if name not in _REGISTRY:
        from dbsynth.errors import ConfigError
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](**settings)  # type: ignore[no-any-return]


def from_state(state: dict[str, Any]) -> Generator:
    _load_builtins()
    return _REGISTRY[state["name"]].from_state(state)  # type: ignore[attr-defined,no-any-return]


def _load_builtins() -> None:
    # Imported lazily so `import dbsynth` stays cheap and free of side effects.
    from dbsynth.models import bayesnet, copula, gan, independent, neural  # noqa: F401


def check_evidence(evidence: np.ndarray | None, n: int, n_conditions: int) -> np.ndarray:
    if n_conditions == 0:
        return np.empty((n, 0), dtype=np.int64)
    if evidence is None or evidence.shape != (n, n_conditions):
        raise ValueError(f"expected evidence of shape ({n}, {n_conditions})")
    return evidence.astype(np.int64)
