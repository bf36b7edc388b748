"""What SQLAlchemy's reflection misses on MariaDB and MySQL: JSON columns and column-level CHECKs.

MariaDB's JSON is an alias: the column is LONGTEXT with a `json_valid(col)` CHECK, so the
inspector reports text. And CHECKs written on a column (`qty INT CHECK (qty > 0)`, which
is also how JSON's CHECK is kept) are absent from `get_check_constraints`. Both are in
information_schema.CHECK_CONSTRAINTS, which MariaDB fills for every level; that table is
the one source of CHECKs for a MariaDB or MySQL schema here.

MySQL 8 keeps the same table with only the standard columns (no TABLE_NAME, no LEVEL: the
table comes from TABLE_CONSTRAINTS) and writes its clauses its own way:
``(`status` in (_utf8mb4\\'a\\',_utf8mb4\\'b\\'))``, the whole wrapped in parentheses, string
literals with a charset introducer, and (in information_schema) every quote escaped once
more. `mysql_clause` turns that into the plain SQL MariaDB shows. A server whose catalog
cannot be read (an older one, missing privileges) costs the CHECKs, named in a warning,
never the inspection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dbsynth.schema.model import CheckConstraint

__all__ = ["CheckCatalog", "MariadbChecks", "is_mariadb", "mariadb_checks", "mysql_clause", "read_checks"]

_JSON_VALID = re.compile(r"^\s*json_valid\(\s*`((?:[^`]|``)+)`\s*\)\s*$", re.IGNORECASE)
_INTRODUCER = re.compile(r"_[A-Za-z0-9]+(?=')")   # _utf8mb4'x', _latin1'x', _binary'x'

MARIADB_QUERY = ("SELECT TABLE_NAME, CONSTRAINT_NAME, LEVEL, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
                 "WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME")
MYSQL_QUERY = ("SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS cc "
               "JOIN information_schema.TABLE_CONSTRAINTS tc ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA "
               "AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK' "
               "WHERE cc.CONSTRAINT_SCHEMA = DATABASE() ORDER BY tc.TABLE_NAME, cc.CONSTRAINT_NAME")


@dataclass(frozen=True)
class MariadbChecks:
    """One table's CHECKs as MariaDB keeps them, split into JSON markers and real constraints."""

    json_columns: frozenset[str]
    checks: tuple[CheckConstraint, ...]


@dataclass(frozen=True)
class CheckCatalog:
    """Every table's CHECKs, or why none could be read (`failure`: the server's first line)."""

    tables: dict[str, MariadbChecks] = field(default_factory=dict)
    failure: str | None = None

    def get(self, table: str, default: MariadbChecks) -> MariadbChecks:
        return self.tables.get(table, default)


def is_mariadb(engine: Engine) -> bool:
    return engine.dialect.name in ("mysql", "mariadb") and bool(getattr(engine.dialect, "is_mariadb", False))


def mariadb_checks(engine: Engine) -> dict[str, MariadbChecks]:
    """Per table of the connected MariaDB database: its JSON columns and its other CHECKs (both levels)."""
    return read_checks(engine).tables


def read_checks(engine: Engine, query: str | None = None) -> CheckCatalog:
    """The CHECKs of the connected MariaDB or MySQL database; a catalog it cannot read gives `failure`."""
    mariadb = is_mariadb(engine)
    try:
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(sa.text(query or (MARIADB_QUERY if mariadb else MYSQL_QUERY)))
                    .mappings()]
        return CheckCatalog(_catalog(rows, mariadb))
    except (sa.exc.DBAPIError, KeyError) as exc:
        text = str(getattr(exc, "orig", None) or exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        return CheckCatalog(failure=f"column {reason} missing" if isinstance(exc, KeyError) else reason)


def _catalog(rows: list[dict[str, object]], mariadb: bool) -> dict[str, MariadbChecks]:
    json_columns: dict[str, set[str]] = {}
    checks: dict[str, list[CheckConstraint]] = {}
    for row in rows:
        row = {k.upper(): v for k, v in row.items()}   # MySQL 8 names them in capitals, a view may not
        table, name, clause = str(row["TABLE_NAME"]), str(row["CONSTRAINT_NAME"]), str(row["CHECK_CLAUSE"] or "")
        if not mariadb:
            clause = mysql_clause(clause)
        match = _JSON_VALID.match(clause)
        if match and str(row.get("LEVEL", "")).lower() == "column" and match.group(1).replace("``", "`") == name:
            json_columns.setdefault(table, set()).add(name)   # the JSON type's own CHECK: part of the type
            continue
        checks.setdefault(table, []).append(CheckConstraint(clause, name))
    return {t: MariadbChecks(frozenset(json_columns.get(t, ())), tuple(checks.get(t, ())))
            for t in set(json_columns) | set(checks)}


def mysql_clause(clause: str) -> str:
    """A MySQL 8 CHECK clause as plain SQL: quotes unescaped once where every one is escaped (information_schema
    escapes them twice), charset introducers dropped, the outer parentheses MySQL adds removed."""
    text = clause.strip()
    if "\\'" in text and not re.search(r"(?<!\\)'", text):
        text = re.sub(r"\\(.)", r"\1", text)
    text = _drop_introducers(text)
    while text.startswith("(") and text.endswith(")") and _closing(text, 0) == len(text) - 1:
        text = text[1:-1].strip()
    return text


def _drop_introducers(text: str) -> str:
    """_utf8mb4'it\\'s' -> 'it''s': introducers outside string literals go, backslash-escaped quotes double."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "`\"":   # a quoted identifier: copied as is
            end = text.find(ch, i + 1)
            end = n - 1 if end < 0 else end
            out.append(text[i:end + 1])
            i = end + 1
        elif ch == "'":
            j, literal = i + 1, ["'"]
            while j < n:
                if text[j] == "\\" and j + 1 < n:
                    literal.append("''" if text[j + 1] == "'" else text[j:j + 2])
                    j += 2
                elif text[j] == "'" and j + 1 < n and text[j + 1] == "'":
                    literal.append("''")
                    j += 2
                elif text[j] == "'":
                    break
                else:
                    literal.append(text[j])
                    j += 1
            out.append("".join(literal) + "'")
            i = j + 1
        elif (m := _INTRODUCER.match(text, i)) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            i = m.end()
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _closing(text: str, start: int) -> int:
    """Index of the parenthesis closing the one at `start` (quotes respected), or -1."""
    depth, quote = 0, ""
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'`\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1
