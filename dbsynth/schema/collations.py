"""PostgreSQL collations of the user's own (CREATE COLLATION), as the columns and indexes that use them need them.

A column declared `email text COLLATE app.ci` (an ICU collation, often non-deterministic for case-insensitive
keys) cannot be created on a target that lacks `app.ci`: the whole clone would stop. The collations the
read columns use are read here with their options, so a PostgreSQL target recreates them before its tables;
the columns then name them with their schema, since SQLAlchemy reflects the bare name.
Other engines keep their default collation: a collation's name means nothing there.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable

import sqlalchemy as sa

from dbsynth.schema.model import Collation, Table

_PROVIDERS = {"i": "icu", "c": "libc", "b": "builtin"}

def user_collations(engine: sa.Engine, default_schema: str | None, namespaces: Iterable[str | None],
                    tables: Iterable[Table]) -> list[Collation]:
    """The user-made collations of `namespaces` (an index or a view may use one too) and those the columns of
    `tables` use wherever they live (PostgreSQL; none elsewhere)."""
    if engine.dialect.name != "postgresql":
        return []
    used = {c.type.collation for t in tables for c in t.columns if c.type.collation}
    spaces = [n or default_schema for n in namespaces]
    query = sa.text("SELECT n.nspname, c.collname, to_jsonb(c) FROM pg_collation c "
                    "JOIN pg_namespace n ON n.oid = c.collnamespace "
                    "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
                    "AND (c.collname = ANY(:names) OR n.nspname = ANY(:spaces)) "
                    "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_collation'::regclass "
                    "AND d.objid = c.oid AND d.deptype = 'e') ORDER BY n.nspname, c.collname")
    with engine.connect() as conn:
        rows = conn.execute(query, {"names": sorted(used), "spaces": spaces}).all()
    found = []
    for namespace, name, row in rows:
        schema = None if namespace == default_schema else namespace
        found.append(Collation(f"{schema}.{name}" if schema else name, schema, _options(row)))
    return found

def _options(row: dict[str, Any]) -> str:
    """CREATE COLLATION's options from a pg_collation row (its columns differ from version to version)."""
    provider = _PROVIDERS.get(row.get("collprovider"), "libc")
    parts = [f"provider = {provider}"]
    locale = row.get("colllocale") or row.get("colliculocale")   # PostgreSQL 17 renamed colliculocale
    if provider == "libc" or not locale:
        parts += [f"lc_collate = {_literal(row.get('collcollate') or 'C')}",
                  f"lc_ctype = {_literal(row.get('collctype') or 'C')}"]
    else:
        parts.append(f"locale = {_literal(locale)}")
    if row.get("collicurules"):
        parts.append(f"rules = {_literal(row['collicurules'])}")
    if row.get("collisdeterministic") is False:
        parts.append("deterministic = false")
    return ", ".join(parts)

def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"

def qualify_collations(tables: list[Table], collations: list[Collation]) -> list[Table]:
    """Each column using a user collation names it as the model does ("app.ci"): SQLAlchemy gives "ci"."""
    names = {c.local_name: c.name for c in reversed(collations)}   # a name in two schemas: the first one
    if not names:
        return tables
    out = []
    for table in tables:
        columns = tuple(dataclasses.replace(col, type=dataclasses.replace(col.type, collation=names[col.type.collation]))
                        if col.type.collation in names else col for col in table.columns)
        out.append(dataclasses.replace(table, columns=columns))
    return out
