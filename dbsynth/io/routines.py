"""Functions, procedures, aggregates, triggers and free sequences in a target of the source's engine.

Order matters, and is the point of this module:

* Free sequences and routines are created BEFORE the tables, so a CHECK, DEFAULT, generated column or
  view calling a user function (or drawing from a sequence) is accepted by the target and kept, instead of
  being left out by `io.expressions`. A routine the target refuses then (its signature names a table's row
  type, an SQL body reads a table, or it calls another routine not made yet) is tried again once the
  tables exist; one still refused (a missing language such as plpython3u, a missing extension) is named in
  a warning, and what depends on it falls back to being left out with its own warning.
* Triggers are created AFTER every row is loaded (and after the views, which INSTEAD OF triggers sit on),
  so no trigger rewrites, duplicates or audits the generated rows while they are written.

Each definition is the source's own CREATE statement with only the object's name (and a trigger's table)
replaced by where it lands on the target (`io.naming.located`, which follows `dbsynth refresh` into its
shadow schemas). Bodies are never rewritten or translated: on another engine each routine and trigger is
named in a warning instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from dbsynth.io.naming import located, relocated_sql
from dbsynth.schema.model import FreeSequence, Routine, Schema, Trigger

ROUTINES_KEY = "dbsynth_routines"     # metadata.info: the routines to create (same engine only)
SEQUENCES_KEY = "dbsynth_sequences"   # metadata.info: the free sequences to create (PostgreSQL)
PENDING_KEY = "dbsynth_routines_pending"   # metadata.info: routines refused before the tables existed

_ENGINES = {"postgresql": "PostgreSQL", "mysql": "MariaDB/MySQL", "mariadb": "MariaDB/MySQL", "sqlite": "SQLite"}
_LANGUAGES = {"plpgsql": "PL/pgSQL", "sql": "SQL function bodies", "SQL": "stored-program SQL"}


def _quoted(conn: sa.Connection, schema: str | None, local: str) -> str:
    prep = conn.dialect.identifier_preparer
    namespace, name = located(schema, local, conn.dialect.name)
    return f"{prep.quote_schema(namespace)}.{prep.quote(name)}" if namespace else prep.quote(name)


def _table_name(conn: sa.Connection, schema: Schema, table: str) -> str:
    known = {t.name: t for t in schema.tables} | {v.name: v for v in schema.views}
    found = known.get(table)
    if found is None:
        return conn.dialect.identifier_preparer.quote(table)
    return _quoted(conn, found.schema, found.local_name)


def _driver_sql(conn: sa.Connection, statement: str) -> None:
    """Run DDL text as it is: the drivers' paramstyle would read a % in a body as a parameter."""
    conn.exec_driver_sql(statement if conn.dialect.name == "sqlite" else statement.replace("%", "%%"))


def _attempt(conn: sa.Connection, statement: str) -> str | None:
    """None when the target accepts `statement`; else its first error line (nothing is left behind)."""
    try:
        if conn.dialect.name in ("mysql", "mariadb"):   # DDL commits there: no savepoint to roll back to
            _driver_sql(conn, statement)
        else:
            with conn.begin_nested():
                _driver_sql(conn, statement)
    except sa.exc.DBAPIError as exc:
        text = str(getattr(exc, "orig", None) or exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    return None


# -- routines -------------------------------------------------------------------------------------------------
def routine_statement(conn: sa.Connection, routine: Routine) -> str:
    """The source's CREATE statement, named as the routine lands on the target (its signature relocated
    for `dbsynth refresh`, its body untouched: a body names objects by text, resolved when it runs)."""
    target = _quoted(conn, routine.schema, routine.local_name)
    text = routine.definition.replace(routine.name_ref, target, 1) if routine.name_ref else routine.definition
    body = re.search(r"\bAS\s+\$|\bBEGIN\s+ATOMIC\b", text)
    head, tail = (text[:body.start()], text[body.start():]) if body else (text, "")
    return relocated_sql(head) + tail


def create_routines(conn: sa.Connection, metadata: sa.MetaData, *, final: bool) -> list[str]:
    """Create the metadata's routines, pass after pass (one may call another); with `final`, retry those
    refused earlier and name each still refused. Before the tables (`final` False) nothing is reported."""
    pending: list[Routine] = metadata.info.get(PENDING_KEY, list(metadata.info.get(ROUTINES_KEY, ())))
    if not final:
        _create_schemas(conn, pending)
    errors: dict[str, str] = {}
    namespaces = _namespaces(conn, metadata, pending)
    while pending:
        left = []
        for routine in pending:
            if conn.dialect.name in ("mysql", "mariadb"):
                _attempt(conn, f"DROP {routine.kind.upper()} IF EXISTS {_quoted(conn, None, routine.local_name)}")
            with _search_path(conn, routine, namespaces):
                error = _attempt(conn, routine_statement(conn, routine))
            if error is not None:
                errors[routine.signature] = error
                left.append(routine)
        if len(left) == len(pending):
            break
        pending = left
    metadata.info[PENDING_KEY] = pending
    if not final:
        return []
    return [f"{r.kind} {r.signature} was not recreated: the target rejected it ({errors[r.signature]}); "
            f"what calls it is left out" for r in pending]


def _namespaces(conn: sa.Connection, metadata: sa.MetaData, routines: list[Routine]) -> list[str]:
    """PostgreSQL: the target namespaces of the tables and routines, for the search path of a routine body."""
    if conn.dialect.name != "postgresql":
        return []
    found = {t.schema for t in metadata.tables.values() if t.schema}
    found |= {located(r.schema, r.local_name, "postgresql")[0] for r in routines}
    return sorted(found - {None})


@contextmanager
def _search_path(conn: sa.Connection, routine: Routine, namespaces: list[str]) -> Iterator[None]:
    """PostgreSQL: create `routine` with its own schema first on the search path, then the others.

    A body names tables and types without their schema where the application sets search_path (MusicBrainz:
    `musicbrainz, public`); a SQL function's body is checked when it is created, so the target must find
    them as the source did. The path is restored afterwards: the tables are created unqualified."""
    if conn.dialect.name != "postgresql" or not namespaces:
        yield
        return
    prep = conn.dialect.identifier_preparer
    own = located(routine.schema, routine.local_name, "postgresql")[0]
    before = conn.exec_driver_sql("SELECT current_setting('search_path')").scalar_one()
    others = [prep.quote_schema(n) for n in namespaces if n != own]
    # a routine of the default namespace is created unqualified: that namespace must stay first
    path = ", ".join([prep.quote_schema(own), *others, before] if own else [before, *others])
    conn.execute(sa.text("SELECT set_config('search_path', :path, true)"), {"path": path})
    try:
        yield
    finally:
        conn.execute(sa.text("SELECT set_config('search_path', :path, true)"), {"path": before})


def _create_schemas(conn: sa.Connection, routines: list[Routine]) -> None:
    if conn.dialect.name != "postgresql":
        return
    prep = conn.dialect.identifier_preparer
    for schema in sorted({located(r.schema, r.local_name, "postgresql")[0] for r in routines} - {None}):
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {prep.quote_schema(schema)}")


def drop_routines(conn: sa.Connection, schema: Schema) -> None:
    """--if-exists replace (and a failed MariaDB load): drop the model's routines where the target has them.

    Their tables (and so the triggers and CHECKs using them) are gone already; a routine something else of
    the target still needs is kept (CREATE OR REPLACE then updates it in place)."""
    for routine in reversed(schema.routines):   # aggregates (listed after their functions) first
        name = _quoted(conn, routine.schema, routine.local_name)
        if conn.dialect.name == "postgresql":
            _attempt(conn, f"DROP {routine.kind.upper()} IF EXISTS {name}({routine.arguments})")
        elif conn.dialect.name in ("mysql", "mariadb"):
            _attempt(conn, f"DROP {routine.kind.upper()} IF EXISTS {name}")


# -- free sequences -------------------------------------------------------------------------------------------
def create_sequences(conn: sa.Connection, sequences: list[FreeSequence]) -> None:
    """PostgreSQL: the sequences no column owns, as the source declares them (set past the keys after the load)."""
    prep = conn.dialect.identifier_preparer
    for seq in sequences:
        namespace = located(seq.schema, seq.local_name, "postgresql")[0]
        if namespace:
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {prep.quote_schema(namespace)}")
        bounds = (f" MINVALUE {seq.minimum}" if seq.minimum is not None else "") + \
                 (f" MAXVALUE {seq.maximum}" if seq.maximum is not None else "")
        conn.exec_driver_sql(
            f"CREATE SEQUENCE IF NOT EXISTS {_quoted(conn, seq.schema, seq.local_name)} AS {seq.data_type} "
            f"INCREMENT BY {seq.increment}{bounds} START WITH {seq.start} CACHE {seq.cache}"
            f"{' CYCLE' if seq.cycle else ' NO CYCLE'}")


def advance_sequences(conn: sa.Connection, tables: sa.MetaData | Iterable[sa.Table]) -> None:
    """PostgreSQL: each free sequence past the highest value of every column whose DEFAULT draws from it."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables.tables.values() if isinstance(tables, sa.MetaData) else tables:
        for col in table.columns:
            default = col.server_default.arg if isinstance(col.server_default, sa.DefaultClause) else None
            match = re.search(r"nextval\('([^']+)'", str(default)) if default is not None else None
            if match is None:
                continue
            top = sa.func.max(col)
            sequence = sa.cast(sa.literal(match.group(1)), postgresql.REGCLASS)
            last = sa.func.pg_sequence_last_value(sequence)   # another column may have drawn further already
            conn.execute(sa.select(sa.func.setval(sequence, sa.func.greatest(top, last)))
                         .select_from(table).having(top.is_not(None)))


# -- triggers -------------------------------------------------------------------------------------------------
def trigger_statement(conn: sa.Connection, schema: Schema, trigger: Trigger) -> str:
    """The source's CREATE TRIGGER on the table's target name; on PostgreSQL the function it executes is
    bound when the trigger is made, so its schema is relocated too (`dbsynth refresh`)."""
    text = trigger.definition
    if trigger.table_ref:
        text = text.replace(f" ON {trigger.table_ref} ", f" ON {_table_name(conn, schema, trigger.table)} ", 1)
    return relocated_sql(text) if conn.dialect.name == "postgresql" else text


def create_triggers(conn: sa.Connection, schema: Schema) -> list[str]:
    """Create the model's triggers, once every row is in: none fires for the generated rows. One warning
    names each trigger the target refuses (its function was not recreated, say)."""
    warnings = []
    for trigger in schema.triggers:
        if conn.dialect.name in ("mysql", "mariadb"):
            _attempt(conn, f"DROP TRIGGER IF EXISTS {conn.dialect.identifier_preparer.quote(trigger.name)}")
        error = _attempt(conn, trigger_statement(conn, schema, trigger))
        if error is not None:
            warnings.append(f"trigger {trigger.name} on table {trigger.table} was not recreated: the target "
                            f"rejected it ({error})")
    return warnings


# -- another engine -------------------------------------------------------------------------------------------
def left_out_across_engines(schema: Schema, dialect: str) -> list[str]:
    """One warning per routine and trigger of the source, none of which is translated to another engine."""
    source, target = _ENGINES.get(schema.dialect, schema.dialect), _ENGINES.get(dialect, dialect)
    languages = {r.local_name: r.language for r in schema.routines}
    out = [f"{r.kind} {r.signature} was not recreated: {source} → {target} cannot translate "
           f"{'aggregates' if r.kind == 'aggregate' else _LANGUAGES.get(r.language, r.language or 'its body')}"
           for r in schema.routines]
    for t in schema.triggers:
        called = re.search(r"EXECUTE\s+(?:FUNCTION|PROCEDURE)\s+(?:[\w\"]+\.)?\"?(\w+)", t.definition, re.I)
        language = languages.get(called.group(1), "") if called else ("SQL" if schema.dialect != "sqlite" else "")
        what = _LANGUAGES.get(language, language) or "trigger bodies"
        out.append(f"trigger {t.name} on table {t.table} was not recreated: {source} → {target} cannot "
                   f"translate {what}")
    out += [f"sequence {s.name} was not recreated: dbsynth recreates sequences on PostgreSQL only (a key column "
            f"drawing from it is an auto-increment key on {target})" for s in schema.sequences]
    out += [f"{o.kind} {o.name + ' ' if o.name else ''}of table {o.table} was not recreated: {target} has no "
            f"{'rules' if o.kind == 'rule' else 'row-level security'}" for o in schema.table_objects
            if "FORCE ROW LEVEL" not in o.definition]
    return out


def create_table_objects(conn: sa.Connection, schema: Schema) -> list[str]:
    """PostgreSQL: the tables' rules, row-level security and policies, once every row is in (none filtered or
    rewrote the generated rows). One warning names each the target refuses (a policy's role it lacks)."""
    warnings = []
    for obj in schema.table_objects:
        error = _attempt(conn, obj.definition.format(table=_table_name(conn, schema, obj.table)))
        if error is not None:
            label = f"{obj.kind} {obj.name} of table {obj.table}" if obj.name else f"{obj.kind} of table {obj.table}"
            warnings.append(f"{label} was not recreated: the target rejected it ({error})")
    return warnings


# -- --if-exists truncate -------------------------------------------------------------------------------------
Paused = list[tuple[str, str, str]]   # (table, trigger, its tgenabled state; SQLite: its CREATE statement)
_ENABLE = {"O": "ENABLE TRIGGER", "A": "ENABLE ALWAYS TRIGGER", "R": "ENABLE REPLICA TRIGGER"}


def pause_triggers(conn: sa.Connection, tables: list[sa.Table]) -> tuple[Paused, list[str]]:
    """--if-exists truncate keeps the target's own triggers; they must not rewrite or audit the rows we load.

    PostgreSQL: each enabled user trigger of the loaded tables is disabled by name inside the load's
    transaction (ALTER TABLE ... DISABLE TRIGGER, transactional; foreign keys are internal triggers and stay
    checked, unlike with session_replication_role = replica) and re-enabled in its own mode before the
    commit, so no other session ever sees it off. SQLite: dropped and recreated from its own statement in the
    same transaction. MariaDB/MySQL can neither switch a trigger off nor drop one without committing the load
    half-way: each one on a loaded table is named in a warning, since it fires for every generated row.
    """
    prep = conn.dialect.identifier_preparer
    if conn.dialect.name == "postgresql":
        paused: Paused = []
        for table in tables:
            quoted = prep.format_table(table)
            for name, state in conn.execute(sa.text(
                    "SELECT tgname, tgenabled::text FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass) "
                    "AND NOT tgisinternal AND tgenabled <> 'D' ORDER BY tgname"), {"t": quoted}).all():
                conn.exec_driver_sql(f"ALTER TABLE {quoted} DISABLE TRIGGER {prep.quote(name)}")
                paused.append((quoted, name, state))
        return paused, []
    loaded = {t.name for t in tables}
    if conn.dialect.name == "sqlite":   # DDL is transactional there: dropped now, made again before the commit
        paused = [(table, name, sql) for name, table, sql in conn.exec_driver_sql(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY 2, 1").all()
            if table in loaded]
        for _, name, _ in paused:
            conn.exec_driver_sql(f"DROP TRIGGER {prep.quote(name)}")
        return paused, []
    query = ("SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS "
             "WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY 2, 1")
    return [], [f"trigger {name} on table {table} of the target fired for every loaded row: MariaDB/MySQL cannot "
                f"switch a trigger off, and dropping it would commit the load half-way"
                for name, table in conn.exec_driver_sql(query).all() if table in loaded]


def resume_triggers(conn: sa.Connection, paused: Paused) -> None:
    """Re-enable what `pause_triggers` disabled, each in the mode it had (ALWAYS, REPLICA or ORIGIN)."""
    prep = conn.dialect.identifier_preparer
    for quoted, name, state in paused:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(state)   # the trigger's own CREATE statement
        else:
            conn.exec_driver_sql(f"ALTER TABLE {quoted} {_ENABLE.get(state, 'ENABLE TRIGGER')} {prep.quote(name)}")


def relocated_nextval(default: str) -> str:
    """DEFAULT nextval('core.seq'::regclass) naming where the sequence lands (`dbsynth refresh`: its shadow).

    The name is a string literal, which `io.naming.relocated_sql` leaves alone; PostgreSQL resolves it to
    the sequence once, when the DEFAULT is made, so it must name the new sequence, not last run's."""
    def swap(match: re.Match[str]) -> str:
        namespace, dot, local = match.group(1).rpartition(".")
        if not dot:
            return match.group(0)
        unquoted = namespace[1:-1].replace('""', '"') if namespace.startswith('"') else namespace
        target = located(unquoted, local, "postgresql")[0] or unquoted
        quoted = '"' + target.replace('"', '""') + '"' if target != unquoted or namespace.startswith('"') else target
        return f"nextval('{quoted.replace(chr(39), chr(39) * 2)}.{local}'"

    return re.sub(r"nextval\('((?:[^']|'')+)'", swap, default)
