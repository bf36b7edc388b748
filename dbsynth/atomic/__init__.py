"""Atomic replacement of a target database: build the new one beside the old, then swap it in.

`dbsynth refresh` must never leave a half-written target, whatever happens to
the process (SIGKILL, OOM killer, a reboot): readers see the old database or
the new one. Each engine has its own cheapest atomic step, so each has a
*shadow* of its own (a schema, a database, a file) that the unchanged write
stage fills, and a swap that is a single atomic operation:

    PostgreSQL   shadow schemas   ALTER ... SET SCHEMA in one transaction   (postgres.py)
    MariaDB      shadow database  one multi-table RENAME TABLE              (mariadb.py)
    SQLite       shadow file      os.replace                                (sqlite.py)

Shadow names are fixed per target, so the next run finds what a killed run left
and removes it first; a lock (lock.py) keeps two runs from doing that to each other.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator, Protocol

from sqlalchemy.engine import URL, Engine

from dbsynth.atomic.lock import target_lock
from dbsynth.errors import ConfigError
from dbsynth.io.engines import safe_url
from dbsynth.schema.model import View


class Shadow(Protocol):
    """Where the new database is built, and how it replaces the old one."""

    writes_views: bool   # False: the write stage leaves the views out, and `swap` creates them

    @property
    def lock_name(self) -> str: ...

    def relocation(self, namespaces: Iterable[str]) -> dict[str, str]:
        """Where the write stage must put the tables of each namespace (io.naming.relocated); {}: where it would."""

    def prepare(self) -> Engine:
        """Remove a leftover shadow, create an empty one, and return an engine that writes into it."""

    def swap(self, tables: set[str], views: set[str], new_views: tuple[View, ...]) -> list[str]:
        """Replace the target's managed `tables` and `views` with the shadow's; warnings, if any."""

    def discard(self) -> None:
        """Remove the shadow after a failure."""

    def close(self) -> None:
        """Close the engines."""


def shadow_for(url: URL) -> Shadow:
    """The shadow kind for the target's engine."""
    backend = url.get_backend_name()
    if backend == "postgresql":
        from dbsynth.atomic.postgres import PostgresShadow

        return PostgresShadow(url)
    if backend in ("mysql", "mariadb"):
        from dbsynth.atomic.mariadb import MariaDBShadow

        return MariaDBShadow(url)
    if backend == "sqlite":
        from dbsynth.atomic.sqlite import SQLiteShadow

        return SQLiteShadow(url)
    raise ConfigError(f"unsupported database {backend!r} in {safe_url(url)}; use sqlite, postgresql or mysql")


@contextmanager
def shadow_target(url: URL) -> Iterator[tuple[Shadow, Engine]]:
    """Hold the target's refresh lock and a fresh shadow; the shadow is removed again if the body fails.

    The body writes through the engine and calls `swap` as its last step.
    """
    shadow = shadow_for(url)
    try:
        with target_lock(url, shadow.lock_name):
            engine = shadow.prepare()
            try:
                yield shadow, engine
            except BaseException:
                shadow.discard()
                raise
    finally:
        shadow.close()
