"""What a query's expressions are: the kind of value each gives, and which table a column comes from.

Translating between engines sometimes depends on types the SQL text does not show:
PostgreSQL's `a - b` is a day count for dates but an interval for timestamps, its
`a / b` truncates only for integers, and MariaDB's loose GROUP BY is fine in
PostgreSQL only for columns of a table whose primary key is grouped. The schema
model knows the columns; this module carries that knowledge to the SQL tree.
Kinds are the schema model's (`integer`, `decimal`, `date`, `datetime`, `interval`, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sqlglot import exp

KIND = "dbsynth_kind"     # meta key: the kind of value a node gives
TABLE = "dbsynth_table"   # meta key: the table (SourceTables key) a column belongs to

_NUMERIC = ("integer", "decimal", "float")
_TYPE_KINDS: dict[str, tuple[exp.DataType.Type, ...]] = {
    "integer": (exp.DataType.Type.INT, exp.DataType.Type.BIGINT, exp.DataType.Type.SMALLINT,
                exp.DataType.Type.TINYINT),
    "decimal": (exp.DataType.Type.DECIMAL,),
    "float": (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT),
    "date": (exp.DataType.Type.DATE,),
    "datetime": (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.DATETIME,
                 exp.DataType.Type.TIMESTAMPLTZ),
    "interval": (exp.DataType.Type.INTERVAL,),
    "text": (exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR),
}


class UntranslatableSQL(Exception):
    """The SQL has no equivalent on the target engine; `reason` says why, in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SourceTables:
    """The source's tables as a query names them (lower case; `schema.table` too): column kinds, primary keys."""

    columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    primary_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, tables: Iterable[tuple[str, str | None, Mapping[str, str], tuple[str, ...]]]) -> SourceTables:
        """From (name, schema, {column: kind}, primary key) per table; each is found by local and qualified name."""
        columns: dict[str, dict[str, str]] = {}
        keys: dict[str, tuple[str, ...]] = {}
        for name, schema, kinds, key in tables:
            local = name[len(schema) + 1:] if schema and name.startswith(f"{schema}.") else name
            for alias in dict.fromkeys((name.lower(), local.lower())):
                columns.setdefault(alias, {c.lower(): k for c, k in kinds.items()})
                keys.setdefault(alias, tuple(c.lower() for c in key))
        return cls(columns, keys)

    def key_of(self, table: exp.Table) -> str | None:
        for wanted in (f"{table.db}.{table.name}".lower() if table.db else None, table.name.lower()):
            if wanted and wanted in self.columns:
                return wanted
        return None


def annotate_columns(tree: exp.Expression, tables: SourceTables) -> None:
    """Mark each column with its table and kind, resolved through the aliases of its own SELECT."""
    for column in tree.find_all(exp.Column):
        select = column.find_ancestor(exp.Select)
        if select is None:
            continue
        sources = _sources(select, tables)
        qualifier = column.table.lower()
        if qualifier:
            candidates = [sources[qualifier]] if qualifier in sources else []
        else:
            candidates = [k for k in sources.values() if column.name.lower() in tables.columns[k]]
        if len(candidates) == 1:
            column.meta[TABLE] = candidates[0]
            kind = tables.columns[candidates[0]].get(column.name.lower())
            if kind:
                column.meta[KIND] = kind


def _sources(select: exp.Select, tables: SourceTables) -> dict[str, str]:
    """alias (or table name) -> SourceTables key, for the tables in this SELECT's FROM and JOINs."""
    found: dict[str, str] = {}
    from_ = select.args.get("from") or select.args.get("from_")
    items = [from_.this] if from_ is not None else []
    items += [j.this for j in select.args.get("joins") or []]
    while items:
        item = items.pop()
        if isinstance(item, (exp.Paren, exp.Subquery)) and not isinstance(item.this, (exp.Select, exp.SetOperation)):
            items.append(item.this)   # MariaDB writes ((a JOIN b) JOIN c)
            items += [j.this for j in item.args.get("joins") or []]
            continue
        if isinstance(item, exp.Table):
            items += [j.this for j in item.args.get("joins") or []]
            key = tables.key_of(item)
            if key is not None:
                found[(item.alias or item.name).lower()] = key
    return found


def kind_of(node: exp.Expression | None) -> str | None:
    """The kind of value `node` gives (PostgreSQL's rules), or None when it cannot be told."""
    if node is None:
        return None
    if KIND in node.meta:
        return node.meta[KIND]
    if isinstance(node, (exp.Paren, exp.Alias)):
        return kind_of(node.this)
    if isinstance(node, exp.Literal):
        return None if node.is_string else ("decimal" if "." in node.name or "e" in node.name.lower() else "integer")
    if isinstance(node, exp.Cast):
        return next((k for k, types in _TYPE_KINDS.items() if node.to.this in types), None)
    if isinstance(node, exp.Interval):
        return "interval"
    if isinstance(node, exp.CurrentDate):
        return "date"
    if isinstance(node, (exp.CurrentTimestamp, exp.Localtimestamp, exp.DateTrunc, exp.TimestampTrunc)):
        return "datetime"
    if isinstance(node, (exp.Count,)):
        return "integer"
    if isinstance(node, (exp.Min, exp.Max, exp.Sum, exp.Coalesce)):
        return kind_of(node.this)
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)):
        return _arithmetic_kind(node)
    return None


_ARITHMETIC: dict[tuple[str, str, str], str] = {
    ("+", "date", "interval"): "datetime", ("+", "interval", "date"): "datetime",
    ("-", "date", "interval"): "datetime", ("+", "datetime", "interval"): "datetime",
    ("+", "interval", "datetime"): "datetime", ("-", "datetime", "interval"): "datetime",
    ("+", "date", "integer"): "date", ("+", "integer", "date"): "date", ("-", "date", "integer"): "date",
    ("-", "date", "date"): "integer", ("-", "datetime", "datetime"): "interval",
    ("-", "datetime", "date"): "interval", ("-", "date", "datetime"): "interval",
    ("+", "interval", "interval"): "interval", ("-", "interval", "interval"): "interval",
}


def _arithmetic_kind(node: exp.Binary) -> str | None:
    op = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%"}[type(node)]
    left, right = kind_of(node.this), kind_of(node.expression)
    if left is None or right is None:
        return None
    if (op, left, right) in _ARITHMETIC:
        return _ARITHMETIC[(op, left, right)]
    if left in _NUMERIC and right in _NUMERIC:
        return max(left, right, key=_NUMERIC.index)   # integer < decimal < float
    return None


def rewrite_bottom_up(tree: exp.Expression, rewrite: Callable[[exp.Expression], exp.Expression]) -> exp.Expression:
    """Apply `rewrite` to every node, children before parents, so a rewrite sees its operands rewritten
    (sqlglot's transform goes top down and skips what it has replaced)."""
    root = tree
    for node in reversed(list(tree.dfs())):
        new = rewrite(node)
        if new is not node:
            if node is root:
                root = new
            else:
                node.replace(new)
    return root


def with_kind(node: exp.Expression, kind: str | None) -> exp.Expression:
    """`node`, marked as giving `kind` (a rewritten expression keeps what it computes)."""
    if kind:
        node.meta[KIND] = kind
    return node
