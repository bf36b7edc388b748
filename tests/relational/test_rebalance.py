"""--rebalance: requested class shares within 2 percentage points, children still on their parents."""

from __future__ import annotations

from pathlib import Path

import pytest

import dbsynth
from dbsynth.io.engines import open_source, parse_url
from dbsynth.report.integrity import orphan_counts
from dbsynth.schema.introspect import introspect


def test_rebalanced_shares_are_reached(chinook_sqlite: Path, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'rb.db'}"
    result = dbsynth.clone(str(chinook_sqlite), target, seed=1, model="bayesnet",
                           rebalance=["invoice.billing_country=Brazil:0.3,USA:0.2"])
    shares = result.shares["invoice.billing_country"]
    assert abs(shares["Brazil"] - 0.3) <= 0.02 and abs(shares["USA"] - 0.2) <= 0.02
    engine = open_source(parse_url(target))
    assert set(orphan_counts(engine, introspect(engine)).values()) == {0}
    engine.dispose()


def test_uniform_rebalance_and_bad_values(chinook_sqlite: Path, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'u.db'}"
    result = dbsynth.clone(str(chinook_sqlite), target, seed=2, model="bayesnet", scale=5,
                           rebalance=["invoice.billing_country=uniform"])
    shares = result.shares["invoice.billing_country"]
    assert max(abs(share - 1 / len(shares)) for share in shares.values()) <= 0.02
    with pytest.raises(dbsynth.ConfigError, match="only categorical columns"):
        dbsynth.clone(str(chinook_sqlite), f"sqlite:///{tmp_path / 'n.db'}", seed=2, model="bayesnet",
                      rebalance=["track.milliseconds"])
    with pytest.raises(dbsynth.ConfigError, match="not among its values"):
        dbsynth.clone(str(chinook_sqlite), f"sqlite:///{tmp_path / 'x.db'}", seed=2, model="bayesnet",
                      rebalance=["invoice.billing_country=Atlantis:0.5"])
    assert not (tmp_path / "x.db").exists()
    with pytest.raises(dbsynth.ConfigError, match="VALUE:SHARE"):
        dbsynth.clone(str(chinook_sqlite), f"sqlite:///{tmp_path / 'y.db'}", rebalance=["invoice.billing_country=USA"])
