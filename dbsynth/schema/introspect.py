"""Read a source database's schema with SQLAlchemy's inspector into the plain model."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dbsynth.errors import SchemaError, UnsupportedType
from dbsynth.schema.model import (
    CheckConstraint, Column, ForeignKey, Identity, Index, PrimaryKey, Schema, Table,
    UniqueConstraint, View, qualified_name,
)
from dbsynth.schema.types import classify

log = logging.getLogger(__name__)


def introspect(engine: Engine, *, count_rows: bool = True, strict_types: bool = True,
               schemas: Sequence[str] | None = None) -> Schema:
    """The schema of `engine`'s namespaces, tables sorted by name.

    On PostgreSQL every non-system namespace is read (or those in `schemas`):
    tables outside the default one are named "schema.table" in the model, so
    foreign keys across namespaces are ordinary edges. Other engines read their
    default namespace. With `strict_types`, a column whose type we cannot
    generate raises UnsupportedType naming it; `dbsynth inspect` passes False.
    """
    with warnings.catch_warnings():
        # SQLAlchemy warns (not raises) on types it does not know; we report them ourselves.
        warnings.simplefilter("ignore", category=sa.exc.SAWarning)
        inspector = sa.inspect(engine)
        reader = _Reader(inspector, engine.dialect, strict_types)
        for namespace in _namespaces(inspector, engine.dialect.name, schemas):
            reader.read(namespace)
    tables = sorted(reader.tables, key=lambda t: t.name)
    if count_rows:
        tables = _with_row_counts(engine, tables)
    _check_fk_targets(tables)
    return Schema(tables=tuple(tables), dialect=engine.dialect.name, views=tuple(sorted(reader.views, key=lambda v: v.name)),
                  warnings=tuple(reader.warnings))


_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast")


def _namespaces(inspector: sa.Inspector, dialect: str, wanted: Sequence[str] | None) -> list[str | None]:
    """The namespaces to read; None is the default one (its tables keep bare names)."""
    default = inspector.default_schema_name
    if dialect != "postgresql":
        if wanted and any(w != default for w in wanted):
            raise SchemaError(f"--schemas works on PostgreSQL sources only; this {dialect} source has one "
                              f"namespace ({default})")
        return [None]
    present = [s for s in inspector.get_schema_names()
               if s not in _SYSTEM_SCHEMAS and not s.startswith(("pg_temp", "pg_toast"))]
    if wanted:
        missing = [w for w in wanted if w not in present]
        if missing:
            raise SchemaError(f"schema {missing[0]} is not in the source; its schemas are: {', '.join(present)}")
        present = list(wanted)
    return [None if s == default else s for s in present]


class _Reader:
    """Reads namespace after namespace, collecting tables, views and what it could not keep."""

    def __init__(self, inspector: sa.Inspector, dialect: sa.engine.Dialect, strict: bool) -> None:
        self.inspector, self.dialect, self.strict = inspector, dialect, strict
        self.default = inspector.default_schema_name
        self.tables: list[Table] = []
        self.views: list[View] = []
        self.warnings: list[str] = []

    def read(self, namespace: str | None) -> None:
        insp = self.inspector
        for name in sorted(insp.get_table_names(schema=namespace)):
            self.tables.append(self._table(namespace, name))
        self.views += _views(insp, namespace)

    def _referred(self, fk: dict, namespace: str | None) -> str:
        schema = fk.get("referred_schema")
        if schema in (None, "", self.default):
            schema = None
        return qualified_name(schema, fk["referred_table"])

    def _table(self, namespace: str | None, local: str) -> Table:
        inspector, name = self.inspector, qualified_name(namespace, local)
        kw = {"schema": namespace}
        pk = inspector.get_pk_constraint(local, **kw) or {}
        pk_cols = tuple(pk.get("constrained_columns") or ())
        columns = tuple(_column(name, c, self.dialect, pk_cols, self.strict)
                        for c in inspector.get_columns(local, **kw))
        fks = tuple(
            ForeignKey(
                columns=tuple(fk["constrained_columns"]),
                referred_table=self._referred(fk, namespace),
                referred_columns=tuple(fk["referred_columns"]),
                name=fk.get("name"),
                referred_schema=fk.get("referred_schema"),
                on_delete=(fk.get("options") or {}).get("ondelete"),
                on_update=(fk.get("options") or {}).get("onupdate"),
                deferrable=bool((fk.get("options") or {}).get("deferrable")),
                initially_deferred=str((fk.get("options") or {}).get("initially", "")).upper() == "DEFERRED",
            )
            for fk in inspector.get_foreign_keys(local, **kw)
        )
        uniques = tuple(
            UniqueConstraint(tuple(u["column_names"]), u.get("name"))
            for u in _safe(inspector.get_unique_constraints, local, namespace)
        )
        checks = tuple(
            CheckConstraint(c["sqltext"], c.get("name"))
            for c in _safe(inspector.get_check_constraints, local, namespace)
        )
        unique_sets = {u.columns for u in uniques}
        indexes = []
        for i in _safe(inspector.get_indexes, local, namespace):
            if not all(i.get("column_names") or [None]):
                self.warnings.append(f"index {i.get('name')} on table {name} was left out: it is on "
                                     f"expressions, which dbsynth does not recreate")
                continue
            if i.get("duplicates_constraint") or (tuple(i["column_names"]) in unique_sets and i.get("unique")):
                continue
            where = (i.get("dialect_options") or {}).get("postgresql_where") \
                or (i.get("dialect_options") or {}).get("sqlite_where")
            indexes.append(Index(tuple(i["column_names"]), i.get("name"), bool(i.get("unique")),
                                 where=str(where) if where is not None else None))
        comment = (_safe(inspector.get_table_comment, local, namespace) or {}).get("text")  # type: ignore[union-attr]
        return Table(
            name=name, columns=columns,
            primary_key=PrimaryKey(pk_cols, pk.get("name")) if pk_cols else None,
            foreign_keys=fks, unique_constraints=uniques, check_constraints=checks, indexes=tuple(indexes),
            comment=comment, schema=namespace,
        )


def _views(inspector: sa.Inspector, namespace: str | None) -> list[View]:
    """Views and materialized views with their definitions (None when the database hides them)."""
    found = [(name, False) for name in inspector.get_view_names(schema=namespace)]
    try:
        found += [(name, True) for name in inspector.get_materialized_view_names(schema=namespace)]
    except NotImplementedError:
        pass
    views = []
    for name, materialized in sorted(found):
        try:
            definition = inspector.get_view_definition(name, schema=namespace)
        except (NotImplementedError, sa.exc.SQLAlchemyError):
            definition = None
        if definition:
            views.append(View(qualified_name(namespace, name), _select_of(str(definition)), materialized,
                              schema=namespace))
    return views


def _select_of(definition: str) -> str:
    """The SELECT of a view: SQLite and MySQL return the whole CREATE VIEW statement."""
    import re

    match = re.match(r"\s*CREATE\s+.*?\bVIEW\b.*?\bAS\b\s*(.*)$", definition, flags=re.I | re.S)
    text = match.group(1) if match else definition
    return text.strip().rstrip(";").strip()


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


def _safe(method, name: str, namespace: str | None = None):  # type: ignore[no-untyped-def]
    """Some dialects do not implement every reflection method; absence is not an error."""
    try:
        return method(name, schema=namespace)
    except NotImplementedError:
        return []


def _with_row_counts(engine: Engine, tables: list[Table]) -> list[Table]:
    from dataclasses import replace

    out = []
    with engine.connect() as conn:
        for t in tables:
            n = conn.execute(sa.select(sa.func.count()).select_from(sa.table(t.local_name, schema=t.schema))).scalar_one()
            out.append(replace(t, row_count=int(n)))
    return out


def _check_fk_targets(tables: list[Table]) -> None:
    names = {t.name for t in tables}
    for t in tables:
        for fk in t.foreign_keys:
            if fk.referred_table not in names:
                raise SchemaError(
                    f"table {t.name} has a foreign key to {fk.referred_table}, which is not among the schemas "
                    f"read; add its schema to --schemas"
                )
