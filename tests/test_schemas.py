"""--schemas and extension-owned objects: which PostgreSQL namespaces are read, on real servers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

import dbsynth
from dbsynth.io.engines import parse_url
from dbsynth.report.integrity import orphan_counts
from tests.helpers import schema_of
from tests.test_clone_showcase import load_showcase


def dbsynth_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dbsynth", *args], capture_output=True, text=True, timeout=300)


def execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(parse_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


@pytest.fixture
def showcase(postgres_url: str) -> str:
    load_showcase(postgres_url)
    return postgres_url


SHOWCASE_CORE_AND_PUBLIC = {"country", "settings", "core.audit_log", "core.customer", "core.department",
                            "core.employee", "core.product", "core.product_tag", "core.stock_level", "core.tag",
                            "core.warehouse"}


def test_clone_reads_only_the_schemas_named(showcase: str, postgres_target: str) -> None:
    result = dbsynth.clone(showcase, postgres_target, seed=1, model="independent", schemas="core,public")
    assert set(result.rows) == SHOWCASE_CORE_AND_PUBLIC
    copy = schema_of(postgres_target)
    assert set(copy.table_names) == SHOWCASE_CORE_AND_PUBLIC          # no Sales table was created
    assert {v.name for v in copy.views} == {"core.customers_per_country"}
    assert set(orphan_counts(sa.create_engine(postgres_target, poolclass=sa.pool.NullPool), copy).values()) == {0}
    engine = sa.create_engine(postgres_target, poolclass=sa.pool.NullPool)
    try:
        assert "Sales" not in sa.inspect(engine).get_schema_names()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM core.customer").scalar_one() == result.rows["core.customer"]
    finally:
        engine.dispose()


def test_schemas_from_the_config_file_and_train(showcase: str, tmp_path: Path) -> None:
    config = tmp_path / "dbsynth.toml"
    config.write_text('schemas = ["public"]\nmodel = "independent"\n')
    trained = dbsynth.train(showcase, tmp_path / "m.dbsynth", config=config)
    assert set(trained.tables) == {"country", "settings"}
    assert set(dbsynth.inspect(showcase, config=config).schema.table_names) == {"country", "settings"}


def test_unknown_schema_is_one_line_listing_the_ones_there(showcase: str, tmp_path: Path) -> None:
    run = dbsynth_cli("clone", showcase, str(tmp_path / "t.db"), "--schemas", "core,nope")
    assert run.returncode != 0 and run.stdout == ""
    assert run.stderr.strip() == "error: schema nope is not in the source; its schemas are: Sales, core, public"
    assert not (tmp_path / "t.db").exists()


def test_foreign_key_into_a_schema_left_out_names_the_key_and_the_fix(showcase: str) -> None:
    run = dbsynth_cli("inspect", showcase, "--schemas", "Sales")
    assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1
    assert run.stderr.startswith("error: foreign key Order_approved_by_fkey on Sales.Order(approved_by) refers to "
                                 "core.employee, in schema core, which is not among the schemas read (Sales); "
                                 "add core to --schemas")
    with pytest.raises(dbsynth.SchemaError, match=r"refers to public\.country, in schema public.*add public"):
        dbsynth.inspect(showcase, schemas=["core"])


def test_extension_objects_are_left_out_with_one_note(showcase: str, postgres_target: str) -> None:
    execute(showcase,
            "CREATE EXTENSION pg_buffercache",                       # a view owned by an extension, in public
            "CREATE TABLE public.spatial_ref_sys (srid integer PRIMARY KEY, auth_name varchar(256))",
            "INSERT INTO public.spatial_ref_sys SELECT g, 'EPSG' FROM generate_series(1, 50) g",
            "ALTER EXTENSION pg_buffercache ADD TABLE public.spatial_ref_sys",   # as postgis' table is
            "CREATE EXTENSION hstore",
            "CREATE SCHEMA tiger",                                   # a schema an extension created
            "CREATE TABLE tiger.county (id integer PRIMARY KEY, name text)",
            "ALTER EXTENSION hstore ADD SCHEMA tiger")
    inspected = dbsynth_cli("inspect", showcase)
    assert inspected.returncode == 0, inspected.stderr
    notes = [line for line in inspected.stdout.splitlines() if line.startswith("note:")]
    assert notes == ["note: left out what extension hstore owns: schema tiger (CREATE EXTENSION hstore in the "
                     "target provides them)",
                     "note: left out what extension pg_buffercache owns: table spatial_ref_sys, view pg_buffercache "
                     "(CREATE EXTENSION pg_buffercache in the target provides them)"]

    run = dbsynth_cli("clone", showcase, postgres_target, "--model", "independent", "--seed", "2")
    assert run.returncode == 0, run.stderr
    assert sum(line.startswith("note: left out what extension") for line in run.stderr.splitlines()) == 2
    copy = schema_of(postgres_target)
    assert not {"spatial_ref_sys", "tiger.county"} & set(copy.table_names)
    assert "pg_buffercache" not in {v.name for v in copy.views}
    assert {"country", "core.customer", "Sales.Order"} <= set(copy.table_names)

    execute(showcase, "CREATE TABLE public.place (id integer PRIMARY KEY, "
                      "srid integer REFERENCES public.spatial_ref_sys (srid))")
    with pytest.raises(dbsynth.SchemaError, match=r"on place\(srid\) refers to public\.spatial_ref_sys, which "
                                                  r"extension pg_buffercache owns"):
        dbsynth.inspect(showcase)


def test_mariadb_says_a_schema_is_a_database(mysql_url: str) -> None:
    execute(mysql_url, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
    database = parse_url(mysql_url).database
    assert dbsynth.inspect(mysql_url, schemas=[database]).schema.table_names == ("t",)
    with pytest.raises(dbsynth.SchemaError, match=r"on MariaDB/MySQL a schema is a database, and dbsynth reads the "
                                                  rf"one named in the URL \({database}\)"):
        dbsynth.inspect(mysql_url, schemas="other")


def test_rebalance_a_table_outside_the_default_schema(showcase: str, postgres_target: str) -> None:
    run = dbsynth_cli("clone", showcase, postgres_target, "--model", "independent", "--seed", "4",
                      "--rebalance", "Sales.Order.status=shipped:0.6", "--rebalance", "core.customer.status=uniform")
    assert run.returncode == 0, run.stderr
    engine = sa.create_engine(postgres_target, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            orders = dict(conn.exec_driver_sql('SELECT status, count(*) FROM "Sales"."Order" GROUP BY 1').all())
            customers = dict(conn.exec_driver_sql("SELECT status::text, count(*) FROM core.customer GROUP BY 1").all())
    finally:
        engine.dispose()
    assert abs(orders["shipped"] / sum(orders.values()) - 0.6) < 0.08, orders
    assert all(abs(n / sum(customers.values()) - 1 / 3) < 0.08 for n in customers.values()), customers
    shipped = f"{orders['shipped'] / sum(orders.values()):.1%}"
    assert any(line.startswith("rebalanced Sales.Order.status: ") and f"shipped {shipped}" in line
               for line in run.stdout.splitlines()), run.stdout
    assert any(line.startswith("rebalanced core.customer.status: ") for line in run.stdout.splitlines())


def test_suggest_fks_reads_only_the_schemas_named(showcase: str) -> None:
    execute(showcase, "CREATE TABLE public.visitor (visitor_id integer PRIMARY KEY)",
            "INSERT INTO public.visitor SELECT g FROM generate_series(1, 30) g",
            "CREATE TABLE public.visit (id integer PRIMARY KEY, visitor_id integer)",
            "INSERT INTO public.visit SELECT g, 1 + mod(g, 30) FROM generate_series(1, 90) g")
    found = dbsynth_cli("inspect", showcase, "--suggest-fks", "--schemas", "public")
    assert found.returncode == 0, found.stderr
    assert 'table = "visit"' in found.stdout and "core." not in found.stdout and "Sales." not in found.stdout
