"""Carry SQL written for one engine over to another: view definitions now, CHECK expressions later.

sqlglot parses the source engine's SQL into a tree and writes it in the target's
words (`a || b` becomes CONCAT on MariaDB, `x::text` a CAST, IFNULL a COALESCE).
The few rewrites it lacks for the dates dbsynth writes into SQLite (text, see the
README's type table) are made here: EXTRACT and date_trunc become strftime. Rewrites
that keep a query's *meaning* where sqlglot keeps its spelling, many of them needing
the columns' types (io/sqlscope), live in sibling modules: sqltranslate_dates
(interval arithmetic, weeks, quarters), sqltranslate_aggregates (string_agg, array_agg,
FILTER, numeric, `/`) and sqltranslate_mysql (MariaDB views on PostgreSQL). What
has no equivalent raises `UntranslatableSQL` with the reason, so a caller can name
it in a warning instead of sending the target SQL it would reject or misread.
Between engines of one family the text is returned untouched: it already runs there.
"""

from __future__ import annotations

import re
from typing import Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError, TokenError, UnsupportedError

from dbsynth.io import sqltranslate_aggregates as aggregates
from dbsynth.io import sqltranslate_dates as dates
from dbsynth.io.sqlscope import SourceTables, UntranslatableSQL, annotate_columns, rewrite_bottom_up
from dbsynth.io.sqltranslate_mysql import loose_group_by, to_postgres

# SQLAlchemy's dialect names -> sqlglot's (MariaDB speaks MySQL's SQL for what views use)
_SQLGLOT_DIALECTS = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite"}

# strftime formats giving what EXTRACT(unit FROM x) gives, on SQLite's text dates
_SQLITE_EXTRACT = {"YEAR": "%Y", "MONTH": "%m", "DAY": "%d", "HOUR": "%H", "MINUTE": "%M", "SECOND": "%S",
                   "DOW": "%w", "DOY": "%j", "EPOCH": "%s"}
# strftime formats giving what date_trunc(unit, x) gives (a timestamp at the start of the unit)
_SQLITE_TRUNC = {"YEAR": "%Y-01-01 00:00:00", "MONTH": "%Y-%m-01 00:00:00", "DAY": "%Y-%m-%d 00:00:00",
                 "HOUR": "%Y-%m-%d %H:00:00", "MINUTE": "%Y-%m-%d %H:%M:00", "SECOND": "%Y-%m-%d %H:%M:%S"}

TableMapper = Callable[[exp.Table], None]


def same_family(a: str, b: str) -> bool:
    """MySQL and MariaDB speak one SQL: text written for one runs on the other."""
    return _SQLGLOT_DIALECTS.get(a, a) == _SQLGLOT_DIALECTS.get(b, b)


def translate_sql(expr: str, source_dialect: str, target_dialect: str) -> str | None:
    """`expr` (a query or an expression such as a CHECK's) in the target's SQL; None when it cannot be."""
    try:
        return translate(expr, source_dialect, target_dialect)
    except UntranslatableSQL:
        return None


def translate(sql: str, source_dialect: str, target_dialect: str, map_table: TableMapper | None = None,
              tables: SourceTables | None = None) -> str:
    """`sql` written for `source_dialect` (SQLAlchemy's names) as the target's SQL.

    `map_table` may rename each table the SQL reads, in place (a PostgreSQL schema's
    table is `schema_table` on MariaDB and SQLite). `tables` (the source's column kinds
    and primary keys) lets the rewrites that depend on types apply: date arithmetic,
    integer division, MariaDB's loose GROUP BY. Raises UntranslatableSQL.
    """
    if same_family(source_dialect, target_dialect):
        return sql
    read, write = _sqlglot_dialect(source_dialect), _sqlglot_dialect(target_dialect)
    try:
        tree = sqlglot.parse_one(sql, read=read)
    except (ParseError, TokenError) as exc:
        raise UntranslatableSQL(f"its {source_dialect} SQL could not be parsed ({_first_line(exc)})") from exc
    if read == "postgres":
        tree = tree.transform(_drop_text_casts_of_literals)
    if read == "mysql":
        tree = tree.transform(_drop_charset_introducers)
    tree = _meaning_preserving_rewrites(tree, read, write, tables or SourceTables())
    if map_table is not None:
        _map_tables(tree, map_table)
    if write == "sqlite":
        tree = tree.transform(_sqlite_dates)
    elif write == "mysql":
        tree = tree.transform(_mysql_dates_and_decimals)
    elif read == "mysql":
        tree = tree.transform(_postgres_day_of_week)
    try:
        return tree.sql(dialect=write, identify=True, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise UntranslatableSQL(_first_line(exc)) from exc
    except SqlglotError as exc:
        raise UntranslatableSQL(f"it could not be written for {target_dialect} ({_first_line(exc)})") from exc


def _meaning_preserving_rewrites(tree: exp.Expression, read: str, write: str, tables: SourceTables) -> exp.Expression:
    """The rewrites that keep what a query computes where sqlglot keeps only its spelling (see the
    sqltranslate_* modules); they read column kinds, so they run while the source's table names stand."""
    annotate_columns(tree, tables)
    if read == "mysql" and write == "postgres":
        tree = rewrite_bottom_up(tree, lambda node: loose_group_by(node, tables))
        return rewrite_bottom_up(tree, to_postgres)
    if read == "postgres" and write == "sqlite":
        tree = rewrite_bottom_up(tree, dates.to_sqlite)
        tree = rewrite_bottom_up(tree, aggregates.to_sqlite)
    elif read == "postgres" and write == "mysql":
        tree = rewrite_bottom_up(tree, dates.to_mysql)
        tree = rewrite_bottom_up(tree, aggregates.to_mysql)
    if write in ("sqlite", "mysql"):
        _refuse_intervals(tree, write)
    return tree


def _refuse_intervals(tree: exp.Expression, write: str) -> None:
    """An interval left over (added to a value of unknown type, say a column of another view) has no
    equivalent: SQLite would take CAST('7 days' AS INTERVAL) as a number and the view would lie."""
    for node in tree.find_all(exp.Cast, exp.Interval):
        if isinstance(node, exp.Interval) and node.find_ancestor(exp.Anonymous) is not None:
            continue  # DATE_ADD(d, INTERVAL n DAY), written by the rewrites
        if isinstance(node, exp.Interval) or node.to.this == exp.DataType.Type.INTERVAL:
            where = node.parent.sql(dialect="postgres") if node.parent else node.sql(dialect="postgres")
            raise UntranslatableSQL(f"interval arithmetic ({where}) on values of unknown type has no equivalent "
                                    f"on {write}")


def function_names(sql: str, source_dialect: str, target_dialect: str) -> dict[str, str]:
    """The target's spelling of each function `sql` calls (upper case) -> the source's spelling.

    Lets a caller turn the target's "no such function: TIMESTAMP_TRUNC" back into the
    name the user wrote (date_trunc).
    """
    read, write = _sqlglot_dialect(source_dialect), _sqlglot_dialect(target_dialect)
    try:
        tree = sqlglot.parse_one(sql, read=read)
    except SqlglotError:
        return {}
    names: dict[str, str] = {}
    for func in tree.find_all(exp.Func):
        try:
            theirs, ours = func.sql(dialect=write), func.sql(dialect=read)
        except SqlglotError:
            continue
        if "(" in theirs and "(" in ours:
            ours = ours.split("(", 1)[0].strip()
            written = re.search(rf"\b{re.escape(ours)}\s*\(", sql, flags=re.I)  # as the user spelled it
            names.setdefault(theirs.split("(", 1)[0].strip().upper(), written.group(0)[:len(ours)] if written else ours)
    return names


def _map_tables(tree: exp.Expression, map_table: TableMapper) -> None:
    """Rename the tables the SQL reads (not its CTEs); column references lose any schema part.

    A renamed table keeps its old name as its alias (see the views module), so `order.id`
    still finds `sales_order`; `sales.order.id` would not, hence the schema part goes.
    """
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        if isinstance(table.this, exp.Identifier) and not (table.name in ctes and not table.db):
            map_table(table)
    for column in tree.find_all(exp.Column):
        if column.args.get("db") is not None:
            column.set("db", None)
            column.set("catalog", None)


def _sqlglot_dialect(name: str) -> str:
    try:
        return _SQLGLOT_DIALECTS[name]
    except KeyError:
        raise UntranslatableSQL(f"dbsynth does not translate SQL for {name}") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _drop_charset_introducers(node: exp.Expression) -> exp.Expression:
    """`_utf8mb3' '` -> `' '`: MariaDB writes a charset introducer before every string literal of a stored
    view (sakila's customer_list), which other engines read as a cast to an unknown type."""
    if isinstance(node, exp.Introducer) and isinstance(node.expression, exp.Literal):
        return node.expression
    return node


def _drop_text_casts_of_literals(node: exp.Expression) -> exp.Expression:
    """PostgreSQL writes 'paid'::text into every stored view; elsewhere the literal alone is the same value."""
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string \
            and node.to.this in (exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR) and not node.to.expressions:
        return node.this.copy()
    return node


def _unit(node: exp.Expression | None) -> str | None:
    """A date part's name from Var(month), 'month' or 'month'::text."""
    while isinstance(node, exp.Cast):
        node = node.this
    if isinstance(node, (exp.Var, exp.Literal, exp.Column)):
        return node.name.upper()
    return None


def _strftime(fmt: str, value: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="strftime", expressions=[exp.Literal.string(fmt), value.copy()])


def _sqlite_dates(node: exp.Expression) -> exp.Expression:
    """EXTRACT and date_trunc on SQLite's text dates, through strftime; other units have no equivalent."""
    if isinstance(node, exp.Extract):
        unit = _unit(node.this)
        if unit not in _SQLITE_EXTRACT:
            raise UntranslatableSQL(f"EXTRACT({unit or node.this.sql()} ...) has no equivalent on sqlite")
        kind = "REAL" if unit == "SECOND" else "INTEGER"
        return exp.Cast(this=_strftime(_SQLITE_EXTRACT[unit], node.expression), to=exp.DataType.build(kind))
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
        unit = _unit(node.args.get("unit"))
        if unit not in _SQLITE_TRUNC:
            raise UntranslatableSQL(f"date_trunc('{(unit or '?').lower()}', ...) has no equivalent on sqlite")
        return _strftime(_SQLITE_TRUNC[unit], node.this)
    return node


def _mysql_dates_and_decimals(node: exp.Expression) -> exp.Expression:
    """EXTRACT's PostgreSQL-only units through MySQL's functions; a bare numeric keeps its scale.

    MySQL's bare DECIMAL means DECIMAL(10,0) and would round what PostgreSQL's numeric keeps.
    """
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.DECIMAL and not node.expressions:
        return exp.DataType.build("DECIMAL(65, 30)", dialect="mysql")
    if isinstance(node, exp.Extract):
        unit, value = _unit(node.this), node.expression.copy()
        if unit == "DOW":  # DAYOFWEEK counts Sunday as 1, PostgreSQL's dow as 0
            return exp.Sub(this=exp.Anonymous(this="DAYOFWEEK", expressions=[value]), expression=exp.Literal.number(1))
        if unit == "DOY":
            return exp.Anonymous(this="DAYOFYEAR", expressions=[value])
        if unit == "EPOCH":
            return exp.Anonymous(this="UNIX_TIMESTAMP", expressions=[value])
    return node


def _postgres_day_of_week(node: exp.Expression) -> exp.Expression:
    """MySQL's DAYOFWEEK (Sunday = 1), which sqlglot leaves as DAY_OF_WEEK, as PostgreSQL's dow + 1."""
    if isinstance(node, exp.DayOfWeek):
        dow = exp.Extract(this=exp.Var(this="DOW"), expression=node.this.copy())
        return exp.Paren(this=exp.Add(this=dow, expression=exp.Literal.number(1)))
    return node
