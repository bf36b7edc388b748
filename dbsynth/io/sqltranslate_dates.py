"""PostgreSQL's date arithmetic on SQLite (text dates, strftime) and MariaDB (DATE_ADD, TIMESTAMPDIFF).

PostgreSQL adds intervals to dates, subtracts dates from dates, truncates to weeks
and quarters; MariaDB and SQLite read the same text as numbers (`d + 30` is
20230131 + 30 on MariaDB) or as an unknown type (SQLite accepts `CAST('7 days' AS
INTERVAL)` and computes nonsense). Each rewrite here needs the operands' kinds
(io/sqlscope) and gives PostgreSQL's value, with two stated differences:
`timestamp - timestamp` is a number of days (fractional) instead of an interval, and
SQLite drops fractions of a second (its datetime()).
"""

from __future__ import annotations

import re

from sqlglot import exp

from dbsynth.io.sqlscope import UntranslatableSQL, kind_of, with_kind

_UNITS = {"year": "year", "years": "year", "mon": "month", "mons": "month", "month": "month", "months": "month",
          "week": "week", "weeks": "week", "day": "day", "days": "day", "hour": "hour", "hours": "hour",
          "min": "minute", "mins": "minute", "minute": "minute", "minutes": "minute", "sec": "second",
          "secs": "second", "second": "second", "seconds": "second"}
_PART = re.compile(r"([+-]?\d+)\s*([a-z]+)")
_CLOCK = re.compile(r"([+-]?)(\d+):(\d+)(?::(\d+))?$")


def interval_parts(node: exp.Expression) -> dict[str, int] | None:
    """A constant interval ('7 days'::interval, interval '1 mon 03:00:00') as {unit: amount}; None if `node`
    is no interval literal. Weeks are days; years are months (PostgreSQL adds them the same way)."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.INTERVAL and isinstance(node.this, exp.Literal):
        text = node.this.name
    elif isinstance(node, exp.Interval) and isinstance(node.this, exp.Literal):
        unit = node.args.get("unit")
        text = f"{node.this.name} {unit.name if unit is not None else ''}"
    else:
        return None
    parts: dict[str, int] = {}
    rest = text.strip().lower()
    clock = _CLOCK.search(rest)
    if clock:
        sign = -1 if clock.group(1) == "-" else 1
        for unit, amount in zip(("hour", "minute", "second"), clock.groups()[1:]):
            parts[unit] = parts.get(unit, 0) + sign * int(amount or 0)
        rest = rest[:clock.start()]
    for amount, word in _PART.findall(rest):
        unit = _UNITS.get(word)
        if unit is None:
            raise UntranslatableSQL(f"interval '{text}' has no equivalent")
        factor, unit = {"year": (12, "month"), "week": (7, "day")}.get(unit, (1, unit))
        parts[unit] = parts.get(unit, 0) + factor * int(amount)
    if not parts or re.sub(r"[\d\s:+-]|" + "|".join(sorted(_UNITS, key=len, reverse=True)), "", rest):
        raise UntranslatableSQL(f"interval '{text}' has no equivalent")
    return {u: n for u, n in parts.items() if n}


def _fn(name: str, *args: exp.Expression | str | int) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=[_lit(a) for a in args])


def _lit(value: exp.Expression | str | int) -> exp.Expression:
    if isinstance(value, exp.Expression):
        return value
    return exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)


def _int(value: exp.Expression) -> exp.Expression:
    return exp.Cast(this=value, to=exp.DataType.build("INTEGER"))


def _concat(*parts: exp.Expression | str) -> exp.Expression:
    return exp.DPipe(this=_lit(parts[0]), expression=_concat(*parts[1:]), safe=True) if len(parts) > 1 \
        else _lit(parts[0])


# --- SQLite -------------------------------------------------------------------------------------------------

def to_sqlite(node: exp.Expression) -> exp.Expression:
    """One node of a PostgreSQL tree, rewritten for SQLite's text dates (None of these exist there)."""
    if isinstance(node, (exp.Add, exp.Sub)):
        return _sqlite_arithmetic(node)
    if isinstance(node, exp.Cast) and node.to.this in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ):
        # SQLite reads CAST(d AS TIMESTAMPTZ) as a number (2001 for '2001-03-15'); datetime() keeps the text
        return with_kind(_fn("datetime", node.this.copy()), "datetime")
    if isinstance(node, exp.Extract):
        return _sqlite_extract(node)
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
        return _sqlite_trunc(node)
    return node


def _operands(node: exp.Binary) -> tuple[exp.Expression, exp.Expression, str | None, str | None, int]:
    """(left, right, their kinds, +1 or -1) of date arithmetic, the date first: `interval '1 day' + d` is d + it."""
    left, right = node.this, node.expression
    lkind, rkind = kind_of(left), kind_of(right)
    if isinstance(node, exp.Add) and lkind in ("interval", "integer") and rkind in ("date", "datetime"):
        left, right, lkind, rkind = right, left, rkind, lkind
    return left, right, lkind, rkind, 1 if isinstance(node, exp.Add) else -1


def _sqlite_arithmetic(node: exp.Binary) -> exp.Expression:
    """date/timestamp +- interval, date +- days, date - date (days), timestamp - timestamp (days, fractional)."""
    left, right, lkind, rkind, sign = _operands(node)
    if lkind in ("date", "datetime") and rkind == "interval":
        parts = _constant_interval(right)
        return with_kind(_sqlite_plus_interval(left.copy(), {u: sign * n for u, n in parts.items()}), "datetime")
    if lkind == "date" and rkind == "integer":
        days = right.copy() if sign > 0 else exp.Neg(this=exp.Paren(this=right.copy()))
        return with_kind(_fn("date", left.copy(), _fn("printf", "%+d days", days)), "date")
    if isinstance(node, exp.Sub) and lkind in ("date", "datetime") and rkind in ("date", "datetime"):
        days = exp.Sub(this=_fn("julianday", left.copy()), expression=_fn("julianday", right.copy()))
        return with_kind(_int(days) if lkind == rkind == "date" else exp.Paren(this=days),
                         "integer" if lkind == rkind == "date" else "float")
    return node


def _constant_interval(node: exp.Expression) -> dict[str, int]:
    parts = interval_parts(node)
    if parts is None:
        raise UntranslatableSQL(f"interval arithmetic with a computed interval ({node.sql(dialect='postgres')}) "
                            "has no equivalent")
    return parts


def _sqlite_plus_interval(value: exp.Expression, parts: dict[str, int]) -> exp.Expression:
    """datetime(d, '+7 days', ...). Months are added as PostgreSQL does: Jan 31 + 1 month is Feb 28
    (SQLite's '+1 months' would give Mar 3), so the day is capped at the target month's last day."""
    modifiers = [f"{n:+d} {unit}s" for unit, n in parts.items() if unit != "month"]
    months = parts.get("month", 0)
    if months:
        first = _fn("date", value, "start of month", f"{months:+d} months")
        day_in_month = _fn("date", first.copy(), _fn("printf", "%+d days", exp.Sub(
            this=_int(_fn("strftime", "%d", value.copy())), expression=exp.Literal.number(1))))
        last_of_month = _fn("date", first.copy(), "+1 months", "-1 days")
        day = exp.Anonymous(this="min", expressions=[day_in_month, last_of_month])
        value = _concat(day, " ", _fn("time", value.copy()))
    return _fn("datetime", value, *modifiers)


def _sqlite_extract(node: exp.Extract) -> exp.Expression:
    """EXTRACT(QUARTER ...) from the month; EXTRACT(WEEK ...) is the ISO week: the day-of-year of the week's
    Thursday (SQLite 3.40 has no %V). EXTRACT(YEAR FROM age(a, b)) counts whole years."""
    unit, value = _unit(node), node.expression
    if unit == "QUARTER":
        month = _int(_fn("strftime", "%m", value.copy()))
        return exp.Div(this=exp.Paren(this=exp.Add(this=month, expression=exp.Literal.number(2))),
                       expression=exp.Literal.number(3), typed=True)
    if unit == "WEEK":
        thursday = _fn("date", value.copy(), "-3 days", "weekday 4")
        doy = _int(_fn("strftime", "%j", thursday))
        return exp.Add(this=exp.Div(this=exp.Paren(this=exp.Sub(this=doy, expression=exp.Literal.number(1))),
                                    expression=exp.Literal.number(7), typed=True), expression=exp.Literal.number(1))
    if unit == "YEAR" and _is_age(value):
        later, earlier = (_fn("datetime", v) for v in _age_operands(value, exp.CurrentDate()))
        forward = exp.GTE(this=later.copy(), expression=earlier.copy())
        backward = exp.Neg(this=_sqlite_whole_years(earlier.copy(), later.copy()))
        return exp.Case(ifs=[exp.If(this=forward, true=_sqlite_whole_years(later, earlier))], default=backward)
    return node


def _sqlite_whole_years(later: exp.Expression, earlier: exp.Expression) -> exp.Expression:
    """Complete years from `earlier` to `later` (not before it): PostgreSQL's years of age(), which count
    towards zero, so a negative age is minus the years the other way round."""
    years = exp.Sub(this=_int(_fn("strftime", "%Y", later)), expression=_int(_fn("strftime", "%Y", earlier)))
    not_yet = exp.LT(this=_fn("strftime", "%m-%d %H:%M:%S", later.copy()),
                     expression=_fn("strftime", "%m-%d %H:%M:%S", earlier.copy()))
    return exp.Paren(this=exp.Sub(this=years, expression=exp.Paren(this=not_yet)))


def _sqlite_trunc(node: exp.Expression) -> exp.Expression:
    """date_trunc('week') goes back to Monday (ISO, as PostgreSQL); 'quarter' to the quarter's first month."""
    unit, value = _unit(node), node.this
    if unit == "WEEK":
        back = _concat("-", exp.Paren(this=exp.Mod(this=exp.Paren(this=exp.Add(
            this=_int(_fn("strftime", "%w", value.copy())), expression=exp.Literal.number(6))),
            expression=exp.Literal.number(7))), " days")
        return with_kind(_fn("strftime", "%Y-%m-%d 00:00:00", value.copy(), back), "datetime")
    if unit == "QUARTER":
        month = exp.Add(this=exp.Mul(this=exp.Paren(this=exp.Div(this=exp.Paren(this=exp.Sub(
            this=_int(_fn("strftime", "%m", value.copy())), expression=exp.Literal.number(1))),
            expression=exp.Literal.number(3), typed=True)), expression=exp.Literal.number(3)),
            expression=exp.Literal.number(1))
        return with_kind(_concat(_fn("strftime", "%Y-", value.copy()), _fn("printf", "%02d", month),
                                 "-01 00:00:00"), "datetime")
    return node


# --- MariaDB / MySQL --------------------------------------------------------------------------------------

def to_mysql(node: exp.Expression) -> exp.Expression:
    """One node of a PostgreSQL tree, rewritten with MariaDB's date functions."""
    if isinstance(node, (exp.Add, exp.Sub)):
        return _mysql_arithmetic(node)
    if isinstance(node, exp.Extract):
        unit, value = _unit(node), node.expression
        if unit == "WEEK":           # MariaDB's WEEK unit counts from Sunday, from 0: mode 3 is ISO's week
            return _fn("WEEK", value.copy(), 3)
        if unit == "YEAR" and _is_age(value):
            later, earlier = _age_operands(value, exp.CurrentDate())
            return exp.Anonymous(this="TIMESTAMPDIFF", expressions=[exp.Var(this="YEAR"), earlier, later])
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
        unit, value = _unit(node), node.this
        if unit == "WEEK":          # back to Monday (WEEKDAY: Monday = 0)
            monday = _fn("DATE_SUB", _fn("DATE", value.copy()),
                         exp.Interval(this=_fn("WEEKDAY", value.copy()), unit=exp.Var(this="DAY")))
            return with_kind(exp.Cast(this=monday, to=exp.DataType.build("DATETIME")), "datetime")
        if unit == "QUARTER":
            start = _fn("DATE_ADD", _fn("MAKEDATE", _fn("YEAR", value.copy()), 1), exp.Interval(
                this=exp.Sub(this=_fn("QUARTER", value.copy()), expression=exp.Literal.number(1)),
                unit=exp.Var(this="QUARTER")))
            return with_kind(exp.Cast(this=start, to=exp.DataType.build("DATETIME")), "datetime")
    return node


def _mysql_arithmetic(node: exp.Binary) -> exp.Expression:
    """date +- interval -> DATE_ADD per unit (MariaDB caps Jan 31 + 1 month at Feb 28, as PostgreSQL);
    date +- n -> DATE_ADD(d, INTERVAL n DAY); date - date -> DATEDIFF; timestamp - timestamp -> days."""
    left, right, lkind, rkind, sign = _operands(node)
    if lkind in ("date", "datetime") and rkind == "interval":
        value = left.copy() if lkind == "datetime" else exp.Cast(this=left.copy(), to=exp.DataType.build("DATETIME"))
        order = ("month", "day", "hour", "minute", "second")   # PostgreSQL adds months, then days, then time
        for unit, n in sorted(_constant_interval(right).items(), key=lambda p: order.index(p[0])):
            value = _fn("DATE_ADD", value, exp.Interval(this=exp.Literal.number(sign * n),
                                                          unit=exp.Var(this=unit.upper())))
        return with_kind(value, "datetime")
    if lkind == "date" and rkind == "integer":
        days = right.copy() if sign > 0 else exp.Neg(this=exp.Paren(this=right.copy()))
        return with_kind(_fn("DATE_ADD", left.copy(), exp.Interval(this=days, unit=exp.Var(this="DAY"))), "date")
    if isinstance(node, exp.Sub) and lkind == rkind == "date":
        return with_kind(_fn("DATEDIFF", left.copy(), right.copy()), "integer")
    if isinstance(node, exp.Sub) and lkind in ("date", "datetime") and rkind in ("date", "datetime"):
        micro = exp.Anonymous(this="TIMESTAMPDIFF", expressions=[exp.Var(this="MICROSECOND"), right.copy(),
                                                                 left.copy()])
        return with_kind(exp.Paren(this=exp.Div(this=micro, expression=exp.Literal.number("8.64e10"),
                                                typed=True)), "float")  # a double: days to the microsecond
    return node


# --- shared ---------------------------------------------------------------------------------------------

def _unit(node: exp.Expression) -> str:
    part = node.this if isinstance(node, exp.Extract) else node.args.get("unit")
    while isinstance(part, exp.Cast):
        part = part.this
    return part.name.upper() if isinstance(part, (exp.Var, exp.Literal, exp.Column)) else ""


def _is_age(node: exp.Expression) -> bool:
    while isinstance(node, exp.Paren):
        node = node.this
    return isinstance(node, exp.Anonymous) and node.name.lower() == "age" and len(node.expressions) in (1, 2)


def _age_operands(node: exp.Expression, today: exp.Expression) -> tuple[exp.Expression, exp.Expression]:
    """age(a, b) is a - b; age(b) is current_date - b (PostgreSQL counts from midnight)."""
    while isinstance(node, exp.Paren):
        node = node.this
    args = [_uncast(a) for a in node.expressions]
    return (args[0], args[1]) if len(args) == 2 else (today, args[0])


def _uncast(node: exp.Expression) -> exp.Expression:
    """age()'s operands lose PostgreSQL's ::timestamptz (a date stays a date for these functions)."""
    while isinstance(node, exp.Cast) and node.to.this in (exp.DataType.Type.TIMESTAMPTZ,):
        node = node.this
    return node.copy()
