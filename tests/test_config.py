"""The configuration file: TOML -> validated, frozen Config; one-line errors; checks against Chinook."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from dbsynth.codecs.fake import PROVIDERS
from dbsynth.config import (
    CLI_OPTIONS, ColumnRule, Config, DeclaredForeignKey, Rebalance, TableRule, check_against_schema,
    config_from_dict, key_path, load_config, schema_path, with_declared_foreign_keys,
)
from dbsynth.errors import ConfigError
from dbsynth.graph import load_order
from dbsynth.io.engines import open_source, parse_url
from dbsynth.schema.introspect import introspect
from dbsynth.schema.model import Schema

ROOT = Path(__file__).resolve().parent.parent
CHINOOK = ROOT / "fixtures" / "chinook.sqlite"
DOCS = ROOT / "docs" / "config.md"


@pytest.fixture(scope="module")
def chinook() -> Schema:
    engine = open_source(parse_url(str(CHINOOK)))
    try:
        return introspect(engine)
    finally:
        engine.dispose()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dbsynth.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(data: dict) -> str:
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    return str(info.value)


# --- a valid file ------------------------------------------------------------------------------------

CHINOOK_TOML = """
scale = 0.5
seed = 7
jobs = 4
epsilon = 1
delta = 1e-6
device = "cpu"
[tables.invoice]
where = "billing_country = 'USA'"
[tables.artist]
scale = 2
model = "bayesnet"
[tables.genre]
mode = "copy"
[tables.media_type]
mode = "copy"
[tables.customer.columns.email]
mode = "fake"
provider = "email"
locale = "de_DE"
[tables.customer.columns.fax]
mode = "null"
[[foreign_keys]]
table = "invoice"
columns = ["customer_id"]
referred_table = "customer"
referred_columns = ["customer_id"]
[rebalance]
"invoice.billing_country" = "uniform"
"customer.country" = { USA = 0.5, Canada = 0.25 }
"""


def test_chinook_file_loads_into_the_expected_dataclasses(tmp_path: Path) -> None:
    path = write(tmp_path, CHINOOK_TOML)
    config = load_config(path)
    assert config == Config(
        seed=7, scale=0.5, jobs=4, epsilon=1.0, delta=1e-6, device="cpu",
        tables=(
            TableRule("invoice", where="billing_country = 'USA'"),
            TableRule("artist", scale=2.0, model="bayesnet"),
            TableRule("genre", mode="copy"),
            TableRule("media_type", mode="copy"),
            TableRule("customer", columns=(ColumnRule("email", mode="fake", provider="email", locale="de_DE"),
                                           ColumnRule("fax", mode="null"))),
        ),
        foreign_keys=(DeclaredForeignKey("invoice", ("customer_id",), "customer", ("customer_id",)),),
        rebalance=(Rebalance("invoice", "billing_country"),
                   Rebalance("customer", "country", (("USA", 0.5), ("Canada", 0.25)))),
    )
    assert config.path == path
    assert isinstance(config.scale, float) and isinstance(config.epsilon, float)
    assert isinstance(config.table_rule("artist").scale, float)
    assert config.rebalance[0].uniform and not config.rebalance[1].uniform
    hash(config)  # frozen all the way down
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1  # type: ignore[misc]


def test_rules_for_any_table_and_column_have_defaults_filled(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CHINOOK_TOML))
    assert config.table_rule("track") == TableRule("track", mode="model", model=None, scale=0.5)
    assert config.table_rule("artist") == TableRule("artist", model="bayesnet", scale=2.0)
    assert config.table_rule("invoice").scale == 0.5 and config.table_rule("invoice").where
    assert config.table_rule("genre") == TableRule("genre", mode="copy")  # copied: no model, no scale
    assert config.column_rule("customer", "email") == ColumnRule("email", "fake", "email", "de_DE")
    assert config.column_rule("customer", "fax") == ColumnRule("fax", "null", None, "en_US")
    assert config.column_rule("customer", "phone") == ColumnRule("phone", None, None, "en_US")  # dbsynth decides
    assert config.column_rule("no_such_table", "x") == ColumnRule("x", None, None, "en_US")
    with_model = dataclasses.replace(config, model="independent", locale="fr_FR")
    assert with_model.table_rule("track").model == "independent"
    assert with_model.table_rule("artist").model == "bayesnet"  # the table's own model wins
    assert with_model.column_rule("customer", "phone").locale == "fr_FR"


def test_default_config_is_what_a_run_without_a_file_uses() -> None:
    default = Config.default()
    assert default == Config() == config_from_dict({})
    assert (default.seed, default.scale, default.if_exists, default.jobs, default.device, default.locale) == (
        0, 1.0, "refuse", 1, "auto", "en_US")
    assert default.model is None and default.epsilon is None and default.tables == ()
    assert default.table_rule("genre") == TableRule("genre", scale=1.0)


def test_an_empty_file_is_the_default(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "# nothing yet\n")) == Config.default()


def test_to_dict_round_trips(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CHINOOK_TOML))
    assert config_from_dict(config.to_dict()) == config
    assert Draft202012Validator(json.loads(schema_path().read_text())).is_valid(config.to_dict())


def test_documented_examples_load_and_the_chinook_one_fits_chinook(tmp_path: Path, chinook: Schema) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 3
    configs = [load_config(write(tmp_path, block)) for block in blocks]
    example = configs[0]
    assert example.table_rule("genre").mode == example.table_rule("media_type").mode == "copy"
    assert example.table_rule("invoice").where == "billing_country = 'USA'"
    assert example.column_rule("customer", "email").mode == "fake"
    assert example.column_rule("customer", "fax").mode == example.column_rule("employee", "fax").mode == "null"
    assert check_against_schema(example, chinook) == []


def test_documented_error_lines_are_the_real_ones() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = re.search(r"```text\n(.*?)```", text, flags=re.S)[1].splitlines()  # type: ignore[index]
    for _, line in INVALID.values():
        assert line in documented, line


# --- invalid files: one line, key path first ---------------------------------------------------------

INVALID = {
    "bad enum": ({"tables": {"customer": {"columns": {"email": {"mode": "fak"}}}}},
                 "tables.customer.columns.email.mode: 'fak' is not one of keep, fake, null, model, hash"),
    "unknown key": ({"tables": {"genre": {"mdoe": "copy"}}}, "tables.genre.mdoe: unknown key; did you mean 'mode'?"),
    "wrong type": ({"seed": "7"}, "seed: expected an integer, got string '7'"),
    "negative scale": ({"scale": -1}, "scale: must be greater than 0, got -1"),
    "provider without fake": ({"tables": {"customer": {"columns": {"fax": {"mode": "null", "provider": "email"}}}}},
                              'tables.customer.columns.fax.provider: only allowed with mode = "fake"'),
    "scale of a copied table": ({"tables": {"genre": {"mode": "copy", "scale": 2}}},
                                'tables.genre.scale: not allowed with mode = "copy": a copied table keeps its rows'),
    "delta alone": ({"delta": 0.1}, "delta: only allowed together with epsilon"),
    "unknown model": ({"tables": {"genre": {"model": "bayes"}}},
                      "tables.genre.model: unknown model 'bayes'; choose one of auto, bayesnet, copula, independent, neural"),
    "incomplete foreign key": ({"foreign_keys": [{"table": "invoice", "columns": ["customer_id"]}]},
                               "foreign_keys[0]: missing required keys 'referred_table', 'referred_columns'"),
}


@pytest.mark.parametrize("data, message", INVALID.values(), ids=INVALID.keys())
def test_invalid_input_gives_the_documented_line(data: dict, message: str) -> None:
    if "unknown model" in message:
        from dbsynth.models.base import generator_names
        message = message.split("choose one of")[0] + "choose one of " + ", ".join(["auto", *generator_names()])
    assert error_of(data) == message


@pytest.mark.parametrize("data, message", [
    ({"sede": 1}, "sede: unknown key; did you mean 'seed'?"),
    ({"customer": {"mode": "copy"}}, "customer: unknown key; rules for a table go under [tables.customer]"),
    ({"tables": {"genre": {"frobnicate": 1}}},
     "tables.genre.frobnicate: unknown key; expected one of mode, model, where, scale, columns"),
    ({"seed": 7.5}, "seed: expected an integer, got float 7.5"),
    ({"seed": True}, "seed: expected an integer, got boolean True"),
    ({"seed": -1}, "seed: must be at least 0, got -1"),
    ({"scale": 0}, "scale: must be greater than 0, got 0"),
    ({"scale": math.inf}, "scale: must be a finite number, got inf"),
    ({"epsilon": 0}, "epsilon: must be greater than 0, got 0"),
    ({"epsilon": 1, "delta": 1}, "delta: must be less than 1, got 1"),
    ({"jobs": 0}, "jobs: must be at least 1, got 0"),
    ({"if_exists": "overwrite"}, "if_exists: 'overwrite' is not one of refuse, replace, truncate"),
    ({"device": "gpu"}, "device: 'gpu' is not one of auto, cpu, cuda"),
    ({"locale": "de_DX"}, "locale: Faker has no locale 'de_DX'; did you mean 'de_DE'?"),
    ({"locale": "german"}, 'locale: a locale looks like "en_US" or "de_DE"'),
    ({"model": "Bayes Net"}, 'model: a model name is lowercase letters and underscores, such as "bayesnet"'),
    ({"tables": {"genre": "copy"}}, "tables.genre: expected a table, got string 'copy'"),
    ({"tables": {"genre": {"where": 3}}}, "tables.genre.where: expected a string, got integer 3"),
    ({"tables": {"genre": {"where": ""}}}, "tables.genre.where: must not be empty"),
    ({"tables": {"genre": {"mode": "skip", "where": "1 = 1"}}},
     'tables.genre.where: not allowed with mode = "skip": the table is left empty'),
    ({"tables": {"genre": {"mode": "copy", "model": "bayesnet"}}},
     'tables.genre.model: not allowed with mode = "copy": a copied table is not modelled'),
    ({"tables": {"genre": {"mode": "copy", "columns": {"name": {"mode": "model"}}}}},
     "tables.genre.columns.name.mode: a column of a copied table can be keep, fake, null or hash, not model"),
    ({"tables": {"customer": {"columns": {"email": {"provider": "email"}}}}},
     'tables.customer.columns.email.provider: only allowed with mode = "fake"'),
    ({"tables": {"customer": {"columns": {"email": {"mode": "fake", "provider": "e-mail"}}}}},
     "tables.customer.columns.email.provider: 'e-mail' is not one of " + ", ".join(PROVIDERS)),
    ({"tables": {"Order Details": {"mdoe": "copy"}}}, "tables.\"Order Details\".mdoe: unknown key; did you mean 'mode'?"),
    ({"foreign_keys": [{"table": "a", "columns": ["x", "x"], "referred_table": "b", "referred_columns": ["y", "z"]}]},
     "foreign_keys[0].columns: lists 'x' more than once"),
    ({"foreign_keys": [{"table": "a", "columns": ["x"], "referred_table": "b", "referred_columns": ["y", "z"]}]},
     "foreign_keys[0]: 1 column(s) refer to 2 referred column(s); give as many of each, in matching order"),
    ({"foreign_keys": {"table": "a"}}, "foreign_keys: expected an array, got table"),
    ({"rebalance": {"invoice": "uniform"}},
     'rebalance.invoice: a rebalance key is "table.column", quoted: "invoice.billing_country" = "uniform"'),
    ({"rebalance": {"invoice.billing_country": "flat"}},
     'rebalance."invoice.billing_country": must be "uniform" or a table of value = share'),
    ({"rebalance": {"invoice.billing_country": {"USA": 0.75, "Canada": 0.5}}},
     'rebalance."invoice.billing_country": shares add up to 1.25; they must add up to at most 1'),
    ({"rebalance": {"invoice.billing_country": {"USA": 0}}},
     'rebalance."invoice.billing_country".USA: must be greater than 0, got 0'),
])
def test_each_kind_of_mistake_names_its_key(data: dict, message: str) -> None:
    assert error_of(data) == message


def test_several_problems_show_the_first_in_file_order_and_count_the_rest() -> None:
    data = {"seed": -1, "scale": 0, "tables": {"genre": {"mode": "x", "mdoe": 1}}}
    assert error_of(data) == "seed: must be at least 0, got -1 (and 3 more problems)"
    assert error_of({"scale": 0, "seed": -1}) == "scale: must be greater than 0, got 0 (and 1 more problem)"


def test_bad_enum_in_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[tables.customer.columns.email]\nmode = "fak"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == "tables.customer.columns.email.mode: 'fak' is not one of keep, fake, null, model, hash"
    assert info.value.exit_code == 2


def test_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, 'seed = 7\n\n[tables.genre]\nmode = copy\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (f'{path}: line 4, column 8: invalid TOML: invalid value '
                               f'(text needs quotes, as in mode = "copy")')
    with pytest.raises(ConfigError, match=r": line 2, column \d+: invalid TOML: cannot overwrite a value"):
        load_config(write(tmp_path, "seed = 1\nseed = 2\n"))
    with pytest.raises(ConfigError, match=r"invalid TOML at the end of the file: unterminated string"):
        load_config(write(tmp_path, 'dask = "tcp://x'))


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^config file '.*missing.toml' does not exist; check the path$"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path)
    (tmp_path / "latin1.toml").write_bytes('dask = "sch\xf6n"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(tmp_path / "latin1.toml")


def test_dates_are_named_as_toml_types(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^seed: expected an integer, got date '2024-05-01'$"):
        load_config(write(tmp_path, "seed = 2024-05-01\n"))


def test_key_paths_are_toml_spelling() -> None:
    assert key_path(["tables", "customer", "columns", "email"]) == "tables.customer.columns.email"
    assert key_path(["foreign_keys", 0, "columns", 1]) == "foreign_keys[0].columns[1]"
    assert key_path(["rebalance", "invoice.total"]) == 'rebalance."invoice.total"'
    assert key_path([]) == "(top level)"


# --- command-line options win ------------------------------------------------------------------------

def test_cli_options_given_override_the_file_and_none_means_not_given(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, 'seed = 7\nscale = 0.5\nif_exists = "replace"\nmodel = "bayesnet"\n'))
    merged = config.merged_with_cli(seed=None, scale=2, if_exists=None, model=None, jobs=None)
    assert (merged.seed, merged.scale, merged.if_exists, merged.model) == (7, 2.0, "replace", "bayesnet")
    assert isinstance(merged.scale, float)
    assert config.merged_with_cli(seed=0).seed == 0               # 0 is given, not "missing"
    assert config.merged_with_cli() is config
    assert Config.default().merged_with_cli(seed=3).seed == 3      # no file: CLI over defaults
    assert merged.tables == config.tables and merged.path == config.path


def test_every_cli_option_can_live_in_the_file_and_be_overridden() -> None:
    values = {"seed": 1, "scale": 2.0, "if_exists": "truncate", "model": "independent", "jobs": 2, "epsilon": 3.0,
              "delta": 0.001, "tune_budget": 30.0, "max_train_rows": 1000, "device": "cuda", "dask": "local",
              "schemas": ["core", "public"]}
    assert set(values) == set(CLI_OPTIONS)
    from_file = config_from_dict(values)
    assert all(getattr(from_file, k) == (tuple(v) if isinstance(v, list) else v) for k, v in values.items())
    overridden = from_file.merged_with_cli(**{k: None for k in values if k != "jobs"}, jobs=8)
    assert overridden == dataclasses.replace(from_file, jobs=8)


@pytest.mark.parametrize("options, message", [
    ({"scale": -1.0}, "--scale: must be greater than 0, got -1.0"),
    ({"if_exists": "overwrite"}, "--if-exists: 'overwrite' is not one of refuse, replace, truncate"),
    ({"max_train_rows": 0}, "--max-train-rows: must be at least 1, got 0"),
    ({"model": "nope"}, "--model: unknown model 'nope'; choose one of "),
    ({"delta": 0.1}, "--delta: only allowed together with --epsilon (or epsilon in the config file)"),
    ({"schemas": "core,,public"}, "--schemas: must not be empty"),
    ({"schemas": "core,core"}, "--schemas: lists 'core' more than once"),
])
def test_bad_cli_values_name_the_flag(options: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config.default().merged_with_cli(**options)
    assert str(info.value).startswith(message)


def test_schemas_from_the_command_line_or_the_file() -> None:
    assert Config.default().merged_with_cli(schemas="core, Sales").schemas == ("core", "Sales")
    assert Config.default().merged_with_cli(schemas=["public"]).schemas == ("public",)
    from_file = config_from_dict({"schemas": ["core"]})
    assert from_file.schemas == ("core",) and from_file.to_dict()["schemas"] == ["core"]
    assert from_file.merged_with_cli(schemas=None).schemas == ("core",)
    with pytest.raises(ConfigError, match=r"^schemas: must not be empty"):
        config_from_dict({"schemas": []})


def test_delta_on_the_command_line_with_epsilon_from_the_file() -> None:
    assert config_from_dict({"epsilon": 1}).merged_with_cli(delta=0.01).delta == 0.01


def test_unknown_cli_option_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="tables"):
        Config.default().merged_with_cli(tables={})


# --- against the real Chinook schema -----------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    ({"tables": {"custmer": {}}}, "tables.custmer: no table 'custmer' in the source; did you mean 'customer'?"),
    ({"tables": {"Customer": {}}}, "tables.Customer: no table 'Customer' in the source; did you mean 'customer'?"),
    ({"tables": {"xyzzy": {}}}, "tables.xyzzy: no table 'xyzzy' in the source; its tables are: album, artist, "
                                "customer, employee, genre, invoice, invoice_line, media_type, playlist, "
                                "playlist_track, track"),
    ({"tables": {"customer": {"columns": {"emial": {"mode": "fake"}}}}},
     "tables.customer.columns.emial: no column 'emial' in table 'customer'; did you mean 'email'?"),
    ({"foreign_keys": [{"table": "invoce", "columns": ["customer_id"], "referred_table": "customer",
                        "referred_columns": ["customer_idd"]}]},
     "foreign_keys[0].table: no table 'invoce' in the source; did you mean 'invoice'? (and 1 more problem)"),
    ({"rebalance": {"invoice.billing_contry": "uniform"}},
     "rebalance.\"invoice.billing_contry\": no column 'billing_contry' in table 'invoice'; "
     "did you mean 'billing_country'?"),
    ({"tables": {"customer": {"columns": {"email": {"mode": "null"}}}}},
     'tables.customer.columns.email: mode "null" on a NOT NULL column; the target would refuse the rows'),
    ({"tables": {"customer": {"columns": {"customer_id": {"mode": "hash"}}}}},
     'tables.customer.columns.customer_id: a primary-key column cannot be "hash": its values must still match '
     'between tables'),
    ({"tables": {"invoice": {"columns": {"customer_id": {"mode": "keep"}}}}},
     'tables.invoice.columns.customer_id: a foreign-key column cannot be "keep": dbsynth allocates the keys of '
     'synthetic rows'),
    ({"tables": {"track": {"columns": {"milliseconds": {"mode": "fake"}}}}},
     'tables.track.columns.milliseconds: mode "fake" needs a text column, and this one is integer'),
    ({"tables": {"invoice": {"mode": "copy"}}},
     "tables.invoice: mode \"copy\" needs its parent table 'customer' copied too, or the copied rows would point "
     "at rows that do not exist"),
    ({"tables": {"media_type": {"mode": "skip"}}},
     'tables.media_type: mode "skip" leaves media_type empty, but track(media_type_id) refers to it and cannot '
     "be NULL; skip track too, or copy or model media_type"),
])
def test_rules_that_do_not_fit_chinook_are_refused(chinook: Schema, data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_against_schema(config_from_dict(data), chinook)
    assert str(info.value) == message


@pytest.mark.parametrize("data, warning", [
    ({"tables": {"invoice": {"scale": 2}}},
     "tables.invoice.scale: invoice is not a root table (it refers to customer); its rows follow the number of "
     "children per parent, so this scale is not used"),
    ({"tables": {"customer": {"columns": {"email": {"mode": "keep"}}}}},
     'tables.customer.columns.email: mode "keep" writes the real values of what looks like personal data (email) '
     "to the target"),
    ({"tables": {"genre": {"mode": "skip"}}},
     "tables.genre: track(genre_id) will be NULL in every row, since genre is left empty"),
    ({"tables": {"track": {"columns": {"track_id": {"mode": "model"}}}}},
     'tables.track.columns.track_id: a primary-key column; dbsynth allocates its values, so mode "model" is not used'),
    ({"foreign_keys": [{"table": "invoice", "columns": ["customer_id"], "referred_table": "customer",
                        "referred_columns": ["customer_id"]}]},
     "foreign_keys[0]: the source already declares this foreign key"),
    ({"foreign_keys": [{"table": "invoice", "columns": ["billing_country"], "referred_table": "customer",
                        "referred_columns": ["country"]}]},
     "foreign_keys[0]: customer(country) is neither the primary key nor unique in the source; a foreign key "
     "should refer to a key"),
])
def test_harmless_oddities_are_warnings(chinook: Schema, data: dict, warning: str) -> None:
    assert check_against_schema(config_from_dict(data), chinook) == [warning]


def test_rules_that_fit_chinook_give_no_warning(chinook: Schema) -> None:
    config = config_from_dict({
        "tables": {
            "artist": {"scale": 3, "model": "independent"},          # a root table
            "genre": {"mode": "copy"}, "media_type": {"mode": "copy"},
            "invoice": {"where": "total > 1"},
            "customer": {"columns": {"support_rep_id": {"mode": "null"},       # nullable FK: drop the link
                                     "company": {"mode": "fake", "provider": "company"},
                                     "country": {"mode": "hash"}, "city": {"mode": "keep"}}},
            "employee": {"columns": {"fax": {"mode": "null"}}},
        },
        "rebalance": {"invoice.billing_country": "uniform"},
    })
    assert check_against_schema(config, chinook) == []


def test_copying_a_child_with_its_parents_is_fine(chinook: Schema) -> None:
    config = config_from_dict({"tables": {t: {"mode": "copy"} for t in ("invoice", "customer", "employee")}})
    assert check_against_schema(config, chinook) == []


def test_declared_foreign_keys_join_the_schema(tmp_path: Path) -> None:
    db = tmp_path / "legacy.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_ref INTEGER NOT NULL);"
                           "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);")
    engine = open_source(parse_url(str(db)))
    try:
        schema = introspect(engine)
    finally:
        engine.dispose()
    config = config_from_dict({"foreign_keys": [{"table": "orders", "columns": ["customer_ref"],
                                                  "referred_table": "customers", "referred_columns": ["id"]}]})
    assert check_against_schema(config, schema) == []
    full = with_declared_foreign_keys(schema, config)
    (fk,) = full.table("orders").foreign_keys
    assert (fk.columns, fk.referred_table, fk.referred_columns) == (("customer_ref",), "customers", ("id",))
    assert load_order(full).tables == ("customers", "orders")
    assert with_declared_foreign_keys(full, config) == full      # declared twice: added once
    assert with_declared_foreign_keys(schema, Config.default()) is schema
    with pytest.raises(ConfigError, match="did you mean 'customers'"):
        check_against_schema(config_from_dict({"tables": {"customer": {}}}), full)


# --- the schema file ---------------------------------------------------------------------------------

def _object_schemas(node: object, path: str = "#"):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        if "properties" in node and node.get("type") == "object":
            yield path, node
        for k, v in node.items():
            yield from _object_schemas(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _object_schemas(v, f"{path}/{i}")


def test_schema_file_is_draft_2020_12_closed_and_described() -> None:
    assert schema_path() == ROOT / "schemas" / "dbsynth.schema.json"
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    objects = list(_object_schemas(schema))
    assert len(objects) >= 4
    for where, node in objects:
        assert node.get("additionalProperties") is False, where
        for name, prop in node["properties"].items():
            assert prop.get("description"), f"{where}/properties/{name} has no description"


def test_schema_lists_exactly_the_fake_providers() -> None:
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    assert tuple(schema["$defs"]["column"]["properties"]["provider"]["enum"]) == PROVIDERS


def test_schema_options_are_the_config_fields() -> None:
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    fields = {f.name for f in dataclasses.fields(Config)} - {"path"}
    assert set(schema["properties"]) == fields


# --- anything the schema accepts loads, or is a clean ConfigError ------------------------------------

def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{_toml_string(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def to_toml(data: dict) -> str:
    return "".join(f"{_toml_string(k)} = {_toml_value(v)}\n" for k, v in data.items())


names = st.sampled_from(["customer", "invoice", "genre", "email", "x"]) | st.text(min_size=1, max_size=8)
numbers = st.integers(-3, 10**6) | st.floats(allow_nan=True, allow_infinity=True)
positive = st.integers(1, 10**6) | st.floats(min_value=1e-9, max_value=1e9, exclude_min=True)
anything = st.booleans() | numbers | st.text(max_size=8)


@st.composite
def column_rules(draw: st.DrawFn) -> dict:
    rule = draw(st.fixed_dictionaries({}, optional={"mode": st.sampled_from(["keep", "fake", "null", "model", "hash"])}))
    if rule.get("mode") == "fake":
        rule |= draw(st.fixed_dictionaries({}, optional={
            "provider": st.sampled_from(PROVIDERS), "locale": st.sampled_from(["de_DE", "en_US", "xx_XX", "fr"])}))
    return rule


@st.composite
def table_rules(draw: st.DrawFn) -> dict:
    mode = draw(st.sampled_from([None, "model", "copy", "skip"]))
    rule: dict = {} if mode is None else {"mode": mode}
    if mode == "skip":
        return rule
    rule |= draw(st.fixed_dictionaries({}, optional={
        "where": st.text(min_size=1, max_size=30),
        "columns": st.dictionaries(names, column_rules(), max_size=3)}))
    if mode != "copy":
        rule |= draw(st.fixed_dictionaries({}, optional={
            "model": st.sampled_from(["bayesnet", "independent", "no_such_model"]), "scale": positive}))
    else:
        for c in rule.get("columns", {}).values():
            if c.get("mode") == "model":
                c["mode"] = "keep"
    return rule


foreign_keys = st.builds(
    lambda t, cols, rt, rcols: {"table": t, "columns": cols, "referred_table": rt, "referred_columns": rcols},
    names, st.lists(names, min_size=1, max_size=2, unique=True), names,
    st.lists(names, min_size=1, max_size=2, unique=True))
shares = st.dictionaries(st.text(max_size=6), st.floats(min_value=0.01, max_value=1), min_size=1, max_size=3)
accepted_configs = st.fixed_dictionaries({}, optional={
    "seed": st.integers(0, 2**63 - 1), "scale": positive, "if_exists": st.sampled_from(["refuse", "replace", "truncate"]),
    "model": st.sampled_from(["bayesnet", "neural", "no_such_model"]), "jobs": st.integers(1, 64),
    "epsilon": positive, "tune_budget": positive, "max_train_rows": st.integers(1, 10**9),
    "device": st.sampled_from(["auto", "cpu", "cuda"]), "dask": st.text(min_size=1, max_size=20),
    "locale": st.sampled_from(["en_US", "de_DE", "zz_ZZ"]),
    "tables": st.dictionaries(names, table_rules(), max_size=4),
    "foreign_keys": st.lists(foreign_keys, max_size=2),
    "rebalance": st.dictionaries(st.builds(lambda a, b: f"{a}.{b}", names.filter(lambda s: s != "."),
                                           st.from_regex(r"\A[a-z_]{1,6}\Z")),
                                 st.just("uniform") | shares, max_size=2),
})
VALIDATOR = Draft202012Validator(json.loads(schema_path().read_text(encoding="utf-8")))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=accepted_configs)
def test_whatever_the_schema_accepts_loads_or_is_a_config_error(tmp_path_factory: pytest.TempPathFactory,
                                                               data: dict) -> None:
    assert VALIDATOR.is_valid(data), list(VALIDATOR.iter_errors(data))[:1]
    path = tmp_path_factory.mktemp("hyp") / "dbsynth.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    try:
        config = load_config(path)
    except ConfigError as exc:
        assert "\n" not in str(exc) and ": " in str(exc)
        return
    assert config_from_dict(config.to_dict()) == config
    for rule in config.tables:
        assert config.table_rule(rule.name).mode == rule.mode
        for column in rule.columns:
            assert config.column_rule(rule.name, column.name).mode == column.mode


any_values = st.recursive(anything, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(names, inner, max_size=3), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(st.sampled_from([*CLI_OPTIONS, "locale", "tables", "foreign_keys", "rebalance", "x"]),
                            any_values, max_size=5))
def test_any_data_loads_or_gives_a_one_line_config_error(data: dict) -> None:
    try:
        config_from_dict(data)
    except ConfigError as exc:
        assert "\n" not in str(exc) and re.match(r"^\S.*: \S", str(exc))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_checking_any_accepted_config_against_chinook_is_clean(chinook: Schema, data: st.DataObject) -> None:
    tables = {t.name: t.column_names for t in chinook.tables}
    table = st.sampled_from(sorted(tables))

    def rules_for(name: str) -> st.SearchStrategy[dict]:
        columns = st.dictionaries(st.sampled_from(tables[name]), column_rules(), max_size=3)
        return st.fixed_dictionaries({"mode": st.sampled_from(["model", "copy", "skip"])}).flatmap(
            lambda m: st.just(m) if m["mode"] == "skip" else st.fixed_dictionaries(
                {**{k: st.just(v) for k, v in m.items()}},
                optional={"columns": columns, "where": st.just("1 = 1"),
                          **({"scale": positive} if m["mode"] == "model" else {})}))

    def fk(child: str, parent: str) -> st.SearchStrategy[dict]:
        return st.builds(lambda c, p: {"table": child, "columns": [c], "referred_table": parent, "referred_columns": [p]},
                         st.sampled_from(tables[child]), st.sampled_from(tables[parent]))

    chosen = data.draw(st.lists(table, unique=True, max_size=4))
    raw = {"tables": {name: data.draw(rules_for(name)) for name in chosen},
           "foreign_keys": data.draw(st.lists(st.tuples(table, table).flatmap(lambda p: fk(*p)), max_size=2))}
    for rule in raw["tables"].values():
        for column in rule.get("columns", {}).values():
            if rule["mode"] == "copy" and column.get("mode") == "model":
                column["mode"] = "keep"
    assert VALIDATOR.is_valid(raw)
    try:
        config = config_from_dict(raw)
        warnings = check_against_schema(config, chinook)
    except ConfigError as exc:
        assert "\n" not in str(exc) and re.match(r"^(tables|foreign_keys)\S*: \S", str(exc)), str(exc)
        return
    assert all(isinstance(w, str) and "\n" not in w for w in warnings)
    with_declared_foreign_keys(chinook, config)


def test_a_cycle_closed_by_declared_foreign_keys_is_the_files_fault(chinook: Schema) -> None:
    config = config_from_dict({"foreign_keys": [{"table": "customer", "columns": ["first_name"],
                                                  "referred_table": "invoice", "referred_columns": ["invoice_id"]}]})
    with pytest.raises(ConfigError, match=r"^foreign_keys: with the declared foreign keys, foreign-key cycle "
                                          r"invoice -> customer has no nullable foreign key"):
        check_against_schema(config, chinook)
