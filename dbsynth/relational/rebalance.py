"""Rebalancing: more of a rare case (fraud, failed payments, churned customers) on request.

Every row of the table gets a target class drawn to the requested shares; rows
are resampled, each with its own evidence (a child keeps its parent), until
their class is the target. A class the model hardly produces for some parent
could keep a row waiting forever, so after a bounded number of rounds the
class is set directly on the rows still waiting (their other columns then do
not follow it; the count of such rows is logged).
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from dbsynth.codecs.categorical import CategoricalCodec
from dbsynth.config import Rebalance
from dbsynth.errors import ConfigError
from dbsynth.models import Generator

log = logging.getLogger(__name__)
MAX_ROUNDS = 200


def parse_rebalance(spec: str) -> Rebalance:
    """[SCHEMA.]TABLE.COLUMN[=uniform|VALUE:SHARE,...] from the command line."""
    target, _, how = spec.partition("=")
    table, _, column = target.rpartition(".")   # the table may be schema.table: the column is after the last dot
    if not table or not column:
        raise ConfigError(f"--rebalance {spec!r}: expected TABLE.COLUMN[=uniform|VALUE:SHARE,...]")
    if not how or how == "uniform":
        return Rebalance(table, column)
    shares = []
    for part in how.split(","):
        value, _, share = part.rpartition(":")
        try:
            shares.append((value, float(share)))
        except ValueError:
            raise ConfigError(f"--rebalance {spec!r}: {part!r} is not VALUE:SHARE (a share such as 0.3)") from None
    if not value or sum(s for _, s in shares) > 1 + 1e-9 or any(s <= 0 for _, s in shares):
        raise ConfigError(f"--rebalance {spec!r}: shares must be positive and add up to at most 1")
    return Rebalance(table, column, tuple(shares))


def target_shares(rule: Rebalance, codec: object, table: str) -> np.ndarray:
    """Probability of each state of the column's codec under the requested shares."""
    if not isinstance(codec, CategoricalCodec):
        raise ConfigError(f"rebalance.{table}.{rule.column}: only categorical columns can be rebalanced "
                          f"(this one is modelled as {type(codec).__name__})")
    states = {str(c): i for i, c in enumerate(codec.categories)}
    probs = np.zeros(codec.n_states)
    if rule.uniform:
        probs[: len(codec.categories)] = 1.0
        return probs / probs.sum()
    for value, share in rule.shares:
        if value not in states:
            known = ", ".join(sorted(states)[:12])
            raise ConfigError(f"rebalance.{table}.{rule.column}: {value!r} is not among its values ({known})")
        probs[states[value]] = share
    rest = [i for i in range(len(codec.categories)) if probs[i] == 0]
    left = 1.0 - probs.sum()
    if rest and left > 1e-12:
        probs[rest] = left / len(rest)
    return probs / probs.sum()


def rebalance_rows(matrix: np.ndarray, column: int, probs: np.ndarray, generator: Generator,
                   evidence: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """`matrix` with column `column` following `probs`, other columns resampled to match."""
    n = len(matrix)
    wanted = rng.choice(probs.size, size=n, p=probs)
    pending = matrix[:, column] != wanted
    for _ in range(MAX_ROUNDS):
        rows = np.flatnonzero(pending)
        if rows.size == 0:
            break
        fresh = generator.sample(rows.size, rng, evidence[rows] if evidence is not None else None)
        hit = fresh[:, column] == wanted[rows]
        matrix[rows[hit]] = fresh[hit]
        pending[rows[hit]] = False
    if pending.any():
        log.info("rebalance: %d rows got their class set directly", int(pending.sum()))
        matrix[pending, column] = wanted[pending]
    return matrix


def achieved(values: Sequence[object]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for v in values:
        counts[str(v)] = counts.get(str(v), 0) + 1
    total = max(sum(counts.values()), 1)
    return {k: c / total for k, c in sorted(counts.items(), key=lambda kv: -kv[1])}
