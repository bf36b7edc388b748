"""How a total (epsilon, delta) is split across tables and the parts of each table.

What the guarantee is, plainly
------------------------------
* **Unit of privacy: one row of one table.** Each table's training matrix (its
  own columns, its child-count columns, and its parent's conditioning columns)
  is treated as a separate dataset in which one row is replaced by another; n,
  the row count, is public. Every learned part of a table is differentially
  private with respect to that table's rows.
* **Across tables: sequential composition.** Tables share people (a customer
  and her invoices), so the tables' epsilons and deltas *add up*: the split
  below gives each table a share, and the shares sum to at most the total.
* **The simplification.** A parent row also reaches its children's matrices
  (as their conditioning columns) and a child row reaches its parent's matrix
  (as one step of a child count). One child row changes one parent row's count
  (a replaced row: covered). One parent row, however, appears as evidence in
  every one of its children's rows, so a parent with many children contributes
  more than one row to the child table's dataset. We do not bound that
  fan-out: the guarantee is *per-table, row-level*, not user-level across the
  whole database.
* **Not covered (they come from the data as they are):** the category domains
  of categorical columns (which values exist; rare ones are suppressed, see
  `suppress_rare`, but that is a threshold, not DP), the quantile bin edges of
  numeric columns and the real values each bin draws from, the choice of
  conditioning columns by mutual information, the choice of model by
  auto-tuning (under epsilon, use one fixed model), the null shares and row
  counts, tables copied verbatim (mode "copy") and kept/hashed columns.

Within a table (its share ``e``): ``TOTALS_SHARE`` of ``e`` goes to the noisy
child totals (``noisy_total``, split evenly among its child edges) when it has
any; the rest is the generator's ``epsilon``. The generator splits it again:
the Bayesian network spends ``STRUCTURE_SHARE`` (30 %, PrivBayes' beta) on
structure and the rest on its conditional tables; the independent model all of
it on its marginals; the neural model all of it, with the table's delta, on
DP-SGD. Child-count columns are ordinary columns of the parent's matrix and
are covered by the generator's share.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from dbsynth.privacy.mechanisms import is_private

TOTALS_SHARE = 0.1       # of a table's epsilon, for its child totals, when it has child edges
STRUCTURE_SHARE = 0.3    # of a Bayesian network's epsilon, for structure (PrivBayes' beta)
DEFAULT_DELTA = 1e-6
MAX_RARE_K = 1_000_000
DP_MODELS = ("bayesnet", "independent", "neural")

NOT_COVERED = (
    "category domains (which values exist) and numeric bin edges / per-bin values come from the data",
    "choice of conditioning columns and of the model (auto-tuning) are not private",
    "row counts, NULL shares and tables copied verbatim are released as they are",
    "guarantee is per table and per row; a parent's influence on its children's rows is not bounded",
)


@dataclass(frozen=True)
class TableCost:
    """What of a table needs budget."""

    learned: bool = True     # a generator is fitted (plan.mode == "model")
    totals: int = 0          # child totals released with noise (one per child edge)
    weight: float = 1.0      # relative share; 1 for every table by default


@dataclass(frozen=True)
class TableBudget:
    """One table's share. ``generator`` + ``totals`` == ``epsilon``."""

    epsilon: float           # the table's whole share
    delta: float
    generator: float         # epsilon for the generator (structure + parameters / training)
    totals: float            # epsilon for each child total (already divided among the edges)
    rare_k: int              # categories seen fewer than rare_k times are suppressed

    def generator_settings(self, model: str) -> dict[str, Any]:
        """Settings to pass to `create(model, **settings)`; ConfigError for models without a DP variant."""
        if model not in DP_MODELS:
            from dbsynth.errors import ConfigError
            raise ConfigError(f"model {model!r} has no differentially private variant; "
                              f"with --epsilon choose one of {', '.join(DP_MODELS)}")
        if model == "neural":
            return {"epsilon": self.generator, "delta": self.delta}
        return {"epsilon": self.generator}


def split_budget(epsilon: float, delta: float | None, tables: Mapping[str, TableCost]) -> dict[str, TableBudget]:
    """Each table's share of (epsilon, delta), by weight, among tables with something to protect.

    Sequential composition: the shares' epsilons (and deltas) sum to at most the totals.
    Tables with nothing learned and no totals get a zero budget.
    """
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise ValueError("epsilon must be positive and finite")
    delta = DEFAULT_DELTA if delta is None else float(delta)
    if not 0 <= delta < 1:
        raise ValueError("delta must be in [0, 1)")
    spending = {name: c for name, c in tables.items() if (c.learned or c.totals) and c.weight > 0}
    weights = sum(c.weight for c in spending.values())
    out: dict[str, TableBudget] = {}
    for name, cost in tables.items():
        if name not in spending:
            out[name] = TableBudget(0.0, 0.0, 0.0, 0.0, 0)
            continue
        share = cost.weight / weights
        e, d = epsilon * share, delta * share
        totals = e * TOTALS_SHARE if cost.totals else 0.0
        if not cost.learned:
            totals = e
        generator = e - totals if cost.learned else 0.0
        out[name] = TableBudget(e, d, generator, totals / cost.totals if cost.totals else 0.0,
                                rare_threshold(e, d))
    return out


def rare_threshold(epsilon: float, delta: float) -> int:
    """k for `suppress_rare`: 1 + 2 ln(2/delta) / epsilon, at least 2.

    It is the threshold under which a stability-based histogram (Laplace(2/epsilon)
    on the counts of the values seen, release those above the threshold; Korolova
    et al. 2009) would rarely release a value: values seen that rarely are the ones
    whose mere presence singles a row out. We apply it deterministically, so it is
    a suppression rule, not a DP guarantee on the domain (see the module docstring).
    """
    if epsilon <= 0:
        return 2
    d = max(delta, 1e-300) if delta > 0 else DEFAULT_DELTA
    return int(min(MAX_RARE_K, max(2, math.ceil(1.0 + 2.0 * math.log(2.0 / d) / epsilon))))


def suppress_rare(values: pd.Series | Sequence[Any], k: int) -> list[Any]:
    """The categories that may be emitted: those seen at least k times (NULLs aside), most frequent first.

    `CategoricalCodec.fit(values, min_count=k)` keeps exactly these and maps the rest to
    its "rare" state, which decodes to fresh fake values: pass the table's `rare_k` there.
    (Without --epsilon the codec already merges values seen fewer than 2 times.)
    """
    counts = pd.Series(values).dropna().value_counts(sort=True)
    return list(counts[counts >= k].index)


def noisy_total(count: int, epsilon: float | None, rng: np.random.Generator) -> int:
    """A child total plus Laplace(1/epsilon), rounded, at least 0.

    Sensitivity 1: adding or removing one child row moves the total by one (the
    child table's row count is otherwise public; this protects the parent-side
    total, which under replace-one can also move by one). Without epsilon, the count.
    """
    if not is_private(epsilon) or epsilon <= 0:  # type: ignore[operator]
        return int(count)
    return max(0, int(round(count + rng.laplace(0.0, 1.0 / epsilon))))  # type: ignore[operator]


def describe(budget: Mapping[str, TableBudget]) -> list[str]:
    """Lines for the CLI and the report: the totals, each table's share, and what is not covered."""
    spent_e = sum(b.epsilon for b in budget.values())
    spent_d = sum(b.delta for b in budget.values())
    lines = [f"differential privacy: epsilon {spent_e:.4g}, delta {spent_d:.3g} in all "
             f"(sequential composition over {sum(1 for b in budget.values() if b.epsilon > 0)} tables)"]
    for name, b in budget.items():
        if b.epsilon <= 0:
            lines.append(f"  {name}: no budget (nothing learned; not covered)")
            continue
        parts = [f"generator {b.generator:.4g}"]
        if b.totals:
            parts.append(f"each child total {b.totals:.4g}")
        lines.append(f"  {name}: epsilon {b.epsilon:.4g} ({', '.join(parts)}), delta {b.delta:.3g}, "
                     f"categories seen < {b.rare_k} times suppressed")
    lines.append(f"  bayesnet: {STRUCTURE_SHARE:.0%} of its epsilon selects the structure, "
                 f"the rest noises its conditional tables")
    lines += [f"  not covered: {item}" for item in NOT_COVERED]
    return lines


def budget_to_json(budget: Mapping[str, TableBudget]) -> dict[str, Any]:
    """JSON-able form, stored with the model."""
    return {"version": 1, "tables": {name: asdict(b) for name, b in budget.items()},
            "not_covered": list(NOT_COVERED)}


def budget_from_json(state: Mapping[str, Any]) -> dict[str, TableBudget]:
    return {name: TableBudget(**b) for name, b in state["tables"].items()}
