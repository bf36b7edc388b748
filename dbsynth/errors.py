"""The one exception family of dbsynth.

Every error a user can cause derives from :class:`DbsynthError` and carries a
one-line, user-facing message that names the object at fault and what to do.
The CLI prints that line and exits non-zero; tracebacks appear only with
``--debug``.

    DbsynthError
    ├── ConnectionFailed      a database cannot be reached or refuses us
    ├── SchemaError           the source schema cannot be cloned as it is
    │   └── UnsupportedType   a column type we cannot generate
    ├── TargetNotEmpty        the target already holds tables we would create
    ├── RefreshBusy           another refresh of the same target is running (exit 75, cron: try later)
    └── ConfigError           bad options or configuration
"""

from __future__ import annotations


class DbsynthError(Exception):
    """Base of every error dbsynth raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # one line, always
        return " ".join(self.message.split())


class ConnectionFailed(DbsynthError):
    """The database is unreachable, the credentials are wrong or it does not exist."""


class SchemaError(DbsynthError):
    """The source schema has something dbsynth cannot reproduce."""


class UnsupportedType(SchemaError):
    """A column has a type dbsynth cannot generate values for."""

    def __init__(self, table: str, column: str, type_name: str) -> None:
        super().__init__(
            f"column {table}.{column} has type {type_name!r}, which dbsynth cannot generate; "
            f"cast it to a supported type in a view or leave the table out of the source"
        )
        self.table, self.column, self.type_name = table, column, type_name


class TargetNotEmpty(DbsynthError):
    """The target already holds some of the tables to be written."""

    def __init__(self, tables: list[str]) -> None:
        shown = ", ".join(tables[:8]) + (" ..." if len(tables) > 8 else "")
        super().__init__(
            f"target already has {len(tables)} of the tables to write ({shown}); "
            f"use --if-exists replace to drop and recreate them, or choose an empty target"
        )
        self.tables = tables


class RefreshBusy(DbsynthError):
    """Another `dbsynth refresh` holds the target's lock; exit code 75 (EX_TEMPFAIL) tells cron to try later."""

    exit_code = 75


class ConfigError(DbsynthError):
    """Invalid options or configuration."""

    exit_code = 2
