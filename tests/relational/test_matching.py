"""Secondary parents matched by kind with exact degrees, and child counts nudged along their own values."""

from __future__ import annotations

import numpy as np

from dbsynth.relational.keys import matched_parents
from dbsynth.relational.sample import _rescaled_counts


def test_matched_parents_keep_kinds_and_exact_degrees() -> None:
    rng = np.random.default_rng(3)
    parent_keys = np.array([0, 0, 1, 1, 2])
    degrees = np.array([3, 1, 2, 2, 2])
    wanted = np.array([0] * 4 + [1] * 4 + [2] * 2)
    picks = matched_parents(wanted, parent_keys, degrees, rng)
    assert (parent_keys[picks] == wanted).all()
    assert np.bincount(picks, minlength=5).tolist() == degrees.tolist()


def test_matched_parents_overflow_takes_leftover_slots_first() -> None:
    rng = np.random.default_rng(4)
    parent_keys = np.array([0, 1])
    degrees = np.array([5, 5])
    wanted = np.array([0] * 7 + [1] * 3)   # the model asked for kind 0 more often than its parents have slots
    picks = matched_parents(wanted, parent_keys, degrees, rng)
    assert np.bincount(picks, minlength=2).tolist() == [5, 5]   # degrees stay exact
    assert (parent_keys[picks] == wanted).sum() == 8            # every slot of the right kind is used


def test_matched_parents_any_kind_and_no_slots() -> None:
    rng = np.random.default_rng(5)
    picks = matched_parents(np.full(6, -1), np.array([0, 1, 2]), np.array([2, 2, 2]), rng)
    assert np.bincount(picks, minlength=3).tolist() == [2, 2, 2]
    picks = matched_parents(np.full(4, -1), np.array([0, 1]), np.array([0, 0]), rng)
    assert picks.size == 4 and set(picks) <= {0, 1}


def test_rescaled_counts_stay_on_drawn_values() -> None:
    rng = np.random.default_rng(6)
    counts = rng.choice([1, 2, 4, 6, 9, 14], size=400)
    target = int(counts.sum() * 1.04)
    out = _rescaled_counts(counts, target, rng)
    assert out.sum() == target
    assert (~np.isin(out, [1, 2, 4, 6, 9, 14])).sum() <= 1   # at most one parent takes the last few
    assert out.max() <= 14
    assert (out != counts).mean() < 0.2   # a few parents moved, not all of them


def test_a_dense_junction_keeps_every_row_and_every_degree(chinook_sqlite, tmp_path) -> None:
    """Two playlists hold nearly every track: random dealing would repeat pairs and drop rows."""
    import sqlalchemy as sa

    import dbsynth

    target = f"sqlite:///{tmp_path / 'c.db'}"
    dbsynth.clone(str(chinook_sqlite), target, seed=4, model="bayesnet")
    per_playlist = ("SELECT p.playlist_id, count(pt.track_id) FROM playlist p LEFT JOIN playlist_track pt "
                    "ON pt.playlist_id = p.playlist_id GROUP BY p.playlist_id ORDER BY p.playlist_id")
    counts = []
    for url in (f"sqlite:///{chinook_sqlite}", target):
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            counts.append(conn.exec_driver_sql(per_playlist).all())
            duplicates = conn.exec_driver_sql("SELECT count(*) FROM (SELECT playlist_id, track_id FROM "
                                              "playlist_track GROUP BY 1, 2 HAVING count(*) > 1)").scalar_one()
        engine.dispose()
        assert duplicates == 0
    assert counts[1] == counts[0]
