"""PostgreSQL domains in a PostgreSQL target: created with their base type, NOT NULL, DEFAULT and CHECKs.

A column declared with a domain is created with the domain's base type (so SQLAlchemy and the loaders
see an ordinary numeric or varchar column) and then switched to the domain by ALTER COLUMN ... TYPE
while its table is still empty, which makes the target's schema the source's. On other engines the
domain's CHECKs are column CHECKs instead (`io.ddl`).
"""

from __future__ import annotations

import sqlalchemy as sa

from dbsynth.schema.model import Domain

DOMAINS_KEY = "dbsynth_domains"   # metadata.info: the domains to create
COLUMN_KEY = "dbsynth_domain"     # column.info: (schema or None, name) of the column's domain


def domain_location(domain: Domain) -> tuple[str | None, str]:
    """(namespace, name) of a domain in a PostgreSQL target: its own schema, or the default one."""
    return domain.schema, domain.local_name


def type_exists(conn: sa.Connection, schema: str | None, name: str, kind: str) -> bool:
    """Whether the target holds a type of this pg_type.typtype kind ('d' domain, 'c' composite) already."""
    return bool(conn.execute(sa.text(
        "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE t.typtype = :kind AND t.typname = :name AND n.nspname = coalesce(:schema, current_schema())"),
        {"name": name, "schema": schema, "kind": kind}).scalar())


def create_domains(conn: sa.Connection, metadata: sa.MetaData) -> list[str]:
    """Create the metadata's domains that the target does not hold yet (one left by the application is kept).

    A DEFAULT or CHECK calling a function the target lacks (one of a schema that is not cloned, of an
    extension the server does not offer) would stop the clone: such a domain is made again clause by
    clause, and each clause the target refuses is left out, named in one of the returned warnings.
    """
    prep = conn.dialect.identifier_preparer
    notes: list[str] = []
    for domain in metadata.info.get(DOMAINS_KEY, ()):
        schema, name = domain_location(domain)
        if type_exists(conn, schema, name, "d"):
            continue
        head = f"CREATE DOMAIN {_qualified(prep, schema, name)} AS {domain.base}"
        default = [f"DEFAULT {domain.default}"] if domain.default is not None else []
        not_null = ["NOT NULL"] if domain.not_null else []
        checks = [_check_clause(prep, c.name, c.sqltext) for c in domain.checks]
        if _tried(conn, " ".join([head, *default, *not_null, *checks])) is None:
            continue
        conn.exec_driver_sql(_driver(" ".join([head, *not_null])))
        alter = f"ALTER DOMAIN {_qualified(prep, schema, name)}"
        if domain.default is not None and (reason := _tried(conn, f"{alter} SET DEFAULT {domain.default}")):
            notes.append(f"domain {domain.name}: DEFAULT {domain.default} is rejected by the target ({reason}): "
                         f"it was left out there")
        for check, clause in zip(domain.checks, checks):
            if reason := _tried(conn, f"{alter} ADD {clause}"):
                label = f"CHECK {check.name} ({check.sqltext})" if check.name else f"CHECK ({check.sqltext})"
                notes.append(f"domain {domain.name}: {label} is rejected by the target ({reason}): "
                             f"it was left out there")
    return notes


def _check_clause(prep: sa.sql.compiler.IdentifierPreparer, name: str | None, sqltext: str) -> str:
    return f"CONSTRAINT {prep.quote(name)} CHECK ({sqltext})" if name else f"CHECK ({sqltext})"


def _tried(conn: sa.Connection, statement: str) -> str | None:
    """Run `statement` on a savepoint; the first line of the target's refusal, or None when it took it."""
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(_driver(statement))
    except sa.exc.DBAPIError as exc:
        text = str(getattr(exc, "orig", exc)).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    return None


def _driver(statement: str) -> str:
    return statement.replace("%", "%%")   # psycopg reads % as a placeholder marker


def use_domains(conn: sa.Connection, metadata: sa.MetaData) -> None:
    """Switch the (still empty) columns declared with a domain from its base type to the domain."""
    prep = conn.dialect.identifier_preparer
    for table in metadata.tables.values():
        for col in table.columns:
            if COLUMN_KEY in col.info:
                schema, name = col.info[COLUMN_KEY]
                conn.exec_driver_sql(
                    f"ALTER TABLE {_qualified(prep, table.schema, table.name)} ALTER COLUMN {prep.quote(col.name)} "
                    f"TYPE {_qualified(prep, schema, name)}".replace("%", "%%"))


def drop_unused_domains(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """Drop the domains that dropped tables used, unless something else still uses them."""
    from sqlalchemy.dialects import postgresql

    prep = conn.dialect.identifier_preparer
    found = {(col.type.schema, col.type.name) for table in tables for col in table.columns
             if isinstance(col.type, postgresql.DOMAIN) and col.type.name}
    drop_if_unused(conn, [f"DROP DOMAIN IF EXISTS {_qualified(prep, schema, name)}"
                          for schema, name in sorted(found, key=str)])


def drop_if_unused(conn: sa.Connection, statements: list[str]) -> None:
    """Run each DROP TYPE/DOMAIN on its own savepoint: one that another table still uses is kept."""
    for statement in statements:
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(statement)
        except sa.exc.DBAPIError:
            pass  # another table still uses it: keep it


def _qualified(prep: sa.sql.compiler.IdentifierPreparer, schema: str | None, name: str) -> str:
    return f"{prep.quote_schema(schema)}.{prep.quote(name)}" if schema else prep.quote(name)
