"""Read a source database's schema with SQLAlchemy's inspector into the plain model."""

from __future__ import annotations

import logging
import warnings

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dbsynth.errors import SchemaError, UnsupportedType
from dbsynth.schema.model import (
    CheckConstraint, Column, ForeignKey, Identity, Index, PrimaryKey, Schema, Table,
    UniqueConstraint, View,
)
from dbsynth.schema.types import classify

log = logging.getLogger(__name__)


def introspect(engine: Engine, *, count_rows: bool = True, strict_types: bool = True) -> Schema:
    """The schema of the default namespace of `engine`, tables sorted by name.

    With `strict_types`, a column whose type we cannot generate raises
    UnsupportedType naming it; `dbsynth inspect` passes False to show it instead.
    """
    with warnings.catch_warnings():
        # SQLAlchemy warns (not raises) on types it does not know; we report them ourselves.
        warnings.simplefilter("ignore", category=sa.exc.SAWarning)
        inspector = sa.inspect(engine)
        names = sorted(inspector.get_table_names())
        tables = [_table(inspector, engine.dialect, name, strict_types) for name in names]
        views = _views(inspector)
    if count_rows:
        tables = _with_row_counts(engine, tables)
    _check_fk_targets(tables)
    return Schema(tables=tuple(tables), dialect=engine.dialect.name, views=views)


def _views(inspector: sa.Inspector) -> tuple[View, ...]:
    """Views and materialized views with their definitions (None when the database hides them)."""
    found = [(name, False) for name in inspector.get_view_names()]
    try:
        found += [(name, True) for name in inspector.get_materialized_view_names()]
    except NotImplementedError:
        pass
    views = []
    for name, materialized in sorted(found):
        try:
            definition = inspector.get_view_definition(name)
        except (NotImplementedError, sa.exc.SQLAlchemyError):
            definition = None
        if definition:
            views.append(View(name, _select_of(str(definition)), materialized))
    return tuple(views)


def _select_of(definition: str) -> str:
    """The SELECT of a view: SQLite and MySQL return the whole CREATE VIEW statement."""
    import re

    match = re.match(r"\s*CREATE\s+.*?\bVIEW\b.*?\bAS\b\s*(.*)$", definition, flags=re.I | re.S)
    text = match.group(1) if match else definition
    return text.strip().rstrip(";").strip()


def _table(inspector: sa.Inspector, dialect: sa.engine.Dialect, name: str, strict: bool) -> Table:
    pk = inspector.get_pk_constraint(name) or {}
    pk_cols = tuple(pk.get("constrained_columns") or ())
    columns = tuple(_column(name, c, dialect, pk_cols, strict) for c in inspector.get_columns(name))
    fks = tuple(
        ForeignKey(
            columns=tuple(fk["constrained_columns"]),
            referred_table=fk["referred_table"],
            referred_columns=tuple(fk["referred_columns"]),
            name=fk.get("name"),
            referred_schema=fk.get("referred_schema"),
            on_delete=(fk.get("options") or {}).get("ondelete"),
            on_update=(fk.get("options") or {}).get("onupdate"),
            deferrable=bool((fk.get("options") or {}).get("deferrable")),
            initially_deferred=str((fk.get("options") or {}).get("initially", "")).upper() == "DEFERRED",
        )
        for fk in inspector.get_foreign_keys(name)
    )
    uniques = tuple(
        UniqueConstraint(tuple(u["column_names"]), u.get("name"))
        for u in _safe(inspector.get_unique_constraints, name)
    )
    checks = tuple(
        CheckConstraint(c["sqltext"], c.get("name")) for c in _safe(inspector.get_check_constraints, name)
    )
    unique_sets = {u.columns for u in uniques}
    indexes = tuple(
        Index(tuple(i["column_names"]), i.get("name"), bool(i.get("unique")))
        for i in _safe(inspector.get_indexes, name)
        if all(i.get("column_names") or [None])               # expression indexes: issue 4
        and not (i.get("duplicates_constraint") or tuple(i["column_names"]) in unique_sets and i.get("unique"))
    )
    comment = (_safe(inspector.get_table_comment, name) or {}).get("text")  # type: ignore[union-attr]
    return Table(
        name=name, columns=columns,
        primary_key=PrimaryKey(pk_cols, pk.get("name")) if pk_cols else None,
        foreign_keys=fks, unique_constraints=uniques, check_constraints=checks, indexes=indexes,
        comment=comment,
    )


def _column(table: str, c: dict, dialect: sa.engine.Dialect, pk_cols: tuple[str, ...], strict: bool) -> Column:
    sql_type = classify(c["type"], dialect)
    if sql_type.kind == "other" and strict:
        raise UnsupportedType(table, c["name"], sql_type.source_name)
    identity = c.get("identity")
    default = c.get("default")
    is_serial = bool(default and "nextval(" in str(default))
    autoinc = c.get("autoincrement")
    single_int_pk = pk_cols == (c["name"],) and sql_type.kind == "integer"
    return Column(
        name=c["name"],
        type=sql_type,
        nullable=bool(c.get("nullable", True)),
        default=None if is_serial or default is None else str(default),
        autoincrement=bool(identity) or is_serial or (autoinc is True) or (single_int_pk and dialect.name == "sqlite"),
        identity=Identity(
            always=bool(identity.get("always")),
            start=int(identity.get("start") or 1),
            increment=int(identity.get("increment") or 1),
        ) if identity else None,
        computed=(c.get("computed") or {}).get("sqltext") and str(c["computed"]["sqltext"]),
        comment=c.get("comment"),
    )


def _safe(method, name: str):  # type: ignore[no-untyped-def]
    """Some dialects do not implement every reflection method; absence is not an error."""
    try:
        return method(name)
    except NotImplementedError:
        return []


def _with_row_counts(engine: Engine, tables: list[Table]) -> list[Table]:
    from dataclasses import replace

    out = []
    with engine.connect() as conn:
        for t in tables:
            n = conn.execute(sa.select(sa.func.count()).select_from(sa.table(t.name))).scalar_one()
            out.append(replace(t, row_count=int(n)))
    return out


def _check_fk_targets(tables: list[Table]) -> None:
    names = {t.name for t in tables}
    for t in tables:
        for fk in t.foreign_keys:
            if fk.referred_table not in names:
                raise SchemaError(
                    f"table {t.name} has a foreign key to {fk.referred_table}, which is not in the source "
                    f"(another schema?); dbsynth clones one schema at a time"
                )
