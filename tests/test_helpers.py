"""The test helpers themselves: a checksum that misses a namespace would let a broken clone pass."""

from __future__ import annotations

import sqlalchemy as sa

from tests.helpers import database_checksum, rows_of

_SCHEMAS = """
CREATE SCHEMA sales; CREATE SCHEMA ref;
CREATE TABLE ref.items (id int PRIMARY KEY, label text);
CREATE TABLE sales.orders (id int PRIMARY KEY, item int REFERENCES ref.items);
CREATE TABLE sales."Weird.Name" (id int);
CREATE TABLE public.orders (id int PRIMARY KEY);
INSERT INTO ref.items VALUES (1, 'one'); INSERT INTO sales.orders VALUES (1, 1);
INSERT INTO sales."Weird.Name" VALUES (7); INSERT INTO public.orders VALUES (5);
"""


def _run(url: str, sql: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def test_checksum_reads_every_postgres_schema(postgres_url: str) -> None:
    _run(postgres_url, _SCHEMAS)
    before = database_checksum(postgres_url)
    assert rows_of(postgres_url, "Weird.Name", schema="sales") == [(7,)]
    assert rows_of(postgres_url, "sales.orders") == [(1, 1)] and rows_of(postgres_url, "orders") == [(5,)]
    for change in ('UPDATE sales."Weird.Name" SET id = 8', "UPDATE ref.items SET label = 'uno'"):
        _run(postgres_url, change)
        after = database_checksum(postgres_url)
        assert after != before, change
        before = after
