"""The plain, typed schema model every stage after introspection works on.

Frozen dataclasses, no SQLAlchemy objects: a schema can be written to JSON,
stored beside a trained model and read back without touching a database.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal

TypeKind = Literal[
    "integer", "float", "decimal", "boolean", "date", "datetime", "time", "interval",
    "text", "bytes", "json", "uuid", "enum", "array", "network", "bit", "range", "geometric", "xml", "tsvector",
    "composite", "other",
]


class Namespaced:
    """An object named like a table: `name` is "schema.name" outside the default namespace, `schema` its namespace."""

    name: str
    schema: str | None

    @property
    def local_name(self) -> str:
        """The name inside its namespace."""
        return self.name[len(self.schema) + 1:] if self.schema and self.name.startswith(f"{self.schema}.") \
            else self.name


@dataclass(frozen=True)
class SqlType:
    """A column type in portable terms: a kind plus the parameters that bound its values."""

    kind: TypeKind
    source_name: str = ""          # the source dialect's spelling, e.g. "VARCHAR(40)"
    length: int | None = None      # text/bytes maximum length; bits of a bit(n) / bit varying(n)
    precision: int | None = None   # decimal precision or float bits
    scale: int | None = None       # decimal scale
    size: int | None = None        # integer storage bits: 16, 32, 64 (8 for tinyint)
    unsigned: bool = False
    timezone: bool = False
    enum_name: str | None = None
    enum_schema: str | None = None   # PostgreSQL: the enum type's namespace, where not the default one
    values: tuple[str, ...] = ()   # enum labels
    item: SqlType | None = None    # array element type
    domain: str | None = None      # PostgreSQL: the domain the column is declared with ("schema.name" or "name")
    fields: tuple[tuple[str, SqlType], ...] = ()   # PostgreSQL composite type: its fields, in order
    collation: str | None = None   # text declared with its own collation ("C", "latin1_bin"): same engine only


@dataclass(frozen=True)
class Identity:
    """An identity column (SQL standard GENERATED ... AS IDENTITY)."""

    always: bool = False
    start: int = 1
    increment: int = 1


@dataclass(frozen=True)
class Column:
    name: str
    type: SqlType
    nullable: bool = True
    default: str | None = None     # server default as SQL text of the source dialect
    autoincrement: bool = False    # serial / AUTO_INCREMENT / INTEGER PRIMARY KEY
    identity: Identity | None = None
    computed: str | None = None    # generated column expression; never inserted into
    comment: str | None = None

    @property
    def zero_date(self) -> str | None:
        """MySQL's zero date when the column defaults to it (WordPress's post_date_gmt of a draft): the source
        means "no date" by it. Read as NULL; written back as this text on MySQL, as NULL elsewhere."""
        if self.type.kind not in ("date", "datetime") or not (self.default or "").strip("'\" ").startswith("0000-00-00"):
            return None
        return "0000-00-00" if self.type.kind == "date" else "0000-00-00 00:00:00"

    @property
    def written_null(self) -> bool:
        """A type no codec can generate (tsvector, point, a composite type): written as NULL."""
        return self.type.kind == "other" and self.computed is None


@dataclass(frozen=True)
class PrimaryKey:
    columns: tuple[str, ...]
    name: str | None = None


@dataclass(frozen=True)
class ForeignKey:
    """columns of this table -> referred_columns of referred_table (composite allowed)."""

    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]
    name: str | None = None
    referred_schema: str | None = None
    on_delete: str | None = None
    on_update: str | None = None
    deferrable: bool = False
    initially_deferred: bool = False


@dataclass(frozen=True)
class UniqueConstraint:
    columns: tuple[str, ...]
    name: str | None = None
    nulls_distinct: bool = True    # False: PostgreSQL 15's NULLS NOT DISTINCT, where two NULLs are duplicates
    deferrable: bool = False       # PostgreSQL: checked at commit when deferred
    initially_deferred: bool = False


@dataclass(frozen=True)
class CheckConstraint:
    sqltext: str
    name: str | None = None
    domain: str | None = None      # a CHECK of the column's domain: the domain carries it where it is recreated
    partition: bool = False        # a partitioned table's bounds: binds generated rows, never created as a CHECK


@dataclass(frozen=True)
class Index:
    """An index that backs no constraint. `columns` are its plain key columns; an expression index has
    fewer (or none), and `expressions` then lists every key element in order, "" where it is a plain column."""

    columns: tuple[str, ...]
    name: str | None = None
    unique: bool = False
    where: str | None = None       # a partial index's predicate, in the source dialect
    method: str | None = None      # PostgreSQL access method but btree (gin, gist, brin, hash, spgist);
                                   # MariaDB/MySQL: fulltext, spatial
    expressions: tuple[str, ...] = ()   # per key element: its expression in the source dialect, "" for a column
    include: tuple[str, ...] = ()  # PostgreSQL INCLUDE columns (stored, not keys)
    descending: tuple[str, ...] = ()    # key columns sorted DESC
    lengths: tuple[tuple[str, int], ...] = ()   # MariaDB/MySQL prefix lengths: KEY (name(10)) -> (("name", 10),)
    definition: str | None = None  # PostgreSQL: pg_get_indexdef from USING on, recreated verbatim on PostgreSQL

    @property
    def elements(self) -> tuple[str, ...]:
        """Every key element in order: a column's name or an expression's text."""
        if not self.expressions:
            return self.columns
        plain = iter(self.columns)
        return tuple(e or next(plain, "") for e in self.expressions)

    @property
    def kind(self) -> str:
        """How `inspect` names it: "unique gin", "fulltext", "btree"."""
        return " ".join(p for p in ("unique" if self.unique else "", self.method or "btree") if p)


@dataclass(frozen=True)
class ExclusionConstraint:
    """A PostgreSQL EXCLUDE constraint: no two rows may match on every (element, operator) pair."""

    name: str
    definition: str                # pg_get_constraintdef: EXCLUDE USING gist (room WITH =, during WITH &&)
    elements: tuple[tuple[str, str], ...] = ()   # (expression or column, operator as regoperator text)
    columns: tuple[str | None, ...] = ()         # per element: the plain column it is, else None
    where: str | None = None


@dataclass(frozen=True)
class Partition:
    """One partition of a PostgreSQL partitioned table (at any level), recreated PARTITION OF its parent."""

    name: str                      # its name inside the partitioned table's namespace
    parent: str                    # the name (same namespace) of the table or partition it is a partition of
    bound: str                     # "FOR VALUES FROM (...) TO (...)", "FOR VALUES IN (...)", "DEFAULT", ...
    key: str | None = None         # its own "RANGE (col)" when it is partitioned further


@dataclass(frozen=True)
class Partitioning:
    """How a PostgreSQL table is split: its partitions are not tables of the model, the table holds their rows."""

    key: str                       # pg_get_partkeydef: "RANGE (logdate)", "LIST (region)", "HASH (id)"
    partitions: tuple[Partition, ...] = ()   # parents before their own partitions


def qualified_name(schema: str | None, name: str) -> str:
    """The model's key for a table or view: bare in the default namespace, "schema.name" elsewhere."""
    return f"{schema}.{name}" if schema else name


@dataclass(frozen=True)
class Table(Namespaced):
    name: str                      # qualified_name(schema, local name): unique across namespaces
    columns: tuple[Column, ...]
    primary_key: PrimaryKey | None = None
    foreign_keys: tuple[ForeignKey, ...] = ()
    unique_constraints: tuple[UniqueConstraint, ...] = ()
    check_constraints: tuple[CheckConstraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    row_count: int = 0
    exclusions: tuple[ExclusionConstraint, ...] = ()
    schema: str | None = None
    comment: str | None = None
    partitioning: Partitioning | None = None   # PostgreSQL: a partitioned table
    inherits: tuple[str, ...] = ()             # PostgreSQL: the tables it INHERITS from (model names)
    collation: str | None = None               # MySQL/MariaDB: the table's default collation (and so charset)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name}.{name}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def pk_columns(self) -> tuple[str, ...]:
        return self.primary_key.columns if self.primary_key else ()

    @property
    def fk_columns(self) -> frozenset[str]:
        return frozenset(c for fk in self.foreign_keys for c in fk.columns)

    def unique_column_sets(self) -> list[tuple[str, ...]]:
        """Every set of columns whose values must be unique together (PK, UNIQUE, unique index)."""
        sets: list[tuple[str, ...]] = []
        if self.primary_key:
            sets.append(self.primary_key.columns)
        sets += [u.columns for u in self.unique_constraints]
        sets += [i.columns for i in self.indexes    # partial ones too: stricter, still valid
                 if i.unique and not i.expressions and i.method in (None, "btree", "hash")]
        out: list[tuple[str, ...]] = []
        for s in sets:
            if s and s not in out:
                out.append(s)
        return out

    def nulls_not_distinct_sets(self) -> set[tuple[str, ...]]:
        """The unique sets in which NULL counts as a value: two rows NULL in the same column are duplicates."""
        return {u.columns for u in self.unique_constraints if not u.nulls_distinct}


@dataclass(frozen=True)
class Domain(Namespaced):
    """A PostgreSQL domain: a base type with its own NOT NULL, DEFAULT and CHECKs, recreated on PostgreSQL."""

    name: str                      # "schema.name" outside the default namespace, like Table.name
    base: str                      # the base type as PostgreSQL spells it, modifiers kept: numeric(5,2)
    schema: str | None = None
    not_null: bool = False
    default: str | None = None
    checks: tuple[CheckConstraint, ...] = ()   # over VALUE


@dataclass(frozen=True)
class View(Namespaced):
    """A view, recreated from its definition after the tables are loaded; never filled as a table."""

    name: str                      # "schema.view" outside the default namespace, like Table.name
    definition: str                # the SELECT, in the source dialect
    materialized: bool = False
    schema: str | None = None


@dataclass(frozen=True)
class Routine(Namespaced):
    """A user function, procedure or aggregate, recreated on a target of the source's engine before its tables."""

    name: str                      # "schema.name" outside the default namespace, like Table.name
    kind: str                      # "function", "procedure" or "aggregate"
    definition: str                # the CREATE statement as the source prints it (MariaDB: without DEFINER)
    name_ref: str = ""             # the text naming the routine in `definition`, replaced by its target name
    arguments: str = ""            # PostgreSQL: the identity arguments ("integer, text"), which tell overloads apart
    language: str = ""
    schema: str | None = None

    @property
    def signature(self) -> str:
        """What names it uniquely: name(arguments) on PostgreSQL, the name elsewhere."""
        return f"{self.name}({self.arguments})"


@dataclass(frozen=True)
class Trigger:
    """A trigger, recreated on a target of the source's engine after every row is loaded."""

    name: str
    table: str                     # the model's name of its table
    definition: str                # the CREATE TRIGGER statement as the source prints it (MariaDB: without DEFINER)
    table_ref: str = ""            # the text naming the table after " ON " in `definition`, replaced by its target name


@dataclass(frozen=True)
class FreeSequence(Namespaced):
    """A PostgreSQL sequence no column owns (columns use it by DEFAULT nextval('name')), recreated as it is."""

    name: str                      # "schema.name" outside the default namespace
    schema: str | None = None
    data_type: str = "bigint"
    start: int = 1
    increment: int = 1
    minimum: int | None = None
    maximum: int | None = None
    cycle: bool = False
    cache: int = 1


@dataclass(frozen=True)
class Collation(Namespaced):
    """A PostgreSQL collation of the user's own (CREATE COLLATION), used by a column; recreated on PostgreSQL."""

    name: str                      # "schema.name" outside the default namespace, like Table.name
    schema: str | None = None
    options: str = ""              # what goes in CREATE COLLATION's parentheses: provider = icu, locale = '...'


@dataclass(frozen=True)
class EnumType(Namespaced):
    """A PostgreSQL enum type no column uses, kept because a function's signature or body may name it."""

    name: str                      # "schema.name" outside the default namespace
    schema: str | None = None
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableObject:
    """A PostgreSQL rule, row-level security policy or RLS switch of a table, made once its rows are in.

    `definition` names the table as {table}, which the writer replaces by the table's target name."""

    kind: str                      # "rule", "policy", "row security"
    name: str
    table: str                     # the model's name of its table
    definition: str


@dataclass(frozen=True)
class Schema:
    tables: tuple[Table, ...]
    dialect: str = ""
    warnings: tuple[str, ...] = field(default=(), compare=False)
    views: tuple[View, ...] = ()
    domains: tuple[Domain, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)   # information: what was left out on purpose
    extensions: tuple[str, ...] = ()   # PostgreSQL extensions installed in the source (their functions in DEFAULTs)
    routines: tuple[Routine, ...] = ()     # user functions, procedures, aggregates
    triggers: tuple[Trigger, ...] = ()
    sequences: tuple[FreeSequence, ...] = ()   # PostgreSQL sequences no column owns
    collations: tuple[Collation, ...] = ()     # PostgreSQL collations of the user's own that columns use
    enums: tuple[EnumType, ...] = ()           # PostgreSQL enum types no column uses (routines may)
    table_objects: tuple[TableObject, ...] = ()   # PostgreSQL rules, policies, row security: after the load

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        return Schema(
            tables=tuple(_table_from_dict(t) for t in data["tables"]),
            dialect=data.get("dialect", ""),
            warnings=tuple(data.get("warnings", ())),
            views=tuple(View(**v) for v in data.get("views", ())),
            domains=tuple(Domain(**{**d, "checks": tuple(CheckConstraint(**c) for c in d.get("checks", ()))})
                          for d in data.get("domains", ())),
            notes=tuple(data.get("notes", ())),
            extensions=tuple(data.get("extensions", ())),
            routines=tuple(Routine(**r) for r in data.get("routines", ())),
            triggers=tuple(Trigger(**t) for t in data.get("triggers", ())),
            sequences=tuple(FreeSequence(**q) for q in data.get("sequences", ())),
            collations=tuple(Collation(**c) for c in data.get("collations", ())),
            enums=tuple(EnumType(**{**e, "labels": tuple(e.get("labels", ()))}) for e in data.get("enums", ())),
            table_objects=tuple(TableObject(**o) for o in data.get("table_objects", ())),
        )

    @classmethod
    def from_json(cls, text: str) -> Schema:
        return cls.from_dict(json.loads(text))


def _type_from_dict(d: dict[str, Any]) -> SqlType:
    d = dict(d)
    d["values"] = tuple(d.get("values", ()))
    d["item"] = _type_from_dict(d["item"]) if d.get("item") else None
    d["fields"] = tuple((name, _type_from_dict(t)) for name, t in d.get("fields", ()))
    return SqlType(**d)


def _table_from_dict(d: dict[str, Any]) -> Table:
    cols = tuple(
        Column(**{**c, "type": _type_from_dict(c["type"]),
                  "identity": Identity(**c["identity"]) if c.get("identity") else None})
        for c in d["columns"]
    )
    pk = d.get("primary_key")
    return Table(
        name=d["name"],
        columns=cols,
        primary_key=PrimaryKey(tuple(pk["columns"]), pk.get("name")) if pk else None,
        foreign_keys=tuple(
            ForeignKey(**{**fk, "columns": tuple(fk["columns"]),
                          "referred_columns": tuple(fk["referred_columns"])})
            for fk in d.get("foreign_keys", ())
        ),
        unique_constraints=tuple(
            UniqueConstraint(tuple(u["columns"]), u.get("name")) for u in d.get("unique_constraints", ())
        ),
        check_constraints=tuple(CheckConstraint(**c) for c in d.get("check_constraints", ())),
        indexes=tuple(_index_from_dict(i) for i in d.get("indexes", ())),
        exclusions=tuple(
            ExclusionConstraint(x["name"], x["definition"], tuple(tuple(e) for e in x.get("elements", ())),
                                tuple(x.get("columns", ())), x.get("where"))
            for x in d.get("exclusions", ())
        ),
        row_count=d.get("row_count", 0),
        schema=d.get("schema"),
        comment=d.get("comment"),
        partitioning=_partitioning_from_dict(d.get("partitioning")),
        inherits=tuple(d.get("inherits", ())),
    )


def _index_from_dict(d: dict[str, Any]) -> Index:
    return Index(
        tuple(d["columns"]), d.get("name"), d.get("unique", False), d.get("where"), d.get("method"),
        tuple(d.get("expressions", ())), tuple(d.get("include", ())), tuple(d.get("descending", ())),
        tuple((c, int(n)) for c, n in d.get("lengths", ())), d.get("definition"),
    )


def _partitioning_from_dict(d: dict[str, Any] | None) -> Partitioning | None:
    if not d:
        return None
    return Partitioning(d["key"], tuple(Partition(**p) for p in d.get("partitions", ())))
