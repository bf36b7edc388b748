"""PostgreSQL rules, row-level security and its policies: read so a PostgreSQL target gets them back.

A staging copy without the source's `ENABLE ROW LEVEL SECURITY` and policies lets every user read every
row (Supabase-style schemas rely on them); one without a rule (`ON DELETE DO INSTEAD NOTHING`) deletes what
the application expects to be kept. They are made after the load (`io.table_objects`), so none filters or
rewrites the generated rows; other engines have no such objects and get a warning per table instead.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from dbsynth.schema.model import TableObject, qualified_name

_COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}


def read_table_objects(engine: sa.Engine, namespaces: Iterable[str | None], tables: set[str]) -> list[TableObject]:
    """The rules, policies and row-security switches of `tables` (model names) in `namespaces` (PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        return []
    found: list[TableObject] = []
    with engine.connect() as conn:
        default = conn.exec_driver_sql("SELECT current_schema()").scalar()
        spaces = {n or default: n for n in namespaces}

        def model_name(namespace: str, table: str) -> str | None:
            name = qualified_name(spaces[namespace], table)
            return name if name in tables else None

        for namespace, table, forced in conn.execute(sa.text(
                "SELECT n.nspname, c.relname, c.relforcerowsecurity FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relrowsecurity AND n.nspname = ANY(:spaces) ORDER BY 1, 2"), {"spaces": list(spaces)}):
            if (name := model_name(namespace, table)) is not None:
                switch = "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"
                found.append(TableObject("row security", "", name, switch))
                if forced:
                    found.append(TableObject("row security", "", name, "ALTER TABLE {table} FORCE ROW LEVEL SECURITY"))
        for row in conn.execute(sa.text(
                "SELECT n.nspname, c.relname, p.polname, p.polpermissive, p.polcmd, "
                "  ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END "
                "        FROM unnest(p.polroles) r), "
                "  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid) "
                "FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = ANY(:spaces) ORDER BY 1, 2, 3"), {"spaces": list(spaces)}):
            namespace, table, policy, permissive, command, roles, using, check = row
            if (name := model_name(namespace, table)) is not None:
                found.append(TableObject("policy", policy, name, _policy(policy, permissive, command, roles,
                                                                         using, check)))
        for namespace, table, rule, definition, *spellings in conn.execute(sa.text(
                "SELECT n.nspname, c.relname, r.rulename, pg_get_ruledef(r.oid), format('%I.%I', n.nspname, c.relname), "
                "  c.oid::regclass::text "
                "FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE r.rulename <> '_RETURN' AND c.relkind IN ('r', 'p') AND n.nspname = ANY(:spaces) "
                "ORDER BY 1, 2, 3"), {"spaces": list(spaces)}):
            shown = next((s for s in spellings if f" TO {s} " in definition), None)   # as the rule prints it
            if (name := model_name(namespace, table)) is not None and shown is not None:
                text = _braces(definition.rstrip().rstrip(";")).replace(f" TO {_braces(shown)} ", " TO {table} ", 1)
                found.append(TableObject("rule", rule, name, text))
    return found


def _policy(name: str, permissive: bool, command: str, roles: list[str], using: str | None,
            check: str | None) -> str:
    text = (f"CREATE POLICY {_braces(_ident(name))} ON {{table}} AS {'PERMISSIVE' if permissive else 'RESTRICTIVE'} "
            f"FOR {_COMMANDS.get(command, 'ALL')} TO {_braces(', '.join(roles)) or 'PUBLIC'}")
    text += f" USING ({_braces(using)})" if using else ""
    return text + (f" WITH CHECK ({_braces(check)})" if check else "")


def _braces(sql: str) -> str:
    return sql.replace("{", "{{").replace("}", "}}")   # the definition is a str.format template: {table}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
