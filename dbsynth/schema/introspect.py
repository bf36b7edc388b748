"""Read a source database's schema with SQLAlchemy's inspector into the plain model."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Engine

from dbsynth.errors import UnsupportedType
from dbsynth.schema.collations import qualify_collations, user_collations
from dbsynth.schema.enums import unused_enums
from dbsynth.schema.table_objects import read_table_objects
from dbsynth.schema.indexes import (
    mysql_descending, postgres_indexes, reflected_index, sqlite_expression_indexes,
)
from dbsynth.schema.mariadb import CheckCatalog, MariadbChecks, read_checks
from dbsynth.schema.model import (
    CheckConstraint, Column, Domain, ExclusionConstraint, ForeignKey, Identity, Index, PrimaryKey, Schema, SqlType,
    Table,
    UniqueConstraint, View, qualified_name,
)
from dbsynth.schema.pg_partitions import PartitionCatalog, partition_catalog
from dbsynth.schema.namespaces import (
    ExtensionMembers, check_fk_targets, extension_members, installed_extensions, namespaces,
)
from dbsynth.schema.routines import free_sequences, read_routines, sequence_names
from dbsynth.schema.types import classify, refine_catalog, type_of_spelling

log = logging.getLogger(__name__)
_JSON = mysql.JSON()  # what a MariaDB JSON column is, once its json_valid CHECK is read


def introspect(engine: Engine, *, count_rows: bool = True, strict_types: bool = False,
               schemas: Sequence[str] | None = None) -> Schema:
    """The schema of `engine`'s namespaces, tables sorted by name.

    On PostgreSQL every non-system namespace is read (or those in `schemas`):
    tables outside the default one are named "schema.table" in the model, so
    foreign keys across namespaces are ordinary edges. Other engines read their
    default namespace. A column whose type we cannot generate has kind "other"
    (clone writes it as NULL, with a warning); with `strict_types` it raises
    UnsupportedType naming it instead.
    """
    with warnings.catch_warnings():
        # SQLAlchemy warns (not raises) on types it does not know; we report them ourselves.
        warnings.simplefilter("ignore", category=sa.exc.SAWarning)
        inspector = sa.inspect(engine)
        members = extension_members(engine)
        reader = _Reader(inspector, engine.dialect, strict_types, _domains(engine), members,
                         read_checks(engine) if engine.dialect.name in ("mysql", "mariadb") else None,
                         partition_catalog(engine))
        spaces = namespaces(inspector, engine.dialect.name, schemas, members)
        sequences = free_sequences(engine, spaces)
        reader.free_sequences = sequence_names(sequences)
        for namespace in spaces:
            reader.read(namespace)
    routines = read_routines(engine, spaces, {t.name for t in reader.tables} | {v.name for v in reader.views})
    tables = sorted(reader.tables, key=lambda t: t.name)
    collations = user_collations(engine, inspector.default_schema_name, spaces, tables)
    tables = qualify_collations(tables, collations)
    enums = unused_enums(inspector, spaces, tables)
    table_objects = read_table_objects(engine, spaces, {t.name for t in tables})
    check_fk_targets(tables, inspector.default_schema_name, members)  # before counting rows: fail fast
    if count_rows:
        tables = _with_row_counts(engine, tables)
    return Schema(tables=tuple(tables), dialect=engine.dialect.name, views=tuple(sorted(reader.views, key=lambda v: v.name)),
                  notes=tuple(members.notes()),
                  domains=tuple(sorted(reader.used_domains.values(), key=lambda d: d.name)),
                  extensions=installed_extensions(engine), routines=tuple(routines.routines),
                  triggers=tuple(routines.triggers), sequences=tuple(sequences), collations=tuple(collations),
                  enums=tuple(enums), table_objects=tuple(table_objects),
                  warnings=tuple(reader.warnings + routines.warnings))


class _Reader:
    """Reads namespace after namespace, collecting tables, views and what it could not keep."""

    def __init__(self, inspector: sa.Inspector, dialect: sa.engine.Dialect, strict: bool,
                 domains: dict[tuple[str, str], _Domain], members: ExtensionMembers,
                 mariadb: CheckCatalog | None, partitions: PartitionCatalog) -> None:
        self.inspector, self.dialect, self.strict, self.domains = inspector, dialect, strict, domains
        self.members = members
        self.mariadb = mariadb  # MariaDB's/MySQL's CHECKs by table (None elsewhere): JSON columns, column CHECKs
        self.partitions = partitions  # PostgreSQL: partitions are left out, their partitioned table holds the rows
        self.default = inspector.default_schema_name
        self.tables: list[Table] = []
        self.views: list[View] = []
        self.warnings: list[str] = []
        self.used_domains: dict[str, Domain] = {}  # the domains columns are declared with, by qualified name
        self.free_sequences: set[str] = set()      # sequences no column owns: a DEFAULT nextval() of one is kept
        self.deferred_uniques: dict[str, dict[tuple[str, str], bool]] = {}  # per namespace, see _deferrable

    def _deferrable(self, here: str, local: str, name: str | None) -> tuple[bool, bool]:
        """PostgreSQL: (DEFERRABLE, INITIALLY DEFERRED) of a table's UNIQUE constraint, which SQLAlchemy does
        not reflect (MusicBrainz: a track's position is unique, checked at commit while tracks are reordered)."""
        if self.dialect.name != "postgresql" or name is None:
            return False, False
        if here not in self.deferred_uniques:
            with self.inspector.bind.connect() as conn:
                self.deferred_uniques[here] = {(table, constraint): deferred for table, constraint, deferred in conn.execute(
                    sa.text("SELECT t.relname, c.conname, c.condeferred FROM pg_constraint c "
                            "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
                            "WHERE c.contype = 'u' AND c.condeferrable AND n.nspname = :here"), {"here": here})}
        found = self.deferred_uniques[here].get((local, name))
        return found is not None, bool(found)

    def read(self, namespace: str | None) -> None:
        insp = self.inspector
        here = namespace or self.default or ""
        for name in sorted(insp.get_table_names(schema=namespace)):
            if self.partitions.is_partition(here, name):
                continue   # its rows are read through the partitioned table; the writer recreates it
            if not self._owned(namespace, name, "table"):
                self.tables.append(self._table(namespace, name))
        self.views += [v for v in _views(insp, namespace) if not self._owned(namespace, v.local_name, "view")]

    def _owned(self, namespace: str | None, local: str, kind: str) -> bool:
        """Whether an extension owns the relation (then it is left out, and the note names it)."""
        extension = self.members.owner(namespace or self.default or "", local)
        if extension:
            self.members.leave_out(extension, f"{kind} {qualified_name(namespace, local)}")
        return extension is not None

    def _wide_tinyints(self, namespace: str | None, local: str, name: str,
                       columns: tuple[Column, ...]) -> tuple[Column, ...]:
        """MariaDB TINYINT(1) is a boolean by convention only: one holding values other than 0 and 1
        stays a TINYINT (a boolean would turn 2 into true), with a warning naming it."""
        out = []
        bind = self.inspector.bind
        for c in columns:
            if c.type.kind == "boolean" and c.type.source_name.upper().startswith("TINYINT"):
                q = bind.dialect.identifier_preparer
                table = q.quote(local) if namespace is None else f"{q.quote(namespace)}.{q.quote(local)}"
                with bind.connect() as conn:
                    wide = conn.exec_driver_sql(f"SELECT 1 FROM {table} WHERE {q.quote(c.name)} NOT IN (0, 1) "
                                                f"LIMIT 1").first() is not None
                if wide:
                    c = replace(c, type=SqlType("integer", c.type.source_name, size=8,
                                                unsigned="UNSIGNED" in c.type.source_name.upper()))
                    self.warnings.append(f"column {name}.{c.name} is TINYINT(1) but holds values other than 0 "
                                         f"and 1, so it is kept as a small integer, not a boolean")
            out.append(c)
        return tuple(out)

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
        reflected = inspector.get_columns(local, **kw)
        maria = self.mariadb.get(local, MariadbChecks(frozenset(), ())) if self.mariadb is not None else None
        if maria is not None:  # MariaDB's JSON: LONGTEXT with a json_valid CHECK, which is the type, not a rule
            reflected = [dict(c, type=_JSON) if c["name"] in maria.json_columns else c for c in reflected]
        columns = tuple(_column(name, c, self.dialect, pk_cols, self.free_sequences) for c in reflected)
        if any(c.type.kind == "other" for c in columns):
            columns = _with_catalog_types(inspector.bind, namespace, local, columns)
        if self.strict and (odd := next((c for c in columns if c.type.kind == "other"), None)):
            raise UnsupportedType(name, odd.name, odd.type.source_name)
        if maria is not None:
            columns = self._wide_tinyints(namespace, local, name, columns)
        domain_checks: list[CheckConstraint] = []
        for i, c in enumerate(reflected):
            key = (getattr(c["type"], "schema", None) or self.default or "", getattr(c["type"], "name", "") or "")
            domain = self.domains.get(key) if isinstance(c["type"], postgresql.DOMAIN) else None
            if domain is not None:
                qualified = qualified_name(None if key[0] == self.default else key[0], key[1])
                self.used_domains[qualified] = _domain_model(qualified, key, domain, self.default)
                columns = columns[:i] + (_with_domain(columns[i], domain, qualified),) + columns[i + 1:]
                domain_checks += [CheckConstraint(_value_as(check, c["name"], self.dialect), f"{local}_{c['name']}_{cname}",
                                                  domain=qualified)
                                  for cname, check in domain.checks]
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
            # PostgreSQL clones a foreign key onto each partition it points at; the partitioned table's own is kept
            if not self.partitions.is_partition(fk.get("referred_schema") or self.default or "", fk["referred_table"])
        )
        uniques = tuple(
            UniqueConstraint(tuple(u["column_names"]), u.get("name"),
                             not (u.get("dialect_options") or {}).get("postgresql_nulls_not_distinct"),
                             *self._deferrable(namespace or self.default or "", local, u.get("name")))
            for u in _safe(inspector.get_unique_constraints, local, namespace)
        )
        if maria is not None and self.mariadb is not None and self.mariadb.failure:
            self.warnings.append(f"CHECK constraints of table {name} could not be read: {self.mariadb.failure}; "
                                 f"generated rows may break them")
        checks = maria.checks if maria is not None else tuple(
            CheckConstraint(c["sqltext"], c.get("name"))
            for c in _safe(inspector.get_check_constraints, local, namespace)
        ) + tuple(domain_checks)  # a domain's CHECKs bind the column: values must satisfy them too
        here = namespace or self.default or ""
        bounds = self.partitions.bound_check(here, local)
        if bounds is not None:  # generated rows must each find a partition
            checks += (bounds,)
        inherits = self.partitions.parents(here, local, self.default)   # recreated by `io.ddl` on PostgreSQL
        indexes, exclusions = self._indexes(namespace, local, name, {u.columns for u in uniques})
        comment = (_safe(inspector.get_table_comment, local, namespace) or {}).get("text")  # type: ignore[union-attr]
        options = _safe(inspector.get_table_options, local, namespace) or {}
        return Table(
            name=name, columns=columns,
            primary_key=PrimaryKey(pk_cols, pk.get("name")) if pk_cols else None,
            foreign_keys=fks, unique_constraints=uniques, check_constraints=checks, indexes=tuple(indexes),
            comment=comment, schema=namespace, exclusions=tuple(exclusions),
            partitioning=self.partitions.partitioning(here, local), inherits=inherits,
            collation=options.get("mysql_collate"),
        )

    def _indexes(self, namespace: str | None, local: str, name: str,
                 unique_sets: set[tuple[str, ...]]) -> tuple[list[Index], list[ExclusionConstraint]]:
        """The table's indexes that back no constraint (PostgreSQL: from its catalog, exactly), its exclusions."""
        insp = self.inspector
        if self.dialect.name == "postgresql":
            return postgres_indexes(insp.bind, namespace, local)
        descending = mysql_descending(insp.bind, local) if self.dialect.name in ("mysql", "mariadb") else {}
        indexes = []
        for i in _safe(insp.get_indexes, local, namespace):
            index = reflected_index(i, descending.get(i.get("name") or "", ()))
            if index is None:
                self.warnings.append(f"index {i.get('name')} on table {name} was left out: it is on "
                                     f"expressions dbsynth could not read")
                continue
            if i.get("duplicates_constraint") or (index.columns in unique_sets and index.unique
                                                  and not index.expressions):
                continue
            indexes.append(index)
        if self.dialect.name == "sqlite":
            reflected = {i.get("name") for i in _safe(insp.get_indexes, local, namespace)}
            indexes += sqlite_expression_indexes(insp.bind, local, reflected,
                                                 tuple(c["name"] for c in insp.get_columns(local)))
        return indexes, []


def _with_catalog_types(bind: sa.engine.Connectable, namespace: str | None, local: str,
                        columns: tuple[Column, ...]) -> tuple[Column, ...]:
    """Columns of kind "other" named by the catalog's own spelling of their type.

    SQLAlchemy reflects many types (point, xml, a composite type) as NullType,
    which says nothing to a user reading a warning and cannot recreate the
    column. A PostgreSQL type outside pg_catalog (an extension's or the user's
    own) keeps its schema in the name, so the writer knows the target may lack it.
    """
    if bind.dialect.name == "postgresql":
        query = sa.text(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), tn.nspname, "
            "CASE WHEN t.typtype = 'c' THEN t.typrelid END "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace tn ON tn.oid = t.typnamespace "
            "WHERE c.relname = :table AND n.nspname = coalesce(:schema, current_schema()) "
            "AND a.attnum > 0 AND NOT a.attisdropped")
    elif bind.dialect.name in ("mysql", "mariadb"):
        query = sa.text("SELECT column_name, upper(column_type), 'pg_catalog', NULL FROM information_schema.columns "
                        "WHERE table_schema = coalesce(:schema, database()) AND table_name = :table")
    elif bind.dialect.name == "sqlite":
        return _typeless_sqlite(bind, local, columns)
    else:
        return columns
    with bind.connect() as conn:
        found = {name: (spelling, owner, relid) for name, spelling, owner, relid in
                 conn.execute(query, {"table": local, "schema": namespace}).all()}
        out = []
        for c in columns:
            if c.type.kind == "other" and c.name in found:
                spelling, owner, relid = found[c.name]
                if owner != "pg_catalog" and "." not in spelling:
                    spelling = f"{owner}.{spelling}"
                c = replace(c, type=refine_catalog(replace(c.type, source_name=spelling)))
                if relid is not None:
                    c = replace(c, type=_composite(conn, c.type, relid))
            out.append(c)
    return tuple(out)


# field kinds a composite value is generated with (its fields are written as text inside the record literal)
_COMPOSITE_FIELD_KINDS = {"integer", "float", "decimal", "boolean", "date", "datetime", "time", "text", "uuid",
                          "network", "bit", "geometric"}


# SQLite's storage classes -> the kind a typeless column holding only them is generated as
_STORAGE_KINDS = {frozenset({"integer"}): SqlType("integer", "", size=64),
                  frozenset({"integer", "real"}): SqlType("float", "", precision=53),
                  frozenset({"real"}): SqlType("float", "", precision=53),
                  frozenset({"blob"}): SqlType("bytes", "")}


def _typeless_sqlite(bind: sa.engine.Connectable, local: str, columns: tuple[Column, ...]) -> tuple[Column, ...]:
    """SQLite columns declared without a type (`CREATE TABLE t (a, b)`, STRICT's ANY) take the kind of the values
    they hold: integers, reals, blobs, else text. SQLAlchemy reflects them as NullType, which was written as NULL
    (a NOT NULL key of them failed on every other engine). Their `source_name` stays empty: a SQLite target
    creates them typeless again."""
    typeless = [c for c in columns if c.type.kind == "other" and c.type.source_name.upper() in ("NULLTYPE", "NULL", "ANY", "")]
    if not typeless:
        return columns
    prep = bind.dialect.identifier_preparer
    found = {}
    with bind.connect() as conn:
        for c in typeless:
            stored = {kind for (kind,) in conn.exec_driver_sql(
                f"SELECT DISTINCT typeof({prep.quote(c.name)}) FROM {prep.quote(local)}")} - {"null"}
            found[c.name] = _STORAGE_KINDS.get(frozenset(stored), SqlType("text", ""))
    return tuple(replace(c, type=found[c.name]) if c.name in found else c for c in columns)


def _composite(conn: sa.Connection, t: SqlType, relid: int) -> SqlType:
    """A PostgreSQL composite type with its fields; kind "other" (written NULL) if a field is of a kind
    dbsynth does not write inside a record (arrays, nested composites, json, an enum)."""
    rows = conn.execute(sa.text(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = :relid AND attnum > 0 AND NOT attisdropped ORDER BY attnum"), {"relid": relid}).all()
    fields = tuple((name, type_of_spelling(spelling)) for name, spelling in rows)
    if not fields or any(f.kind not in _COMPOSITE_FIELD_KINDS for _, f in fields):
        return t
    return replace(t, kind="composite", fields=fields)


@dataclass(frozen=True)
class _Domain:
    base: str                              # format_type of the base type, modifiers kept: numeric(5,2)
    checks: tuple[tuple[str, str], ...]    # (constraint name, expression over VALUE)
    not_null: bool = False
    default: str | None = None


def _domain_model(qualified: str, key: tuple[str, str], domain: _Domain, default_schema: str | None) -> Domain:
    return Domain(qualified, domain.base, None if key[0] == default_schema else key[0], domain.not_null,
                  domain.default, tuple(CheckConstraint(body, cname) for cname, body in domain.checks))


def _domains(engine: Engine) -> dict[tuple[str, str], _Domain]:
    """PostgreSQL domains by (schema, name), with the base type's modifiers SQLAlchemy's reflection drops."""
    if engine.dialect.name != "postgresql":
        return {}
    query = sa.text(
        "SELECT n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault, "
        "  coalesce(array_agg(c.conname ORDER BY c.conname) FILTER (WHERE c.oid IS NOT NULL), '{}'), "
        "  coalesce(array_agg(pg_get_constraintdef(c.oid) ORDER BY c.conname) FILTER (WHERE c.oid IS NOT NULL), '{}') "
        "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "LEFT JOIN pg_constraint c ON c.contypid = t.oid AND c.contype = 'c' "
        "WHERE t.typtype = 'd' GROUP BY n.nspname, t.typname, t.typbasetype, t.typtypmod, t.typnotnull, t.typdefault")
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out = {}
    for schema, name, base, not_null, default, names, defs in rows:
        checks = tuple((cname, _check_body(text)) for cname, text in zip(names, defs))
        out[(schema, name)] = _Domain(base, checks, bool(not_null), default)
    return out


def _check_body(definition: str) -> str:
    """'CHECK ((VALUE > 0))' -> 'VALUE > 0'."""
    text = re.sub(r"^\s*CHECK\s*", "", definition, flags=re.I).strip()
    text = re.sub(r"\s+NOT VALID\s*$", "", text)
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _value_as(check: str, column: str, dialect: sa.engine.Dialect) -> str:
    """A domain CHECK over VALUE as a CHECK over the column (outside string literals)."""
    quoted = dialect.identifier_preparer.quote(column)
    parts = re.split(r"('(?:[^']|'')*')", check)
    return "".join(p if p.startswith("'") else re.sub(r"\bVALUE\b", quoted, p) for p in parts)


_MODIFIED = re.compile(r"^(character varying|character|numeric|bit varying|bit)\((\d+)(?:,(\d+))?\)$")


def _with_domain(column: Column, domain: _Domain, qualified: str) -> Column:
    """The column with its domain's name and base-type bounds (varchar(8), numeric(5,2)) put back; a NOT NULL
    domain makes it NOT NULL (its values can never be NULL, whatever engine they go to)."""
    column = replace(column, type=replace(column.type, domain=qualified),
                     nullable=column.nullable and not domain.not_null)
    match = _MODIFIED.match(domain.base)
    if not match:
        return column
    kind, first, second = match.group(1), int(match.group(2)), match.group(3)
    t = column.type
    if kind == "numeric" and t.kind == "decimal":
        t = replace(t, precision=first, scale=int(second or 0), source_name=f"NUMERIC({first}, {int(second or 0)})")
    elif kind.startswith("character") and t.kind == "text":
        spelling = "VARCHAR" if kind == "character varying" else "CHAR"
        t = replace(t, length=first, source_name=f"{spelling}({first})")
    return replace(column, type=t)


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
    match = re.match(r"\s*CREATE\s+.*?\bVIEW\b.*?\bAS\b\s*(.*)$", definition, flags=re.I | re.S)
    text = match.group(1) if match else definition
    return text.strip().rstrip(";").strip()


_NEXTVAL = re.compile(r"nextval\('([^']+)'")


def _column(table: str, c: dict, dialect: sa.engine.Dialect, pk_cols: tuple[str, ...],
            free_sequences: set[str] = frozenset()) -> Column:  # type: ignore[assignment]
    """A reflected column in the model. A DEFAULT nextval() of a sequence no column owns is kept (the
    sequence is recreated on PostgreSQL); the column still counts as auto-incremented elsewhere."""
    sql_type = classify(c["type"], dialect)
    identity = c.get("identity")
    default = c.get("default")
    drawn = _NEXTVAL.search(str(default)) if default else None
    is_serial = bool(default and "nextval(" in str(default))
    if drawn and drawn.group(1).replace('"', "") in free_sequences:
        return replace(_column(table, dict(c, default=None), dialect, pk_cols), default=str(default),
                       autoincrement=True)
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
    """Each table's own rows: an inheritance parent's without its children's (PostgreSQL's FROM ONLY)."""
    out = []
    parents = {p for t in tables for p in t.inherits}
    with engine.connect() as conn:
        for t in tables:
            light = sa.table(t.local_name, schema=t.schema)
            query = sa.select(sa.func.count()).select_from(light)
            n = conn.execute(query.with_hint(light, "ONLY", "postgresql") if t.name in parents else query).scalar_one()
            out.append(replace(t, row_count=int(n)))
    return out
