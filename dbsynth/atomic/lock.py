"""One refresh of a target at a time: a lock that dies with its process.

A cron job whose run outlasts its interval would start a second refresh of the
same target; both would use the same shadow name, and the second's clean-up of
"leftovers" would destroy the first's half-written shadow. So a refresh holds a
lock for its whole run, of a kind the operating system or the server releases
when the process dies (SIGKILL included), so a killed run never blocks the next:
a PostgreSQL session advisory lock, a MariaDB ``GET_LOCK`` (both released when
the connection drops) and, for SQLite, ``flock`` on a file beside the target
(released when the file descriptor closes).
"""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import URL

from dbsynth.errors import RefreshBusy
from dbsynth.io.engines import safe_url


@contextmanager
def target_lock(url: URL, name: str) -> Iterator[None]:
    """Hold the refresh lock of `name` (the target database or file) or raise RefreshBusy at once."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        with _file_lock(Path(f"{name}.dbsynth-lock"), url):
            yield
        return
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    key = f"dbsynth-refresh:{name}"
    try:
        with engine.connect() as conn:
            if backend == "postgresql":
                number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
                held = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": number}).scalar()
            else:  # MySQL/MariaDB lock names are at most 64 characters
                held = conn.execute(sa.text("SELECT GET_LOCK(:k, 0)"), {"k": key[:64]}).scalar()
            if not held:
                raise _busy(url)
            yield  # the lock lives as long as this connection; closing it releases it
    finally:
        engine.dispose()


@contextmanager
def _file_lock(path: Path, url: URL) -> Iterator[None]:
    import fcntl  # POSIX only, like os.replace's atomicity guarantee we rely on

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(url) from None
        yield
    finally:
        os.close(fd)  # releases the lock; the file itself stays (removing it would race a waiting run)


def _busy(url: URL) -> RefreshBusy:
    return RefreshBusy(f"another dbsynth refresh of {safe_url(url)} is running; "
                       f"try again when it has finished (exit code 75)")
