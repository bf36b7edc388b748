"""MariaDB/MySQL SQL made to compute the same on PostgreSQL (views read from a MariaDB source).

sqlglot writes MariaDB's functions in PostgreSQL's words; what it leaves out are
the differences in *meaning*: MariaDB's `/` gives a decimal where PostgreSQL's
integer division truncates, its CONCAT takes numbers, its LOCATE follows the
column's case-insensitive collation, its GROUP BY lets a query select columns it
does not group. Each rewrite below keeps the result MariaDB gives.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from dbsynth.io.sqlscope import TABLE, SourceTables, UntranslatableSQL, kind_of

_TEXT = exp.DataType.build("TEXT")


def to_postgres(node: exp.Expression) -> exp.Expression:
    """One node of a MariaDB tree, rewritten where PostgreSQL would compute something else."""
    for rewrite in (_group_concat_text, _unix_timestamp, _locate_ignoring_case, _substring_index,
                    _int_div_by_zero, _decimal_division, _concat_of_text):
        new = rewrite(node)
        if new is not node:
            return new
    return node


def _as_text(value: exp.Expression) -> exp.Expression:
    if isinstance(value, exp.Literal) and value.is_string or kind_of(value) == "text":
        return value
    return exp.Cast(this=value, to=_TEXT.copy())


def _group_concat_text(node: exp.Expression) -> exp.Expression:
    """GROUP_CONCAT -> string_agg, which takes text only: the value (and, under DISTINCT, the equal ORDER BY
    key PostgreSQL insists on) is cast to text. The default separator is MariaDB's ','."""
    if not isinstance(node, exp.GroupConcat):
        return node
    order = node.this if isinstance(node.this, exp.Order) else None
    holder = order if order is not None else node
    value = holder.this
    distinct = value if isinstance(value, exp.Distinct) else None
    if distinct is not None:
        if len(distinct.expressions) != 1:
            raise UntranslatableSQL("GROUP_CONCAT(DISTINCT a, b, ...) has no equivalent on postgresql")
        original = distinct.expressions[0]
        distinct.set("expressions", [_as_text(original.copy())])
        if order is not None:
            for ordered in order.expressions:
                if ordered.this == original:
                    ordered.set("this", _as_text(ordered.this.copy()))
    else:
        holder.set("this", _as_text(value.copy()))
    if node.args.get("separator") is None:
        node.set("separator", exp.Literal.string(","))
    return node


def _unix_timestamp(node: exp.Expression) -> exp.Expression:
    """UNIX_TIMESTAMP(d) -> EXTRACT(EPOCH FROM d). PostgreSQL reads a timestamp without time zone as UTC,
    MariaDB in its session time zone: equal where that is UTC. Without argument: the current second."""
    if not (isinstance(node, exp.Anonymous) and node.name.upper() == "UNIX_TIMESTAMP"):
        return node
    if not node.expressions:
        now = exp.Extract(this=exp.Var(this="EPOCH"), expression=exp.CurrentTimestamp())
        return exp.Cast(this=exp.Floor(this=now), to=exp.DataType.build("BIGINT"))
    if len(node.expressions) != 1:
        raise UntranslatableSQL("UNIX_TIMESTAMP with more than one argument has no equivalent on postgresql")
    return exp.Extract(this=exp.Var(this="EPOCH"), expression=node.expressions[0].copy())


def _locate_ignoring_case(node: exp.Expression) -> exp.Expression:
    """LOCATE / INSTR -> POSITION on lower-cased text: MariaDB's default collations (*_ci) ignore case
    when searching, PostgreSQL's POSITION does not."""
    if not isinstance(node, exp.StrPosition) or node.args.get("position") is not None:
        return node
    return exp.StrPosition(this=exp.Lower(this=node.this.copy()), substr=exp.Lower(this=node.args["substr"].copy()))


_SUBSTRING_INDEX_HEAD = "ARRAY_TO_STRING((STRING_TO_ARRAY(s__, d__))[1:{n}], d__)"
_SUBSTRING_INDEX_TAIL = ("ARRAY_TO_STRING((STRING_TO_ARRAY(s__, d__))"
                         "[GREATEST(CARDINALITY(STRING_TO_ARRAY(s__, d__)) - {n} + 1, 1):"
                         "CARDINALITY(STRING_TO_ARRAY(s__, d__))], d__)")


def _substring_index(node: exp.Expression) -> exp.Expression:
    """SUBSTRING_INDEX(s, d, n): split_part for n = 1 or -1 (PostgreSQL 14+), else the first (or last) n
    pieces of string_to_array joined again. n must be a constant."""
    if not isinstance(node, exp.SubstringIndex):
        return node
    count = node.args.get("count")
    if isinstance(count, exp.Neg) and isinstance(count.this, exp.Literal):
        n = -int(count.this.name)
    elif isinstance(count, exp.Literal) and not count.is_string:
        n = int(count.name)
    else:
        raise UntranslatableSQL("SUBSTRING_INDEX with a count that is not a constant has no equivalent on postgresql")
    text, delimiter = node.this.copy(), node.args["delimiter"].copy()
    if n == 0:
        return exp.Literal.string("")
    if abs(n) == 1:
        return exp.Anonymous(this="SPLIT_PART", expressions=[text, delimiter, exp.Literal.number(n)])
    template = (_SUBSTRING_INDEX_HEAD if n > 0 else _SUBSTRING_INDEX_TAIL).format(n=abs(n))
    tree = sqlglot.parse_one(template, read="postgres")
    for column in list(tree.find_all(exp.Column)):
        if column.name in ("s__", "d__"):
            column.replace((text if column.name == "s__" else delimiter).copy())
    return tree


def _int_div_by_zero(node: exp.Expression) -> exp.Expression:
    """a DIV b -> DIV(a, NULLIF(b, 0)): MariaDB gives NULL for a zero divisor, PostgreSQL an error that
    would break every read of the view."""
    if isinstance(node, exp.IntDiv) and not isinstance(node.expression, exp.Nullif):
        node.set("expression", exp.Nullif(this=node.expression.copy(), expression=exp.Literal.number(0)))
    return node


def _decimal_division(node: exp.Expression) -> exp.Expression:
    """MariaDB's `/` of integers (or decimals) gives a decimal (7 / 2 = 3.5000); PostgreSQL's integer `/`
    truncates (3). The dividend becomes numeric, so the quotient keeps its decimals; a float stays a
    float (sqlglot's cast to double precision). The divisor gets NULLIF(b, 0) from sqlglot: NULL, not an error."""
    if not isinstance(node, exp.Div) or node.args.get("typed"):
        return node
    if "float" in (kind_of(node.this), kind_of(node.expression)):
        return node
    node.set("this", exp.Cast(this=node.this.copy(), to=exp.DataType.build("NUMERIC")))
    node.set("typed", True)
    return node


def _concat_of_text(node: exp.Expression) -> exp.Expression:
    """CONCAT(a, b) -> a || b keeps MariaDB's NULL when any part is NULL (PostgreSQL's CONCAT would skip it),
    but `||` wants text: numbers and dates are cast to text first."""
    if isinstance(node, exp.Concat) and not node.args.get("coalesce"):
        node.set("expressions", [_as_text(e.copy()) for e in node.expressions])
    return node


def loose_group_by(select: exp.Expression, tables: SourceTables) -> exp.Expression:
    """MariaDB's loose GROUP BY on PostgreSQL: a selected (or HAVING, ORDER BY) column that is neither grouped
    nor inside an aggregate becomes MIN(column), unless its table's primary key is grouped (PostgreSQL accepts those as
    they are: the value is functionally dependent, sakila's film_list).

    MIN() and not a longer GROUP BY: adding the column to GROUP BY would split the groups and change
    every count and sum of the view; MIN keeps one row per group and returns one of the values the
    group holds, as MariaDB does (which one MariaDB returns is unspecified).
    """
    if not isinstance(select, exp.Select) or select.args.get("group") is None:
        return select
    group = select.args["group"].expressions
    if any(isinstance(g, exp.Literal) for g in group):  # GROUP BY 1: positions, not rewritten
        return select
    grouped_sql = {g.sql().lower() for g in group}
    grouped: dict[str, set[str]] = {}
    for g in group:
        if isinstance(g, exp.Column):
            grouped.setdefault(g.table.lower(), set()).add(g.name.lower())

    def settled(column: exp.Column) -> bool:
        names = grouped.get(column.table.lower(), set())
        if column.name.lower() in names:
            return True
        key = column.meta.get(TABLE)
        primary_key = tables.primary_keys.get(key, ()) if key else ()
        return bool(primary_key) and set(primary_key) <= names

    def loose(node: exp.Expression) -> list[exp.Column]:  # this SELECT's columns outside any aggregate
        return [c for c in node.find_all(exp.Column) if c.find_ancestor(exp.AggFunc, exp.Select) is select]

    def settle(value: exp.Expression, whole: bool = True) -> None:
        if value.sql().lower() in grouped_sql or isinstance(value, exp.Star):
            return
        unsettled = [c for c in loose(value) if not settled(c)]
        if unsettled and whole and value.find(exp.AggFunc) is None:  # one row's value, not a mix of rows
            value.replace(exp.Min(this=value.copy()))
        else:
            for column in unsettled:
                column.replace(exp.Min(this=column.copy()))

    outputs = {p.alias.lower() for p in select.expressions if isinstance(p, exp.Alias)}
    for projection in select.expressions:
        settle(projection.this if isinstance(projection, exp.Alias) else projection)
    # HAVING and ORDER BY may name loose columns too (sakila's sales_by_store orders by country, city),
    # or an output by its alias, which stays as it is
    later = [select.args["having"].this] if select.args.get("having") else []
    later += [o.this for o in select.args["order"].expressions] if select.args.get("order") else []
    for value in later:
        if isinstance(value, exp.Column) and not value.table and value.name.lower() in outputs:
            continue
        settle(value, whole=False)   # MIN(a > 0) would be a MIN of booleans: PostgreSQL has none
    _keep_output_names(select)
    return select


def _keep_output_names(select: exp.Select) -> None:
    """MIN(f.title) would be named "min" on PostgreSQL: a wrapped bare column keeps its own name."""
    for i, projection in enumerate(select.expressions):
        if isinstance(projection, exp.Min) and isinstance(projection.this, exp.Column):
            select.expressions[i].replace(exp.alias_(projection.copy(), projection.this.name, quoted=True))
