"""What the PostgreSQL and MariaDB shadows share: an admin engine, the writing engine, and cleaning up."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from dbsynth.io.engines import check_connection


class ServerShadow:
    """A shadow on a database server; subclasses say how it is named, made, swapped in and dropped.

    `admin` runs the DDL around the shadow without a pool (no session outlives a step);
    `engine` is the one the write stage gets, set by `prepare`.
    """

    def __init__(self, url: URL) -> None:
        self.url = url
        self.admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
        check_connection(self.admin, url, role="target")
        self.engine: Engine | None = None

    def drop_shadow_sql(self) -> str:
        """The statement that drops the shadow if it exists."""
        raise NotImplementedError

    def discard(self) -> None:
        """Drop the shadow after a failure (the swap already dropped it on success)."""
        if self.engine is not None:
            self.engine.dispose()
        with self.admin.begin() as conn:
            conn.exec_driver_sql(self.drop_shadow_sql())

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        self.admin.dispose()

    def _q(self, name: str) -> str:
        return self.admin.dialect.identifier_preparer.quote_identifier(name)
