"""Reading a training sample straight from the source equals sampling whole frames.

A large source is never read whole: the source counts what planning needs and
returns only the sampled roots' subtrees. These tests hold that route to the
answer the whole-frame route gives on Chinook, on each engine's own SQL.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dbsynth
from dbsynth.graph import load_order
from dbsynth.io.engines import open_source, parse_url
from dbsynth.io.read import read_tables
from dbsynth.io.sampled_read import read_sampled
from dbsynth.relational.facts import SourceFacts
from dbsynth.relational.plan import plan_tables
from dbsynth.relational.subset import root_sample_sizes, sample_roots, subtree_subset
from dbsynth.report.integrity import orphan_counts
from dbsynth.schema.introspect import introspect

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _load_chinook(url: str) -> None:
    spec = importlib.util.spec_from_file_location("build_chinook", FIXTURES / "build_chinook.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.load_chinook(url)


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def chinook_source(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(FIXTURES / "chinook.sqlite")
    url = request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mysql_url")
    _load_chinook(url)
    return url


def test_source_counted_facts_equal_whole_frame_facts(chinook_source: str) -> None:
    engine = open_source(parse_url(chinook_source))
    try:
        schema = introspect(engine)
        frames = read_tables(engine, schema)
        counted = SourceFacts.from_database(engine, schema)
    finally:
        engine.dispose()
    whole = SourceFacts.from_frames(schema, frames)
    assert counted.rows == whole.rows
    assert counted.foreign_keys == whole.foreign_keys
    order = load_order(schema)
    assert plan_tables(schema, order, counted) == plan_tables(schema, order, frames)


def test_sample_read_by_the_source_equals_sampled_whole_frames(chinook_source: str) -> None:
    engine = open_source(parse_url(chinook_source))
    try:
        schema = introspect(engine)
        order = load_order(schema)
        frames = read_tables(engine, schema)
        plans = plan_tables(schema, order, frames)
        sizes = root_sample_sizes(schema, plans, {n: len(f) for n, f in frames.items()}, 2000)
        assert sizes, "2,000 rows must sample Chinook's big subtrees"
        read = read_sampled(engine, schema, order, plans, sizes, np.random.default_rng(5))
    finally:
        engine.dispose()
    expected = subtree_subset(schema, order, plans, frames,
                              sample_roots(schema, plans, frames, 2000, np.random.default_rng(5)))
    for name in order.tables:
        pd.testing.assert_frame_equal(read[name], expected[name], check_dtype=False, obj=name)
    assert len(read["invoice_line"]) < len(frames["invoice_line"])


def test_large_source_clone_trains_on_a_sample_read_by_the_source(postgres_url: str, postgres_target: str) -> None:
    _load_chinook(postgres_url)
    result = dbsynth.clone(postgres_url, postgres_target, seed=4, max_train_rows=2000)
    assert result.rows["artist"] == result.source_rows["artist"]          # roots keep full size
    assert 0.6 * 3503 < result.rows["track"] < 1.5 * 3503
    engine = open_source(parse_url(postgres_target))
    try:
        assert set(orphan_counts(engine, introspect(engine)).values()) == {0}
    finally:
        engine.dispose()


def test_where_rule_on_a_sampled_source_keeps_matching_subtrees(postgres_url: str, postgres_target: str,
                                                                 tmp_path: Path) -> None:
    from dbsynth.config import config_from_dict
    from dbsynth.errors import ConfigError
    from tests.helpers import rows_of

    _load_chinook(postgres_url)
    config = config_from_dict({"tables": {"invoice": {"where": "billing_country = 'Canada'"}}})
    result = dbsynth.clone(postgres_url, postgres_target, config=config, seed=5, max_train_rows=2000)
    assert {r[0] for r in rows_of(postgres_target, "invoice", ["billing_country"])} == {"Canada"}
    assert 40 <= result.rows["invoice"] <= 75          # 56 Canadian invoices in the source
    engine = open_source(parse_url(postgres_target))
    try:
        assert set(orphan_counts(engine, introspect(engine)).values()) == {0}
    finally:
        engine.dispose()
    bad = config_from_dict({"tables": {"invoice": {"where": "no_such_column = 1"}}})
    with pytest.raises(ConfigError, match="tables.invoice.where: the source rejected"):
        dbsynth.train(postgres_url, str(tmp_path / "model.dbsynth"), config=bad, max_train_rows=2000)
    assert not (tmp_path / "model.dbsynth").exists()
