"""Database URLs and engines: which driver, read-only sources, clean connection errors.

Users pass SQLAlchemy URLs or a plain file path (meaning SQLite). We pick the
drivers we ship (psycopg 3, PyMySQL), open sources read-only so a bug can never
write to production, and turn driver exceptions into one-line errors that never
show a password.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from dbsynth.errors import ConnectionFailed, ConfigError

_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg",
            "mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql"}


def parse_url(text: str) -> URL:
    """A SQLAlchemy URL from user input; a plain path becomes a SQLite URL."""
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text).expanduser()))
    try:
        url = make_url(text)
    except Exception as exc:  # sqlalchemy.exc.ArgumentError and friends
        raise ConfigError(f"cannot parse database URL {safe_url_text(text)!r}: {exc}") from None
    if url.drivername in _DRIVERS:
        url = url.set(drivername=_DRIVERS[url.drivername])
    return url


def safe_url(url: URL) -> str:
    """The URL as text with the password hidden: the only way a URL reaches a message."""
    return url.render_as_string(hide_password=True)


def safe_url_text(text: str) -> str:
    try:
        return safe_url(make_url(text))
    except Exception:
        return "<unparsable URL>"


def scrub(message: str, url: URL) -> str:
    """Remove the password of `url` from `message`, wherever a driver put it."""
    if url.password:
        message = message.replace(str(url.password), "***")
    return message


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def open_source(url: URL) -> Engine:
    """An engine that cannot write: SQLite opened with mode=ro, servers in read-only sessions."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = url.database or ""
        if not path or path == ":memory:" or not Path(path).exists():
            raise ConnectionFailed(f"source SQLite file {path or '(none)'!r} does not exist; check the path")
        uri = f"file:{Path(path).resolve()}?mode=ro"
        engine = sa.create_engine("sqlite://", creator=lambda: __import__("sqlite3").connect(uri, uri=True))
    elif backend == "postgresql":
        engine = sa.create_engine(url, connect_args={"options": "-c default_transaction_read_only=on"})
    elif backend in ("mysql", "mariadb"):
        engine = sa.create_engine(url, connect_args={"init_command": "SET SESSION TRANSACTION READ ONLY"})
    else:
        raise ConfigError(f"unsupported database {backend!r} in {safe_url(url)}; use sqlite, postgresql or mysql")
    check_connection(engine, url, role="source")
    return engine


def open_target(url: URL) -> Engine:
    """An engine for the target; a missing SQLite file is created."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = url.database or ""
        if path and path != ":memory:":
            parent = Path(path).expanduser().resolve().parent
            if not parent.is_dir():
                raise ConnectionFailed(f"target folder {str(parent)!r} does not exist; create it first")
        engine = sa.create_engine(url)
    elif backend in ("postgresql", "mysql", "mariadb"):
        engine = sa.create_engine(url)
    else:
        raise ConfigError(f"unsupported database {backend!r} in {safe_url(url)}; use sqlite, postgresql or mysql")
    check_connection(engine, url, role="target")
    return engine


@contextmanager
def target_engine(url: URL) -> Iterator[Engine]:
    """open_target as a context: a SQLite file this run created is removed again if the run fails."""
    path = Path(url.database).expanduser() if is_sqlite(url) and url.database not in (None, "", ":memory:") else None
    fresh = path is not None and not path.exists()
    engine = open_target(url)
    try:
        yield engine
    except BaseException:
        engine.dispose()
        if fresh and path is not None and path.exists():
            path.unlink()
        raise
    finally:
        engine.dispose()


def check_connection(engine: Engine, url: URL, role: str) -> None:
    """Connect once now, so a bad URL fails before any work, with a useful one-liner."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.SQLAlchemyError as exc:
        raise ConnectionFailed(
            f"cannot connect to {role} {safe_url(url)}: {_reason(exc, url)}"
        ) from None


def _reason(exc: Exception, url: URL) -> str:
    """The driver's own first line, stripped of SQLAlchemy's boilerplate and any password."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    low = text.lower()
    if "password authentication failed" in low or "access denied" in low:
        hint = "check the user name and password"
    elif "does not exist" in low or "unknown database" in low:
        hint = "create the database first or fix its name"
    elif "connection refused" in low or "can't connect" in low or "could not translate host" in low \
            or "timeout" in low or "name or service not known" in low:
        hint = "check that the server is running and the host and port are right"
    else:
        hint = "check the URL"
    return scrub(f"{text} ({hint})", url)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
