"""Privacy, first cut: how many synthetic rows are exact copies of a source row.

Keys are left out (they are regenerated, so they never match by design); every
other column counts, personal data included. A copy share is only alarming next
to the source's own duplicate share: a table whose real rows repeat each other
(a status and a date, say) will be "copied" by any faithful generator. With
fewer than three compared columns, matches are expected by chance.
Distance to the closest record is the next step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dbsynth.schema.model import Schema, Table

FEW_COLUMNS = 3


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
