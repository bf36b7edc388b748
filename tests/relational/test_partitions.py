"""Generation in partitions: disjoint key ranges, orphan-free, unique across partitions, parallel = serial."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

import dbsynth
from dbsynth.io.engines import open_source, parse_url
from dbsynth.report.integrity import duplicate_key_counts, orphan_counts
from dbsynth.schema.introspect import introspect
from tests.helpers import rows_of


def _integrity(url: str) -> tuple[dict[str, int], dict[str, int]]:
    engine = open_source(parse_url(url))
    try:
        schema = introspect(engine)
        return orphan_counts(engine, schema), duplicate_key_counts(engine, schema)
    finally:
        engine.dispose()


def _suppliers_and_parts(url: str) -> None:
    """TPC-H's shape: a junction table with a composite key and a secondary parent (the one that broke)."""
    engine = sa.create_engine(parse_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE supplier (s_id serial PRIMARY KEY, nation text NOT NULL, "
                             "email varchar(60) NOT NULL UNIQUE)")
        conn.exec_driver_sql("CREATE TABLE part (p_id serial PRIMARY KEY, kind text NOT NULL, size int NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE partsupp (p_id int NOT NULL REFERENCES part, s_id int NOT NULL "
                             "REFERENCES supplier, cost numeric(8,2) NOT NULL, PRIMARY KEY (p_id, s_id))")
        conn.exec_driver_sql("INSERT INTO supplier (nation, email) SELECT (ARRAY['FR','DE','US'])[1 + mod(i, 3)], "
                             "'s' || i || '@corp.example' FROM generate_series(1, 400) i")
        conn.exec_driver_sql("INSERT INTO part (kind, size) SELECT (ARRAY['bolt','nut','gear'])[1 + mod(i, 3)], "
                             "1 + mod(i * 7, 50) FROM generate_series(1, 2000) i")
        conn.exec_driver_sql("INSERT INTO partsupp SELECT p, 1 + mod(p * 13 + k * 101, 400), 1 + mod(p * k, 90) "
                             "FROM generate_series(1, 2000) p, generate_series(1, 3) k")
    engine.dispose()


def test_partitions_are_disjoint_orphan_free_and_full_size(postgres_url: str, postgres_target: str) -> None:
    _suppliers_and_parts(postgres_url)
    result = dbsynth.clone(postgres_url, postgres_target, seed=1, model="bayesnet", rows_per_partition=2000,
                           scale=2)
    assert result.partitions > 1
    orphans, duplicates = _integrity(postgres_target)
    assert set(orphans.values()) == {0} and set(duplicates.values()) == {0}
    assert result.rows["supplier"] == 800 and result.rows["part"] == 4000
    assert abs(result.rows["partsupp"] - 12000) < 0.1 * 12000
    with sa.create_engine(parse_url(postgres_target)).connect() as conn:
        low, high, n = conn.exec_driver_sql("SELECT min(p_id), max(p_id), count(*) FROM part").one()
        assert (low, high, n) == (1, 4000, 4000)   # the partitions' key ranges follow each other
        assert conn.exec_driver_sql("SELECT count(*) FROM partsupp WHERE s_id IS NULL").scalar_one() == 0


def test_a_key_reached_through_a_composite_fk_moves_with_its_partition(postgres_url: str,
                                                                       postgres_target: str) -> None:
    """lineitem -> partsupp(p_id, s_id), whose columns are FKs to part and supplier: TPC-H at SF1 broke here."""
    _suppliers_and_parts(postgres_url)
    engine = sa.create_engine(parse_url(postgres_url))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE orders (o_id serial PRIMARY KEY, status text NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE lineitem (o_id int NOT NULL REFERENCES orders, line int NOT NULL, "
                             "p_id int NOT NULL, s_id int NOT NULL, qty int NOT NULL, PRIMARY KEY (o_id, line), "
                             "FOREIGN KEY (p_id, s_id) REFERENCES partsupp)")
        conn.exec_driver_sql("INSERT INTO orders (status) SELECT (ARRAY['O','F'])[1 + mod(i, 2)] "
                             "FROM generate_series(1, 1500) i")
        conn.exec_driver_sql("INSERT INTO lineitem SELECT o, k, ps.p_id, ps.s_id, 1 + mod(o * k, 50) "
                             "FROM generate_series(1, 1500) o, generate_series(1, 1 + mod(o, 4)) k, "
                             "LATERAL (SELECT p_id, s_id FROM partsupp ORDER BY p_id, s_id "
                             "OFFSET mod(o * 37 + k * 11, 6000) LIMIT 1) ps")
    engine.dispose()
    result = dbsynth.clone(postgres_url, postgres_target, seed=1, model="bayesnet", rows_per_partition=1500)
    assert result.partitions > 3
    orphans, duplicates = _integrity(postgres_target)
    assert set(orphans.values()) == {0} and set(duplicates.values()) == {0}
    assert result.rows["lineitem"] > 0


def test_parallel_and_dask_partitions_equal_serial_ones(postgres_url: str, tmp_path: Path) -> None:
    _suppliers_and_parts(postgres_url)
    urls = [f"sqlite:///{tmp_path / f'{name}.db'}" for name in ("serial", "jobs", "dask")]
    options = [{}, {"jobs": 2}, {"dask": "local", "jobs": 2}]
    results = [dbsynth.clone(postgres_url, url, seed=4, model="bayesnet", rows_per_partition=2000, **extra)
               for url, extra in zip(urls, options)]
    assert results[0].partitions > 1 and results[0].rows == results[1].rows == results[2].rows
    for table in ("supplier", "part", "partsupp"):
        assert rows_of(urls[0], table) == rows_of(urls[1], table) == rows_of(urls[2], table), table
    orphans, duplicates = _integrity(urls[2])
    assert set(orphans.values()) == {0} and set(duplicates.values()) == {0}


def test_unique_values_stay_unique_across_partitions(postgres_url: str, postgres_target: str) -> None:
    engine = sa.create_engine(parse_url(postgres_url))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE member (id serial PRIMARY KEY, email varchar(60) NOT NULL UNIQUE, "
                             "code int NOT NULL UNIQUE, tier text NOT NULL)")
        conn.exec_driver_sql("INSERT INTO member (email, code, tier) SELECT 'm' || i || '@corp.example', "
                             "1000 + mod(i * 7919, 5000), CASE WHEN mod(i, 5) = 0 THEN 'gold' ELSE 'std' END "
                             "FROM generate_series(1, 5000) i")
    engine.dispose()
    result = dbsynth.clone(postgres_url, postgres_target, seed=2, model="bayesnet", rows_per_partition=800)
    assert result.partitions > 1 and result.rows["member"] == 5000
    orphans, duplicates = _integrity(postgres_target)
    assert set(duplicates.values()) == {0}


def test_a_tiny_root_keeps_the_database_in_one_partition(chinook_sqlite: Path, tmp_path: Path) -> None:
    result = dbsynth.clone(str(chinook_sqlite), f"sqlite:///{tmp_path / 'c.db'}", seed=1, model="bayesnet",
                           rows_per_partition=2000)
    assert result.partitions == 1          # 8 employees cannot be split without losing their customers
    assert result.rows["customer"] == 59
