"""Read a database's user functions, procedures, aggregates, triggers and free sequences.

They are not rows, so nothing is learned from them, but the application depends on them: a CHECK or a view
calls a function, a trigger keeps `last_update` current, a DEFAULT draws from a sequence no column owns.
Each is kept as the CREATE statement the source itself prints (pg_get_functiondef, pg_get_triggerdef,
SHOW CREATE ...), together with the exact text naming the object (and a trigger's table) in it, so the
writer can point that name at the target's namespace without parsing bodies. What dbsynth cannot keep
(an aggregate with options beyond SFUNC/STYPE/FINALFUNC/INITCOND, event triggers, rules) is named in a
warning. Objects an extension owns (pg_depend deptype 'e') are the extension's: left out silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from dbsynth.schema.model import FreeSequence, Routine, Trigger, qualified_name

_KINDS = {"f": "function", "p": "procedure", "a": "aggregate", "w": "function"}


@dataclass
class Routines:
    """What `read_routines` found, and what it could not keep."""

    routines: list[Routine] = field(default_factory=list)
    triggers: list[Trigger] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def sequence_names(sequences: Iterable[FreeSequence]) -> set[str]:
    """How a DEFAULT nextval('...') may name each free sequence: bare, or with its schema."""
    return {n for s in sequences for n in (s.local_name, s.name)}


def free_sequences(engine: sa.Engine, namespaces: Iterable[str | None]) -> list[FreeSequence]:
    """PostgreSQL sequences of `namespaces` that no column owns (none elsewhere)."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        return _pg_sequences(conn, _spaces(conn, namespaces))


def _spaces(conn: sa.Connection, namespaces: Iterable[str | None]) -> dict[str, str | None]:
    """PostgreSQL schema name -> the model's namespace (None for the default one)."""
    default = conn.execute(sa.text("SELECT current_schema()")).scalar() or "public"
    return {ns or default: (None if ns in (None, default) else ns) for ns in namespaces}


def read_routines(engine: sa.Engine, namespaces: Iterable[str | None], relations: set[str]) -> Routines:
    """The routines and triggers (on the `relations` read: the model's tables and views) of `namespaces`
    (None: the default one)."""
    found = Routines()
    dialect = engine.dialect.name
    with engine.connect() as conn:
        if dialect == "postgresql":
            spaces = _spaces(conn, namespaces)
            _pg_routines(conn, spaces, found)
            _pg_triggers(conn, spaces, relations, found)
            _pg_unsupported(conn, spaces, found)
        elif dialect in ("mysql", "mariadb"):
            _mysql_routines(conn, found)
            _mysql_triggers(conn, relations, found)
        elif dialect == "sqlite":
            _sqlite_triggers(conn, relations, found)
    return found


# -- PostgreSQL -----------------------------------------------------------------------------------------------
_NOT_EXTENSION = ("NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{cls}'::regclass AND d.objid = {oid} "
                  "AND d.deptype = 'e')")


def _pg_routines(conn: sa.Connection, spaces: dict[str, str | None], found: Routines) -> None:
    rows = conn.execute(sa.text(
        "SELECT p.oid, n.nspname, p.proname, p.prokind, pg_get_function_identity_arguments(p.oid), l.lanname, "
        "  format('%I.%I', n.nspname, p.proname) "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang "
        "WHERE n.nspname = ANY(:spaces) AND " + _NOT_EXTENSION.format(cls="pg_proc", oid="p.oid") +
        " ORDER BY n.nspname, p.proname, 5"), {"spaces": list(spaces)}).all()
    for oid, nspname, proname, prokind, arguments, language, name_ref in rows:
        schema = spaces[nspname]
        name = qualified_name(schema, proname)
        kind = _KINDS.get(prokind, "function")
        if prokind == "a":
            definition = _pg_aggregate(conn, oid, name_ref, arguments)
            if definition is None:
                found.warnings.append(f"aggregate {name}({arguments}) was not recreated: it uses options beyond "
                                      f"SFUNC, STYPE, FINALFUNC and INITCOND, which dbsynth does not rebuild")
                continue
        else:
            definition = conn.execute(sa.text("SELECT pg_get_functiondef(:oid)"), {"oid": oid}).scalar_one()
        found.routines.append(Routine(name, kind, definition.strip(), name_ref, arguments, language, schema))


def _pg_aggregate(conn: sa.Connection, oid: int, name_ref: str, arguments: str) -> str | None:
    """CREATE AGGREGATE for a plain aggregate (pg_get_functiondef refuses aggregates); None for any other."""
    row = conn.execute(sa.text(
        "SELECT a.aggtransfn::regproc::text, format_type(a.aggtranstype, NULL), "
        "  nullif(a.aggfinalfn::oid, 0)::regproc::text, a.agginitval, "
        "  a.aggkind = 'n' AND a.aggcombinefn::oid = 0 AND a.aggserialfn::oid = 0 AND a.aggmtransfn::oid = 0 "
        "  AND a.aggsortop = 0 AND NOT a.aggfinalextra "
        "FROM pg_aggregate a WHERE a.aggfnoid = :oid"), {"oid": oid}).one_or_none()
    if row is None or not row[4]:
        return None
    transfn, stype, finalfn, initval, _ = row
    options = [f"SFUNC = {transfn}", f"STYPE = {stype}"]
    if finalfn:
        options.append(f"FINALFUNC = {finalfn}")
    if initval is not None:
        options.append("INITCOND = '" + initval.replace("'", "''") + "'")
    return f"CREATE AGGREGATE {name_ref}({arguments or '*'}) ({', '.join(options)})"


def _pg_triggers(conn: sa.Connection, spaces: dict[str, str | None], relations: set[str], found: Routines) -> None:
    rows = conn.execute(sa.text(
        "SELECT t.tgname, n.nspname, c.relname, pg_get_triggerdef(t.oid), format('%I.%I', n.nspname, c.relname) "
        "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND n.nspname = ANY(:spaces) AND "
        + _NOT_EXTENSION.format(cls="pg_trigger", oid="t.oid") + " ORDER BY n.nspname, c.relname, t.tgname"),
        {"spaces": list(spaces)}).all()
    for tgname, nspname, relname, definition, table_ref in rows:
        table = qualified_name(spaces[nspname], relname)
        if table in relations:
            found.triggers.append(Trigger(tgname, table, definition, table_ref))


def _pg_sequences(conn: sa.Connection, spaces: dict[str, str | None]) -> list[FreeSequence]:
    """Sequences no column owns (serial: deptype 'a', identity: 'i') and no extension owns."""
    rows = conn.execute(sa.text(
        "SELECT n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, "
        "  s.seqmax, s.seqcycle, s.seqcache "
        "FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ANY(:spaces) AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = "
        "'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i', 'e')) ORDER BY 1, 2"),
        {"spaces": list(spaces)}).all()
    return [FreeSequence(qualified_name(spaces[nspname], relname), spaces[nspname], data_type, int(start),
                         int(increment), int(minimum), int(maximum), bool(cycle), int(cache))
            for nspname, relname, data_type, start, increment, minimum, maximum, cycle, cache in rows]


def _pg_unsupported(conn: sa.Connection, spaces: dict[str, str | None], found: Routines) -> None:
    """Event triggers (database-wide) and rules: named, not recreated."""
    for (name,) in conn.execute(sa.text(
            "SELECT e.evtname FROM pg_event_trigger e WHERE "
            + _NOT_EXTENSION.format(cls="pg_event_trigger", oid="e.oid") + " ORDER BY 1")):
        found.warnings.append(f"event trigger {name} was not recreated: dbsynth does not clone event triggers")
    for nspname, view, rule in conn.execute(sa.text(   # a table's rules are recreated (schema.table_objects)
            "SELECT n.nspname, c.relname, r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.rulename <> '_RETURN' "
            "AND c.relkind NOT IN ('r', 'p') AND n.nspname = ANY(:spaces) ORDER BY 1, 2, 3"),
            {"spaces": list(spaces)}):
        found.warnings.append(f"rule {rule} on view {qualified_name(spaces[nspname], view)} was not recreated: "
                              f"dbsynth does not clone rules of views")


# -- MariaDB / MySQL ------------------------------------------------------------------------------------------
_DEFINER = re.compile(r"\s+DEFINER\s*=\s*(?:`[^`]*`|'[^']*'|[^\s@]+)(?:@(?:`[^`]*`|'[^']*'|\S+))?", re.I)


def without_definer(statement: str) -> str:
    """CREATE DEFINER=`app`@`%` TRIGGER ... -> CREATE TRIGGER ...: the target's user may not be that definer."""
    head, sep, rest = statement.partition(" ")
    return head + _DEFINER.sub("", sep + rest, count=1) if sep else statement


def _mysql_routines(conn: sa.Connection, found: Routines) -> None:
    rows = conn.execute(sa.text(
        "SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() "
        "ORDER BY ROUTINE_NAME, ROUTINE_TYPE")).all()
    for name, rtype in rows:
        kind = "procedure" if rtype.upper() == "PROCEDURE" else "function"
        quoted = conn.dialect.identifier_preparer.quote_identifier(name)
        try:
            row = conn.exec_driver_sql(f"SHOW CREATE {kind.upper()} {quoted}").one()
        except sa.exc.DBAPIError:
            row = None
        if row is None or row[2] is None:
            found.warnings.append(f"{kind} {name} was not recreated: the source user may not read its definition")
            continue
        found.routines.append(Routine(name, kind, without_definer(str(row[2]).strip()), f"`{name}`", "", "SQL"))


def _mysql_triggers(conn: sa.Connection, relations: set[str], found: Routines) -> None:
    rows = conn.execute(sa.text(
        "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS "
        "WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER, TRIGGER_NAME")).all()
    for name, table in rows:
        if table not in relations:
            continue
        quoted = conn.dialect.identifier_preparer.quote_identifier(name)
        definition = without_definer(str(conn.exec_driver_sql(f"SHOW CREATE TRIGGER {quoted}").one()[2]).strip())
        found.triggers.append(Trigger(name, table, definition, _table_ref(definition)))


# -- SQLite ---------------------------------------------------------------------------------------------------
def _sqlite_triggers(conn: sa.Connection, relations: set[str], found: Routines) -> None:
    for name, table, sql in conn.exec_driver_sql(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY tbl_name, name"):
        if table in relations and sql:
            found.triggers.append(Trigger(name, table, sql.strip(), _table_ref(sql)))


_ON_TABLE = re.compile(r"\sON\s+(`[^`]+`(?:\.`[^`]+`)?|\"[^\"]+\"(?:\.\"[^\"]+\")?|\[[^\]]+\]|[\w$.]+)\s", re.I)


def _table_ref(definition: str) -> str:
    """The text naming the table in CREATE TRIGGER ... ON <table> (the first ON after the trigger's name)."""
    match = _ON_TABLE.search(definition)
    return match.group(1) if match else ""
