"""--dask on a server target: the workers write their partitions themselves, with the rows of a local run."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import dbsynth
from dbsynth.errors import ConnectionFailed, DbsynthError
from dbsynth.io.engines import open_source, parse_url
from dbsynth.report.integrity import duplicate_key_counts, orphan_counts
from dbsynth.schema.introspect import introspect
from tests.helpers import rows_of

TABLES = ("country", "customer", "orders")
OPTIONS = {"seed": 5, "model": "bayesnet", "rows_per_partition": 1500}


def _shop(url: str) -> None:
    """A copied lookup (country), a self-reference filled by UPDATE (referred_by), a UNIQUE e-mail, 4 partitions."""
    engine = sa.create_engine(parse_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE country (code char(2) PRIMARY KEY, name text NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE customer (c_id serial PRIMARY KEY, country char(2) NOT NULL "
                             "REFERENCES country, email varchar(60) NOT NULL UNIQUE, tier text NOT NULL, "
                             "referred_by int REFERENCES customer)")
        conn.exec_driver_sql("CREATE TABLE orders (o_id serial PRIMARY KEY, c_id int NOT NULL REFERENCES customer, "
                             "total numeric(8,2) NOT NULL)")
        conn.exec_driver_sql("INSERT INTO country VALUES ('FR', 'France'), ('DE', 'Germany'), ('US', 'USA'), "
                             "('JP', 'Japan'), ('BR', 'Brazil'), ('IN', 'India')")
        conn.exec_driver_sql("INSERT INTO customer (country, email, tier, referred_by) SELECT "
                             "(ARRAY['FR','DE','US','JP','BR','IN'])[1 + mod(i, 6)], 'c' || i || '@shop.example', "
                             "CASE WHEN mod(i, 4) = 0 THEN 'gold' ELSE 'std' END, "
                             "CASE WHEN mod(i, 3) = 0 AND i > 1 THEN i / 2 END FROM generate_series(1, 1500) i")
        conn.exec_driver_sql("INSERT INTO orders (c_id, total) SELECT 1 + mod(i * 7, 1500), 5 + mod(i * 13, 400) "
                             "FROM generate_series(1, 4500) i")
    engine.dispose()


def _integrity(url: str) -> tuple[int, int]:
    engine = open_source(parse_url(url))
    try:
        schema = introspect(engine)
        return sum(orphan_counts(engine, schema).values()), sum(duplicate_key_counts(engine, schema).values())
    finally:
        engine.dispose()


def _table_rows(url: str) -> dict[str, list[tuple]]:
    return {table: rows_of(url, table) for table in TABLES}


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_dask_workers_write_the_rows_of_a_local_run(engine: str, postgres_url: str,
                                                    request: pytest.FixtureRequest) -> None:
    _shop(postgres_url)
    target = request.getfixturevalue("postgres_target" if engine == "postgresql" else "mysql_url")
    local = dbsynth.clone(postgres_url, target, **OPTIONS)
    expected = _table_rows(target)
    assert local.writers == {} and local.partitions > 1

    result = dbsynth.clone(postgres_url, target, dask="local", jobs=2, if_exists="replace", **OPTIONS)

    assert result.rows == local.rows
    assert result.writers and all(w.startswith("tcp://") for w in result.writers)   # Dask workers wrote
    assert sum(result.writers.values()) == result.total_rows                        # ... every row
    assert _table_rows(target) == expected
    assert _integrity(target) == (0, 0)
    referred = sum(1 for row in expected["customer"] if row[-1] is not None)
    assert referred > 0   # the self-reference was filled by UPDATEs on the workers


def test_a_failed_worker_write_leaves_no_rows(postgres_url: str, postgres_target: str) -> None:
    _shop(postgres_url)
    _shop(postgres_target)  # the target's own schema, with old rows and a CHECK no generated order passes
    with sa.create_engine(parse_url(postgres_target)).begin() as conn:
        conn.exec_driver_sql("DELETE FROM orders WHERE total >= 300")
        conn.exec_driver_sql("ALTER TABLE orders ADD CONSTRAINT small_total CHECK (total < 300)")

    with pytest.raises(DbsynthError) as caught:
        dbsynth.clone(postgres_url, postgres_target, dask="local", jobs=2, if_exists="truncate", **OPTIONS)

    message = str(caught.value)
    assert "\n" not in message and "orders" in message and "small_total" in message
    assert "emptied" in message
    with sa.create_engine(parse_url(postgres_target)).connect() as conn:
        counts = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one() for t in TABLES}
    assert counts == {t: 0 for t in TABLES}   # no partition's rows left behind


def test_an_unreachable_scheduler_writes_nothing(postgres_url: str, postgres_target: str) -> None:
    _shop(postgres_url)
    with pytest.raises(ConnectionFailed, match="Dask scheduler at tcp://127.0.0.1:9"):
        dbsynth.clone(postgres_url, postgres_target, dask="tcp://127.0.0.1:9", **OPTIONS)
    with sa.create_engine(parse_url(postgres_target)).connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").scalar_one() == 0


def test_refresh_on_dask_writes_into_the_shadow_and_swaps(postgres_url: str, postgres_target: str,
                                                          tmp_path: Path) -> None:
    _shop(postgres_url)
    model = tmp_path / "shop.dbsynth"
    dbsynth.refresh(postgres_url, postgres_target, model_file=model, **OPTIONS)
    old = _table_rows(postgres_target)

    result = dbsynth.refresh(postgres_url, postgres_target, model_file=model, dask="local", jobs=2,
                             **{**OPTIONS, "seed": 6})

    assert result.writers and sum(result.writers.values()) == result.total_rows
    new = _table_rows(postgres_target)
    assert {t: len(r) for t, r in new.items()} == result.rows   # the workers' rows, swapped in whole
    assert new["customer"] != old["customer"]
    assert _integrity(postgres_target) == (0, 0)
    with sa.create_engine(parse_url(postgres_target)).connect() as conn:
        schemas = conn.exec_driver_sql("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'dbsynth%%'").all()
    assert schemas == []   # no shadow left behind
