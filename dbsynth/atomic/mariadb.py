"""MySQL/MariaDB: write into a shadow database, then swap with one RENAME TABLE.

DDL commits at once on these engines, so the new tables are built in a
database of their own (``<target>__dbsynth_shadow``, same character set and
collation). The swap is a single ``RENAME TABLE db.a TO old.a, ...,
shadow.a TO db.a, ...`` statement, which the server performs atomically
(all renames or none, and crash-safe since MariaDB 10.6's atomic DDL): readers
find either the old tables or the new ones. Foreign keys follow the table they
point at through a rename, so old children keep pointing at old parents in the
``__dbsynth_old`` database and new ones at new parents in the target.

Views cannot move between databases, and a view stores its tables' qualified
names, so the model's views are recreated in the target after the rename with
CREATE OR REPLACE (each view swaps atomically on its own). A run killed after
the rename but before the clean-up leaves the new data in place and the
``__dbsynth_old`` / ``__dbsynth_shadow`` databases behind; the next run drops them.
"""

from __future__ import annotations

from collections.abc import Iterable

import hashlib
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from dbsynth.errors import DbsynthError
from dbsynth.atomic.server import ServerShadow
from dbsynth.io.naming import located, located_table
from dbsynth.io.views import create_in_passes, rejection_warnings
from dbsynth.schema.model import View


def side_databases(database: str) -> tuple[str, str]:
    """(shadow, old) database names beside `database`, within MySQL's 64 characters."""
    names = []
    for suffix in ("__dbsynth_shadow", "__dbsynth_old"):
        name = database + suffix
        if len(name) > 64:
            name = database[:30] + "_" + hashlib.sha256(database.encode()).hexdigest()[:16] + suffix
        names.append(name)
    return names[0], names[1]


class MariaDBShadow(ServerShadow):
    """A shadow database beside the target database."""

    writes_views = True   # the write stage creates the views in the shadow

    def relocation(self, namespaces: Iterable[str]) -> dict[str, str]:
        """No namespaces inside a database here: tables are written as schema_table, nothing moves."""
        return {}

    def __init__(self, url: URL) -> None:
        if not url.database:
            raise ValueError("a MySQL/MariaDB target URL names its database")
        super().__init__(url)
        self.database = url.database
        self.name, self.old = side_databases(self.database)
        self.warnings: list[str] = []

    @property
    def lock_name(self) -> str:
        return self.database

    def prepare(self) -> Engine:
        """Drop leftovers of a killed run, create the shadow with the target's charset, return its engine."""
        q = self._q
        with self.admin.connect() as conn:
            charset, collation = conn.execute(sa.text(
                "SELECT default_character_set_name, default_collation_name FROM information_schema.schemata "
                "WHERE schema_name = :d"), {"d": self.database}).one()
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {q(self.name)}")
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {q(self.old)}")
            conn.exec_driver_sql(f"CREATE DATABASE {q(self.name)} CHARACTER SET {charset} COLLATE {collation}")
        self.engine = sa.create_engine(self.url.set(database=self.name))
        return self.engine

    def swap(self, tables: set[str], views: set[str], new_views: tuple[View, ...]) -> list[str]:
        """One atomic RENAME TABLE moves the old managed tables out and the shadow's in; views follow."""
        if self.engine is not None:
            self.engine.dispose()
        q, db, shadow, old = self._q, self._q(self.database), self._q(self.name), self._q(self.old)
        managed = set(tables)
        with self.admin.connect() as conn:
            present = set(_base_tables(conn, self.database))
            _refuse_outside_references(conn, self.database, managed & present)
            new = _base_tables(conn, self.name)
            made = set(conn.execute(sa.text("SELECT table_name FROM information_schema.views WHERE table_schema = :d"),
                                    {"d": self.name}).scalars())
            conn.exec_driver_sql(f"CREATE DATABASE {old}")
            moves = [f"{db}.{q(t)} TO {old}.{q(t)}" for t in sorted(present & (managed | set(new)))]
            moves += [f"{shadow}.{q(t)} TO {db}.{q(t)}" for t in new]
            conn.exec_driver_sql("RENAME TABLE " + ", ".join(moves))
            # the write stage made (and warned about) the views in the shadow: those it made move over
            warnings = self._replace_views(conn, [v for v in new_views if located_table(v, "mysql")[1] in made], views)
            conn.exec_driver_sql(f"DROP DATABASE {old}")
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {shadow}")
        return warnings

    def _replace_views(self, conn: sa.Connection, views: list[View], gone: set[str]) -> list[str]:
        """CREATE OR REPLACE every view of the model in the target, in passes (views may read views)."""
        q, db = self._q, self._q(self.database)
        for name in sorted(gone - {v.name for v in views}):
            conn.exec_driver_sql(f"DROP VIEW IF EXISTS {db}.{q(_located_name(name))}")
        conn.exec_driver_sql(f"USE {db}")  # unqualified names in the definitions mean the target's tables

        def create(view: View) -> None:
            name = q(located_table(view, "mysql")[1])
            conn.exec_driver_sql(f"CREATE OR REPLACE VIEW {name} AS {view.definition}".replace("%", "%%"))

        return rejection_warnings(create_in_passes(views, create), "mysql")

    def drop_shadow_sql(self) -> str:
        return f"DROP DATABASE IF EXISTS {self._q(self.name)}"


def _located_name(name: str) -> str:
    """A model's "schema.view" as it is named in a MySQL database ("schema_view")."""
    schema, _, local = name.rpartition(".")
    return located(schema or None, local, "mysql")[1]


def _refuse_outside_references(conn: sa.Connection, database: str, managed: set[str]) -> None:
    """A foreign key from a table we do not manage would follow its parent out of the target: stop first."""
    rows = conn.execute(sa.text(
        "SELECT constraint_schema, table_name, referenced_table_name FROM information_schema.referential_constraints "
        "WHERE unique_constraint_schema = :d"), {"d": database}).all()
    outside = sorted({f"{schema}.{table} -> {parent}" for schema, table, parent in rows
                      if parent in managed and (schema != database or table not in managed)})
    if outside:
        raise DbsynthError(f"foreign key {outside[0]} comes from a table dbsynth does not refresh; the target "
                           f"was left unchanged: drop that foreign key or refresh a database of its own")


def _base_tables(conn: sa.Connection, database: str) -> list[str]:
    return list(conn.execute(sa.text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = :d AND table_type = 'BASE TABLE' "
        "ORDER BY 1"), {"d": database}).scalars())
