"""Shared fixtures: fresh, empty databases on real servers.

Each server fixture creates a uniquely named database, yields its URL and drops
it afterwards. When a server is unreachable the test is skipped with the reason,
unless DBSYNTH_REQUIRE_SERVICES=1 (as in CI), where it fails instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dbsynth.io.engines import env_flag

POSTGRES_ADMIN_URL = os.environ.get("DBSYNTH_TEST_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN_URL = os.environ.get("DBSYNTH_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/")


def _unavailable(server: str, url: str, env: str, exc: Exception) -> None:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    message = (f"{server} not reachable at {make_url(url).render_as_string(hide_password=True)} ({reason}); "
               f"start it or point {env} at one")
    if env_flag("DBSYNTH_REQUIRE_SERVICES"):
        pytest.fail(message)
    pytest.skip(message)


def _fresh_database(server: str, admin_url: str, env: str, create: str, drop: str) -> Iterator[str]:
    name = f"dbsynth_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(create.format(name=name))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _unavailable(server, admin_url, env, exc)
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(drop.format(name=name))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a new, empty PostgreSQL database."""
    yield from _fresh_database("PostgreSQL", POSTGRES_ADMIN_URL, "DBSYNTH_TEST_POSTGRES_URL",
                               'CREATE DATABASE "{name}"', 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """URL of a new, empty MariaDB/MySQL database (utf8mb4)."""
    yield from _fresh_database("MariaDB", MYSQL_ADMIN_URL, "DBSYNTH_TEST_MYSQL_URL",
                               "CREATE DATABASE `{name}` CHARACTER SET utf8mb4", "DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a SQLite file that does not exist yet."""
    return f"sqlite:///{tmp_path / 'target.db'}"


# --- Chinook ---------------------------------------------------------------------------------

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CHINOOK_SQLITE = FIXTURES / "chinook.sqlite"


def _build_chinook_module():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_chinook", FIXTURES / "build_chinook.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def chinook_sqlite() -> Path:
    """The bundled Chinook SQLite file (a source: dbsynth opens it read-only)."""
    return CHINOOK_SQLITE


@pytest.fixture
def chinook_postgres(postgres_url: str) -> str:
    """A fresh PostgreSQL database holding the Chinook data."""
    _build_chinook_module().load_chinook(postgres_url)
    return postgres_url


@pytest.fixture
def postgres_target() -> Iterator[str]:
    """A second fresh PostgreSQL database, for tests that need a source and a target."""
    yield from _fresh_database("PostgreSQL", POSTGRES_ADMIN_URL, "DBSYNTH_TEST_POSTGRES_URL",
                               'CREATE DATABASE "{name}"', 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def mysql_target() -> Iterator[str]:
    """A second fresh MariaDB database, for tests whose source is on MariaDB too."""
    yield from _fresh_database("MariaDB", MYSQL_ADMIN_URL, "DBSYNTH_TEST_MYSQL_URL",
                               "CREATE DATABASE `{name}` CHARACTER SET utf8mb4", "DROP DATABASE IF EXISTS `{name}`")
