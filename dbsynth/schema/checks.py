"""CHECK constraints read into a small expression tree: evaluated on sampled rows, rendered for any engine.

Engines hand CHECKs back as SQL text in their own spelling (PostgreSQL adds
casts and turns IN into ``= ANY (ARRAY[...])``). We read the common forms:
comparisons, arithmetic, AND/OR/NOT, IS [NOT] NULL, [NOT] BETWEEN, [NOT] IN,
``= ANY``/``<> ALL`` over arrays, casts, and a few functions (length, lower,
upper, abs). That covers what schemas usually say (ranges, label lists,
``end > start``), lets sampling repair rows that break them, and lets the DDL
stage write them for another engine. Anything else is `None` from
:func:`parse_check`, and the caller names the constraint in a warning.

Evaluation follows SQL: a CHECK fails only when its expression is FALSE; NULL
(unknown) passes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import operator
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa

Node = tuple[Any, ...]

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)
  | (?P<str>[eE]?'(?:[^']|'')*')
  | (?P<qid>"(?:[^"]|"")*"|`(?:[^`]|``)*`)
  | (?P<op>::|<=|>=|<>|!=|==|=|<|>|\(|\)|,|\+|-|\*|/|%|\[|\])
  | (?P<word>[^\W\d][\w$]*)
""", re.VERBOSE | re.UNICODE)

_KEYWORDS = {"and", "or", "not", "is", "null", "between", "in", "true", "false", "any", "all", "array",
             "cast", "as", "some"}
_TYPE_WORDS = {"varying", "precision", "without", "with", "time", "zone"}
_FUNCTIONS = {"length", "char_length", "character_length", "lower", "upper", "abs"}
_COMPARE = {"=", "==", "<>", "!=", "<", "<=", ">", ">="}


class _Unreadable(Exception):
    pass


@dataclass(frozen=True)
class ParsedCheck:
    tree: Node
    columns: tuple[str, ...]


def parse_check(sqltext: str, column_names: tuple[str, ...] | list[str]) -> ParsedCheck | None:
    """The CHECK as a tree over `column_names`, or None when it uses forms we do not read."""
    try:
        tokens = _tokenize(sqltext)
        parser = _Parser(tokens, tuple(column_names))
        tree = parser.expression()
        if parser.pos != len(tokens):
            raise _Unreadable(tokens[parser.pos][1])
    except (_Unreadable, IndexError, ValueError, decimal.InvalidOperation):
        return None
    return ParsedCheck(tree, tuple(dict.fromkeys(_columns(tree))))


def mentioned_columns(sqltext: str, column_names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Columns a CHECK we cannot parse names (outside string literals and quoted names' insides).

    Characters the tokenizer does not know (``~``, ``||``) are stepped over.
    Quoted names match exactly, bare words case-insensitively; a function sharing
    a column's name adds that column too, which only widens what a repair copies.
    """
    tokens, pos = [], 0
    while pos < len(sqltext):
        match = _TOKEN.match(sqltext, pos)
        if match is None:
            pos += 1
            continue
        tokens.append((match.lastgroup or "", match.group()))
        pos = match.end()
    lower = {c.lower(): c for c in column_names}
    found: list[str] = []
    for kind, text in tokens:
        if kind == "qid":
            name = text[1:-1].replace(text[0] * 2, text[0])
            name = name if name in column_names else lower.get(name.lower(), "")
        elif kind == "word":
            name = text if text in column_names else lower.get(text.lower(), "")
        else:
            continue
        if name and name not in found:
            found.append(name)
    return tuple(found)


def _tokenize(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise _Unreadable(text[pos:])
        pos = match.end()
        kind = match.lastgroup or ""
        if kind != "ws":
            out.append((kind, match.group()))
    return out


class _Parser:
    """Recursive descent, lowest precedence first: OR, AND, NOT, predicates, + -, * /, factors."""

    def __init__(self, tokens: list[tuple[str, str]], columns: tuple[str, ...]) -> None:
        self.tokens, self.pos, self.columns = tokens, 0, columns
        self.lower = {c.lower(): c for c in columns}

    def peek(self, offset: int = 0) -> tuple[str, str]:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else ("end", "")

    def is_word(self, *words: str, offset: int = 0) -> bool:
        kind, text = self.peek(offset)
        return kind == "word" and text.lower() in words

    def take(self, text: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok[0] == "end" or (text is not None and tok[1].lower() != text):
            raise _Unreadable(f"expected {text}, found {tok[1]!r}")
        self.pos += 1
        return tok

    def expression(self) -> Node:
        items = [self.conjunction()]
        while self.is_word("or"):
            self.take()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else ("or", items)

    def conjunction(self) -> Node:
        items = [self.negation()]
        while self.is_word("and"):
            self.take()
            items.append(self.negation())
        return items[0] if len(items) == 1 else ("and", items)

    def negation(self) -> Node:
        if self.is_word("not"):
            self.take()
            return ("not", self.negation())
        return self.predicate()

    def predicate(self) -> Node:
        left = self.sum()
        kind, text = self.peek()
        if kind == "op" and text in _COMPARE:
            self.take()
            op = {"==": "=", "!=": "<>"}.get(text, text)
            if self.is_word("any", "some", "all"):
                quantifier = self.take()[1].lower()
                values = self.parenthesised_array()
                if op == "=" and quantifier != "all":
                    return ("in", left, values, False)
                if op == "<>" and quantifier == "all":
                    return ("in", left, values, True)
                raise _Unreadable(f"{op} {quantifier}")
            return ("cmp", op, left, self.sum())
        if self.is_word("is"):
            self.take()
            negated = self.is_word("not")
            if negated:
                self.take()
            self.take("null")
            return ("isnull", left, negated)
        negated = self.is_word("not") and self.is_word("between", "in", offset=1)
        if negated:
            self.take()
        if self.is_word("between"):
            self.take()
            low = self.sum()
            self.take("and")
            return ("between", left, low, self.sum(), negated)
        if self.is_word("in"):
            self.take()
            self.take("(")
            values = [self.constant_value()]
            while self.peek()[1] == ",":
                self.take()
                values.append(self.constant_value())
            self.take(")")
            return ("in", left, values, negated)
        return left

    def parenthesised_array(self) -> list[Any]:
        self.take("(")
        values = self.array_literal()
        self.cast_suffix()
        self.take(")")
        return values

    def array_literal(self) -> list[Any]:
        self.take("array")
        self.take("[")
        values = [self.constant_value()]
        while self.peek()[1] == ",":
            self.take()
            values.append(self.constant_value())
        self.take("]")
        return values

    def constant_value(self) -> Any:
        node = self.sum()
        if node[0] != "const":
            raise _Unreadable("a list of constants was expected")
        return node[1]

    def sum(self) -> Node:
        node = self.product()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            node = ("arith", op, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.peek()[1] in ("*", "/", "%"):
            op = self.take()[1]
            node = ("arith", op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek()[1] == "-":
            self.take()
            inner = self.unary()
            return ("const", -inner[1]) if inner[0] == "const" and inner[1] is not None else ("neg", inner)
        if self.peek()[1] == "+":
            self.take()
            return self.unary()
        return self.cast_suffix(self.factor())

    def cast_suffix(self, node: Node | None = None) -> Node:
        while self.peek()[1] == "::":
            self.take()
            type_name = self.type_name()
            node = _cast(node, type_name) if node is not None else None
        return node if node is not None else ("const", None)

    def type_name(self) -> str:
        words = [self.take()[1].lower()]
        while self.peek()[0] == "word" and self.peek()[1].lower() in _TYPE_WORDS:
            words.append(self.take()[1].lower())
        if self.peek()[1] == "(":
            self.take()
            while self.peek()[1] != ")":
                self.take()
            self.take(")")
        while self.peek()[1] == "[" and self.peek(1)[1] == "]":
            self.take()
            self.take()
            words.append("[]")
        return " ".join(words)

    def factor(self) -> Node:
        kind, text = self.peek()
        if text == "(":
            self.take()
            node = self.expression()
            self.take(")")
            return node
        if kind == "num":
            self.take()
            return ("const", decimal.Decimal(text) if any(ch in text for ch in ".eE") else int(text))
        if kind == "str":
            self.take()
            if text[0] in "eE":
                raise _Unreadable("escape string")
            return ("const", text[1:-1].replace("''", "'"))
        if kind == "qid":
            self.take()
            name = text[1:-1].replace(text[0] * 2, text[0])
            return ("col", self.column(name, quoted=True))
        if kind == "word":
            word = text.lower()
            if word in ("true", "false"):
                self.take()
                return ("const", word == "true")
            if word == "null":
                self.take()
                return ("const", None)
            if word == "array":
                return ("const", tuple(self.array_literal()))
            if word == "cast":
                self.take()
                self.take("(")
                inner = self.expression()
                self.take("as")
                node = _cast(inner, self.type_name())
                self.take(")")
                return node
            if word in _FUNCTIONS and self.peek(1)[1] == "(":
                self.take()
                self.take("(")
                arg = self.expression()
                self.take(")")
                return ("func", {"char_length": "length", "character_length": "length"}.get(word, word), arg)
            if word in _KEYWORDS:
                raise _Unreadable(text)
            self.take()
            return ("col", self.column(text, quoted=False))
        raise _Unreadable(text)

    def column(self, name: str, quoted: bool) -> str:
        if name in self.columns:
            return name
        if name.lower() in self.lower:  # unquoted names fold case (SQLite and MySQL: always)
            return self.lower[name.lower()]
        raise _Unreadable(f"unknown column {name}")


def _cast(node: Node | None, type_name: str) -> Node:
    """Casts are dropped, except that a constant text cast to a date or time becomes one."""
    if node is None:
        raise _Unreadable("cast of nothing")
    if node[0] == "const" and isinstance(node[1], str):
        if type_name in ("date",):
            return ("const", dt.date.fromisoformat(node[1]))
        if type_name.startswith("timestamp"):
            return ("const", pd.Timestamp(node[1]))
        if type_name in ("numeric", "integer", "bigint", "smallint", "real", "double precision", "int"):
            return ("const", decimal.Decimal(node[1]))
    return node


def _columns(node: Any) -> list[str]:
    if isinstance(node, tuple) and node and node[0] == "col":
        return [node[1]]
    out: list[str] = []
    if isinstance(node, (tuple, list)):
        for item in node:
            out += _columns(item)
    return out


# -- evaluation ---------------------------------------------------------------------------------

Value = tuple[pd.Series, np.ndarray]   # values (undefined where null) and the null mask


def passes(check: ParsedCheck, frame: pd.DataFrame) -> np.ndarray:
    """Per row: the CHECK does not fail (TRUE or unknown)."""
    values, null = _eval(check.tree, frame)
    truth = values.fillna(False).astype(bool).to_numpy() if len(values) else np.zeros(0, dtype=bool)
    return null | truth


def _eval(node: Node, frame: pd.DataFrame) -> Value:
    n = len(frame)
    kind = node[0]
    if kind == "col":
        return _operand(frame[node[1]].reset_index(drop=True))
    if kind == "const":
        value = node[1]
        if value is None:
            return pd.Series([None] * n, dtype=object), np.ones(n, dtype=bool)
        if isinstance(value, decimal.Decimal):
            value = float(value)
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            value = pd.Timestamp(value)
        return pd.Series([value] * n, dtype=object if isinstance(value, (str, tuple)) else None), np.zeros(n, bool)
    if kind == "neg":
        values, null = _eval(node[1], frame)
        return -_numeric(values), null
    if kind == "func":
        values, null = _eval(node[2], frame)
        fn: Callable[[Any], Any] = {"length": len, "lower": str.lower, "upper": str.upper, "abs": abs}[node[1]]
        filled = values.where(~null, "" if node[1] != "abs" else 0)
        return filled.map(lambda v: fn(str(v)) if node[1] != "abs" else abs(v)), null
    if kind == "arith":
        (a, na), (b, nb) = _eval(node[2], frame), _eval(node[3], frame)
        op = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
              "%": operator.mod}[node[1]]
        a, b = _aligned(a, b)
        with np.errstate(all="ignore"):
            return op(a, b), na | nb
    if kind == "cmp":
        (a, na), (b, nb) = _eval(node[2], frame), _eval(node[3], frame)
        a, b = _aligned(a, b)
        null = na | nb
        op = {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
              ">=": operator.ge}[node[1]]
        result = np.zeros(n, dtype=bool)
        if (~null).any():
            result[~null] = np.asarray(op(a[~null], b[~null]), dtype=bool)
        return pd.Series(result), null
    if kind == "isnull":
        _, null = _eval(node[1], frame)
        return pd.Series(~null if node[2] else null), np.zeros(n, dtype=bool)
    if kind == "between":
        _, x, low, high, negated = node
        tree: Node = ("and", [("cmp", ">=", x, low), ("cmp", "<=", x, high)])
        return _eval(("not", tree) if negated else tree, frame)
    if kind == "in":
        values, null = _eval(node[1], frame)
        wanted = [float(v) if isinstance(v, decimal.Decimal) else v for v in node[2]]
        member = values.isin(wanted).to_numpy()
        return pd.Series(~member if node[3] else member), null
    if kind == "not":
        values, null = _eval(node[1], frame)
        return pd.Series(~values.fillna(False).astype(bool).to_numpy()), null
    if kind in ("and", "or"):
        parts = [_eval(item, frame) for item in node[1]]
        truth = [v.fillna(False).astype(bool).to_numpy() & ~m for v, m in parts]
        false = [~v.fillna(False).astype(bool).to_numpy() & ~m for v, m in parts]
        if kind == "and":
            is_false = np.logical_or.reduce(false)
            is_true = np.logical_and.reduce(truth)
            return pd.Series(is_true), ~is_false & ~is_true
        is_true = np.logical_or.reduce(truth)
        is_false = np.logical_and.reduce(false)
        return pd.Series(is_true), ~is_true & ~is_false
    raise _Unreadable(kind)


def _operand(series: pd.Series) -> Value:
    """A column's values in a comparable form: numbers as floats, dates and times as Timestamps."""
    null = series.isna().to_numpy(dtype=bool)
    present = series[~null]
    if present.empty:
        return series, null
    first = present.iloc[0]
    if isinstance(first, (dt.date, pd.Timestamp, np.datetime64)) or pd.api.types.is_datetime64_any_dtype(series):
        converted = pd.to_datetime(series, errors="coerce", utc=_aware(present))
        if _aware(present):
            converted = converted.dt.tz_localize(None)
        return converted, null
    if isinstance(first, (int, float, decimal.Decimal, np.number)) and not isinstance(first, bool):
        return pd.to_numeric(series, errors="coerce").astype("float64"), null
    return series, null


def _aware(values: pd.Series) -> bool:
    first = values.iloc[0]
    return getattr(first, "tzinfo", None) is not None or getattr(getattr(values, "dt", None), "tz", None) is not None


def _numeric(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce")


def _aligned(a: pd.Series, b: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Bring a date column and a constant (or another column) to one representation."""
    a_time, b_time = _is_time(a), _is_time(b)
    if a_time and not b_time:
        b = pd.to_datetime(b, errors="coerce")
    elif b_time and not a_time:
        a = pd.to_datetime(a, errors="coerce")
    return _naive_utc(a), _naive_utc(b)


def _naive_utc(s: pd.Series) -> pd.Series:
    """Aware times as naive UTC, like `_operand` reads timestamptz columns: pandas cannot compare the two kinds
    (a partition bound `'2022-01-01 00:00:00+00'::timestamptz` against a column's values)."""
    if pd.api.types.is_datetime64_any_dtype(s) and getattr(s.dt, "tz", None) is not None:
        return s.dt.tz_convert("UTC").dt.tz_localize(None)
    if s.dtype == object and len(s) > 0 and isinstance(s.iloc[0], (pd.Timestamp, dt.datetime)) \
            and getattr(s.iloc[0], "tzinfo", None) is not None:
        return pd.to_datetime(s, errors="coerce", utc=True).dt.tz_localize(None)
    return s


def _is_time(s: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(s) or (
        s.dtype == object and len(s) > 0 and isinstance(s.iloc[0], (pd.Timestamp, dt.datetime)))


# -- rendering for another engine ---------------------------------------------------------------

def to_sql(check: ParsedCheck, table: sa.Table) -> sa.ColumnElement[bool]:
    """The CHECK as a SQLAlchemy expression over `table`'s columns: any dialect can render it."""
    return _sql(check.tree, table)


def _sql(node: Node, table: sa.Table) -> Any:
    kind = node[0]
    if kind == "col":
        return sa.column(node[1], table.c[node[1]].type)  # unqualified: a CHECK names its own columns
    if kind == "const":
        value = node[1]
        if isinstance(value, (dt.date, pd.Timestamp)):
            raise _Unreadable("date constants are not rendered across engines")
        return sa.literal(value, literal_execute=True) if value is not None else sa.null()
    if kind == "neg":
        return -_sql(node[1], table)
    if kind == "func":
        return getattr(sa.func, {"length": "length", "lower": "lower", "upper": "upper", "abs": "abs"}[node[1]])(
            _sql(node[2], table))
    if kind == "arith":
        a, b = _sql(node[2], table), _sql(node[3], table)
        return {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
                "%": operator.mod}[node[1]](a, b)
    if kind == "cmp":
        a, b = _sql(node[2], table), _sql(node[3], table)
        return {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
                ">=": operator.ge}[node[1]](a, b)
    if kind == "isnull":
        x = _sql(node[1], table)
        return x.is_not(None) if node[2] else x.is_(None)
    if kind == "between":
        expr = _sql(node[1], table).between(_sql(node[2], table), _sql(node[3], table))
        return sa.not_(expr) if node[4] else expr
    if kind == "in":
        x = _sql(node[1], table)
        values = [sa.literal(v, literal_execute=True) for v in node[2]]
        return x.not_in(values) if node[3] else x.in_(values)
    if kind == "not":
        return sa.not_(_sql(node[1], table))
    if kind in ("and", "or"):
        parts = [_sql(item, table) for item in node[1]]
        return sa.and_(*parts) if kind == "and" else sa.or_(*parts)
    raise _Unreadable(kind)


def render_check(check: ParsedCheck, table: sa.Table, dialect: sa.engine.Dialect) -> str | None:
    """The CHECK's SQL text for `dialect`, or None when it cannot be written there."""
    try:
        expr = to_sql(check, table)
        return str(expr.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    except (_Unreadable, sa.exc.SQLAlchemyError, NotImplementedError, TypeError):
        return None
