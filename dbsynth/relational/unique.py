"""Make every PRIMARY KEY / UNIQUE set hold in a sampled table before its children exist.

Sets with a secondary FK (junction tables) are repaired by drawing another
parent for the duplicates; sets of generated values get a distinguishing
suffix or a fresh number; whatever cannot be repaired is dropped, which is safe
because no child row points at it yet.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from dbsynth.schema.model import Table

MAX_ROUNDS = 30

Redraw = Callable[[np.ndarray], None]   # re-assigns the FK columns of the given row positions


def enforce_unique(frame: pd.DataFrame, table: Table, skip: set[tuple[str, ...]],
                   redraws: dict[tuple[str, ...], Redraw], rng: np.random.Generator) -> np.ndarray:
    """Mutates `frame` in place; returns the mask of rows to keep."""
    keep = np.ones(len(frame), dtype=bool)
    for columns in table.unique_column_sets():
        if columns in skip or not set(columns) <= set(frame.columns):
            continue
        redraw = next((fn for fk_cols, fn in redraws.items() if set(fk_cols) <= set(columns)), None)
        for _ in range(MAX_ROUNDS):
            dup = _duplicates(frame, columns, keep)
            if not dup.size:
                break
            if redraw is not None:
                redraw(dup)
            else:
                _perturb(frame, table, columns, dup, rng)
        keep[_duplicates(frame, columns, keep)] = False
    return keep


def _duplicates(frame: pd.DataFrame, columns: tuple[str, ...], keep: np.ndarray) -> np.ndarray:
    sub = frame.loc[keep, list(columns)]
    complete = sub.notna().all(axis=1)
    dup = sub.duplicated(keep="first") & complete
    return np.flatnonzero(keep)[dup.to_numpy()]


def _perturb(frame: pd.DataFrame, table: Table, columns: tuple[str, ...], rows: np.ndarray,
             rng: np.random.Generator) -> None:
    """Change one generated column of the duplicate rows so they become distinct."""
    fk = table.fk_columns
    col = next((c for c in columns if c not in fk), columns[-1])
    kind = table.column(col).type.kind
    values = frame[col]
    if kind in ("integer", "decimal", "float"):
        top = pd.to_numeric(values, errors="coerce").max()
        fresh = (0 if pd.isna(top) else int(top)) + 1 + np.arange(rows.size)
        frame.loc[frame.index[rows], col] = fresh
        return
    limit = table.column(col).type.length
    tags = rng.integers(10, 10_000, rows.size)
    frame.loc[frame.index[rows], col] = [
        _suffixed(str(values.iloc[r]), int(t), limit) for r, t in zip(rows, tags)
    ]


def _suffixed(value: str, tag: int, limit: int | None) -> str:
    if "@" in value:  # keep e-mails valid: the tag goes before the domain
        local, domain = value.split("@", 1)
        text = f"{local}{tag}@{domain}"
        if limit and len(text) > limit:
            text = f"{local[: max(1, limit - len(domain) - len(str(tag)) - 1)]}{tag}@{domain}"
        return text[:limit] if limit else text
    text = f"{value} {tag}"
    return text[-limit:] if limit and len(text) > limit else text
