"""PostgreSQL: write into shadow schemas, then move them in with one transaction.

Each namespace of the model gets a shadow schema of the target database,
``dbsynth_shadow_<schema>``. The write stage needs no change to write there:
the default namespace is reached through an engine whose sessions start with
``search_path=<home's shadow>`` (so SQLAlchemy's default schema is the shadow
and the target checks look there), and the other namespaces through
`io.naming.relocated`, which names the shadow wherever the write stage would
name the schema.

PostgreSQL's DDL is transactional, so the swap is one transaction: drop the
managed views and tables of every namespace (only those: the application's own
tables and extensions stay), ``ALTER ... SET SCHEMA`` each shadow's tables,
enum/domain types, free sequences and routines (`_move_routines`) into its namespace (indexes, constraints
and owned sequences travel with their tables; a foreign key across namespaces
follows its table by OID), drop the empty shadows, and create the views from
their definitions, which name the real schemas. Views are therefore not written
into the shadows: one there would read the old tables of another namespace.
Readers see the old tables until the commit and the new ones after it; a
process killed anywhere before the commit leaves the old tables as they were,
since an open transaction dies with its connection, and the next run drops
every leftover shadow. The lock is per database, since a refresh may touch any
of its schemas. Grants on the old tables are not carried over (use ALTER
DEFAULT PRIVILEGES).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from collections.abc import Iterable

from dbsynth.errors import DbsynthError
from dbsynth.io.ddl import drop_tables
from dbsynth.io.views import create_views
from dbsynth.atomic.server import ServerShadow
from dbsynth.schema.model import Schema, View

SHADOW_PREFIX = "dbsynth_shadow_"
APPLICATION_NAME = "dbsynth refresh"


def shadow_schema(home: str) -> str:
    """The shadow schema's name for home schema `home` (fixed, so the next run finds a leftover)."""
    return (SHADOW_PREFIX + home)[:63]


class PostgresShadow(ServerShadow):
    """A shadow schema beside the target's home schema (its current_schema()) and beside each other namespace."""

    writes_views = False   # views are created by the swap, once every namespace holds its new tables

    def __init__(self, url: URL) -> None:
        super().__init__(url)
        with self.admin.connect() as conn:
            self.home: str = conn.execute(sa.text("SELECT current_schema()")).scalar() or "public"
        self.name = shadow_schema(self.home)
        self._quote = self.admin.dialect.identifier_preparer.quote_schema

    @property
    def lock_name(self) -> str:
        return f"{self.url.database}"

    def relocation(self, namespaces: Iterable[str]) -> dict[str, str]:
        """Where the write stage puts the tables of each (non-default) namespace: its shadow."""
        return {n: shadow_schema(n) for n in namespaces}   # the home's too, when a table names it

    def prepare(self) -> Engine:
        """Drop the leftover shadows of a killed run, create the home's, return an engine writing into it.

        The other namespaces' shadows are created by the write stage (CREATE SCHEMA IF NOT EXISTS).
        """
        with self.admin.begin() as conn:
            self._drop_shadows(conn)
            conn.exec_driver_sql(f"CREATE SCHEMA {self._quote(self.name)}")
        options = f"-csearch_path={self.name}"
        self.engine = sa.create_engine(self.url, connect_args={"options": options,
                                                               "application_name": APPLICATION_NAME})
        return self.engine

    def swap(self, tables: set[str], views: set[str], new_views: tuple[View, ...]) -> list[str]:
        """Replace the managed `tables` and `views` of every namespace with the shadows' tables and `new_views`,
        in one transaction; warnings name the views the target rejected."""
        if self.engine is not None:
            self.engine.dispose()
        try:
            return self._swap(tables, views | {v.name for v in new_views}, new_views)
        except DbsynthError as exc:
            raise DbsynthError(f"{exc}; the target was left unchanged") from exc
        except sa.exc.SQLAlchemyError as exc:
            first = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise DbsynthError(f"cannot swap the refreshed tables into schema {self.home}: {first}; "
                               f"the target was left unchanged") from exc

    def _swap(self, tables: set[str], views: set[str], new_views: tuple[View, ...]) -> list[str]:
        with self.admin.begin() as conn:
            for view in sorted(views):
                namespace, local = _split(view, self.home)
                for name, kind in _relations(conn, namespace, ("v", "m")):
                    if name == local:
                        conn.exec_driver_sql(f"DROP {_KIND[kind]} IF EXISTS {self._quote(namespace)}.{self._q(name)} "
                                             f"CASCADE")
            # the model's names as they are: bare ones resolve in the home schema, as the reflected foreign keys
            # of the other schemas' tables name them, so children are dropped before their parents
            drop_tables(conn, sorted(tables))
            for namespace, shadow in self._shadows(conn):
                self._move(conn, shadow, namespace)
            # new_views are already in PostgreSQL's SQL (refreshing translated them): created as they are
            return create_views(conn, Schema(tables=(), dialect="postgresql", views=new_views))

    def _shadows(self, conn: sa.Connection) -> list[tuple[str, str]]:
        """(namespace, its shadow) for every shadow this run made: the home's first."""
        made = conn.execute(sa.text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :p) ORDER BY 1"),
                            {"p": SHADOW_PREFIX}).scalars().all()
        spaces = [(self.home, self.name)] + [(n[len(SHADOW_PREFIX):], n) for n in made if n != self.name]
        return [(n, s) for n, s in spaces if s in made]

    def _move(self, conn: sa.Connection, shadow_name: str, namespace_name: str) -> None:
        """Every table, enum/domain type and free sequence of a shadow into its namespace; then drop it."""
        shadow, namespace = self._quote(shadow_name), self._quote(namespace_name)
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {namespace}")   # a namespace new to the target
        for name, kind in _relations(conn, shadow_name, ("r", "p", "v", "m")):
            conn.exec_driver_sql(f"ALTER {_KIND[kind]} {shadow}.{self._q(name)} SET SCHEMA {namespace}")
        types = conn.execute(sa.text(
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = :s AND t.typtype IN ('e', 'd') ORDER BY 1"), {"s": shadow_name}).scalars()
        for name in list(types):
            conn.exec_driver_sql(f"ALTER TYPE {shadow}.{self._q(name)} SET SCHEMA {namespace}")
        for name, _ in _relations(conn, shadow_name, ("S",)):  # sequences no table owns
            conn.exec_driver_sql(f"DROP SEQUENCE IF EXISTS {namespace}.{self._q(name)}")   # the last run's
            conn.exec_driver_sql(f"ALTER SEQUENCE {shadow}.{self._q(name)} SET SCHEMA {namespace}")
        self._move_routines(conn, shadow_name, namespace)
        conn.exec_driver_sql(f"DROP SCHEMA {shadow} CASCADE")

    def _move_routines(self, conn: sa.Connection, shadow_name: str, namespace: str) -> None:
        """The shadow's functions, procedures and aggregates replace the namespace's of the same signature.

        The old tables are dropped already, so their triggers and CHECKs no longer hold the old routines;
        aggregates go first, as they depend on their state functions. The new tables' triggers and CHECKs
        bind the new routines by OID, so they follow them out of the shadow.
        """
        rows = conn.execute(sa.text(
            "SELECT p.prokind::text, p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :s "
            "ORDER BY p.prokind = 'a' DESC, p.proname"), {"s": shadow_name}).all()
        for kind, name, arguments in rows:
            word = {"p": "PROCEDURE", "a": "AGGREGATE"}.get(kind, "FUNCTION")
            old = f"{namespace}.{self._q(name)}({arguments})"
            new = f"{self._quote(shadow_name)}.{self._q(name)}({arguments})"
            conn.exec_driver_sql(f"DROP {word} IF EXISTS {old}".replace("%", "%%"))
            conn.exec_driver_sql(f"ALTER {word} {new} SET SCHEMA {namespace}".replace("%", "%%"))

    def _drop_shadows(self, conn: sa.Connection) -> None:
        for name in conn.execute(sa.text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :p)"),
                                 {"p": SHADOW_PREFIX}).scalars().all():
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {self._quote(name)} CASCADE")

    def discard(self) -> None:
        """Drop every shadow after a failure (the swap already dropped them on success)."""
        if self.engine is not None:
            self.engine.dispose()
        with self.admin.begin() as conn:
            self._drop_shadows(conn)

    def drop_shadow_sql(self) -> str:
        return f"DROP SCHEMA IF EXISTS {self._quote(self.name)} CASCADE"


def _split(name: str, home: str) -> tuple[str, str]:
    """(namespace, name) of a model's table or view: "schema.table", or a bare name of the home schema."""
    namespace, dot, local = name.partition(".")
    return (namespace, local) if dot else (home, name)


_KIND = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}


def _relations(conn: sa.Connection, schema: str, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, relkind) of the schema's relations of these kinds, partitions included: moving a partitioned
    table to another schema leaves its partitions where they are."""
    rows = conn.execute(sa.text(
        "SELECT c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :s ORDER BY 1"), {"s": schema}).all()
    return [(name, kind) for name, kind in rows if kind in kinds]
