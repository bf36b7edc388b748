"""PostgreSQL: write into a shadow schema, then move it in with one transaction.

The shadow is a schema of the target database (``dbsynth_shadow_<home>``). The
write stage needs no change to write there: an engine whose sessions start
with ``search_path=<shadow>`` makes every unqualified CREATE, COPY, setval and
view definition land in the shadow, and SQLAlchemy's default schema becomes
the shadow too, so the target checks look there.

PostgreSQL's DDL is transactional, so the swap is one transaction: drop the
managed tables and views of the home schema (only those: the application's own
tables and extensions stay), ``ALTER ... SET SCHEMA`` the shadow's tables,
views, enum/domain types and free sequences into it (indexes, constraints and
owned sequences travel with their tables; views follow their tables by OID),
drop the empty shadow. Readers see the old tables until the commit and the new
ones after it; a process killed anywhere before the commit leaves the old
tables as they were, since an open transaction dies with its connection.
Grants on the old tables are not carried over (use ALTER DEFAULT PRIVILEGES).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from dbsynth.errors import DbsynthError
from dbsynth.io.ddl import drop_tables
from dbsynth.atomic.server import ServerShadow
from dbsynth.schema.model import View

SHADOW_PREFIX = "dbsynth_shadow_"
APPLICATION_NAME = "dbsynth refresh"


def shadow_schema(home: str) -> str:
    """The shadow schema's name for home schema `home` (fixed, so the next run finds a leftover)."""
    return (SHADOW_PREFIX + home)[:63]


class PostgresShadow(ServerShadow):
    """A shadow schema beside the target's home schema (its current_schema())."""

    def __init__(self, url: URL) -> None:
        super().__init__(url)
        with self.admin.connect() as conn:
            self.home: str = conn.execute(sa.text("SELECT current_schema()")).scalar() or "public"
        self.name = shadow_schema(self.home)
        self._quote = self.admin.dialect.identifier_preparer.quote_schema

    @property
    def lock_name(self) -> str:
        return f"{self.url.database}.{self.home}"

    def prepare(self) -> Engine:
        """Drop a leftover shadow of a killed run, create an empty one, return an engine writing into it."""
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {self._quote(self.name)} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {self._quote(self.name)}")
        options = f"-csearch_path={self.name}"
        self.engine = sa.create_engine(self.url, connect_args={"options": options,
                                                               "application_name": APPLICATION_NAME})
        return self.engine

    def swap(self, tables: set[str], views: set[str], new_views: tuple[View, ...]) -> list[str]:
        """Replace the home schema's managed `tables` and `views` with the shadow's, in one transaction.

        `new_views` are already in the shadow (the write stage made them) and move with it.
        """
        if self.engine is not None:
            self.engine.dispose()
        try:
            self._swap(tables, views | {v.name for v in new_views})
        except DbsynthError as exc:
            raise DbsynthError(f"{exc}; the target was left unchanged") from exc
        except sa.exc.SQLAlchemyError as exc:
            first = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise DbsynthError(f"cannot swap the refreshed tables into schema {self.home}: {first}; "
                               f"the target was left unchanged") from exc
        return []

    def _swap(self, tables: set[str], views: set[str]) -> None:
        home, shadow = self._quote(self.home), self._quote(self.name)
        with self.admin.begin() as conn:
            for name, kind in _relations(conn, self.home, ("v", "m")):
                if name in views:
                    conn.exec_driver_sql(f"DROP {_KIND[kind]} IF EXISTS {home}.{self._q(name)} CASCADE")
            drop_tables(conn, [f"{self.home}.{t}" for t in tables])
            for name, kind in _relations(conn, self.name, ("r", "p", "v", "m")):
                conn.exec_driver_sql(f"ALTER {_KIND[kind]} {shadow}.{self._q(name)} SET SCHEMA {home}")
            types = conn.execute(sa.text(
                "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                "WHERE n.nspname = :s AND t.typtype IN ('e', 'd') ORDER BY 1"), {"s": self.name}).scalars()
            for name in list(types):
                conn.exec_driver_sql(f"ALTER TYPE {shadow}.{self._q(name)} SET SCHEMA {home}")
            for name, _ in _relations(conn, self.name, ("S",)):  # sequences no table owns
                conn.exec_driver_sql(f"ALTER SEQUENCE {shadow}.{self._q(name)} SET SCHEMA {home}")
            conn.exec_driver_sql(f"DROP SCHEMA {shadow} CASCADE")

    def drop_shadow_sql(self) -> str:
        return f"DROP SCHEMA IF EXISTS {self._quote(self.name)} CASCADE"


_KIND = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}


def _relations(conn: sa.Connection, schema: str, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, relkind) of the schema's relations of these kinds; partitions are left to their parent."""
    rows = conn.execute(sa.text(
        "SELECT c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :s AND NOT c.relispartition ORDER BY 1"), {"s": schema}).all()
    return [(name, kind) for name, kind in rows if kind in kinds]
