"""Privacy checks: a verbatim copy of Chinook is flagged, a real clone is not; the distance arithmetic."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dbsynth
from dbsynth.progress import SilentProgress
from dbsynth.report import build_report, report_to_dict, write_html
from dbsynth.report.attacks import anonymeter_available
from dbsynth.report.distance import distance_check, encode, nearest_distances
from dbsynth.report.frames import open_databases, read_pair
from dbsynth.report.privacy import THRESHOLDS, TablePrivacy, rare_leak, table_privacy

CHINOOK = Path(__file__).resolve().parents[2] / "fixtures" / "chinook.sqlite"
WIDE = ("customer", "employee", "invoice", "track")      # >= 3 non-key columns
JUDGED = ("invoice", "invoice_line", "track")            # >= 100 source rows: distances judged

# Measured when written (seed 1; seeds 2 and 3 alike). Verbatim copy: exact copies 100% everywhere;
# nearer-than-real share 0.72 (customer), 0.75 (employee, invoice, track); closer-to-train share
# 0.49-0.50 (by construction: the copy holds the holdout half too); every value seen once reappears.
# Clone: exact copies 0 on the wide tables; closer-to-train 0.47-0.52 on the judged tables (0.25-0.38 on
# employee's 8 rows); nearer-than-real 0.04-0.07 (invoice), 0.41 (track), 0.54-0.57 (customer);
# rare values leaked 0-3 of 84 (customer) and 12-14 of 3,623 (track).


def _checks(target: str) -> tuple[dict[str, TablePrivacy], list[str]]:
    dbs = open_databases(str(CHINOOK), target)
    try:
        pair = read_pair(dbs, SilentProgress())
    finally:
        dbs.dispose()
    checks, notes = table_privacy(pair.schema, pair.real, pair.synthetic, attacks=False)
    return {c.table: c for c in checks}, notes


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TablePrivacy]:
    copy = tmp_path_factory.mktemp("leaky") / "copy.sqlite"
    shutil.copy(CHINOOK, copy)
    return _checks(f"sqlite:///{copy}")[0]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> str:
    target = f"sqlite:///{tmp_path_factory.mktemp('clone') / 'clone.db'}"
    dbsynth.clone(str(CHINOOK), target, seed=1)
    return target


def test_a_verbatim_copy_is_flagged(leaky: dict[str, TablePrivacy]) -> None:
    assert set(leaky) == {"customer", "employee", "invoice", "invoice_line", "track"}
    for table in WIDE:
        check = leaky[table]
        assert check.verdict == "review", table
        assert check.copies.exact_copy_share == 1.0
        assert check.distance is not None and check.distance.zero_distance_share == 1.0
        assert check.distance.nearer_than_real_share > 0.7, table
        # The caveat, pinned: the copy holds both halves, so the split-based share cannot see it.
        assert 0.4 <= check.distance.closer_to_train_share <= 0.6, table
    for table in JUDGED[::2]:  # invoice, track: flagged by distances alone too
        assert any("nearer the source" in r for r in leaky[table].reasons)
    assert leaky["track"].rare_leaked == leaky["track"].rare_singletons > 3000
    assert leaky["customer"].rare_leaked == leaky["customer"].rare_singletons > 50
    # invoice_line compares unit_price and quantity only: every real row repeats another, copies say nothing.
    assert leaky["invoice_line"].verdict == "ok" and leaky["invoice_line"].copies.few_columns


def test_a_clone_is_not_flagged(clone: str) -> None:
    checks, notes = _checks(clone)
    for table, check in checks.items():
        assert check.verdict == "ok", (table, check.reasons)
    for table in WIDE:
        assert checks[table].copies.exact_copies == 0, table
    for table in JUDGED:
        distance = checks[table].distance
        assert distance is not None
        assert 0.35 <= distance.closer_to_train_share <= 0.65, table
        assert distance.nearer_than_real_share <= 0.6, table
    assert checks["track"].rare_leaked <= 0.02 * checks["track"].rare_singletons
    # Faked personal data is not compared; tiny tables are shown but not judged on distances.
    assert "email" not in checks["customer"].columns and "city" in checks["customer"].columns
    assert any(n.startswith("customer: personal data left out") and "email" in n for n in notes)
    assert any(n.startswith("employee: 8 source rows, too few") for n in notes)


def test_the_report_shows_the_privacy_checks(clone: str, tmp_path: Path) -> None:
    report = build_report(str(CHINOOK), clone)
    data = json.loads(json.dumps(report_to_dict(report), allow_nan=False))
    checks = data["privacy_checks"]
    assert checks["thresholds"] == THRESHOLDS and "every source row" in checks["caveat"]
    assert checks["anonymeter"] is anonymeter_available()
    by_table = {t["table"]: t for t in checks["tables"]}
    assert by_table["track"]["verdict"] == "ok" and by_table["track"]["distance"]["synthetic_rows"] == 2000
    if not anonymeter_available():
        assert any("anonymeter is not installed" in n and "dbsynth[privacy]" in n for n in report.notes)
    path = tmp_path / "report.html"
    write_html(report, path)
    html = path.read_text(encoding="utf-8")
    assert "Distance to the closest record" in html and "nearer than real" in html
    assert "tables to review for privacy" in html


def test_distances_mix_scaled_numbers_equal_values_and_null() -> None:
    real = pd.DataFrame({"x": [0.0, 10.0, 20.0, 30.0, np.nan], "c": ["a", "b", "a", None, "b"]})
    synthetic = pd.DataFrame({"x": [0.0, 5.0, np.nan, 1000.0], "c": ["a", "a", "b", None]})
    real_codes, syn_codes, scales = encode(("x", "c"), real, synthetic)
    assert scales[0] == pytest.approx(15.0) and scales[1] == 0  # IQR of 0, 10, 20, 30; c by equality
    d = nearest_distances(syn_codes, real_codes, scales)
    # identical row; 5 is a third of the IQR from 0 or 10; NULL matches NULL; far values cap at 1 per column.
    assert d == pytest.approx([0.0, (5 / 15) / 2, 0.0, 0.5])


def test_distance_check_on_fresh_draws_is_balanced() -> None:
    rng = np.random.default_rng(0)

    def draw(n: int) -> pd.DataFrame:
        return pd.DataFrame({"x": rng.normal(size=n), "y": rng.exponential(size=n),
                             "c": rng.choice(list("abcdefgh"), n)})

    fresh = distance_check(("x", "y", "c"), draw(1000), draw(1000))
    assert fresh is not None and fresh.synthetic_rows == 1000 and fresh.zero_distance_share == 0.0
    assert 0.4 <= fresh.closer_to_train_share <= 0.6 and 0.4 <= fresh.nearer_than_real_share <= 0.6
    real = draw(1000)
    copied = distance_check(("x", "y", "c"), real, real.sample(frac=1.0, random_state=1))
    assert copied is not None and copied.zero_distance_share == 1.0 and copied.nearer_than_real_share > 0.7


def test_rare_values_leaked() -> None:
    leak = rare_leak("city", pd.Series(["Oslo", "Oslo", "Lima", "Bern", None]), pd.Series(["Bern", "Oslo", "Rome"]))
    assert (leak.source_singletons, leak.leaked) == (2, 1)  # Lima and Bern are seen once; Bern reappears
