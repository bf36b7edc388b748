"""Multi-row INSERT statements for MySQL/MariaDB, spelled a column at a time.

PyMySQL's executemany already sends multi-row INSERTs, but it spells every value
through its generic escape chain (a type lookup, a dispatch and a function call per
value, then a %-format per row): on TPC-H's lineitem that was most of the load's time,
far more than the server's. Here each column is spelled by one encoder chosen once
for the column (PyMySQL's own encoders, so the literals are the ones PyMySQL would
send; strings and bytes through the connection's escape, which honours
NO_BACKSLASH_ESCAPES), rows are joined in C, and statements are cut below
``max_bytes``. LOAD DATA LOCAL INFILE would be faster still, but it needs
``local_infile`` on the client, which lets a hostile server read any file of ours.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["insert_statements"]

# Python types whose PyMySQL encoder needs nothing but the value; text, bytes and containers go through
# the connection's escape (it knows NO_BACKSLASH_ESCAPES and the charset)
_SCALARS = (bool, float, decimal.Decimal, dt.datetime, dt.date, dt.time, dt.timedelta)


def insert_statements(prefix: str, columns: Sequence[list[Any]], connection: Any, max_bytes: int) -> Iterator[str]:
    """`prefix` ("INSERT INTO t (a, b) VALUES ") followed by as many rows as fit in `max_bytes`, until done."""
    spelled = [literals(values, connection) for values in columns]
    rows = ["(" + ",".join(row) + ")" for row in zip(*spelled)]
    budget = max_bytes - len(prefix.encode())
    start, size = 0, 0
    for i, row in enumerate(rows):
        length = len(row.encode("utf-8", "surrogateescape")) + 1  # bytes are surrogate-escaped text
        if i > start and size + length > budget:
            yield prefix + ",".join(rows[start:i])
            start, size = i, 0
        size += length
    if start < len(rows):
        yield prefix + ",".join(rows[start:])


def literals(values: list[Any], connection: Any) -> list[str]:
    """SQL literals for one column's driver values (None is NULL)."""
    present = [v for v in values if v is not None]
    spell = _speller({type(v) for v in present}, connection)
    if len(present) == len(values):
        return list(map(spell, values))
    return ["NULL" if v is None else spell(v) for v in values]


def _speller(kinds: set[type], connection: Any) -> Callable[[Any], str]:
    if len(kinds) != 1:
        return connection.escape  # mixed types: PyMySQL's generic path, value by value
    kind = next(iter(kinds))
    if kind is int:
        return int.__repr__
    encoder = connection.encoders.get(kind)
    if kind in _SCALARS and encoder is not None:
        mapping = connection.encoders
        return lambda v: encoder(v, mapping)
    return connection.escape
