"""The target's indexes and exclusion constraints, from the model's `Index` and `ExclusionConstraint`.

PostgreSQL -> PostgreSQL: an index is recreated verbatim from the source's
`pg_get_indexdef` (method, expressions, opclasses, collations, ordering, INCLUDE,
WITH, WHERE), pointed at the target's table. An index on expressions is written as
SQL too (translated with sqlglot for another engine). Those "raw" indexes and the
exclusion constraints are built after the load (`io.after_load`), where a unique one
the generated rows break can be repaired or relaxed instead of failing the write.
Everything else is a SQLAlchemy `Index`: columns, DESC, MariaDB's FULLTEXT, SPATIAL
and prefix lengths. What a target cannot take is named in one warning each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from dbsynth.io.naming import relocated_sql
from dbsynth.io.sqltranslate import translate_sql
from dbsynth.schema.model import Index, Table

if TYPE_CHECKING:
    from dbsynth.io.ddl import _Builder

RAW_INDEXES_KEY = "dbsynth_raw_indexes"       # metadata.info: [RawIndex], built after the load
EXCLUSIONS_KEY = "dbsynth_exclusions"         # metadata.info: [LateExclusion], added after the load
_PLAIN_ONLY = {"gin", "gist", "brin", "spgist", "hash"}   # PostgreSQL methods other engines lack
_MYSQL_PREFIX = 255   # characters of a TEXT column a MariaDB index on it keeps (TEXT needs a prefix)


@dataclass(frozen=True)
class RawIndex:
    """An index written as SQL: CREATE [UNIQUE] INDEX name ON table <body>."""

    table: sa.Table
    name: str
    unique: bool
    body: str                      # "USING gin (body jsonb_path_ops)" or "(lower(email)) WHERE ..."
    label: str                     # "index doc_email_lower on table doc", for warnings
    elements: tuple[str, ...] = ()  # key elements in the target's SQL, to find rows that collide
    where: str | None = None


@dataclass(frozen=True)
class LateExclusion:
    """An exclusion constraint to add once the rows are in: ALTER TABLE table ADD CONSTRAINT name definition."""

    table: sa.Table
    name: str
    definition: str
    elements: tuple[tuple[str, str], ...]   # (expression, operator) pairs, to find rows that collide
    where: str | None = None


def add_indexes(b: _Builder, table: Table, source_dialect: str) -> None:
    """Every index of `table` on the builder's target table, or a warning saying why not."""
    t = b.tables[table.name]
    keys = {tuple(table.pk_columns)} | {tuple(u.columns) for u in table.unique_constraints}
    seen: dict[Any, str] = {}   # what each index became here -> its name
    for idx in table.indexes:
        label = f"index {idx.name or '(unnamed)'} on table {table.name}"
        if b.same and b.dialect == "postgresql" and idx.definition:
            name = b.claim(idx.name, "index", t, fallback=_fallback(t, idx)) or _fallback(t, idx)
            b.md.info.setdefault(RAW_INDEXES_KEY, []).append(RawIndex(
                t, name, idx.unique, f"USING {relocated_sql(idx.definition)}", label,
                tuple(relocated_sql(e) for e in idx.elements), idx.where and relocated_sql(idx.where)))
            continue
        missing = [c for c in idx.columns + idx.include if c not in t.c]
        if missing:
            b.warnings.append(f"{label} was left out: its column {missing[0]} is not in the target")
            continue
        blank = [c for c in idx.columns if table.column(c).written_null]
        if blank:
            b.warnings.append(f"{label} was left out: its column {blank[0]} is written as NULL (a type dbsynth "
                              f"cannot generate)")
            continue
        if idx.unique and idx.columns in keys and not idx.expressions:
            continue  # the constraint already has this index
        shape = (idx.elements, idx.unique, idx.method if b.same else None,
                 idx.where if b.same and b.dialect != "mysql" else None)
        if shape in seen:
            b.warnings.append(f"{label} was left out: on {b.dialect} it would be the same index as {seen[shape]}")
            continue
        seen[shape] = idx.name or "(unnamed)"
        if idx.method in ("fulltext", "spatial"):
            _text_or_spatial(b, table, t, idx, label)
        elif idx.expressions:
            _expression_index(b, table, t, idx, label, source_dialect)
        else:
            _plain_index(b, table, t, idx, label)


def _fallback(t: sa.Table, idx: Index) -> str:
    return f"ix_{t.name}_{'_'.join(idx.columns or ('expr',))}"


def _where(b: _Builder, idx: Index, label: str) -> tuple[bool, dict[str, Any]]:
    """(unique, options) for a partial index: kept on the source's engine, a plain index elsewhere."""
    if idx.where is None:
        return idx.unique, {}
    if b.same and b.dialect in ("postgresql", "sqlite"):
        return idx.unique, {f"{b.dialect}_where": sa.text(idx.where)}
    b.warnings.append(f"{label} is partial (WHERE {idx.where}); it is a plain{' non-unique' if idx.unique else ''} "
                      f"index in the target")
    return False, {}


def _plain_index(b: _Builder, table: Table, t: sa.Table, idx: Index, label: str) -> None:
    options: dict[str, Any] = {}
    lengths = dict(idx.lengths)
    method = idx.method if idx.method in _PLAIN_ONLY else None
    if method:
        unfit = [c for c in idx.columns if b.dialect == "mysql" and table.column(c).type.kind in ("json", "array")]
        if unfit:
            b.warnings.append(f"{label} was left out: it is a {method} index in the source, and its column "
                              f"{unfit[0]} cannot be indexed on {b.dialect}")
            return
        b.warnings.append(f"{label} is a {method} index in the source; {b.dialect} has no such index, so it is "
                          f"a plain index there")
    if b.dialect == "mysql" and not idx.unique:  # TEXT/JSON columns are indexed by a prefix there (types kept)
        lengths.update({c: _MYSQL_PREFIX for c in idx.columns if _needs_prefix(t.c[c].type) and c not in lengths})
    if idx.include:
        b.warnings.append(f"{label} has INCLUDE ({', '.join(idx.include)}); {b.dialect} has no INCLUDE, so only "
                          f"its key columns are indexed there")
    if lengths and b.dialect == "mysql":
        options["mysql_length"] = {c: n for c, n in lengths.items() if c in idx.columns}
    elif lengths:
        b.warnings.append(f"{label} indexes a prefix of {', '.join(c for c, _ in idx.lengths)}; {b.dialect} indexes "
                          f"the whole value")
    unique, where = _where(b, idx, label)
    options.update(where)
    elements = [t.c[c].desc() if c in idx.descending else t.c[c] for c in idx.columns]
    name = b.claim(idx.name, "index", t, fallback=_fallback(t, idx))
    sa.Index(name, *elements, unique=unique, **options)


def _needs_prefix(typ: sa.types.TypeEngine) -> bool:
    return isinstance(typ, (sa.Text, sa.LargeBinary, sa.JSON)) or (isinstance(typ, sa.String) and not typ.length)


def _text_or_spatial(b: _Builder, table: Table, t: sa.Table, idx: Index, label: str) -> None:
    """MariaDB's FULLTEXT and SPATIAL: kept on MariaDB/MySQL; FULLTEXT is a GIN text-search index on PostgreSQL."""
    name = b.claim(idx.name, "index", t, fallback=_fallback(t, idx)) or _fallback(t, idx)
    if b.dialect == "mysql":
        sa.Index(name, *[t.c[c] for c in idx.columns], mysql_prefix=idx.method.upper())  # type: ignore[union-attr]
        return
    if idx.method == "fulltext" and b.dialect == "postgresql":
        prep = sa.dialects.postgresql.dialect().identifier_preparer
        text = " || ' ' || ".join(f"coalesce({prep.quote(c)}::text, '')" for c in idx.columns)
        document = f"to_tsvector('simple'::regconfig, {text})"
        b.md.info.setdefault(RAW_INDEXES_KEY, []).append(
            RawIndex(t, name, False, f"USING gin ({document})", label))
        b.warnings.append(f"{label} is a FULLTEXT index in the source; on postgresql it is a GIN index on "
                          f"{document}")
        return
    b.warnings.append(f"{label} was left out: it is a {idx.method.upper()} index, which "  # type: ignore[union-attr]
                      f"{b.dialect} does not have")


def _expression_index(b: _Builder, table: Table, t: sa.Table, idx: Index, label: str, source: str) -> None:
    """An index on expressions, as SQL: the source's text on its engine, translated with sqlglot elsewhere."""
    if b.dialect == "mysql":
        b.warnings.append(f"{label} was left out: it is on expressions ({', '.join(e for e in idx.expressions if e)}), "
                          f"which MariaDB/MySQL cannot index directly")
        return
    prep = _preparer(b.dialect)
    elements = []
    for element, expression in zip(idx.elements, idx.expressions):
        if not expression:
            elements.append(prep.quote(element) + (" DESC" if element in idx.descending else ""))
            continue
        text = expression if b.same else translate_sql(expression, source, b.dialect)
        if text is None:
            b.warnings.append(f"{label} was left out: its expression {expression} has no {b.dialect} equivalent")
            return
        elements.append(f"({text})")
    where = None
    if idx.where is not None:
        where = idx.where if b.same else translate_sql(idx.where, source, b.dialect)
        if where is None:
            b.warnings.append(f"{label} was left out: its WHERE {idx.where} has no {b.dialect} equivalent")
            return
    method = f"USING {idx.method} " if idx.method and b.dialect == "postgresql" else ""
    body = f"{method}({', '.join(elements)})" + (f" WHERE {where}" if where else "")
    name = b.claim(idx.name, "index", t, fallback=_fallback(t, idx)) or _fallback(t, idx)
    b.md.info.setdefault(RAW_INDEXES_KEY, []).append(
        RawIndex(t, name, idx.unique, body, label, tuple(elements), where))


def _preparer(dialect: str) -> sa.sql.compiler.IdentifierPreparer:
    from dbsynth.io.ddl import _DIALECTS

    return _DIALECTS[dialect]().identifier_preparer


def add_exclusions(b: _Builder, table: Table) -> None:
    """PostgreSQL -> PostgreSQL: exclusion constraints, added after the load; elsewhere one warning each."""
    t = b.tables[table.name]
    for x in table.exclusions:
        if b.same and b.dialect == "postgresql":
            name = b.claim(x.name, "index", t) or x.name   # its index shares the relations' namespace
            b.md.info.setdefault(EXCLUSIONS_KEY, []).append(LateExclusion(
                t, name, relocated_sql(x.definition), tuple((relocated_sql(e), op) for e, op in x.elements),
                x.where and relocated_sql(x.where)))
        else:
            b.warnings.append(f"exclusion constraint {x.name} on table {table.name} was left out: {b.dialect} has no "
                              f"exclusion constraints ({x.definition})")
