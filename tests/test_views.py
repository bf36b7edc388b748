"""Views and materialized views are recreated as views from their definitions, never filled."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import dbsynth
from dbsynth.io.engines import parse_url
from tests.helpers import schema_of


def _source_with_views(url: str) -> None:
    engine = sa.create_engine(parse_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE shop (id serial PRIMARY KEY, region text NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE sale (id serial PRIMARY KEY, shop_id int NOT NULL REFERENCES shop, "
                             "amount numeric(8,2) NOT NULL)")
        conn.exec_driver_sql("INSERT INTO shop (region) SELECT (ARRAY['north','south','east'])[1 + mod(i, 3)] "
                             "FROM generate_series(1, 60) i")
        conn.exec_driver_sql("INSERT INTO sale (shop_id, amount) SELECT 1 + mod(i * 7, 60), mod(i * 37, 500) + 0.5 "
                             "FROM generate_series(1, 900) i")
        conn.exec_driver_sql("CREATE VIEW sale_by_shop AS SELECT shop_id, sum(amount) AS total, count(*) AS n "
                             "FROM sale GROUP BY shop_id")
        conn.exec_driver_sql("CREATE VIEW big_shops AS SELECT shop_id FROM sale_by_shop WHERE n > 10")
        conn.exec_driver_sql("CREATE MATERIALIZED VIEW region_totals AS SELECT s.region, sum(x.amount) AS total "
                             "FROM shop s JOIN sale x ON x.shop_id = s.id GROUP BY s.region")
    engine.dispose()


def test_views_are_recreated_on_postgres(postgres_url: str, postgres_target: str) -> None:
    _source_with_views(postgres_url)
    result = dbsynth.clone(postgres_url, postgres_target, seed=1)
    assert set(result.rows) == {"shop", "sale"}                 # views are not filled as tables
    target = schema_of(postgres_target)
    assert {(v.name, v.materialized) for v in target.views} == {
        ("sale_by_shop", False), ("big_shops", False), ("region_totals", True)}
    engine = sa.create_engine(parse_url(postgres_target))
    with engine.connect() as conn:
        kinds = dict(conn.exec_driver_sql(
            "SELECT relname, relkind FROM pg_class WHERE relname IN "
            "('sale_by_shop', 'big_shops', 'region_totals')").fetchall())
        assert kinds == {"sale_by_shop": "v", "big_shops": "v", "region_totals": "m"}
        # The views compute over the synthetic rows.
        total = conn.exec_driver_sql("SELECT sum(total) FROM sale_by_shop").scalar_one()
        assert total == conn.exec_driver_sql("SELECT sum(amount) FROM sale").scalar_one()
    engine.dispose()
    # A second clone with replace drops and recreates tables and views.
    dbsynth.clone(postgres_url, postgres_target, seed=2, if_exists="replace")
    assert {v.name for v in schema_of(postgres_target).views} == {"sale_by_shop", "big_shops", "region_totals"}


def test_views_across_engines_are_recreated_or_named(postgres_url: str, tmp_path: Path) -> None:
    _source_with_views(postgres_url)
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    result = dbsynth.clone(postgres_url, target, seed=1)
    assert {(v.name, v.materialized) for v in schema_of(target).views} == {
        ("sale_by_shop", False), ("big_shops", False), ("region_totals", False)}
    assert [w for w in result.warnings if "view" in w] == [
        "materialized view region_totals was created as a plain view (the target has no materialized views)"]
    engine = sa.create_engine(target)
    with engine.connect() as conn:  # SQLite runs them: computed over the synthetic rows
        assert conn.exec_driver_sql("SELECT sum(total) FROM region_totals").scalar_one() == pytest.approx(
            conn.exec_driver_sql("SELECT sum(amount) FROM sale").scalar_one())
        assert conn.exec_driver_sql("SELECT count(*) FROM big_shops").scalar_one() == conn.exec_driver_sql(
            "SELECT count(*) FROM (SELECT shop_id FROM sale GROUP BY shop_id HAVING count(*) > 10) x").scalar_one()
    engine.dispose()


def test_truncate_refreshes_the_targets_materialized_views(postgres_url: str, postgres_target: str) -> None:
    """--if-exists truncate keeps the target's schema; its materialized views must show the new rows."""
    _source_with_views(postgres_url)
    engine = sa.create_engine(parse_url(postgres_target))
    with engine.begin() as conn:  # the target's own materialized view over another one, read before the refresh
        conn.exec_driver_sql("CREATE TABLE shop (id serial PRIMARY KEY, region text NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE sale (id serial PRIMARY KEY, shop_id int NOT NULL REFERENCES shop, "
                             "amount numeric(8,2) NOT NULL)")
        conn.exec_driver_sql("INSERT INTO shop (region) VALUES ('old')")
        conn.exec_driver_sql("INSERT INTO sale (shop_id, amount) VALUES (1, 1.5)")
        conn.exec_driver_sql("CREATE MATERIALIZED VIEW a_sale_count AS SELECT count(*) AS n, sum(amount) AS total "
                             "FROM sale")
        conn.exec_driver_sql("CREATE MATERIALIZED VIEW b_doubled AS SELECT n * 2 AS twice FROM a_sale_count")
    result = dbsynth.clone(postgres_url, postgres_target, seed=3, if_exists="truncate")
    with engine.connect() as conn:
        n, total = conn.exec_driver_sql("SELECT n, total FROM a_sale_count").one()
        assert (n, total) == conn.exec_driver_sql("SELECT count(*), sum(amount) FROM sale").one()
        assert n == result.rows["sale"] > 100
        assert conn.exec_driver_sql("SELECT twice FROM b_doubled").scalar_one() == 2 * n
    engine.dispose()
