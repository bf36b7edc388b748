"""PostgreSQL's aggregates and numbers on SQLite and MariaDB: string_agg, array_agg, FILTER, numeric, `/`.

sqlglot writes string_agg as GROUP_CONCAT and keeps FILTER and ORDER BY inside
aggregates, which the targets take only from some version on (SQLite: FILTER from
3.30, ORDER BY inside an aggregate from 3.44; MariaDB: no FILTER). An array becomes
a JSON array on both (json_group_array, JSON_ARRAYAGG): the closest value each has.
SQLite's own version is the Python sqlite3 library's, so it is known here.
"""

from __future__ import annotations

import sqlite3

from sqlglot import exp

from dbsynth.io.sqlscope import UntranslatableSQL, kind_of, with_kind

SQLITE_VERSION: tuple[int, ...] = sqlite3.sqlite_version_info
_SQLITE_FILTER = (3, 30, 0)          # aggregate FILTER (WHERE ...)
_SQLITE_ORDERED_AGGREGATE = (3, 44, 0)  # ORDER BY inside an aggregate's parentheses


def to_sqlite(node: exp.Expression, version: tuple[int, ...] = SQLITE_VERSION) -> exp.Expression:
    """One node of a PostgreSQL tree, rewritten for SQLite `version`."""
    if isinstance(node, (exp.GroupConcat, exp.ArrayAgg)) and isinstance(node.this, exp.Order) \
            and version < _SQLITE_ORDERED_AGGREGATE:
        name = "string_agg" if isinstance(node, exp.GroupConcat) else "array_agg"
        raise UntranslatableSQL(f"{name}(... ORDER BY ...) needs SQLite 3.44 (this one is "
                                f"{'.'.join(map(str, version))})")
    if isinstance(node, exp.GroupConcat):
        separator = node.args.get("separator")
        if isinstance(node.this, exp.Distinct) and not (isinstance(separator, exp.Literal) and separator.name == ","):
            raise UntranslatableSQL("string_agg(DISTINCT ...) with a separator other than ',' has no equivalent "
                                    "on sqlite")
        if isinstance(node.this, exp.Distinct):
            node.set("separator", None)   # SQLite's DISTINCT aggregates take one argument; ',' is its default
        return node
    if isinstance(node, exp.ArrayAgg):
        return exp.Anonymous(this="json_group_array", expressions=[node.this.copy()])
    if isinstance(node, exp.Filter) and version < _SQLITE_FILTER:
        return filter_as_case(node)
    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DECIMAL:
        return _sqlite_rounded_numeric(node)
    return node


def to_mysql(node: exp.Expression) -> exp.Expression:
    """One node of a PostgreSQL tree, rewritten for MariaDB."""
    if isinstance(node, exp.Filter):
        return filter_as_case(node)
    if isinstance(node, exp.ArrayAgg):
        return exp.Anonymous(this="JSON_ARRAYAGG", expressions=[node.this.copy()])
    if isinstance(node, exp.Cast) and node.to.this in (exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR) \
            and not node.to.expressions and kind_of(node.this) == "text":
        # PostgreSQL stores `channel::text` for every varchar it compares; MariaDB's CAST(... AS CHAR) would
        # take the connection's case-insensitive collation, so DISTINCT, = and GROUP BY would merge 'Web'
        # and 'web' that the column's own utf8mb4_bin keeps apart
        return node.this.copy()
    if isinstance(node, exp.Div) and kind_of(node.this) == kind_of(node.expression) == "integer":
        # PostgreSQL's integer / integer truncates (7 / 2 = 3); MariaDB's `/` would give 3.5000
        return with_kind(exp.IntDiv(this=node.this.copy(), expression=node.expression.copy()), "integer")
    return node


def filter_as_case(node: exp.Filter) -> exp.Expression:
    """agg(x) FILTER (WHERE c) -> agg(CASE WHEN c THEN x END): the aggregates skip NULLs, so only the rows
    meeting c count; count(*) counts CASE WHEN c THEN 1 END."""
    aggregate, condition = node.this.copy(), node.expression.this.copy()
    holder = aggregate.this if isinstance(aggregate.this, exp.Order) else aggregate
    value = holder.this
    if isinstance(value, exp.Distinct) and len(value.expressions) == 1:
        value.set("expressions", [_case(condition, value.expressions[0].copy())])
    elif isinstance(value, exp.Star):
        holder.set("this", _case(condition, exp.Literal.number(1)))
    elif isinstance(value, exp.Expression) and not isinstance(value, exp.Distinct) and not aggregate.expressions:
        holder.set("this", _case(condition, value.copy()))
    else:
        raise UntranslatableSQL(f"{node.this.sql(dialect='postgres')} FILTER (...) has no equivalent")
    return aggregate


def _case(condition: exp.Expression, value: exp.Expression) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=condition, true=value)])


def _sqlite_rounded_numeric(node: exp.Cast) -> exp.Expression:
    """x::numeric(10, 2) rounds to 2 decimals on PostgreSQL: ROUND(CAST(x AS REAL), 2) on SQLite (a bare
    ::numeric stays CAST(x AS REAL), keeping the decimals)."""
    scale = node.to.expressions[1] if len(node.to.expressions) > 1 else None
    if scale is None:
        return node
    value = scale.this if isinstance(scale, exp.DataTypeParam) else scale
    real = exp.Cast(this=node.this.copy(), to=exp.DataType.build("REAL"))
    return with_kind(exp.Round(this=real, decimals=exp.Literal.number(int(value.name))), "decimal")
