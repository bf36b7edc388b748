"""Privacy of a synthetic copy, per table: exact copies, distance to the closest record, rare values.

Keys are left out (they are regenerated, so they never match by design). The
exact-copy check counts every other column, personal data included. A copy
share is only alarming next to the source's own duplicate share: a table whose
real rows repeat each other (a status and a date, say) will be "copied" by any
faithful generator. With fewer than three compared columns, matches are
expected by chance.

Per table with at least `MIN_COLUMNS` non-key columns that are modelled (not
faked personal data), `table_privacy` adds the distance to the closest record
(`report.distance`: what the measures mean, and the caveat that dbsynth fits on
every source row), the rare values leaked (source values seen exactly once that
reappear in the synthetic data: the one-off city of a single customer), and
anonymeter's attack risks when it is installed (`report.attacks`). The verdict
is "review" when any measure crosses its threshold in `THRESHOLDS`, else "ok".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dbsynth.pii import detect
from dbsynth.report.attacks import anonymeter_available, attack_risks, missing_note
from dbsynth.report.distance import DistanceCheck, distance_check
from dbsynth.schema.model import Schema, Table

FEW_COLUMNS = 3
MIN_COLUMNS = 2   # non-key modelled columns a table needs for the distance, rare-value and attack checks

# A table's verdict is "review" when any of these is crossed.
THRESHOLDS: dict[str, float] = {
    # exact copies beyond what the source's own duplicates explain (not for tables with few columns)
    "excess_exact_copy_share": 0.05,
    # P(synthetic row nearer the train half than a real holdout row is); 0.5 for fresh rows, ~0.75 for a copy.
    # Judged only with `distance_min_rows` source rows: below, chance alone moves it by more than 0.1.
    "nearer_than_real_share": 0.65,
    "distance_min_rows": 100,
    # source values seen once that reappear, as a share of those values (with at least `rare_leaked_min`)
    "rare_leaked_share": 0.1,
    "rare_leaked_min": 5,
    # anonymeter's risks (each 0 to 1), when measured
    "attack_risk": 0.1,
}


@dataclass(frozen=True)
class CopyShare:
    table: str
    columns: tuple[str, ...]              # the non-key columns compared
    synthetic_rows: int
    exact_copies: int                     # synthetic rows equal to some source row on `columns`
    exact_copy_share: float | None        # None for an empty synthetic table
    source_duplicate_share: float | None  # source rows equal to another source row
    few_columns: bool                     # fewer than FEW_COLUMNS compared: copies happen by chance


def copy_shares(schema: Schema, real: dict[str, pd.DataFrame],
                synthetic: dict[str, pd.DataFrame]) -> tuple[list[CopyShare], list[str]]:
    """One CopyShare per table with non-key columns, and notes for the tables without any."""
    out: list[CopyShare] = []
    notes: list[str] = []
    for table in schema.tables:
        columns = non_key_columns(table)
        if not columns:
            notes.append(f"{table.name}: only key columns, no exact-copy check")
            continue
        out.append(copy_share(table.name, columns, real[table.name], synthetic[table.name]))
    return out, notes


def non_key_columns(table: Table) -> tuple[str, ...]:
    keys = set(table.pk_columns) | table.fk_columns
    return tuple(c.name for c in table.columns if c.name not in keys)


def copy_share(name: str, columns: tuple[str, ...], real: pd.DataFrame, synthetic: pd.DataFrame) -> CopyShare:
    real_hashes = _row_hashes(real, columns)
    synthetic_hashes = _row_hashes(synthetic, columns)
    copies = int(np.isin(synthetic_hashes, real_hashes).sum())
    return CopyShare(
        table=name, columns=columns, synthetic_rows=len(synthetic), exact_copies=copies,
        exact_copy_share=copies / len(synthetic) if len(synthetic) else None,
        source_duplicate_share=float(pd.Series(real_hashes).duplicated(keep=False).mean()) if len(real) else None,
        few_columns=len(columns) < FEW_COLUMNS,
    )


def _row_hashes(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """One 64-bit hash per row over `columns` (NULL equals NULL, as a copy would)."""
    if frame.empty:
        return np.empty(0, dtype=np.uint64)
    return pd.util.hash_pandas_object(frame[list(columns)], index=False).to_numpy()


@dataclass(frozen=True)
class RareLeak:
    column: str
    source_singletons: int   # source values seen exactly once
    leaked: int              # of those, values found in the synthetic column


@dataclass(frozen=True)
class TablePrivacy:
    table: str
    columns: tuple[str, ...]                 # non-key, not faked: what distance and rare values look at
    copies: CopyShare
    distance: DistanceCheck | None
    rare: tuple[RareLeak, ...]
    attacks: dict[str, float] | None         # anonymeter risk by attack; None when not measured
    verdict: str                             # "ok" or "review"
    reasons: tuple[str, ...]                 # why "review" (empty for "ok")

    @property
    def rare_singletons(self) -> int:
        return sum(r.source_singletons for r in self.rare)

    @property
    def rare_leaked(self) -> int:
        return sum(r.leaked for r in self.rare)


def table_privacy(schema: Schema, real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
                  *, attacks: bool | None = None) -> tuple[list[TablePrivacy], list[str]]:
    """One TablePrivacy per table with >= MIN_COLUMNS modelled non-key columns, and notes.

    `attacks`: run anonymeter (None: when it is installed).
    """
    run_attacks = anonymeter_available() if attacks is None else attacks
    out: list[TablePrivacy] = []
    notes: list[str] = []
    for table in schema.tables:
        key_free = non_key_columns(table)
        if not key_free:
            continue
        frame, syn = real[table.name], synthetic[table.name]
        columns, faked = modelled_columns(table, frame)
        if len(columns) < MIN_COLUMNS:
            notes.append(f"{table.name}: {len(columns)} non-key modelled column(s), no distance or rare-value check")
            continue
        copies = copy_share(table.name, key_free, frame, syn)
        distance = distance_check(columns, frame, syn)
        rare = tuple(rare_leak(c, frame[c], syn[c]) for c in columns if _categorical_ish(frame[c]))
        risks = attack_risks(columns, frame, syn) if run_attacks else None
        verdict, reasons = judge(copies, distance, rare, risks)
        if distance is not None and len(frame) < THRESHOLDS["distance_min_rows"]:
            notes.append(f"{table.name}: {len(frame)} source rows, too few to judge the distances "
                         f"(shown, not judged)")
        out.append(TablePrivacy(table.name, columns, copies, distance, rare, risks, verdict, reasons))
        if faked:
            notes.append(f"{table.name}: personal data left out of the distances (faked by design): "
                         f"{', '.join(faked)}")
    if not run_attacks and attacks is None:
        notes.append(missing_note())
    return out, notes


def modelled_columns(table: Table, real: pd.DataFrame) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(non-key columns that are modelled, non-key columns faked as personal data)."""
    kept, faked = [], []
    for name in non_key_columns(table):
        column = table.column(name)
        values = real[name].dropna() if name in real else None
        if values is not None and values.empty:
            continue
        (faked if detect(column, values) is not None else kept).append(name)
    return tuple(kept), tuple(faked)


def rare_leak(column: str, real: pd.Series, synthetic: pd.Series) -> RareLeak:
    counts = real.dropna().astype(str).value_counts()
    singletons = counts.index[counts == 1]
    leaked = int(pd.Index(singletons).isin(synthetic.dropna().astype(str).unique()).sum())
    return RareLeak(column, int(len(singletons)), leaked)


def judge(copies: CopyShare, distance: DistanceCheck | None, rare: tuple[RareLeak, ...],
          risks: dict[str, float] | None) -> tuple[str, tuple[str, ...]]:
    t = THRESHOLDS
    reasons: list[str] = []
    if copies.exact_copy_share is not None and not copies.few_columns:
        excess = copies.exact_copy_share - (copies.source_duplicate_share or 0.0)
        if excess > t["excess_exact_copy_share"]:
            reasons.append(f"{copies.exact_copy_share:.0%} of synthetic rows copy a source row "
                           f"(source duplicates: {copies.source_duplicate_share or 0:.0%})")
    judged = distance is not None and distance.train_rows + distance.holdout_rows >= t["distance_min_rows"]
    if judged and distance.nearer_than_real_share > t["nearer_than_real_share"]:
        reasons.append(f"synthetic rows lie nearer the source than real holdout rows do "
                       f"({distance.nearer_than_real_share:.2f} > {t['nearer_than_real_share']})")
    singletons, leaked = sum(r.source_singletons for r in rare), sum(r.leaked for r in rare)
    if leaked >= t["rare_leaked_min"] and leaked > t["rare_leaked_share"] * singletons:
        reasons.append(f"{leaked} of {singletons} values seen once in the source reappear")
    for attack, risk in (risks or {}).items():
        if risk > t["attack_risk"]:
            reasons.append(f"anonymeter {attack.replace('_', '-')} risk {risk:.2f} > {t['attack_risk']}")
    return ("review" if reasons else "ok"), tuple(reasons)


def _categorical_ish(values: pd.Series) -> bool:
    """Text, categories and booleans: values compared by equality (numbers and dates are not)."""
    return values.dtype == object


CAVEAT = ("dbsynth fits its models on every source row, so the 'holdout' half was seen too: the "
          "closer-to-train share stays near 0.5 even for a verbatim copy and is shown for generators fitted "
          "on the train half only. The verdict uses the nearer-than-real share instead: how often a synthetic "
          "row lies nearer the train half than a real holdout row does (about 0.5 or less for new rows, "
          "about 0.75 for a copy of the source).")


def privacy_to_dict(checks: tuple[TablePrivacy, ...] | list[TablePrivacy]) -> dict[str, object]:
    """Plain JSON data: thresholds, the caveat, and one entry per table."""
    tables = []
    for c in checks:
        entry = dataclasses.asdict(c)
        entry["rare_singletons"], entry["rare_leaked"] = c.rare_singletons, c.rare_leaked
        tables.append(entry)
    return {"thresholds": dict(THRESHOLDS), "caveat": CAVEAT,
            "anonymeter": anonymeter_available(), "tables": tables}
