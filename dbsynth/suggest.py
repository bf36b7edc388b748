"""Foreign keys a source does not declare, suggested from column names and confirmed by the values.

    from dbsynth.suggest import suggest_for_source, to_toml
    print(to_toml(suggest_for_source("legacy.sqlite")))   # [[foreign_keys]] blocks for the config

Many databases (MySQL MyISAM, ORMs that skip constraints, warehouses) hold
relations nobody declared; without them dbsynth samples the tables
independently and the references dangle. A candidate child column needs both:

* a name that points at the referred key (weight `NAME_WEIGHT`):
  ``artist_id`` -> ``artist.artist_id`` (same name, the table's name in it),
  ``customer_id`` -> ``customers.id`` (``<table>_id``, singular or plural),
  ``billing_customer_id`` -> ``customer.customer_id`` (a prefix on either),
  or a self-reference with a hierarchy word (``reports_to``, ``parent_id``,
  ``manager_id``) to the table's own key, NULL in some rows (the roots);
* values found in the referred key: at least `MIN_CONTAINMENT` of the non-null
  child values (the rest of the score). Without any value to check, the name
  alone scores 0.7.

Values alone never make a suggestion: small integers (1, 2, 3) are found in
every integer key of a database. Referred keys are single-column primary keys,
unique constraints and unique indexes, or, for a table without any, a column
named ``id`` / ``<table>_id`` whose values are unique. Composite keys are not
suggested. At most one suggestion is made per child column, the best scored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable

import pandas as pd

from dbsynth.pii import normalise
from dbsynth.schema.model import Schema, Table

if TYPE_CHECKING:
    from dbsynth.config import Config

MIN_CONTAINMENT = 0.99
MIN_SCORE = 0.5
NAME_WEIGHT = 0.7

_HIERARCHY_WORDS = frozenset({"parent", "manager", "reports", "report", "boss", "supervisor", "superior",
                              "lead", "head", "mentor", "predecessor", "successor", "previous", "next",
                              "replaced", "replaces", "merged", "owner", "sponsor", "referrer", "referred"})
_KIND_GROUPS = {"integer": "number", "decimal": "number", "float": "number", "text": "text", "enum": "text",
                "other": "text"}


@dataclass(frozen=True)
class Suggestion:
    table: str
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]
    score: float       # 0 to 1: NAME_WEIGHT x name evidence + the rest x share of values found
    reason: str


@dataclass(frozen=True)
class _Key:
    table: Table
    column: str
    values: frozenset[str]
    declared: bool     # a declared PK / unique key, not one inferred from the data


def suggest_foreign_keys(schema: Schema, frames: dict[str, pd.DataFrame], *,
                         min_score: float = MIN_SCORE) -> list[Suggestion]:
    """Undeclared single-column foreign keys, best first; `frames` as read by `dbsynth.io.read`."""
    keys = [k for t in schema.tables for k in _referable_keys(t, frames.get(t.name))]
    out: list[Suggestion] = []
    for table in schema.tables:
        declared = {c for fk in table.foreign_keys for c in fk.columns}
        frame = frames.get(table.name)
        for column in table.columns:
            if column.name in declared or column.computed:
                continue
            present = frame is not None and column.name in frame
            values = _canonical(frame[column.name]) if present else pd.Series([], dtype=object)
            rows = len(frame) if present else 0
            best = None
            for key in keys:
                s = _candidate(table, column.name, values, rows, key)
                if s is not None and s.score >= min_score and (best is None or s.score > best.score):
                    best = s
            if best is not None:
                out.append(best)
    return sorted(out, key=lambda s: (-s.score, s.table, s.columns))


def suggest_for_source(source: str, *, config: Config | None = None,
                       min_score: float = MIN_SCORE) -> list[Suggestion]:
    """Introspect and read `source` (a URL or SQLite path), then `suggest_foreign_keys`.

    Foreign keys that `config` declares count as declared: they are not suggested again.
    """
    from dbsynth.config import with_declared_foreign_keys
    from dbsynth.io.engines import open_source, parse_url
    from dbsynth.io.read import read_tables
    from dbsynth.schema.introspect import introspect

    engine = open_source(parse_url(source))
    try:
        schema = introspect(engine, strict_types=False, schemas=config.schemas if config else None)
        if config is not None:
            schema = with_declared_foreign_keys(schema, config)
        return suggest_foreign_keys(schema, read_tables(engine, schema), min_score=min_score)
    finally:
        engine.dispose()


def to_toml(suggestions: Iterable[Suggestion]) -> str:
    """`[[foreign_keys]]` blocks for a dbsynth config file, each with its score and reason as a comment."""
    blocks = []
    for s in suggestions:
        blocks.append("\n".join([
            f"# score {s.score:.2f}: {s.reason}",
            "[[foreign_keys]]",
            f"table = {_toml_str(s.table)}",
            f"columns = [{', '.join(_toml_str(c) for c in s.columns)}]",
            f"referred_table = {_toml_str(s.referred_table)}",
            f"referred_columns = [{', '.join(_toml_str(c) for c in s.referred_columns)}]",
        ]))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _candidate(table: Table, column: str, values: pd.Series, rows: int, key: _Key) -> Suggestion | None:
    if key.table.name == table.name and key.column == column:
        return None
    if table.pk_columns == (column,) and key.table.name == table.name:
        return None
    child_kind, key_kind = table.column(column).type.kind, key.table.column(key.column).type.kind
    if _KIND_GROUPS.get(child_kind, child_kind) != _KIND_GROUPS.get(key_kind, key_kind):
        return None
    name, why = _name_evidence(table, column, values, rows, key)
    if name == 0.0:
        return None
    target = f"{key.table.name}.{key.column}"
    if values.empty:
        return Suggestion(table.name, (column,), key.table.name, (key.column,), round(NAME_WEIGHT * name, 3),
                          f"{why}; no values to check against {target}")
    found = float(values.isin(key.values).mean())
    if found < MIN_CONTAINMENT:
        return None
    score = NAME_WEIGHT * name + (1 - NAME_WEIGHT) * found
    return Suggestion(table.name, (column,), key.table.name, (key.column,), round(score, 3),
                      f"{why}; {found:.0%} of {len(values):,} values found in {target}")


def _name_evidence(table: Table, column: str, values: pd.Series, rows: int, key: _Key) -> tuple[float, str]:
    """(1.0 clear, 0.8 with a prefix, 0.6 weak, 0.0 none) and why, for `column` -> `key`."""
    c, r = normalise(column), normalise(key.column)
    names = {_singular(normalise(key.table.name)), normalise(key.table.name)}
    stem = c[:-3] if c.endswith("_id") else c[:-2] if c.endswith("id") and len(c) > 2 else None
    if c == r and any(n in r for n in names):
        return 1.0, f"same name as {key.table.name}'s key"
    if stem is not None and (stem in names or _singular(stem) in names) and (r == "id" or key.declared):
        return 1.0, f"{column} names table {key.table.name}"
    if r != "id" and c.endswith("_" + r) and any(n in r for n in names):
        return 0.8, f"{column} ends with {key.table.name}'s key {key.column}"
    if stem is not None and any(stem.endswith("_" + n) for n in names) and (r == "id" or key.declared):
        return 0.8, f"{column} ends with table name {key.table.name}"
    if (key.table.name == table.name and key.declared and table.pk_columns == (key.column,)
            and set(c.split("_")) & _HIERARCHY_WORDS and values.nunique() >= 2 and values.size < rows):
        return 0.8, f"{column} looks like a hierarchy within {table.name} (some rows without a parent)"
    if c == r and r != "id":
        return 0.6, f"same name as {key.table.name}.{key.column}"
    return 0.0, ""


def _referable_keys(table: Table, frame: pd.DataFrame | None) -> list[_Key]:
    declared = {s[0] for s in table.unique_column_sets() if len(s) == 1}
    names = {normalise(table.name), _singular(normalise(table.name))}
    inferred = set()
    if not declared and frame is not None:
        inferred = {c.name for c in table.columns if normalise(c.name) in {"id"} | {f"{n}_id" for n in names}
                    and c.name in frame and frame[c.name].notna().all() and frame[c.name].is_unique}
    out = []
    for name in sorted(declared | inferred):
        values = _canonical(frame[name]) if frame is not None and name in frame else pd.Series([], dtype=object)
        out.append(_Key(table, name, frozenset(values), name in declared))
    return out


def _canonical(values: pd.Series) -> pd.Series:
    """Non-null values as comparable strings: 3, 3.0 and Decimal('3') all become '3'."""
    return values.dropna().map(_canonical_value)


def _canonical_value(v: Any) -> str:
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, (int, float, Decimal)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    return str(v)


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if re.search(r"(ss|x|ch|sh)es$", word):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _toml_str(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string
