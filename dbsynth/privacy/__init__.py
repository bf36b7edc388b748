"""Differential privacy: the budget split (`budget`), the mechanisms, DP-SGD and its accountant."""

from dbsynth.privacy.budget import (
    TableBudget, TableCost, budget_from_json, budget_to_json, describe, noisy_total, rare_threshold,
    split_budget, suppress_rare,
)

__all__ = ["TableBudget", "TableCost", "budget_from_json", "budget_to_json", "describe", "noisy_total",
           "rare_threshold", "split_budget", "suppress_rare"]
