"""Create (and drop) the target schema from the schema model.

The model is portable; the target may be another dialect. We build plain
SQLAlchemy ``Table`` objects and let SQLAlchemy render the DDL, because it
already knows each dialect's spelling (SERIAL vs AUTO_INCREMENT, ALTER TABLE
for FK cycles). Server defaults and generated columns are kept only when source
and target are the same dialect; CHECKs are kept as written there, and on
another engine rewritten from their parsed form (`schema.checks`) when dbsynth
can read them. Everything left out is reported as a one-line warning.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.sql.ddl import sort_tables_and_constraints

from dbsynth.errors import DbsynthError, SchemaError, TargetNotEmpty
from dbsynth.graph import not_null_deferrals
from dbsynth.io.collations import COLLATIONS_KEY, create_collations, set_collation
from dbsynth.io.enum_types import ENUMS_KEY, create_unused_enums
from dbsynth.io.composites import COMPOSITES_KEY, composite_definitions, create_composites, drop_unused_composites
from dbsynth.io.domains import COLUMN_KEY, DOMAINS_KEY, create_domains, domain_location, drop_unused_domains, use_domains
from dbsynth.io.index_ddl import add_exclusions, add_indexes
from dbsynth.io.inheritance import ONLY_KEY, inherits_option, order_by_inheritance, plain_table_note
from dbsynth.io.expressions import (
    EXTENSION_TYPES_KEY, EXTENSIONS_KEY, create_extensions, fall_back_to_text, leave_out_rejected,
)
from dbsynth.io.naming import located, located_table, namespace_notes, relocated_sql
from dbsynth.io.routines import (
    ROUTINES_KEY, SEQUENCES_KEY, create_routines, create_sequences, left_out_across_engines, relocated_nextval,
)
from dbsynth.io.typemap import MYSQL, CatalogType, key_safe, same_engine_type, sa_type, unsigned_check
from dbsynth.schema.checks import parse_check, render_check
from dbsynth.schema.routines import sequence_names
from dbsynth.io.partitions import PARTITIONS_KEY, create_partitions, partition_names
from dbsynth.schema.model import CheckConstraint, Column, Domain, Schema, Table

_MAX_NAME = {"postgresql": 63, "mysql": 64}
_DIALECTS = {"postgresql": postgresql.dialect, "mysql": mysql.dialect, "sqlite": sqlite.dialect}
# Kinds stored alike on every engine, so a CHECK over them means the same there (not booleans, intervals,
# UUIDs, network addresses or arrays, whose cross-engine forms compare differently).
_PORTABLE_CHECK_KINDS = {"integer", "decimal", "float", "text", "enum", "date", "datetime", "time"}
SAME_ENGINE_KEY = "dbsynth_same_engine"   # metadata.info: the source's DEFAULTs and generated columns are kept
_NEXTVAL = re.compile(r"nextval\('([^']+)'", re.IGNORECASE)
_FK_ACTIONS = {"CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION"}


def target_metadata(schema: Schema, dialect: str, same_dialect: bool) -> tuple[sa.MetaData, list[str]]:
    """SQLAlchemy tables for every table of `schema` on `dialect`, and what could not be kept."""
    dialect = "mysql" if dialect in MYSQL else dialect
    md = sa.MetaData(info={SAME_ENGINE_KEY: same_dialect})
    if dialect == "postgresql" and same_dialect:
        md.info[EXTENSIONS_KEY] = list(schema.extensions)
        md.info[COMPOSITES_KEY] = composite_definitions(schema)
        md.info[SEQUENCES_KEY] = list(schema.sequences)
        md.info[COLLATIONS_KEY] = list(schema.collations)
        md.info[ENUMS_KEY] = list(schema.enums)
    if same_dialect:   # created before the tables (`io.routines`); never translated to another engine
        md.info[ROUTINES_KEY] = list(schema.routines)
    build = _Builder(md, dialect, same_dialect)
    if dialect == "postgresql" and same_dialect:
        build.free_sequences = sequence_names(schema.sequences)
    build.source = schema.dialect or dialect
    if dialect == "postgresql" and same_dialect:  # domains are recreated; elsewhere their CHECKs bind the columns
        build.domains = {d.name: d for d in schema.domains}
        md.info[DOMAINS_KEY] = list(schema.domains)
    build.inherits = dialect == "postgresql" and same_dialect
    build.written = {t.name: t for t in schema.tables}
    build.relaxed = {(r.table, c): r.fk(schema).referred_table
                     for r in not_null_deferrals(schema) for c in r.fk(schema).columns}
    for table in schema.tables:
        for fk in table.foreign_keys:
            build.referred.setdefault(fk.referred_table, set()).update(fk.referred_columns)
    for table in schema.tables:
        build.table(table)
    for table in schema.tables:  # an INHERITS child is created after its parents
        for parent in table.inherits:
            if build.inherits and parent in build.tables:
                build.tables[table.name].add_is_dependent_on(build.tables[parent])
                build.tables[parent].info[ONLY_KEY] = True   # its own rows are FROM ONLY it (`io.after_load`)
    for table in schema.tables:
        build.foreign_keys(table)
    for table in schema.tables:
        build.indexes(table)
    across = [] if same_dialect else left_out_across_engines(schema, dialect)
    return md, namespace_notes(schema, dialect) + build.warnings + across


def restore_not_null(conn: sa.Connection, metadata: sa.MetaData) -> None:
    """PostgreSQL: NOT NULL back on the cycle-breaking FK columns, now that the UPDATE filled them."""
    if conn.dialect.name != "postgresql":
        return
    for t in metadata.tables.values():   # sorted_tables would warn about the very cycle this is for
        for c in t.columns:
            if c.info.get("dbsynth_not_null_after_load"):
                name = conn.dialect.identifier_preparer.format_table(t)
                conn.exec_driver_sql(f"ALTER TABLE {name} ALTER COLUMN "
                                     f"{conn.dialect.identifier_preparer.quote(c.name)} SET NOT NULL")


def table_for(metadata: sa.MetaData, name: str) -> sa.Table:
    """The target table built for the model's table `name` (whatever schema and name it landed as)."""
    for t in metadata.tables.values():
        if t.info.get("dbsynth_name", t.name) == name:
            return t
    raise KeyError(name)


class _Builder:
    """Accumulates tables, unique names and warnings for one target_metadata call."""

    def __init__(self, md: sa.MetaData, dialect: str, same: bool) -> None:
        self.md, self.dialect, self.same = md, dialect, same
        self.warnings: list[str] = []
        self.tables: dict[str, sa.Table] = {}
        self.enums: dict[tuple[str | None, str], sa.Enum] = {}
        self.used: dict[str, set[str]] = {}
        self.referred: dict[str, set[str]] = {}  # columns other tables' foreign keys point at
        self.type_notes: dict[tuple[str, str], int] = {}  # (table, column) -> its type warning in self.warnings
        self.domains: dict[str, Domain] = {}  # the domains written as domains (PostgreSQL -> PostgreSQL)
        self.free_sequences: set[str] = set()   # PostgreSQL -> PostgreSQL: sequences no column owns, recreated
        self.relaxed: dict[tuple[str, str], str] = {}  # NOT NULL FK columns that break a cycle -> referred table
        self.source = dialect  # the source's dialect (expression indexes are translated from it)
        self.inherits = False  # PostgreSQL -> PostgreSQL: INHERITS is recreated (`io.inheritance`)
        self.written: dict[str, Table] = {}   # the model's tables written, by name

    # -- names ------------------------------------------------------------
    def _scope(self, kind: str, table: sa.Table) -> str:
        """Where a constraint/index name must be unique on this dialect."""
        per_table = f"table:{table.fullname}"
        if self.dialect == "postgresql":  # indexes share the namespace of relations
            return f"rel:{table.schema}" if kind in ("index", "unique", "pk") else per_table
        if self.dialect == "mysql":  # InnoDB FK names are per database
            return "db" if kind in ("fk", "check") else per_table
        return "db" if kind == "index" else per_table  # sqlite

    def claim(self, name: str | None, kind: str, table: sa.Table, fallback: str | None = None) -> str | None:
        """`name` (or `fallback`) made unique in its scope and short enough; None keeps it unnamed."""
        name = name or fallback
        if not name:
            return None
        used = self.used.setdefault(self._scope(kind, table), set())
        limit = _MAX_NAME.get(self.dialect, 1000)
        base = name[:limit]
        candidate, n = base, 1
        while candidate.lower() in used:
            n += 1
            candidate = f"{base[:limit - len(str(n)) - 1]}_{n}"
        if candidate != name and name != fallback:
            self.warnings.append(f"{kind} {name!r} on table {table.name} is named {candidate!r} in the target "
                                 f"(the name is taken or too long there)")
        used.add(candidate.lower())
        return candidate

    # -- tables -----------------------------------------------------------
    def table(self, table: Table) -> None:
        schema, local = located_table(table, self.dialect)
        key = f"{schema}.{local}" if schema else local
        if key in self.md.tables:
            raise SchemaError(f"tables {table.name} and {self.md.tables[key].info['dbsynth_name']} would both be "
                              f"written as {key} on {self.dialect}; rename one of them in the source")
        keyed = set(table.pk_columns) | set(table.fk_columns)
        keyed |= {c for u in table.unique_constraints for c in u.columns}
        keyed |= {c for i in table.indexes for c in i.columns   # those indexed by a prefix keep TEXT
                  if i.method in (None, "btree") and c not in dict(i.lengths)}
        keyed |= self.referred.get(table.name, set())
        columns = [self.column(table, col, schema, col.name in keyed) for col in table.columns]
        kwargs: dict[str, Any] = {}
        if self.dialect == "mysql":
            kwargs = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
            if self.same and table.collation:  # the source's charset: latin1 stays latin1, keys compare alike
                kwargs = {"mysql_engine": "InnoDB", "mysql_charset": table.collation.split("_")[0],
                          "mysql_collate": table.collation}
            if not self.same:  # byte-wise comparison, like PostgreSQL and SQLite: 'a' and 'A' are different keys
                kwargs["mysql_collate"] = "utf8mb4_bin"
        info: dict[str, Any] = {"dbsynth_name": table.name}
        if table.partitioning is not None:
            if self.dialect == "postgresql" and self.same:
                kwargs["postgresql_partition_by"] = table.partitioning.key
                info[PARTITIONS_KEY] = table.partitioning.partitions
            else:
                self.warnings.append(f"table {table.name} is partitioned by {table.partitioning.key} in the source "
                                     f"({len(table.partitioning.partitions)} partitions); it is created as one "
                                     f"unpartitioned table on {self.dialect}, holding every row")
        if table.inherits:
            kwargs.update(self._inherits(table))
        t = sa.Table(local, self.md, *columns, schema=schema, comment=table.comment, info=info, **kwargs)
        self.used.setdefault(self._scope("index", t), set()).add(local.lower())
        self.tables[table.name] = t
        if table.primary_key:
            name = table.primary_key.name if self.same and self.dialect != "mysql" else None
            t.append_constraint(sa.PrimaryKeyConstraint(*table.primary_key.columns,
                                                        name=self.claim(name, "pk", t)))
        for u in table.unique_constraints:  # another engine's names may clash here (MariaDB names them per table)
            name = self.claim(u.name, "unique", t) if self.same else self.claim(None, "unique", t, fallback=u.name)
            postgres = {} if self.dialect != "postgresql" else {
                "deferrable": u.deferrable or None, "initially": "DEFERRED" if u.initially_deferred else None,
                **({"postgresql_nulls_not_distinct": True} if not u.nulls_distinct else {})}
            t.append_constraint(sa.UniqueConstraint(*u.columns, name=name, **postgres))
            if not u.nulls_distinct and self.dialect != "postgresql":
                self.warnings.append(f"unique constraint {u.name or u.columns} on table {table.name} treats NULLs "
                                     f"as equal in the source (NULLS NOT DISTINCT); {self.dialect} cannot, so "
                                     f"there rows differing only by NULLs are allowed")
        for c in table.check_constraints:
            self.check(table, t, c)
        for col in table.columns:  # a MySQL SET as a PostgreSQL array keeps its label set
            if col.type.kind == "array" and col.type.values and self.dialect == "postgresql" and not self.same:
                labels = ", ".join("'" + v.replace("'", "''") + "'" for v in col.type.values)
                quoted = postgresql.dialect().identifier_preparer.quote(col.name)
                t.append_constraint(sa.CheckConstraint(
                    f"{quoted} <@ ARRAY[{labels}]::text[]",
                    name=self.claim(None, "check", t, fallback=f"{local}_{col.name}_labels")))
        for col in table.columns:  # an unsigned integer in a wider signed type keeps its lower bound
            if unsigned_check(col.type, self.dialect):
                t.append_constraint(sa.CheckConstraint(
                    t.c[col.name] >= 0, name=self.claim(None, "check", t, fallback=f"{local}_{col.name}_unsigned")))

    def _inherits(self, table: Table) -> dict[str, Any]:
        """PostgreSQL from PostgreSQL: INHERITS (its parents), created first. Elsewhere a plain table, warned."""
        if not self.inherits:
            self.warnings.append(plain_table_note(table, self.dialect))
            return {}
        missing = [p for p in table.inherits if p not in self.written]
        if missing:
            self.warnings.append(f"table {table.name} inherits from {', '.join(missing)}, which is not among the "
                                 f"tables written; it is created as a plain table with all its columns")
            return {}
        parents = [located_table(self.written[p], self.dialect) for p in table.inherits]
        return {"postgresql_inherits": inherits_option(parents)}

    def check(self, table: Table, t: sa.Table, c: CheckConstraint) -> None:
        """Same engine: the CHECK as written. Another engine: rewritten from its parsed form, if we read it."""
        if c.domain in self.domains or c.partition:
            return  # the column's domain carries it; a partitioned table's partitions enforce their bounds
        parsed = parse_check(c.sqltext, table.column_names)
        if parsed is None and not self.same:  # same engine: the target evaluates it on the rows (io.target_checks)
            self.warnings.append(f"check constraint {c.name or c.sqltext!r} on table {table.name} is in a form "
                                 f"dbsynth cannot read, so generated rows are not made to satisfy it; "
                                 f"it was left out of the target")
        if self.same:   # relocated: `dbsynth refresh` binds the functions and types it calls in the shadow
            t.append_constraint(sa.CheckConstraint(relocated_sql(c.sqltext), name=self.claim(c.name, "check", t)))
            return
        counted = [col for col in (parsed.columns if parsed else ()) if t.c[col].autoincrement is True]
        if self.dialect == "mysql" and counted:
            self.warnings.append(f"check constraint {c.name or c.sqltext!r} on table {table.name} was left out: "
                                 f"it reads the AUTO_INCREMENT column {counted[0]}, which MariaDB/MySQL does not "
                                 f"allow in a CHECK (generated rows still satisfy it)")
            return
        portable = parsed is not None and all(table.column(col).type.kind in _PORTABLE_CHECK_KINDS
                                              for col in parsed.columns)
        text = render_check(parsed, t, _DIALECTS[self.dialect]()) if portable and parsed is not None else None
        if text is not None:
            t.append_constraint(sa.CheckConstraint(relocated_sql(text), name=self.claim(c.name, "check", t)))
        elif parsed is not None:
            self.warnings.append(f"check constraint {c.name or c.sqltext!r} on table {table.name} was left out: "
                                 f"it cannot be written for {self.dialect}")

    def column(self, table: Table, col: Column, schema: str | None, keyed: bool) -> sa.Column:
        where = f"column {table.name}.{col.name}"
        t = col.type
        if t.kind == "enum" and not t.enum_name:  # a MySQL ENUM belongs to its column; PostgreSQL's is a type
            t = dataclasses.replace(t, enum_name=f"{table.name}_{col.name}")
            if self.dialect == "postgresql":
                self.warnings.append(f"{where} is an ENUM of the column, created as the enum type {t.enum_name}")
        typ, note = sa_type(t, self.dialect, same=self.same)
        if keyed and (safe := key_safe(t, self.dialect)):
            typ, note = safe
            if self.same and t.collation:
                set_collation(typ, t.collation, self.dialect)
        if self.same and self.dialect == "sqlite" and t.source_name == "" and t.kind != "other":
            typ, note = CatalogType(""), None   # a typeless SQLite column stays typeless
        elif self.same and (own := same_engine_type(t)) is not None:
            typ, note = own, None
        elif self.same and self.dialect == "postgresql" and not t.domain and (
                (t.kind == "other" and "." in (t.source_name or "")) or (t.kind == "text" and t.source_name.upper() == "CITEXT")):
            # an extension's type (SQLAlchemy knows citext by name): kept if the target has it (io.expressions)
            typ, note = CatalogType(t.source_name.lower() if "." not in t.source_name else t.source_name), None
            local = located_table(table, self.dialect)[1]
            self.md.info.setdefault(EXTENSION_TYPES_KEY, []).append(
                (f"{schema}.{local}" if schema else local, col.name, t.source_name))
        elif self.same and t.kind == "other":
            note = f"has type {t.source_name}, which is not built into {self.dialect}; created as TEXT"
        # a DEFAULT nextval() left on a column draws from a free sequence, recreated on PostgreSQL (`io.routines`)
        # (only a free one: a serial column's own sequence comes with the column, as before)
        drawn_from = _NEXTVAL.search(col.default or "")
        drawn = self.same and self.dialect == "postgresql" and drawn_from is not None \
            and drawn_from.group(1).replace('"', "") in self.free_sequences
        auto = (col.autoincrement or col.identity is not None) and table.pk_columns == (col.name,) \
            and t.kind == "integer" and not drawn
        if auto and self.dialect == "sqlite":
            typ, note = sa.Integer(), None  # only "INTEGER PRIMARY KEY" is SQLite's auto-assigned rowid
        elif auto and isinstance(typ, sa.Numeric) and not isinstance(typ, sa.Integer):
            typ, note = sa.BigInteger(), ("is an auto-increment BIGINT UNSIGNED key, created as BIGINT with "
                                          "CHECK (>= 0): keys above 2^63 - 1 do not fit")
        if note and (not self.same or t.kind == "other"):  # same engine: nothing else is lost
            self.type_notes[(table.name, col.name)] = len(self.warnings)
            self.warnings.append(f"{where} {note}")
        if isinstance(typ, sa.Enum) and typ.name:   # in the enum's own namespace where the source says which
            home = located(t.enum_schema, typ.name, self.dialect)[0] if t.enum_schema else schema
            typ = self._shared_enum(typ, home, where)
        args: list[sa.schema.SchemaItem] = []
        if auto and col.identity is not None and self.dialect == "postgresql":
            ident = col.identity
            args.append(sa.Identity(always=ident.always, start=ident.start, increment=ident.increment))
        nullable = col.nullable and col.name not in table.pk_columns
        info: dict[str, Any] = {}
        if (table.name, col.name) in self.relaxed and not nullable:
            nullable, info = True, {"dbsynth_not_null_after_load": True}
            if self.dialect != "postgresql":   # PostgreSQL gets its NOT NULL back once the UPDATE filled it
                self.warnings.append(
                    f"{where} is NOT NULL in the source, but its foreign key to {self.relaxed[table.name, col.name]} "
                    f"closes a cycle of NOT NULL keys: it allows NULL in the target (every row has a value)")
        if col.zero_date and self.dialect == "mysql":
            info["dbsynth_zero_date"] = col.zero_date   # a NULL generated for the zero date is written as it
        elif col.zero_date and not nullable:
            nullable = True
            self.warnings.append(f"{where} defaults to MySQL's zero date {col.zero_date!r}, which {self.dialect} "
                                 f"cannot store: the source's zero dates are written as NULL, and the column "
                                 f"allows NULL in the target")
        if col.written_null:
            self.warnings.append(
                f"{where} has type {t.source_name}, which dbsynth cannot generate: it is written as NULL"
                + ("" if col.nullable else " (its NOT NULL is dropped in the target)"))
            nullable = True
        if col.computed is not None:
            if self.same:
                args.append(sa.Computed(relocated_sql(col.computed),
                                        persisted=True if self.dialect == "postgresql" else None))
            else:
                nullable = True
                self.warnings.append(f"{where} is generated by {col.computed!r} in the source; it is a plain "
                                     f"nullable column in the target")
        default = None
        if (self.same and col.default is not None and not auto and col.computed is None
                and ("nextval(" not in col.default.lower() or drawn)):
            default = sa.DefaultClause(sa.text(relocated_nextval(relocated_sql(col.default)) if drawn
                                               else relocated_sql(col.default)))
        if t.domain in self.domains:
            info[COLUMN_KEY] = domain_location(self.domains[t.domain])
        return sa.Column(col.name, typ, *args, nullable=nullable, autoincrement=auto,
                         server_default=default, comment=col.comment, info=info)

    def _shared_enum(self, typ: sa.Enum, schema: str | None, where: str) -> sa.Enum:
        """One Enum object per type name, bound to the metadata so it is created once and dropped once."""
        key = (schema, typ.name or "")
        known = self.enums.get(key)
        if known is None:
            known = sa.Enum(*typ.enums, name=typ.name, schema=schema, metadata=self.md,
                            create_constraint=False)
            self.enums[key] = known
        elif list(known.enums) != list(typ.enums):
            self.warnings.append(f"{where} uses enum {typ.name} with other labels than an earlier column; "
                                 f"the earlier labels are used")
        return known

    # -- keys and indexes -------------------------------------------------
    def foreign_keys(self, table: Table) -> None:
        t = self.tables[table.name]
        for fk in table.foreign_keys:
            what = f"foreign key {fk.name or '(' + ', '.join(fk.columns) + ')'} on table {table.name}"
            ref = self.tables.get(fk.referred_table)
            if ref is None or any(c not in ref.c for c in fk.referred_columns):
                self.warnings.append(f"{what} was left out: {fk.referred_table} is not among the tables written")
                continue
            for c, rc in zip(fk.columns, fk.referred_columns):
                # InnoDB wants both sides of a key to have the same type; PostgreSQL cannot compare NUMERIC
                # (an unsigned BIGINT) with the BIGINT its auto-increment parent key became
                if self.dialect == "mysql":
                    t.c[c].type = ref.c[rc].type
                elif _integer(t.c[c].type) != _integer(ref.c[rc].type):
                    t.c[c].type = ref.c[rc].type
                    if (table.name, c) in self.type_notes:
                        self.warnings[self.type_notes[(table.name, c)]] = (
                            f"column {table.name}.{c} is {table.column(c).type.source_name} and refers to "
                            f"{fk.referred_table}.{rc}, so it takes that key's type here (with CHECK (>= 0))")
            ondelete, onupdate = self._action(fk.on_delete, what), self._action(fk.on_update, what)
            if self.dialect == "mysql":  # InnoDB refuses SET NULL on a NOT NULL column (errno 150); PostgreSQL takes it
                ondelete, onupdate = (self._nullable_action(action, t, fk.columns, what, clause)
                                      for action, clause in ((ondelete, "DELETE"), (onupdate, "UPDATE")))
            deferrable = fk.deferrable or None
            if deferrable and self.dialect == "mysql":
                self.warnings.append(f"{what} is DEFERRABLE, which MySQL does not support; it is checked at once")
                deferrable = None
            t.append_constraint(sa.ForeignKeyConstraint(
                list(fk.columns), [ref.c[c] for c in fk.referred_columns],
                name=self.claim(fk.name, "fk", t), ondelete=ondelete, onupdate=onupdate,
                deferrable=deferrable, initially="DEFERRED" if deferrable and fk.initially_deferred else None,
            ))

    def _nullable_action(self, action: str | None, t: sa.Table, columns: tuple[str, ...], what: str,
                         clause: str) -> str | None:
        """`action`, unless it is SET NULL on a column that is NOT NULL here: then none, with a warning."""
        strict = [c for c in columns if not t.c[c].nullable]
        if action != "SET NULL" or not strict:
            return action
        self.warnings.append(f"{what} has ON {clause} SET NULL, but its column {strict[0]} is NOT NULL, which "
                             f"{self.dialect} refuses; the foreign key is kept without that action")
        return None

    def _action(self, action: str | None, what: str) -> str | None:
        if not action:
            return None
        action = " ".join(action.upper().split())
        if action not in _FK_ACTIONS or (action == "SET DEFAULT" and self.dialect == "mysql"):
            self.warnings.append(f"{what} has ON DELETE/UPDATE {action}, which this target does not support; "
                                 f"it was left out")
            return None
        return None if action == "NO ACTION" else action

    def indexes(self, table: Table) -> None:
        add_indexes(self, table, self.source)
        add_exclusions(self, table)


def _integer(typ: sa.types.TypeEngine) -> bool:
    return isinstance(typ, sa.Integer)


def existing_tables(engine: sa.Engine, names: Iterable[str]) -> list[str]:
    """Which of `names` ("table" or "schema.table") already exist in the target."""
    insp = sa.inspect(engine)
    found: list[str] = []
    cache: dict[str | None, set[str]] = {}
    for name in names:
        for schema, table in _candidates(name, engine.dialect.name):
            if schema not in cache:
                try:
                    cache[schema] = set(insp.get_table_names(schema=schema))
                except sa.exc.SQLAlchemyError:  # no such schema
                    cache[schema] = set()
            if table in cache[schema]:
                found.append(name)
                break
    return found


def _candidates(name: str, dialect: str) -> list[tuple[str | None, str]]:
    """A name as a table of the default schema, or as schema.table when it holds a dot.

    A dot may also be part of a table's own name, so both readings are tried;
    where the target has no namespaces, "schema.table" is written as "schema_table".
    """
    out: list[tuple[str | None, str]] = [(None, name)]
    if "." in name:
        schema, _, table = name.partition(".")
        out.append(located(schema, table, dialect))
    return out


def create_schema(conn: sa.Connection, metadata: sa.MetaData) -> list[str]:
    """Create every table, constraint, index and enum type of `metadata` on `conn`; what was left out.

    Refuses when a table already exists rather than skipping it silently.
    Cyclic foreign keys are added by ALTER TABLE where the dialect allows it.
    The source's extensions are created where the server offers them, and a DEFAULT or
    generated column the target still rejects is left out with a warning (`io.expressions`).
    """
    insp = sa.inspect(conn)
    taken = [t.fullname for t in metadata.tables.values() if insp.has_table(t.name, schema=t.schema)]
    taken += [f"{schema}.{name}" if schema else name for schema, name in partition_names(metadata)
              if insp.has_table(name, schema=schema)]
    if taken:
        raise TargetNotEmpty(taken)
    if conn.dialect.name == "postgresql":
        prep = conn.dialect.identifier_preparer
        schemas = {t.schema for t in metadata.tables.values() if t.schema}
        schemas |= {d.schema for d in metadata.info.get(DOMAINS_KEY, ()) if d.schema}
        schemas |= {c[0] for c in metadata.info.get(COMPOSITES_KEY, ()) if c[0]}
        for schema in sorted(schemas):
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {prep.quote_schema(schema)}")
    notes = create_extensions(conn, metadata)
    if conn.dialect.name == "postgresql":
        notes += fall_back_to_text(conn, metadata)
    if conn.dialect.name == "postgresql":
        create_sequences(conn, metadata.info.get(SEQUENCES_KEY, []))
        create_collations(conn, metadata.info.get(COLLATIONS_KEY, []))
        create_unused_enums(conn, metadata.info.get(ENUMS_KEY, []))
    create_routines(conn, metadata, final=False)   # before the expressions are tried: they may call them
    if conn.dialect.name == "postgresql":
        notes += create_domains(conn, metadata)
        create_composites(conn, metadata)
        for enum in {id(e): e for e in _enum_types(metadata)}.values():  # the expressions' tries may cast to them
            enum.create(conn, checkfirst=True)
    if metadata.info.get(SAME_ENGINE_KEY):
        notes += leave_out_rejected(conn, metadata)
    metadata.create_all(conn, checkfirst=True)  # checkfirst only matters for enum types now
    if conn.dialect.name == "postgresql":
        create_partitions(conn, metadata)
    if conn.dialect.name == "postgresql":
        use_domains(conn, metadata)
    return notes + create_routines(conn, metadata, final=True)   # those needing a table's row type


def _enum_types(metadata: sa.MetaData) -> list[sa.Enum]:
    """The named enum types of `metadata`'s columns (in arrays too), as PostgreSQL creates them."""
    found = []
    for table in metadata.tables.values():
        for col in table.columns:
            typ = col.type.item_type if isinstance(col.type, sa.ARRAY) else col.type
            if isinstance(typ, sa.Enum) and typ.name:
                found.append(typ)
    return found


def drop_tables(conn: sa.Connection, names: list[str]) -> None:
    """Drop those of `names` that exist, children first; cyclic foreign keys are dropped before their tables.

    Works from a reflection of the target, so it drops exactly what is there.
    A table outside `names` that references one of them makes this fail with
    a clear message rather than silently losing its foreign key.
    """
    insp = sa.inspect(conn)
    md = sa.MetaData()
    targets: list[sa.Table] = []
    for name in names:
        for schema, table in _candidates(name, conn.dialect.name):
            try:
                present = insp.has_table(table, schema=schema)
            except sa.exc.SQLAlchemyError:
                present = False
            if present:
                with warnings.catch_warnings():  # a type SQLAlchemy does not know (GEOMETRY) is no matter to a DROP
                    warnings.simplefilter("ignore", category=sa.exc.SAWarning)
                    targets.append(sa.Table(table, md, schema=schema, autoload_with=conn))
                break
    if not targets:
        return
    dialect = conn.dialect.name
    order_by_inheritance(conn, targets)   # PostgreSQL: INHERITS children before their parents
    order = sort_tables_and_constraints(targets)
    cyclic = [fkc for table, fkcs in order if table is None for fkc in fkcs]
    try:
        if dialect == "sqlite":
            # No ALTER TABLE on SQLite; deferring FK checks to commit lets cycles drop in any order.
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        else:
            for fkc in cyclic:
                if fkc.name:
                    conn.execute(sa.schema.DropConstraint(fkc))
        for table in reversed([t for t, _ in order if t is not None]):
            conn.execute(sa.schema.DropTable(table))
    except sa.exc.DBAPIError as exc:
        raise DbsynthError(f"cannot drop target tables {', '.join(t.fullname for t in targets)}: "
                           f"{_first_line(exc)}; drop the tables that reference them first") from exc
    if dialect == "postgresql":
        _drop_unused_enums(conn, targets)
        drop_unused_domains(conn, targets)
        drop_unused_composites(conn, targets)


def _drop_unused_enums(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """Drop the enum types the dropped tables used, unless something else still uses them."""
    enums: dict[tuple[str | None, str], postgresql.ENUM] = {}
    for table in tables:
        for col in table.columns:
            typ = col.type.item_type if isinstance(col.type, sa.ARRAY) else col.type
            if isinstance(typ, postgresql.ENUM) and typ.name:
                enums[(typ.schema, typ.name)] = typ
    prep = conn.dialect.identifier_preparer
    for (schema, name), typ in enums.items():
        qualified = f"{prep.quote_schema(schema)}.{prep.quote(name)}" if schema else prep.quote(name)
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(f"DROP TYPE IF EXISTS {qualified}")
        except sa.exc.DBAPIError:
            pass  # another table still uses it: keep it


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__
