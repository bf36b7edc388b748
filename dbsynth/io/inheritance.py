"""PostgreSQL table inheritance (`CREATE TABLE dog (...) INHERITS (animal)`) in reads and writes.

A parent's SELECT returns its children's rows too. So every read of a table
that has inheritance children says `FROM ONLY parent`: the parent is modelled,
counted and compared on its own rows, and each child on its own. A PostgreSQL
target of a PostgreSQL source gets the children created `INHERITS (parent)`
(declaring the inherited columns again is allowed: PostgreSQL merges identical
definitions), after their parents; other engines have no inheritance and get
two plain tables, each with its own rows, and one warning per child.
"""

from __future__ import annotations

from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import quoted_name

from dbsynth.schema.model import Schema, Table

__all__ = ["ONLY_KEY", "inherited_tables", "inherits_option", "mark_inherited", "only", "order_by_inheritance",
           "own_rows", "plain_table_note"]

ONLY_KEY = "dbsynth_inherited"   # sa.Table.info: other tables INHERIT from it; read its own rows with ONLY

Q = TypeVar("Q", bound=sa.Select)


def inherited_tables(schema: Schema) -> set[str]:
    """The model names of the tables some table of `schema` INHERITS from."""
    return {parent for t in schema.tables for parent in t.inherits}


def mark_inherited(tables: dict[str, sa.Table], schema: Schema) -> None:
    """Flag the reflected tables that are inheritance parents, so `own_rows` reads them with ONLY."""
    for name in inherited_tables(schema):
        if name in tables:
            tables[name].info[ONLY_KEY] = True


def own_rows(query: Q, table: sa.FromClause, inherited: bool | None = None) -> Q:
    """`query` reading `table`'s own rows: FROM ONLY on PostgreSQL when children inherit from it.

    `inherited` None: taken from the table's (or the aliased table's) info, set by `mark_inherited`."""
    if inherited is None:
        element = getattr(table, "element", table)   # an alias: its table
        inherited = bool(getattr(element, "info", {}).get(ONLY_KEY))
    return query.with_hint(table, "ONLY", "postgresql") if inherited else query


def only(table: sa.Table, dialect: str) -> str:
    """"ONLY " before a PostgreSQL inheritance parent in hand-written SQL, else nothing."""
    return "ONLY " if dialect == "postgresql" and table.info.get(ONLY_KEY) else ""


def inherits_option(parents: list[tuple[str | None, str]]) -> tuple[str, ...]:
    """`postgresql_inherits` for a child of `parents` ((namespace, name) in the target): their names already
    quoted, since SQLAlchemy quotes each name as one identifier, which a schema-qualified name is not."""
    prep = postgresql.dialect().identifier_preparer
    return tuple(quoted_name(f"{prep.quote_schema(s)}.{prep.quote(n)}" if s else prep.quote(n), quote=False)
                 for s, n in parents)


def order_by_inheritance(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """PostgreSQL: make each reflected child depend on its parents among `tables`, so that a DROP, which
    a parent refuses while a child inherits from it, takes the children first."""
    if conn.dialect.name != "postgresql" or not tables:
        return
    prep = conn.dialect.identifier_preparer
    links = conn.execute(sa.text(
        "WITH t AS (SELECT n, CAST(name AS regclass) AS oid "
        "           FROM unnest(CAST(:names AS text[])) WITH ORDINALITY AS u(name, n)) "
        "SELECT c.n, p.n FROM pg_inherits i JOIN t c ON c.oid = i.inhrelid JOIN t p ON p.oid = i.inhparent"),
        {"names": [prep.format_table(t) for t in tables]}).all()
    for child, parent in links:
        tables[child - 1].add_is_dependent_on(tables[parent - 1])


def plain_table_note(table: Table, dialect: str) -> str:
    """The warning for a child created on an engine without inheritance."""
    parents = ", ".join(table.inherits)
    return (f"table {table.name} inherits from {parents} in the source; {dialect} has no table inheritance, "
            f"so it is a plain table with all its columns and its own rows ({parents} holds only its own)")
