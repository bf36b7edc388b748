"""What SQLAlchemy's reflection misses on MariaDB: JSON columns and column-level CHECKs.

MariaDB's JSON is an alias: the column is LONGTEXT with a `json_valid(col)` CHECK, so the
inspector reports text. And CHECKs written on a column (`qty INT CHECK (qty > 0)`, which
is also how JSON's CHECK is kept) are absent from `get_check_constraints`. Both are in
information_schema.CHECK_CONSTRAINTS, which MariaDB fills for every level; that table is
the one source of CHECKs for a MariaDB schema here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dbsynth.schema.model import CheckConstraint

_JSON_VALID = re.compile(r"^\s*json_valid\(\s*`((?:[^`]|``)+)`\s*\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class MariadbChecks:
    """One table's CHECKs as MariaDB keeps them, split into JSON markers and real constraints."""

    json_columns: frozenset[str]
    checks: tuple[CheckConstraint, ...]


def is_mariadb(engine: Engine) -> bool:
    return engine.dialect.name in ("mysql", "mariadb") and bool(getattr(engine.dialect, "is_mariadb", False))


def mariadb_checks(engine: Engine) -> dict[str, MariadbChecks]:
    """Per table of the connected database: its JSON columns and its other CHECKs (both levels)."""
    query = sa.text("SELECT TABLE_NAME, CONSTRAINT_NAME, LEVEL, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
                    "WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME")
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    json_columns: dict[str, set[str]] = {}
    checks: dict[str, list[CheckConstraint]] = {}
    for table, name, level, clause in rows:
        match = _JSON_VALID.match(clause or "")
        if match and str(level).lower() == "column" and match.group(1).replace("``", "`") == name:
            json_columns.setdefault(table, set()).add(name)   # the JSON type's own CHECK: part of the type
            continue
        checks.setdefault(table, []).append(CheckConstraint(clause, name))
    return {t: MariadbChecks(frozenset(json_columns.get(t, ())), tuple(checks.get(t, ())))
            for t in set(json_columns) | set(checks)}
