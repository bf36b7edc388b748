"""SQLite: write a new file beside the target, then os.replace it over the target.

``os.replace`` within one folder is an atomic rename on POSIX: a new
connection opens either the old file or the new one, and a connection already
open keeps reading the old file (its inode) until it reconnects. The shadow is
``<target>.dbsynth-shadow`` in the same folder (a rename cannot cross file
systems); it is flushed to disk before the rename, and the folder after it, so
a power cut leaves one of the two whole files.

The whole file is replaced: tables of the target that the model does not
know are not carried over (PostgreSQL and MariaDB keep them). A target in WAL
mode is checkpointed first, so no old write-ahead log is replayed into the new
file; writers must not be connected to it during a refresh.
"""

from __future__ import annotations

from collections.abc import Iterable

import os
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from dbsynth.errors import ConnectionFailed
from dbsynth.schema.model import View

_SIDE_FILES = ("", "-journal", "-wal", "-shm")


def shadow_file(target: Path) -> Path:
    """The shadow file's path for `target` (fixed, so the next run finds a leftover)."""
    return target.with_name(target.name + ".dbsynth-shadow")


class SQLiteShadow:
    """A shadow file beside the target file."""

    writes_views = True   # the write stage creates the views in the shadow

    def relocation(self, namespaces: Iterable[str]) -> dict[str, str]:
        """No namespaces inside a database here: tables are written as schema_table, nothing moves."""
        return {}

    def __init__(self, url: URL) -> None:
        if url.database in (None, "", ":memory:"):
            raise ConnectionFailed("refresh needs a SQLite file as target, not an in-memory database")
        self.target = Path(url.database).expanduser().resolve()
        if not self.target.parent.is_dir():
            raise ConnectionFailed(f"target folder {str(self.target.parent)!r} does not exist; create it first")
        self.path = shadow_file(self.target)
        self.url = url.set(database=str(self.path))
        self.engine: Engine | None = None

    @property
    def lock_name(self) -> str:
        return str(self.target)

    def prepare(self) -> Engine:
        """Remove a leftover shadow (and its journal) of a killed run; return an engine for a new one."""
        self._remove()
        self.engine = sa.create_engine(self.url)
        return self.engine

    def swap(self, tables: set[str], views: set[str], new_views: tuple[View, ...]) -> list[str]:
        """Flush the shadow, settle the target's own journal, rename the shadow over the target."""
        if self.engine is not None:
            self.engine.dispose()
        _fsync(self.path)
        if self.target.exists():
            _settle(self.target)
        os.replace(self.path, self.target)
        _fsync(self.target.parent)
        return []

    def discard(self) -> None:
        """Remove the shadow (after a failure; nothing is left after a swap)."""
        if self.engine is not None:
            self.engine.dispose()
        self._remove()

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def _remove(self) -> None:
        for suffix in _SIDE_FILES:
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


def _settle(target: Path) -> None:
    """Roll back a hot journal and empty a WAL of the old file, so neither is applied to the new one."""
    conn = sqlite3.connect(target)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a read resolves a hot journal
        if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
