"""Make every PRIMARY KEY / UNIQUE set hold in a sampled table before its children exist.

Sets with a secondary FK (junction tables) are repaired by drawing another
parent for the duplicates; sets of generated values get a distinguishing
suffix or a fresh number; whatever cannot be repaired is dropped, which is safe
because no child row points at it yet.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from typing import Callable

import numpy as np
import pandas as pd

from dbsynth.codecs.numeric import from_numbers, to_numbers
from dbsynth.schema.model import SqlType, Table

MAX_ROUNDS = 30
# Temporal kinds: the unit `to_numbers` gives, a shift step in it, and the wrap-around period (0: none).
TEMPORAL_STEP = {"date": (1, 0), "datetime": (1, 0), "time": (1, 86400), "interval": (1, 0)}

# Re-assigns the FK columns of the given row positions; the second argument is the unique set they break.
Redraw = Callable[[np.ndarray, tuple[str, ...]], None]


def enforce_unique(frame: pd.DataFrame, table: Table, skip: set[tuple[str, ...]],
                   redraws: dict[tuple[str, ...], Redraw], rng: np.random.Generator) -> np.ndarray:
    """Mutates `frame` in place; returns the mask of rows to keep."""
    keep = np.ones(len(frame), dtype=bool)
    null_equal = table.nulls_not_distinct_sets()
    for columns in table.unique_column_sets():
        if columns in skip or not set(columns) <= set(frame.columns):
            continue
        redraw = next((fn for fk_cols, fn in redraws.items() if set(fk_cols) <= set(columns)), None)
        for _ in range(MAX_ROUNDS):
            dup = _duplicates(frame, columns, keep, columns in null_equal)
            if not dup.size:
                break
            if redraw is not None:
                redraw(dup, columns)
            else:
                _perturb(frame, table, columns, dup, rng)
        keep[_duplicates(frame, columns, keep, columns in null_equal)] = False
    for columns, folds in case_folded_keys(table):   # UNIQUE (lower(email)): no two equal but for case
        if not set(columns) <= set(frame.columns):
            continue
        for _ in range(MAX_ROUNDS):
            dup = _duplicates(_folded(frame, columns, folds), columns, keep)
            if not dup.size:
                break
            _perturb(frame, table, columns, dup, rng)
        keep[_duplicates(_folded(frame, columns, folds), columns, keep)] = False
    return keep


_FOLD = re.compile(r'^\s*(lower|upper)\s*\(\s*\(?\s*(?:"((?:[^"]|"")+)"|`([^`]+)`|(\w+))\s*\)?'
                   r'(?:\s*::\s*[\w ]+(?:\(\d+\))?)?\s*\)\s*$', re.I)


def case_folded_keys(table: Table) -> list[tuple[tuple[str, ...], tuple[str | None, ...]]]:
    """The unique expression indexes sampling can keep: each element a column, lower(column) or upper(column).

    Returns (columns, per column "lower"/"upper"/None); indexes on other expressions are left to the
    target (`io.after_load`), which repairs or relaxes them.
    """
    found = []
    for idx in table.indexes:
        if not idx.unique or not idx.expressions or idx.method not in (None, "btree"):
            continue
        parts: list[tuple[str, str | None]] = []
        for element, expression in zip(idx.elements, idx.expressions):
            match = _FOLD.match(expression) if expression else None
            if expression and match is None:
                break
            if match is None:
                parts.append((element, None))
            else:
                name = match.group(2).replace('""', '"') if match.group(2) else match.group(3) or match.group(4)
                parts.append((name, match.group(1).lower()))
        else:
            if all(c in table.column_names for c, _ in parts):
                found.append((tuple(c for c, _ in parts), tuple(f for _, f in parts)))
    return found


def _folded(frame: pd.DataFrame, columns: tuple[str, ...], folds: tuple[str | None, ...]) -> pd.DataFrame:
    """The key columns as the index compares them: lower()/upper() applied where the index does."""
    out = {}
    for col, fold in zip(columns, folds):
        values = frame[col]
        if fold is not None:
            text = values.astype("string")
            values = text.str.lower() if fold == "lower" else text.str.upper()
        out[col] = values
    return pd.DataFrame(out, index=frame.index)


def _duplicates(frame: pd.DataFrame, columns: tuple[str, ...], keep: np.ndarray,
                null_equal: bool = False) -> np.ndarray:
    """Rows repeating an earlier row's values; a row with a NULL repeats nothing unless NULLs are equal."""
    sub = frame.loc[keep, list(columns)]
    dup = sub.duplicated(keep="first")
    if not null_equal:
        dup &= sub.notna().all(axis=1)
    return np.flatnonzero(keep)[dup.to_numpy()]


def _perturb(frame: pd.DataFrame, table: Table, columns: tuple[str, ...], rows: np.ndarray,
             rng: np.random.Generator) -> None:
    """Change one generated column of the duplicate rows so they become distinct, within its type."""
    fk = table.fk_columns
    col = next((c for c in columns if c not in fk), columns[-1])
    sql_type = table.column(col).type
    values = frame[col]
    if sql_type.kind in ("integer", "decimal", "float"):
        frame.loc[frame.index[rows], col] = _unused_numbers(values, sql_type, rows.size, rng)
        return
    if sql_type.kind == "uuid":  # a fresh random uuid, never a suffixed (invalid) one
        frame.loc[frame.index[rows], col] = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in rows]
        return
    if sql_type.kind in TEMPORAL_STEP:
        frame.loc[frame.index[rows], col] = _shifted_times(values.iloc[rows], sql_type, rng).to_numpy()
        return
    if sql_type.kind == "network":
        frame.loc[frame.index[rows], col] = [_fresh_address(str(values.iloc[r]), rng) for r in rows]
        return
    limit = sql_type.length
    tags = rng.integers(10, 10_000, rows.size)
    if sql_type.kind == "bytes":   # bytes stay bytes (text kept in VARBINARY gets a readable suffix)
        frame.loc[frame.index[rows], col] = [
            _suffixed(bytes(values.iloc[r] or b"").decode("utf-8", "replace"), int(t), None)
            .encode("utf-8")[:limit or None] for r, t in zip(rows, tags)]
        return
    frame.loc[frame.index[rows], col] = [
        _suffixed(str(values.iloc[r]), int(t), limit) for r, t in zip(rows, tags)
    ]


def _unused_numbers(values: pd.Series, sql_type: SqlType, n: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct whole numbers not among `values`, inside the column type's range.

    Above the largest value when there is room (the old behaviour), else the free
    numbers of the range (a smallint or a decimal(3,0) fills up quickly).
    """
    low, high = _integer_range(sql_type)
    present = pd.to_numeric(values, errors="coerce").dropna()
    top = int(present.max()) if len(present) else 0
    if top + n <= high:
        return max(top, low - 1) + 1 + np.arange(n)
    taken = set(present.astype("int64").tolist()) if len(present) else set()
    free: list[int] = []
    for candidate in rng.permutation(np.arange(low, min(high, low + len(taken) + 4 * n) + 1)):
        if int(candidate) not in taken:
            free.append(int(candidate))
            if len(free) == n:
                break
    if len(free) < n:  # the type is full: the rows stay duplicates and are dropped
        free += [top] * (n - len(free))
    return np.array(free, dtype=np.int64 if high < 2**63 else object)


def _shifted_times(values: pd.Series, sql_type: SqlType, rng: np.random.Generator) -> pd.Series:
    """The values moved a few steps (days for dates, seconds otherwise) either way, same type.

    Why: a date or timestamp in a primary key (a salary's from_date) is modelled
    data; a small shift keeps its distribution and its type, where a text suffix
    would make it unwritable.
    """
    numbers = to_numbers(values.reset_index(drop=True), sql_type.kind)
    step, period = TEMPORAL_STEP[sql_type.kind]
    moves = rng.integers(1, 30, numbers.size) * rng.choice([-1, 1], numbers.size) * step
    moved = numbers + moves
    if period:  # a time of day wraps around midnight
        moved = np.mod(moved, period)
    return from_numbers(moved, sql_type.kind, None, sql_type.timezone)


def _integer_range(sql_type: SqlType) -> tuple[int, int]:
    if sql_type.kind == "decimal" and sql_type.precision:
        top = 10 ** (sql_type.precision - (sql_type.scale or 0)) - 1
        return -top, top
    bits = sql_type.size or 64
    if sql_type.unsigned:
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _fresh_address(value: str, rng: np.random.Generator) -> str:
    """A valid random address of the same family (and prefix length, for networks) as `value`."""
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError:  # a MAC address
        return ":".join(f"{b:02x}" for b in rng.integers(0, 256, 6))
    bits = iface.max_prefixlen
    host = int.from_bytes(rng.bytes(bits // 8), "big")
    address = ipaddress.ip_address(host) if bits == 32 else ipaddress.IPv6Address(host)
    if "/" in value and iface.network.prefixlen < bits:  # a cidr: the network, host bits zero
        return str(ipaddress.ip_network(f"{address}/{iface.network.prefixlen}", strict=False))
    return str(address)


def _suffixed(value: str, tag: int, limit: int | None) -> str:
    if "@" in value:  # keep e-mails valid: the tag goes before the domain
        local, domain = value.split("@", 1)
        text = f"{local}{tag}@{domain}"
        if limit and len(text) > limit:
            text = f"{local[: max(1, limit - len(domain) - len(str(tag)) - 1)]}{tag}@{domain}"
        return text[:limit] if limit else text
    text = f"{value} {tag}"
    return text[-limit:] if limit and len(text) > limit else text
