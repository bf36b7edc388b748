"""Training on part of the source: seeded rows with their whole subtrees."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import dbsynth
from dbsynth.graph import load_order
from dbsynth.io.engines import open_source, parse_url
from dbsynth.io.read import read_tables
from dbsynth.relational.fit import parent_row_index
from dbsynth.relational.plan import plan_tables
from dbsynth.relational.subset import sample_roots, subtree_subset
from dbsynth.report.integrity import orphan_counts
from dbsynth.schema.introspect import introspect


def _chinook(path: Path):  # type: ignore[no-untyped-def]
    engine = open_source(parse_url(str(path)))
    schema = introspect(engine)
    order = load_order(schema)
    frames = read_tables(engine, schema)
    engine.dispose()
    return schema, order, plan_tables(schema, order, frames), frames


def test_seeded_rows_keep_their_subtree_and_nothing_else(chinook_sqlite: Path) -> None:
    schema, order, plans, frames = _chinook(chinook_sqlite)
    usa = (frames["invoice"]["billing_country"] == "USA").to_numpy()
    subset = subtree_subset(schema, order, plans, frames, {"invoice": usa})
    assert set(subset["invoice"]["billing_country"]) == {"USA"}
    assert len(subset["invoice"]) == usa.sum()
    kept = set(subset["invoice"]["invoice_id"])
    lines = frames["invoice_line"]
    assert len(subset["invoice_line"]) == lines["invoice_id"].isin(kept).sum()  # the whole subtree
    assert len(subset["customer"]) == len(frames["customer"])  # tables above are untouched


def test_root_sample_keeps_small_roots_whole_and_counts_complete(chinook_sqlite: Path) -> None:
    schema, order, plans, frames = _chinook(chinook_sqlite)
    seeds = sample_roots(schema, plans, frames, 2000, np.random.default_rng(0))
    assert "genre" not in seeds and "playlist" not in seeds   # no big subtree below them
    assert 0 < seeds["artist"].sum() < len(frames["artist"])
    subset = subtree_subset(schema, order, plans, frames, seeds)
    assert len(subset["playlist_track"]) <= 2500
    # Every kept album has all its tracks: children per parent are complete.
    rows = parent_row_index(subset["track"], subset["album"], ("album_id",), ("album_id",))
    kept_counts = np.bincount(rows[rows >= 0], minlength=len(subset["album"]))
    full = frames["track"]["album_id"].value_counts()
    expected = subset["album"]["album_id"].map(full).fillna(0).to_numpy()
    assert (kept_counts == expected).all()


def test_clone_trained_on_a_sample_writes_full_size(chinook_sqlite: Path, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    result = dbsynth.clone(str(chinook_sqlite), target, seed=3, max_train_rows=3000)
    for root in ("artist", "employee", "genre", "media_type", "playlist"):
        assert result.rows[root] == result.source_rows[root]
    assert 0.6 * 3503 < result.rows["track"] < 1.5 * 3503
    engine = open_source(parse_url(target))
    assert set(orphan_counts(engine, introspect(engine)).values()) == {0}
    engine.dispose()
