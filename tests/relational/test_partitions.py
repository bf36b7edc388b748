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


def test_partitions_are_disjoint_orphan_free_and_full_size(chinook_sqlite: Path, postgres_url: str) -> None:
    result = dbsynth.clone(str(chinook_sqlite), postgres_url, seed=1, model="bayesnet", rows_per_partition=2500,
                           scale=2)
    orphans, duplicates = _integrity(postgres_url)
    assert set(orphans.values()) == {0} and set(duplicates.values()) == {0}
    assert abs(result.rows["track"] - 2 * 3503) < 0.1 * 2 * 3503
    assert abs(result.rows["invoice_line"] - 2 * 2240) < 0.15 * 2 * 2240
    with sa.create_engine(parse_url(postgres_url)).connect() as conn:
        # keys of the partitions follow each other: one range, no overlap
        low, high, n = conn.exec_driver_sql("SELECT min(track_id), max(track_id), count(*) FROM track").one()
        assert low == 1 and n == result.rows["track"] and high >= n


def test_parallel_partitions_equal_serial_ones(chinook_sqlite: Path, tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / f'{jobs}.db'}" for jobs in (1, 2)]
    for url, jobs in zip(urls, (1, 2)):
        dbsynth.clone(str(chinook_sqlite), url, seed=4, model="bayesnet", rows_per_partition=3000, jobs=jobs)
    for table in ("track", "invoice", "invoice_line", "playlist_track"):
        assert rows_of(urls[0], table) == rows_of(urls[1], table), table


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
    assert result.rows["member"] == 5000
    orphans, duplicates = _integrity(postgres_target)
    assert set(duplicates.values()) == {0}


def test_dask_local_cluster_equals_local_run(chinook_sqlite: Path, tmp_path: Path) -> None:
    local = f"sqlite:///{tmp_path / 'local.db'}"
    on_dask = f"sqlite:///{tmp_path / 'dask.db'}"
    a = dbsynth.clone(str(chinook_sqlite), local, seed=5, model="bayesnet", rows_per_partition=3000)
    b = dbsynth.clone(str(chinook_sqlite), on_dask, seed=5, model="bayesnet", rows_per_partition=3000,
                      dask="local", jobs=2)
    assert a.rows == b.rows
    orphans, duplicates = _integrity(on_dask)
    assert set(orphans.values()) == {0} and set(duplicates.values()) == {0}
    assert rows_of(local, "invoice_line") == rows_of(on_dask, "invoice_line")
