"""Which namespaces (PostgreSQL schemas) of a database are read, and what inside them is left out.

A PostgreSQL database holds the application's schemas next to what extensions
installed (postgis' ``spatial_ref_sys``, the views of ``pg_stat_statements``, a
whole schema an extension created). Those objects belong to the extension, not
to the application: the target gets them from ``CREATE EXTENSION``, and cloning
them would collide with it. So they are left out, with one note per extension.

MariaDB/MySQL call a database a schema, and SQLite has none: there a database
is one namespace, and choosing schemas is refused with a line saying so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from dbsynth.errors import SchemaError
from dbsynth.schema.model import Table

SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast")
SYSTEM_PREFIXES = ("pg_temp", "pg_toast", "dbsynth_shadow_")


@dataclass
class ExtensionMembers:
    """Relations and schemas that extensions own (pg_depend deptype 'e'), by extension name."""

    relations: dict[tuple[str, str], str] = field(default_factory=dict)   # (schema, relation) -> extension
    schemas: dict[str, str] = field(default_factory=dict)                 # schema -> extension
    left_out: dict[str, list[str]] = field(default_factory=dict)          # extension -> what was left out

    def owner(self, schema: str, relation: str) -> str | None:
        """The extension owning schema.relation (itself, or the schema it lives in), if any."""
        return self.relations.get((schema, relation)) or self.schemas.get(schema)

    def leave_out(self, extension: str, what: str) -> None:
        self.left_out.setdefault(extension, []).append(what)

    def notes(self) -> list[str]:
        """One line per extension whose objects were left out."""
        return [f"left out what extension {ext} owns: {_listing(items)} (CREATE EXTENSION {ext} in the target "
                f"provides them)" for ext, items in sorted(self.left_out.items())]


def extension_members(engine: sa.Engine) -> ExtensionMembers:
    """What the database's extensions own; empty on engines without extensions."""
    if engine.dialect.name != "postgresql":
        return ExtensionMembers()
    with engine.connect() as conn:
        relations = conn.execute(sa.text(
            "SELECT n.nspname, c.relname, e.extname FROM pg_depend d "
            "JOIN pg_extension e ON e.oid = d.refobjid JOIN pg_class c ON c.oid = d.objid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' "
            "AND d.classid = 'pg_class'::regclass")).all()
        schemas = conn.execute(sa.text(
            "SELECT n.nspname, e.extname FROM pg_depend d "
            "JOIN pg_extension e ON e.oid = d.refobjid JOIN pg_namespace n ON n.oid = d.objid "
            "WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' "
            "AND d.classid = 'pg_namespace'::regclass")).all()
    return ExtensionMembers({(s, r): e for s, r, e in relations}, {s: e for s, e in schemas})


def installed_extensions(engine: sa.Engine) -> tuple[str, ...]:
    """The source's PostgreSQL extensions (not the built-in plpgsql): their functions may appear in DEFAULTs."""
    if engine.dialect.name != "postgresql":
        return ()
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' "
                                     "ORDER BY extname")).scalars().all()
    return tuple(names)


def namespaces(inspector: sa.Inspector, dialect: str, wanted: Sequence[str] | None,
               members: ExtensionMembers) -> list[str | None]:
    """The namespaces to read; None is the default one (its tables keep bare names).

    Without `wanted`, every non-system schema but those an extension created;
    a wanted schema that does not exist is a SchemaError listing those that do.
    """
    default = inspector.default_schema_name
    if dialect != "postgresql":
        if wanted and any(w != default for w in wanted):
            raise SchemaError(_one_namespace(dialect, default))
        return [None]
    present = [s for s in inspector.get_schema_names()
               if s not in SYSTEM_SCHEMAS and not s.startswith(SYSTEM_PREFIXES)]
    if wanted:
        missing = [w for w in wanted if w not in present]
        if missing:
            raise SchemaError(f"schema {missing[0]} is not in the source; its schemas are: {', '.join(present)}")
        present = list(dict.fromkeys(wanted))
    chosen = []
    for s in present:
        if s in members.schemas:
            members.leave_out(members.schemas[s], f"schema {s}")
        else:
            chosen.append(s)
    return [None if s == default else s for s in chosen]


def _one_namespace(dialect: str, default: str | None) -> str:
    if dialect in ("mysql", "mariadb"):
        return (f"--schemas works on PostgreSQL only: on MariaDB/MySQL a schema is a database, and dbsynth reads the "
                f"one named in the URL ({default}); put another database in the URL to read that one")
    return f"--schemas works on PostgreSQL only: a {dialect} database has one namespace"


def check_fk_targets(tables: Iterable[Table], default: str | None, members: ExtensionMembers) -> None:
    """Every foreign key must refer to a table that was read; else a SchemaError naming the key and the fix."""
    tables = list(tables)
    names = {t.name for t in tables}
    read = sorted({t.schema or default or "" for t in tables})
    for t in tables:
        for fk in t.foreign_keys:
            if fk.referred_table in names:
                continue
            schema = fk.referred_schema or default or ""
            local = fk.referred_table[len(schema) + 1:] if fk.referred_table.startswith(f"{schema}.") \
                else fk.referred_table
            key = f"foreign key {fk.name + ' ' if fk.name else ''}on {t.name}({', '.join(fk.columns)})"
            owner = members.owner(schema, local)
            if owner:
                raise SchemaError(f"{key} refers to {schema}.{local}, which extension {owner} owns and dbsynth "
                                  f"leaves out; drop that foreign key in the source, or leave {t.name}'s schema out "
                                  f"with --schemas")
            raise SchemaError(f"{key} refers to {schema}.{local}, in schema {schema}, which is not among the schemas "
                              f"read ({', '.join(read)}); add {schema} to --schemas (or to schemas in the config)")


def _listing(items: list[str], limit: int = 8) -> str:
    return ", ".join(items[:limit]) + (f" ... ({len(items)} in all)" if len(items) > limit else "")
