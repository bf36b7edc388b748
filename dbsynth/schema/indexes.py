"""Indexes and exclusion constraints as the catalogs keep them, beyond what SQLAlchemy's reflection says.

SQLAlchemy reports an index as column names (None for an expression), which loses
PostgreSQL's access method, opclasses, INCLUDE columns, ordering and collations, and
never reports exclusion constraints; on MariaDB it reports FULLTEXT/SPATIAL and prefix
lengths but not DESC. PostgreSQL's own `pg_get_indexdef` is exact, so a PostgreSQL
index keeps it (from USING on) to be recreated verbatim on PostgreSQL, and its parts
(method, expressions, INCLUDE, DESC) for other engines, `inspect` and `--compare`.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from dbsynth.schema.model import ExclusionConstraint, Index

# Every index of one table with its parts; constraint-backed ones (primary key, unique, exclusion) are marked.
_PG_INDEXES = sa.text(
    "SELECT ic.relname, i.indisunique, am.amname, pg_get_indexdef(i.indexrelid), "
    "  pg_get_expr(i.indpred, i.indrelid), i.indnkeyatts, "
    "  array(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnatts) k ORDER BY k), "
    "  array(SELECT i.indkey[k - 1] FROM generate_series(1, i.indnatts) k ORDER BY k), "
    "  array(SELECT i.indoption[k - 1] FROM generate_series(1, i.indnkeyatts) k ORDER BY k), "
    "  EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid "
    "          AND c.contype IN ('p', 'u', 'x')) "
    "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam "
    "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
    "WHERE t.relname = :table AND n.nspname = coalesce(:schema, current_schema()) ORDER BY ic.relname")

_PG_EXCLUSIONS = sa.text(
    "SELECT c.conname, pg_get_constraintdef(c.oid), pg_get_expr(i.indpred, i.indrelid), "
    "  array(SELECT pg_get_indexdef(c.conindid, k, true) FROM generate_series(1, i.indnkeyatts) k ORDER BY k), "
    "  array(SELECT c.conexclop[k]::regoperator::text FROM generate_series(1, i.indnkeyatts) k ORDER BY k), "
    "  array(SELECT i.indkey[k - 1] FROM generate_series(1, i.indnkeyatts) k ORDER BY k) "
    "FROM pg_constraint c JOIN pg_index i ON i.indexrelid = c.conindid "
    "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
    "WHERE c.contype = 'x' AND t.relname = :table AND n.nspname = coalesce(:schema, current_schema()) "
    "ORDER BY c.conname")

_USING = re.compile(r"\sUSING\s(.*)$", re.S)
_IDENT = re.compile(r'^(?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")+")$')


def _unquoted(element: str) -> str:
    return element[1:-1].replace('""', '"') if element.startswith('"') else element


def postgres_indexes(bind: sa.engine.Connectable, namespace: str | None,
                     local: str) -> tuple[list[Index], list[ExclusionConstraint]]:
    """The table's indexes that back no constraint, and its exclusion constraints."""
    with bind.connect() as conn:  # type: ignore[union-attr]
        rows = conn.execute(_PG_INDEXES, {"table": local, "schema": namespace}).all()
        excl = conn.execute(_PG_EXCLUSIONS, {"table": local, "schema": namespace}).all()
    indexes = []
    for name, unique, method, indexdef, where, nkey, elements, attnums, options, backs_constraint in rows:
        if backs_constraint:
            continue
        keys, included = list(elements[:nkey]), [_unquoted(e) for e in elements[nkey:]]
        plain = [int(a) != 0 for a in attnums[:nkey]]
        columns = tuple(_unquoted(e) for e, p in zip(keys, plain) if p)
        expressions = tuple("" if p else e for e, p in zip(keys, plain)) if not all(plain) else ()
        descending = tuple(_unquoted(e) for e, p, o in zip(keys, plain, options) if p and int(o) & 1)
        match = _USING.search(indexdef)
        indexes.append(Index(columns, name, bool(unique), where=where, method=None if method == "btree" else method,
                             expressions=expressions, include=tuple(included), descending=descending,
                             definition=match.group(1) if match else None))
    exclusions = [
        ExclusionConstraint(name, definition, tuple(zip(elements, operators)),
                            tuple(_unquoted(e) if int(a) != 0 else None for e, a in zip(elements, attnums)), where)
        for name, definition, where, elements, operators, attnums in excl
    ]
    return indexes, exclusions


def mysql_descending(bind: sa.engine.Connectable, local: str) -> dict[str, tuple[str, ...]]:
    """MariaDB/MySQL: the DESC key columns of each index of the table (SQLAlchemy does not reflect them)."""
    query = sa.text("SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :table AND COLLATION = 'D' "
                    "ORDER BY INDEX_NAME, SEQ_IN_INDEX")
    out: dict[str, tuple[str, ...]] = {}
    with bind.connect() as conn:  # type: ignore[union-attr]
        for index, column in conn.execute(query, {"table": local}).all():
            out[index] = out.get(index, ()) + (column,)
    return out


def reflected_index(i: dict, descending: tuple[str, ...] = ()) -> Index | None:
    """An index as SQLAlchemy reflects it on MariaDB/MySQL or SQLite; None when its parts are unknown."""
    options = i.get("dialect_options") or {}
    names, texts = list(i.get("column_names") or []), list(i.get("expressions") or [])
    expressions: tuple[str, ...] = ()
    if not names or not all(names):
        if len(texts) != len(names) or not names:
            return None
        expressions = tuple("" if n else str(e) for n, e in zip(names, texts))
    where = options.get("sqlite_where")
    prefix = str(options.get("mysql_prefix") or "").lower() or None
    lengths = options.get("mysql_length") or {}
    if isinstance(lengths, int):  # one length for a one-column index
        lengths = {names[0]: lengths}
    return Index(tuple(n for n in names if n), i.get("name"), bool(i.get("unique")),
                 where=str(where) if where is not None else None, method=prefix, expressions=expressions,
                 descending=descending, lengths=tuple((c, int(n)) for c, n in lengths.items() if n))


def sqlite_expression_indexes(bind: sa.engine.Connectable, local: str, reflected: set[str],
                              columns: tuple[str, ...]) -> list[Index]:
    """SQLite: the indexes SQLAlchemy skips (those on expressions), from their CREATE INDEX text."""
    with bind.connect() as conn:  # type: ignore[union-attr]
        rows = conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t "
                                    "AND sql IS NOT NULL ORDER BY name"), {"t": local}).all()
    found = []
    for name, sql in rows:
        if name in reflected:
            continue
        parsed = _sqlite_index_parts(sql)
        if parsed is None:
            continue
        elements, where = parsed
        plain, expressions, descending = [], [], []
        for element in elements:
            text = re.sub(r"\s+(ASC|DESC)\s*$", "", element, flags=re.I).strip()
            column = _unquoted(text.strip("`[]")) if _IDENT.match(text.lower()) or text.startswith(("`", "[")) \
                else None
            if column is not None and column in columns:
                plain.append(column)
                expressions.append("")
                if re.search(r"\sDESC\s*$", element, flags=re.I):
                    descending.append(column)
            else:
                expressions.append(_bare(text))
        found.append(Index(tuple(plain), name, bool(re.match(r"\s*CREATE\s+UNIQUE\b", sql, flags=re.I)),
                           where=where, expressions=tuple(expressions), descending=tuple(descending)))
    return found


def _sqlite_index_parts(sql: str) -> tuple[list[str], str | None] | None:
    """CREATE INDEX ... ON t (a, lower(b) DESC) WHERE x -> (["a", "lower(b) DESC"], "x")."""
    start = re.search(r"\bON\s+(?:\"(?:[^\"]|\"\")+\"|`[^`]+`|\[[^\]]+\]|[\w.]+)\s*\(", sql, flags=re.I)
    if start is None:
        return None
    depth, current, elements, quote = 1, "", [], ""
    i = start.end()
    while i < len(sql) and depth:
        ch = sql[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if not depth:
                break
        elif ch == "," and depth == 1:
            elements.append(current.strip())
            current = ""
            i += 1
            continue
        current += ch
        i += 1
    elements.append(current.strip())
    rest = re.match(r"\s*WHERE\s+(.*)$", sql[i + 1:], flags=re.I | re.S)
    return elements, rest.group(1).strip() if rest else None


def _bare(text: str) -> str:
    """'(lower(email))' -> 'lower(email)': one expression reads the same with or without outer parentheses."""
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for ch in text[1:-1]:
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth < 0:
                return text
        if depth:
            return text
        text = text[1:-1].strip()
    return text
