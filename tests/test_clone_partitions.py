"""PostgreSQL partitioned tables and inheritance: modelled once, recreated with their partitions, on real servers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import dbsynth
from dbsynth.api import compare
from dbsynth.io.engines import parse_url
from dbsynth.report.integrity import orphan_counts
from tests.helpers import schema_of

SOURCE = """
CREATE SCHEMA ops;
CREATE TABLE sensor (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE measurement (
  sensor_id int NOT NULL REFERENCES sensor(id),
  logdate date NOT NULL,
  reading numeric(8,2),
  PRIMARY KEY (sensor_id, logdate)
) PARTITION BY RANGE (logdate);
CREATE TABLE measurement_2023 PARTITION OF measurement FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE measurement_2024 PARTITION OF measurement FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')
  PARTITION BY RANGE (logdate);
CREATE TABLE measurement_2024h1 PARTITION OF measurement_2024 FOR VALUES FROM ('2024-01-01') TO ('2024-07-01');
CREATE TABLE measurement_2024h2 PARTITION OF measurement_2024 FOR VALUES FROM ('2024-07-01') TO ('2025-01-01');
CREATE INDEX measurement_reading ON measurement (reading);
CREATE TABLE ops.city (id int NOT NULL, region text NOT NULL, pop int) PARTITION BY LIST (region);
CREATE TABLE ops.city_eu PARTITION OF ops.city FOR VALUES IN ('eu', 'uk');
CREATE TABLE ops.city_us PARTITION OF ops.city FOR VALUES IN ('us');
CREATE TABLE event (id bigint NOT NULL, payload text) PARTITION BY HASH (id);
CREATE TABLE event_0 PARTITION OF event FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE event_1 PARTITION OF event FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE alert (id serial PRIMARY KEY, sensor_id int NOT NULL, logdate date NOT NULL, level int,
  FOREIGN KEY (sensor_id, logdate) REFERENCES measurement(sensor_id, logdate));
CREATE TABLE animal (id int PRIMARY KEY, name text);
CREATE TABLE dog (breed text) INHERITS (animal);
INSERT INTO sensor(name) SELECT 's' || g FROM generate_series(1, 10) g;
INSERT INTO measurement SELECT 1 + mod(g, 10), date '2023-01-01' + (g / 10), mod(g, 97) * 1.5
  FROM generate_series(0, 10 * 700 - 1) g;
INSERT INTO ops.city SELECT g, (ARRAY['eu', 'uk', 'us'])[1 + mod(g, 3)], g * 10 FROM generate_series(1, 300) g;
INSERT INTO event SELECT g, 'p' || g FROM generate_series(1, 300) g;
INSERT INTO alert(sensor_id, logdate, level) SELECT sensor_id, logdate, 1 FROM measurement WHERE reading > 130;
INSERT INTO animal SELECT g, 'a' || g FROM generate_series(1, 100) g;
INSERT INTO dog SELECT g, 'd' || g, 'b' || mod(g, 5) FROM generate_series(101, 160) g;
"""
PARTITIONS = {"measurement_2023", "measurement_2024", "measurement_2024h1", "measurement_2024h2", "event_0",
              "event_1", "ops.city_eu", "ops.city_us"}


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(parse_url(url), poolclass=sa.pool.NullPool)


def _query(url: str, sql: str) -> list[tuple]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql).all()]
    finally:
        engine.dispose()


@pytest.fixture
def partitioned(postgres_url: str) -> str:
    engine = _engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(SOURCE)
    finally:
        engine.dispose()
    return postgres_url


def test_partitions_are_not_tables_of_the_model(partitioned: str) -> None:
    schema = schema_of(partitioned)
    assert not PARTITIONS & set(schema.table_names)
    m = schema.table("measurement")
    assert m.partitioning is not None and m.partitioning.key == "RANGE (logdate)"
    assert [(p.name, p.parent, p.key) for p in m.partitioning.partitions][-2:] == [
        ("measurement_2024h1", "measurement_2024", None), ("measurement_2024h2", "measurement_2024", None)]
    assert [fk.referred_table for fk in schema.table("alert").foreign_keys] == ["measurement"]  # no clones
    assert m.row_count == 7000                                     # every partition's rows, once
    assert any(c.partition for c in m.check_constraints)           # rows must find a partition
    assert not any(c.partition for c in schema.table("event").check_constraints)   # hash: any row does
    assert schema.table("dog").inherits == ("animal",)
    assert (schema.table("animal").row_count, schema.table("dog").row_count) == (100, 60)   # FROM ONLY animal


def _routing(url: str, table: str) -> dict[str, int]:
    return dict(_query(url, f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1"))


def test_postgres_to_postgres_recreates_the_partitions(partitioned: str, postgres_target: str) -> None:
    result = dbsynth.clone(partitioned, postgres_target, seed=3, model="independent")
    copy = schema_of(postgres_target)
    assert not PARTITIONS & set(copy.table_names)
    assert copy.table("measurement").partitioning == schema_of(partitioned).table("measurement").partitioning
    assert copy.table("ops.city").partitioning is not None
    kinds = dict(_query(postgres_target, "SELECT c.oid::regclass::text, c.relkind::text FROM pg_class c "
                                         "WHERE c.relname IN ('measurement', 'measurement_2024', 'city', 'event')"))
    assert kinds == {"measurement": "p", "measurement_2024": "p", "ops.city": "p", "event": "p"}
    # rows are written once, through the partitioned table, and each lands in its partition
    total = _query(postgres_target, "SELECT count(*) FROM measurement")[0][0]
    assert total == result.rows["measurement"] and 0.9 * 7000 <= total <= 7000
    routed = _routing(postgres_target, "measurement")
    source = _routing(partitioned, "measurement")
    assert set(routed) == set(source) == {"measurement_2023", "measurement_2024h1", "measurement_2024h2"}
    for name, n in source.items():
        assert abs(routed[name] - n) <= 0.1 * n, (name, routed, source)
    assert set(_routing(postgres_target, "ops.city")) == {"ops.city_eu", "ops.city_us"}
    assert sum(_routing(postgres_target, "event").values()) == result.rows["event"]
    assert set(orphan_counts(_engine(postgres_target), copy).values()) == {0}
    # the partitioned index is whole (on every partition), the foreign key points at the partitioned table
    assert _query(postgres_target, "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                                   "WHERE c.relname = 'measurement_reading'") == [(True,)]   # valid: on every partition
    assert _query(postgres_target, "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent "
                                   "WHERE c.relname = 'measurement_reading'") == [(2,)]
    diffs = compare(partitioned, postgres_target)
    assert not any("partition" in d or "measurement" in d or "city" in d or "event" in d for d in diffs), diffs


def test_partitioned_tables_refresh_truncate_and_replace(partitioned: str, postgres_target: str) -> None:
    dbsynth.clone(partitioned, postgres_target, seed=3, model="independent")
    dbsynth.clone(partitioned, postgres_target, seed=4, model="independent", if_exists="truncate")
    assert set(_routing(postgres_target, "measurement")) == {"measurement_2023", "measurement_2024h1",
                                                            "measurement_2024h2"}
    dbsynth.clone(partitioned, postgres_target, seed=5, model="independent", if_exists="replace")
    dbsynth.refresh(partitioned, postgres_target, seed=6, model="independent")
    assert _query(postgres_target, "SELECT relkind::text FROM pg_class WHERE relname = 'measurement'") == [("p",)]
    assert _query(postgres_target, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                   "WHERE starts_with(c.relname, 'measurement_20') AND c.relkind IN ('r', 'p') AND n.nspname = 'public'") == [(4,)]
    assert set(orphan_counts(_engine(postgres_target), schema_of(postgres_target)).values()) == {0}


def test_compare_sees_a_partition_missing(partitioned: str, postgres_target: str) -> None:
    dbsynth.clone(partitioned, postgres_target, seed=3, model="independent")
    engine = _engine(postgres_target)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE ops.city DETACH PARTITION ops.city_us")
    engine.dispose()
    diffs = compare(partitioned, postgres_target)
    assert any(d.startswith("ops.city: partitioning") for d in diffs), diffs
    assert not any("measurement" in d for d in diffs), diffs


@pytest.mark.parametrize("engine_fixture", ["sqlite_url", "mysql_target"])
def test_other_engines_get_one_plain_table(partitioned: str, engine_fixture: str,
                                          request: pytest.FixtureRequest) -> None:
    target = request.getfixturevalue(engine_fixture)
    result = dbsynth.clone(partitioned, target, seed=3, model="independent")
    copy = schema_of(target)
    assert not {p.split(".")[-1] for p in PARTITIONS} & {n.split(".")[-1] for n in copy.table_names}
    assert 0.9 * 7000 <= _query(target, "SELECT count(*) FROM measurement")[0][0] <= 7000
    assert any(w.startswith("table measurement is partitioned by RANGE (logdate)") for w in result.warnings)
    assert set(orphan_counts(_engine(target), copy).values()) == {0}


def test_bounds_over_timestamptz_compare_with_aware_and_naive_values() -> None:
    """pagila's payment is partitioned by a timestamptz: its bounds once stopped the clone with a pandas TypeError."""
    import pandas as pd

    from dbsynth.schema.checks import parse_check, passes

    bound = ("((paid IS NOT NULL) AND (paid >= '2022-01-01 00:00:00+00'::timestamp with time zone) "
             "AND (paid < '2022-02-01 00:00:00+00'::timestamp with time zone))")
    check = parse_check(bound, ("paid",))
    assert check is not None
    stamps = ["2022-01-05 10:00:00", "2022-03-01 00:00:00", "2021-12-31 23:30:00"]
    for values in (pd.to_datetime(stamps, utc=True), pd.to_datetime(stamps)):
        assert passes(check, pd.DataFrame({"paid": values})).tolist() == [True, False, False]


GAPPED = """
CREATE TABLE station (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE reading (station_id int NOT NULL REFERENCES station, day date NOT NULL, value int,
  PRIMARY KEY (station_id, day)) PARTITION BY RANGE (day);
CREATE TABLE reading_2022 PARTITION OF reading FOR VALUES FROM ('2022-01-01') TO ('2023-01-01');
CREATE TABLE reading_2024 PARTITION OF reading FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO station (name) SELECT 's' || g FROM generate_series(1, 8) g;
INSERT INTO reading SELECT 1 + mod(g, 8), CASE WHEN mod(g / 8, 2) = 0 THEN date '2022-01-01' ELSE date '2024-01-01' END
  + g / 8, mod(g, 13) FROM generate_series(0, 2399) g;
"""


def test_partition_key_in_the_primary_key_is_redrawn_into_the_bounds(postgres_url: str,
                                                                     postgres_target: str) -> None:
    """2023 has no partition: a model spreading the days draws some there. Those rows' days are redrawn
    inside the bounds (and the key made unique again), so no row is dropped."""
    engine = _engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(GAPPED)
    engine.dispose()
    result = dbsynth.clone(postgres_url, postgres_target, seed=5, model="independent")
    total = _query(postgres_target, "SELECT count(*) FROM reading")[0][0]
    assert total == result.rows["reading"] == 2400, (total, result.rows)
    assert _query(postgres_target, "SELECT count(*) FROM reading WHERE day >= '2023-01-01' AND day < '2024-01-01' "
                                   "OR day < '2022-01-01' OR day >= '2025-01-01'") == [(0,)]
    assert _query(postgres_target, "SELECT count(*) = count(DISTINCT (station_id, day)) FROM reading") == [(True,)]
    assert set(_routing(postgres_target, "reading")) == {"reading_2022", "reading_2024"}
    repaired = [w for w in result.warnings if "reading_partition_bounds" in w]
    assert repaired and "repaired" in repaired[0] and "dropped" not in repaired[0], (result.warnings, result.rows)
