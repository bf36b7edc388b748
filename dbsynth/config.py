"""The configuration file: TOML, validated against schemas/dbsynth.schema.json, as frozen dataclasses.

    load_config(path)                  TOML -> Config; a bad file is a one-line ConfigError
    Config.merged_with_cli(**options)  options given on the command line win over the file
    check_against_schema(config, s)    refer only to tables and columns the source has; warnings
    with_declared_foreign_keys(s, c)   the source schema plus the foreign keys the file declares

Every error names the key at fault as a TOML key path (``tables.customer.columns.email.mode``,
``foreign_keys[0].table``) and says what is wrong; when a file has several problems the
first one in file order is shown with a count of the others. The JSON Schema is the single
description of the file's shape (editors use it too); what it cannot say (model names in the
registry, Faker locales, shares adding up) is checked here, after it.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match

from dbsynth.errors import ConfigError
from dbsynth.schema.model import ForeignKey, Schema, Table

TableMode = Literal["model", "copy", "skip"]
ColumnMode = Literal["keep", "fake", "null", "model", "hash"]
IfExists = Literal["refuse", "replace", "truncate"]
Device = Literal["auto", "cpu", "cuda"]

SCHEMA_FILE = "dbsynth.schema.json"
# Options that are also command-line flags (--if-exists for if_exists), in help order.
CLI_OPTIONS = ("seed", "scale", "if_exists", "model", "jobs", "epsilon", "delta", "tune_budget",
               "max_train_rows", "device", "dask", "schemas")
_FLOAT_OPTIONS = frozenset({"scale", "epsilon", "delta", "tune_budget"})
_MISSING = 1 << 30  # sorts a problem about an absent key after its present siblings


@dataclass(frozen=True)
class ColumnRule:
    """What to do with one column. mode None: dbsynth decides (personal data it recognises is faked,
    the rest modelled, or copied in a copied table)."""

    name: str
    mode: ColumnMode | None = None
    provider: str | None = None    # mode "fake": a dbsynth.codecs.fake provider; None: the detected one
    locale: str | None = None      # mode "fake": Faker locale; None: Config.locale


@dataclass(frozen=True)
class TableRule:
    """What to do with one table. model/scale None: the global ones (see Config.table_rule)."""

    name: str
    mode: TableMode = "model"
    model: str | None = None
    where: str | None = None       # SQL condition in the source's dialect
    scale: float | None = None
    columns: tuple[ColumnRule, ...] = ()
    mode_given: bool = field(default=False, compare=False)  # False: dbsynth may pick copy for a lookup table

    def column_rule(self, name: str) -> ColumnRule:
        """The rule written for column `name`, or an empty one."""
        return next((c for c in self.columns if c.name == name), ColumnRule(name))


@dataclass(frozen=True)
class DeclaredForeignKey:
    """table(columns) -> referred_table(referred_columns), a key the source schema does not declare."""

    table: str
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]


@dataclass(frozen=True)
class Rebalance:
    """Reserved: a target distribution for table.column; no shares means uniform."""

    table: str
    column: str
    shares: tuple[tuple[str, float], ...] = ()   # (value as text, share in (0, 1]), adding up to <= 1

    @property
    def uniform(self) -> bool:
        return not self.shares


@dataclass(frozen=True)
class Config:
    """Everything a configuration file can say, with dbsynth's defaults for what it does not.

    None means "dbsynth chooses" (model: auto-tuning; epsilon: no differential privacy).
    """

    seed: int = 0
    scale: float = 1.0
    if_exists: IfExists = "refuse"
    model: str | None = None
    jobs: int = 1
    epsilon: float | None = None
    delta: float | None = None
    tune_budget: float | None = None    # seconds per table
    max_train_rows: int | None = None
    device: Device = "auto"
    dask: str | None = None             # scheduler address or "local"
    schemas: tuple[str, ...] | None = None   # PostgreSQL namespaces to read; None: all but system/extension ones
    locale: str = "en_US"
    tables: tuple[TableRule, ...] = ()
    foreign_keys: tuple[DeclaredForeignKey, ...] = ()
    rebalance: tuple[Rebalance, ...] = ()
    path: Path | None = field(default=None, compare=False)   # the file it was read from

    @classmethod
    def default(cls) -> Config:
        return cls()

    def table_rule(self, name: str) -> TableRule:
        """The rule for table `name` with defaults filled: a modelled table gets the global
        model and scale unless it sets its own; copied and skipped tables keep None."""
        rule = next((t for t in self.tables if t.name == name), TableRule(name))
        if rule.mode != "model":
            return rule
        return dataclasses.replace(rule, model=rule.model or self.model,
                                   scale=self.scale if rule.scale is None else rule.scale)

    def column_rule(self, table: str, column: str) -> ColumnRule:
        """The rule for table.column with the locale filled in (mode None: dbsynth decides)."""
        rule = self.table_rule(table).column_rule(column)
        return dataclasses.replace(rule, locale=rule.locale or self.locale)

    def merged_with_cli(self, **options: Any) -> Config:
        """This config with the command-line options that were given (not None) put over it.

        Values are checked like the file's; errors name the flag: ``--scale: must be greater than 0``.
        """
        unknown = sorted(set(options) - set(CLI_OPTIONS))
        if unknown:
            raise TypeError(f"merged_with_cli() got unknown options: {', '.join(unknown)}")
        given = {k: list(v) if isinstance(v, tuple) else v for k, v in options.items() if v is not None}
        if isinstance(given.get("schemas"), str):
            given["schemas"] = schema_names(given["schemas"])
        if not given:
            return self
        properties = _schema()["properties"]
        shape = {"type": "object", "properties": {k: properties[k] for k in given}, "$defs": _schema()["$defs"]}
        problems = _schema_problems(given, Draft202012Validator(shape)) or _value_problems(given)
        if "delta" in given and "epsilon" not in given and self.epsilon is None:
            problems.append(((0,), ["delta"], "only allowed together with --epsilon (or epsilon in the config file)"))
        if problems:
            raise ConfigError(_summary(problems, flags=True))
        return dataclasses.replace(self, **{k: _option_value(k, v) for k, v in given.items()})

    def to_dict(self) -> dict[str, Any]:
        """The file's shape (what config_from_dict reads), e.g. to store beside a trained model."""
        out: dict[str, Any] = {k: getattr(self, k) for k in (*CLI_OPTIONS, "locale") if getattr(self, k) is not None}
        if self.schemas is not None:
            out["schemas"] = list(self.schemas)
        if self.tables:
            out["tables"] = {t.name: _drop_none({
                "mode": t.mode, "model": t.model, "where": t.where, "scale": t.scale,
                "columns": {c.name: _drop_none({"mode": c.mode, "provider": c.provider, "locale": c.locale})
                            for c in t.columns} or None,
            }) for t in self.tables}
        if self.foreign_keys:
            out["foreign_keys"] = [{"table": f.table, "columns": list(f.columns), "referred_table": f.referred_table,
                                    "referred_columns": list(f.referred_columns)} for f in self.foreign_keys]
        if self.rebalance:
            out["rebalance"] = {f"{r.table}.{r.column}": dict(r.shares) if r.shares else "uniform"
                                for r in self.rebalance}
        return out


def schema_names(text: str) -> list[str]:
    """--schemas a,b as a list; blanks around names are dropped, an empty name is left for validation."""
    return [part.strip() for part in text.split(",")]


def load_config(path: Path) -> Config:
    """Read and validate a TOML configuration file; any problem is a one-line ConfigError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist; check the path") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {_toml_reason(exc)}") from None
    return config_from_dict(data, path=path)


def config_from_dict(data: Mapping[str, Any], *, path: Path | None = None) -> Config:
    """A Config from the parsed file (a dict shaped like the TOML); invalid data is a ConfigError."""
    data = dict(data)
    problems = _schema_problems(data, _validator())
    if not problems:
        problems = _value_problems(data)
    if problems:
        raise ConfigError(_summary(problems))
    return _build(data, path)


def schema_path() -> Path:
    """The JSON Schema file: schemas/ beside the package in a checkout, dbsynth/schemas/ when installed."""
    package = Path(__file__).resolve().parent
    for candidate in (package.parent / "schemas" / SCHEMA_FILE, package / "schemas" / SCHEMA_FILE):
        if candidate.is_file():
            return candidate
    raise RuntimeError(f"dbsynth's configuration schema {SCHEMA_FILE} is missing from {package}; reinstall dbsynth")


def check_against_schema(config: Config, schema: Schema) -> list[str]:
    """Check the config against the source schema: a name the source does not have, or a rule that
    cannot be honoured there (NULL in a NOT NULL column, a faked key), is a ConfigError naming it;
    harmless oddities come back as one-line warnings."""
    _raise_first(_name_problems(config, schema))
    errors, warnings = _rule_problems(config, with_declared_foreign_keys(schema, config), schema)
    _raise_first(errors)
    return warnings


def with_declared_foreign_keys(schema: Schema, config: Config) -> Schema:
    """`schema` plus the foreign keys the config declares (those the source lacks), for every stage after."""
    _raise_first(_name_problems(config, schema))
    extra: dict[str, list[ForeignKey]] = {}
    for d in config.foreign_keys:
        fk = ForeignKey(columns=d.columns, referred_table=d.referred_table, referred_columns=d.referred_columns)
        if not any(_same_key(fk, f) for f in (*schema.table(d.table).foreign_keys, *extra.get(d.table, []))):
            extra.setdefault(d.table, []).append(fk)
    if not extra:
        return schema
    return dataclasses.replace(schema, tables=tuple(
        dataclasses.replace(t, foreign_keys=t.foreign_keys + tuple(extra.get(t.name, []))) for t in schema.tables))


# --- validation: JSON Schema errors -> one-line problems -------------------------------------------

Problem = tuple[tuple[int, ...], list[Any], str]   # (position in the file, key path, what is wrong)


@cache
def _schema() -> dict[str, Any]:
    return json.loads(schema_path().read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(_schema())


def _schema_problems(data: Mapping[str, Any], validator: Draft202012Validator) -> list[Problem]:
    problems: list[Problem] = []
    for error in validator.iter_errors(data):
        error = best_match([error]) or error   # descends into a combinator's most relevant branch
        for parts, message in _explain(error):
            problem = (_position(data, parts), parts, message)
            if problem not in problems:
                problems.append(problem)
    flagged = {tuple(p[1]) for p in problems}
    for parts, value in _walk(data, []):          # TOML allows nan and inf; no setting does
        if isinstance(value, float) and not math.isfinite(value) and tuple(parts) not in flagged:
            problems.append((_position(data, parts), parts, f"must be a finite number, got {value}"))
    return sorted(problems, key=lambda p: (p[0], p[2]))


def _explain(error: ValidationError) -> list[tuple[list[Any], str]]:
    path, kind, value, instance = list(error.absolute_path), error.validator, error.validator_value, error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    custom = schema.get("errorMessage")
    if isinstance(custom, dict):
        custom = custom.get(str(kind))
    if "propertyNames" in error.absolute_schema_path:
        return [(path + [instance], custom or f"{_show(instance)} is not a valid key here")]
    if kind == "additionalProperties":
        known = list(schema.get("properties", {}))
        return [(path + [k], _unknown_key(k, known, instance[k], top=not path)) for k in instance if k not in known]
    if kind == "required":
        missing = [k for k in value if k not in instance]
        return [(path, f"missing required key{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))}")]
    if kind == "dependentRequired":
        return [(path + [k], f"only allowed together with {' and '.join(r for r in needs if r not in instance)}")
                for k, needs in value.items() if k in instance and any(r not in instance for r in needs)]
    if custom:
        return [(path, custom)]
    return [(path, _MESSAGES.get(str(kind), lambda v, i: error.message)(value, instance))]


def _range(word: str) -> Callable[[Any, Any], str]:
    return lambda v, i: f"must be {word} {_num(v)}, got {_show(i)}"


_MESSAGES = {
    "type": lambda v, i: f"expected {_EXPECTED.get(v, v)}, got {_toml_type(i)}"
                         + ("" if isinstance(i, (dict, list)) else f" {_show(i)}"),
    "enum": lambda v, i: f"{_show(i)} is not one of {', '.join(map(str, v))}",
    "const": lambda v, i: f"must be {_show(v)}",
    "minimum": _range("at least"),
    "exclusiveMinimum": _range("greater than"),
    "maximum": _range("at most"),
    "exclusiveMaximum": _range("less than"),
    "minLength": lambda v, i: "must not be empty" if v == 1 else f"must be at least {v} characters long",
    "minItems": lambda v, i: "must not be empty" if v == 1 else f"must list at least {v} items",
    "minProperties": lambda v, i: "must not be empty",
    "uniqueItems": lambda v, i: f"lists {_show(next(x for n, x in enumerate(i) if x in i[:n]))} more than once",
    "pattern": lambda v, i: f"{_show(i)} does not match {v}",
    "not": lambda v, i: "not allowed here",
}
_EXPECTED = {"integer": "an integer", "number": "a number", "string": "a string", "object": "a table",
             "array": "an array", "boolean": "true or false"}


def _unknown_key(key: str, known: list[str], value: Any, *, top: bool) -> str:
    close = _closest(key, known)
    if close:
        return f"unknown key; did you mean {close!r}?"
    if top and isinstance(value, dict):
        return f"unknown key; rules for a table go under [tables.{_key(key)}]"
    return f"unknown key; expected one of {', '.join(known)}"


def _value_problems(data: Mapping[str, Any]) -> list[Problem]:
    """What the JSON Schema cannot say; `data` has already passed it."""
    found: list[tuple[list[Any], str]] = []
    tables = data.get("tables", {})
    models = [(["model"], data["model"])] if "model" in data else []
    models += [(["tables", t, "model"], r["model"]) for t, r in tables.items() if "model" in r]
    if models:
        from dbsynth.models.base import generator_names
        names = ["auto", *generator_names()]   # auto: auto-tuning picks per table
        found += [(p, f"unknown model {m!r}; choose one of {', '.join(names)}") for p, m in models if m not in names]
    locales = [(["locale"], data["locale"])] if "locale" in data else []
    locales += [(["tables", t, "columns", c, "locale"], r["locale"]) for t, tr in tables.items()
                for c, r in tr.get("columns", {}).items() if "locale" in r]
    if locales:
        from faker.config import AVAILABLE_LOCALES
        for p, loc in locales:
            if loc not in AVAILABLE_LOCALES:
                close = _closest(loc, AVAILABLE_LOCALES)
                found.append((p, f"Faker has no locale {loc!r}" + (f"; did you mean {close!r}?" if close else "")))
    for i, fk in enumerate(data.get("foreign_keys", [])):
        if len(fk["columns"]) != len(fk["referred_columns"]):
            found.append((["foreign_keys", i], f"{len(fk['columns'])} column(s) refer to "
                          f"{len(fk['referred_columns'])} referred column(s); give as many of each, in matching order"))
    for key, target in data.get("rebalance", {}).items():
        if isinstance(target, dict) and sum(target.values()) > 1 + 1e-9:
            found.append((["rebalance", key], f"shares add up to {sum(target.values()):g}; they must add up to at most 1"))
    return sorted(((_position(data, p), p, m) for p, m in found), key=lambda p: (p[0], p[2]))


def _summary(problems: list[Problem], *, flags: bool = False) -> str:
    _, parts, message = problems[0]
    where = f"--{parts[0].replace('_', '-')}" if flags else key_path(parts)
    more = len(problems) - 1
    return f"{where}: {message}" + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")


def key_path(parts: Iterable[Any]) -> str:
    """A TOML key path: tables.customer.columns.email, foreign_keys[0].table, rebalance."a.b"."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + _key(str(part))
    return out or "(top level)"


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def _position(data: Any, parts: list[Any]) -> tuple[int, ...]:
    """Where a key path lies in the file (keys keep their file order), for a stable 'first' problem."""
    out, node = [], data
    for part in parts:
        if isinstance(node, dict) and part in node:
            out.append(list(node).index(part))
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
        else:
            return (*out, _MISSING)
        node = node[part]
    return tuple(out)


def _walk(node: Any, parts: list[Any]) -> Iterable[tuple[list[Any], Any]]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        yield parts + [k], v
        yield from _walk(v, parts + [k])


def _toml_reason(exc: tomllib.TOMLDecodeError) -> str:
    text = str(exc)
    at = re.search(r"\s*\(at (line (\d+), column (\d+)|end of document)\)$", text)
    reason = text[:at.start()] if at else text
    reason = reason[:1].lower() + reason[1:]
    if reason == "invalid value":
        reason += ' (text needs quotes, as in mode = "copy")'
    if at and at[2]:
        return f"line {at[2]}, column {at[3]}: invalid TOML: {reason}"
    return f"invalid TOML at the end of the file: {reason}" if at else f"invalid TOML: {reason}"


def _toml_type(value: Any) -> str:
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "float"), (str, "string"), (list, "array"),
                       (dict, "table"), (datetime, "date-time"), (date, "date"), (time, "time")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _show(value: Any) -> str:
    text = repr(value.isoformat()) if isinstance(value, (date, time)) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _closest(name: str, candidates: Iterable[str]) -> str | None:
    candidates = list(candidates)
    same_case = [c for c in candidates if c.lower() == name.lower()]
    if same_case:
        return same_case[0]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


# --- checks against the source schema ---------------------------------------------------------------

_KEY_KIND = {"primary": "a primary-key column", "foreign": "a foreign-key column",
             "referred": "a column that foreign keys refer to"}
_KEY_REASON = {"fake": "its values must still match between tables", "hash": "its values must still match between tables",
               "keep": "dbsynth allocates the keys of synthetic rows", "null": "foreign keys refer to it"}


def _name_problems(config: Config, schema: Schema) -> list[str]:
    out: list[str] = []

    def table(parts: list[Any], name: str) -> Table | None:
        if name in schema.table_names:
            return schema.table(name)
        close = _closest(name, schema.table_names)
        out.append(f"{key_path(parts)}: no table {name!r} in the source; "
                   + (f"did you mean {close!r}?" if close else f"its tables are: {_listing(schema.table_names)}"))
        return None

    def columns(parts: list[Any], t: Table, names: Iterable[str]) -> None:
        for name in names:
            if name not in t.column_names:
                close = _closest(name, t.column_names)
                out.append(f"{key_path(parts)}: no column {name!r} in table {t.name!r}; "
                           + (f"did you mean {close!r}?" if close else f"its columns are: {_listing(t.column_names)}"))

    for rule in config.tables:
        if (t := table(["tables", rule.name], rule.name)) is not None:
            for c in rule.columns:
                columns(["tables", rule.name, "columns", c.name], t, [c.name])
    for i, fk in enumerate(config.foreign_keys):
        for side, name, cols in (("", fk.table, fk.columns), ("referred_", fk.referred_table, fk.referred_columns)):
            if (t := table(["foreign_keys", i, side + "table"], name)) is not None:
                columns(["foreign_keys", i, side + "columns"], t, cols)
    for r in config.rebalance:
        if (t := table(["rebalance", f"{r.table}.{r.column}"], r.table)) is not None:
            columns(["rebalance", f"{r.table}.{r.column}"], t, [r.column])
    return out


def _rule_problems(config: Config, schema: Schema, source: Schema) -> tuple[list[str], list[str]]:
    """(errors, warnings) of the rules against `schema` (the source with the declared foreign keys)."""
    from dbsynth.graph import load_order, not_null_deferrals, parents
    from dbsynth.pii import detect
    errors: list[str] = []
    warnings: list[str] = []
    order = load_order(schema)
    if schema is not source:        # a NOT NULL cycle the declared foreign keys closed is the file's fault
        closed = [r for r in not_null_deferrals(schema) if r not in not_null_deferrals(source)]
        if closed:
            raise ConfigError(f"foreign_keys: with the declared foreign keys, foreign-key cycle "
                              f"{closed[0].fk(schema).referred_table} -> {closed[0].table} has no nullable "
                              f"foreign key")
    referred = {(fk.referred_table, c) for t in schema.tables for fk in t.foreign_keys for c in fk.referred_columns}
    nulled = lambda table, fk: all(config.column_rule(table, c).mode == "null" for c in fk.columns)  # noqa: E731
    for rule in config.tables:
        table, p = schema.table(rule.name), key_path(["tables", rule.name])
        up = [fk.referred_table for _, fk in parents(schema, table.name, order) if fk.referred_table != table.name]
        if rule.scale is not None and up:
            warnings.append(f"{p}.scale: {table.name} is not a root table (it refers to {up[0]}); its rows follow "
                            f"the number of children per parent, so this scale is not used")
        for c in rule.columns:
            col, cp, mode = table.column(c.name), key_path(["tables", rule.name, "columns", c.name]), c.mode
            if mode is None:
                continue
            key = ("primary" if c.name in table.pk_columns else "foreign" if c.name in table.fk_columns
                   else "referred" if (table.name, c.name) in referred else None)
            if col.computed:
                warnings.append(f"{cp}: a generated column, computed by the target; this rule is not used")
            elif mode == "null" and not col.nullable:
                errors.append(f'{cp}: mode "null" on a NOT NULL column; the target would refuse the rows')
            elif key and mode == "model":
                warnings.append(f'{cp}: {_KEY_KIND[key]}; dbsynth allocates its values, so mode "model" is not used')
            elif key and not (mode == "null" and key == "foreign" or mode == "keep" and rule.mode == "copy"):
                errors.append(f'{cp}: {_KEY_KIND[key]} cannot be "{mode}": {_KEY_REASON[mode]}')
            elif mode == "fake":
                errors += _fake_problems(cp, col.type.kind, c.provider)
            elif mode == "keep" and (match := detect(col, None)):
                warnings.append(f'{cp}: mode "keep" writes the real values of what looks like personal data '
                                f"({match.provider}) to the target")
        for fk in table.foreign_keys:
            parent = fk.referred_table
            if rule.mode == "copy" and parent != table.name and config.table_rule(parent).mode != "copy" \
                    and not nulled(table.name, fk):
                errors.append(f'{p}: mode "copy" needs its parent table {parent!r} copied too, or the copied '
                              f"rows would point at rows that do not exist")
        if rule.mode == "skip":
            for child in schema.tables:
                for fk in child.foreign_keys:
                    if fk.referred_table != table.name or child.name == table.name \
                            or config.table_rule(child.name).mode == "skip" or nulled(child.name, fk):
                        continue
                    cols = ", ".join(fk.columns)
                    if all(child.column(c).nullable for c in fk.columns):
                        warnings.append(f"{p}: {child.name}({cols}) will be NULL in every row, since "
                                        f"{table.name} is left empty")
                    else:
                        errors.append(f'{p}: mode "skip" leaves {table.name} empty, but {child.name}({cols}) refers '
                                      f"to it and cannot be NULL; skip {child.name} too, or copy or model {table.name}")
    for i, d in enumerate(config.foreign_keys):
        fk = ForeignKey(columns=d.columns, referred_table=d.referred_table, referred_columns=d.referred_columns)
        if any(_same_key(fk, f) for f in source.table(d.table).foreign_keys):
            warnings.append(f"foreign_keys[{i}]: the source already declares this foreign key")
        elif set(d.referred_columns) not in [set(s) for s in schema.table(d.referred_table).unique_column_sets()]:
            warnings.append(f"foreign_keys[{i}]: {d.referred_table}({', '.join(d.referred_columns)}) is neither the "
                            f"primary key nor unique in the source; a foreign key should refer to a key")
    return errors, warnings


def _fake_problems(cp: str, kind: str, provider: str | None) -> list[str]:
    if kind in ("uuid", "bytes"):
        return [] if provider in (None, kind) else [f'{cp}.provider: {provider!r} does not fit a {kind} column; use "{kind}"']
    if kind in ("text", "other"):
        return [] if provider != "bytes" else [f'{cp}.provider: "bytes" does not fit a text column']
    return [f'{cp}: mode "fake" needs a text column, and this one is {kind}']


def _same_key(a: ForeignKey, b: ForeignKey) -> bool:
    return (a.columns, a.referred_table, a.referred_columns) == (b.columns, b.referred_table, b.referred_columns)


def _raise_first(problems: list[str]) -> None:
    if problems:
        more = len(problems) - 1
        raise ConfigError(problems[0] + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""))


def _listing(names: Iterable[str], limit: int = 20) -> str:
    names = sorted(names)
    return ", ".join(names[:limit]) + (f" ... ({len(names)} in all)" if len(names) > limit else "")


def _option_value(key: str, value: Any) -> Any:
    """An option as the Config holds it: floats for the float options, a tuple of schema names."""
    if key in _FLOAT_OPTIONS:
        return float(value)
    return tuple(value) if key == "schemas" else value


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _build(data: Mapping[str, Any], path: Path | None) -> Config:
    options = {k: _option_value(k, data[k]) for k in (*CLI_OPTIONS, "locale") if k in data}
    tables = tuple(
        TableRule(name=name, mode=t.get("mode", "model"), mode_given="mode" in t, model=t.get("model"),
                  where=t.get("where"),
                  scale=None if "scale" not in t else float(t["scale"]),
                  columns=tuple(ColumnRule(name=c, mode=r.get("mode"), provider=r.get("provider"),
                                           locale=r.get("locale")) for c, r in t.get("columns", {}).items()))
        for name, t in data.get("tables", {}).items()
    )
    foreign_keys = tuple(
        DeclaredForeignKey(fk["table"], tuple(fk["columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
        for fk in data.get("foreign_keys", [])
    )
    rebalance = tuple(
        Rebalance(*key.rsplit(".", 1), shares=() if target == "uniform"
                  else tuple((str(v), float(s)) for v, s in target.items()))
        for key, target in data.get("rebalance", {}).items()
    )
    return Config(**options, tables=tables, foreign_keys=foreign_keys, rebalance=rebalance, path=path)
