"""Anonymeter's attack-based risks (singling out, linkability, inference), when it is installed.

anonymeter pins numpy<1.27, so it lives in the optional ``privacy`` extra and is
imported lazily; without it the report says so and how to install it. Each
attack is run with the real train half as the "original" data and the holdout
half as the control, as anonymeter intends: the risk is how much better the
attack does on rows the generator saw than on rows it did not. dbsynth fits on
every source row (the control half was seen too), so these risks are lower
bounds; read them next to the exact-copy share.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from dbsynth.report.distance import SEED

INSTALL_HINT = "pip install 'dbsynth[privacy]'"
MIN_ROWS = 100        # real rows a table needs for the attacks to mean anything
N_ATTACKS = 200

log = logging.getLogger(__name__)


def anonymeter_available() -> bool:
    try:
        import anonymeter  # noqa: F401
    except ImportError:
        return False
    return True


def missing_note() -> str:
    return f"anonymeter is not installed: singling-out, linkability and inference risks were not measured ({INSTALL_HINT})"


def attack_risks(columns: tuple[str, ...], real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, float] | None:
    """Risk estimates (0 to 1) by attack, or None when the table is too small or anonymeter fails."""
    if len(real) < MIN_ROWS or len(synthetic) < MIN_ROWS or len(columns) < 2:
        return None
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    frame = real[list(columns)].sample(frac=1.0, random_state=SEED).reset_index(drop=True)
    half = len(frame) // 2
    ori, control = frame.iloc[:half], frame.iloc[half:]
    syn = synthetic[list(columns)].reset_index(drop=True)
    n_attacks = int(min(N_ATTACKS, len(control)))
    cut = len(columns) // 2

    def singling_out() -> float:
        ev = SinglingOutEvaluator(ori=ori, syn=syn, control=control, n_attacks=n_attacks)
        return float(ev.evaluate(mode="univariate").risk().value)

    def linkability() -> float:
        ev = LinkabilityEvaluator(ori=ori, syn=syn, control=control, n_attacks=n_attacks,
                                  aux_cols=(list(columns[:cut]), list(columns[cut:])), n_neighbors=10)
        return float(ev.evaluate(n_jobs=1).risk().value)

    def inference() -> float:  # the worst secret column, the others known to the attacker
        risks = []
        for secret in columns:
            ev = InferenceEvaluator(ori=ori, syn=syn, control=control, secret=secret, n_attacks=n_attacks,
                                    aux_cols=[c for c in columns if c != secret])
            risks.append(float(ev.evaluate(n_jobs=1).risk().value))
        return max(risks)

    out: dict[str, float] = {}
    for name, attack in (("singling_out", singling_out), ("linkability", linkability), ("inference", inference)):
        try:
            out[name] = attack()
        except Exception as exc:  # a third-party attack failing must not sink the report
            log.warning("anonymeter %s failed on %d columns: %s", name, len(columns), exc)
    return out or None
