"""Warnings as the terminal shows them: one line each, and alike warnings folded into one line.

A schema of hundreds of tables into another engine gives hundreds of warnings that differ only by
the object they name (215 x "column X has a time zone, which SQLite cannot store"); printed one by one
they bury the few that matter. Warnings alike but for their object are folded: the text once, with
the count and the first names. `--debug` prints every one; the Python API returns every one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FOLD_FROM = 4           # this many alike warnings (or more) become one line
NAMES_SHOWN = 3

_KINDS = ("materialized view", "check constraint", "unique constraint", "column", "table", "index", "view",
          "function", "procedure", "aggregate", "trigger", "sequence", "domain", "type")
_HEAD = re.compile(rf"^({'|'.join(_KINDS)}) ")


def folded(warnings: Iterable[str]) -> list[str]:
    """The lines to print, in first-seen order: alike warnings folded into one."""
    groups: dict[tuple[str, str], list[str]] = {}
    order: list[tuple[str, str] | str] = []
    for warning in warnings:
        split = _split(warning)
        if split is None:
            order.append(warning)
            continue
        kind, name, rest = split
        if (kind, rest) not in groups:
            groups[(kind, rest)] = []
            order.append((kind, rest))
        groups[(kind, rest)].append(name)
    lines = []
    for item in order:
        if isinstance(item, str):
            lines.append(item)
            continue
        kind, rest = item
        names = groups[item]
        if len(names) < FOLD_FROM:
            lines += [f"{kind} {name}{rest}" for name in names]
        else:
            shown = ", ".join(names[:NAMES_SHOWN])
            lines.append(f"{len(names)} {_plural(kind)} ({shown} and {len(names) - NAMES_SHOWN} more): "
                         f"{kind} …{rest}")
    return lines


def _split(warning: str) -> tuple[str, str, str] | None:
    """(kind, the object's name, the rest) of "kind NAME rest"; None for a warning of another shape."""
    head = _HEAD.match(warning)
    if head is None:
        return None
    start = head.end()
    end, depth = start, 0
    while end < len(warning) and (depth or warning[end] != " "):   # a signature f(a integer, b text) is one name
        depth += {"(": 1, ")": -1}.get(warning[end], 0)
        end += 1
    name, rest = warning[start:end], warning[end:]
    table = re.match(r"^ on table \S+", rest)   # "trigger t on table x was not ...": the table is part of the name
    if table:
        name, rest = name + table.group(0), rest[table.end():]
    return head.group(1), name, rest


def _plural(kind: str) -> str:
    return kind[:-1] + "ies" if kind.endswith("y") else kind + ("es" if kind.endswith("x") else "s")
