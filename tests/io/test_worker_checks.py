"""--dask on a server target honours the CHECKs a local run honours, with the same repairs and warnings.

CHECKs dbsynth cannot parse are evaluated by the target on each worker's rows
(`io.target_checks`, as on the local path), and rows whose UNIQUE values were
changed across partitions meet every CHECK again. Every figure is measured in
the target database.
"""

from __future__ import annotations

import pytest

import dbsynth
from tests.helpers import rows_of
from tests.io.test_worker_write import _integrity
from tests.test_clone_checks import IS_EVEN, PG_UNREADABLE, run, scalar, violations

OPTIONS = {"seed": 4, "model": "bayesnet", "rows_per_partition": 300}

ITEM = ("CREATE TABLE item (id serial PRIMARY KEY, code text NOT NULL, a integer NOT NULL, b integer NOT NULL, "
        "label text, price numeric(8,2) NOT NULL CHECK (price > 0), "
        + ", ".join(f"CONSTRAINT {name} CHECK ({sql})" for name, sql in PG_UNREADABLE.items()) + ")")
ITEM_ROWS = ("INSERT INTO item (code, a, b, label, price) SELECT "
             "  chr(65 + i % 26) || chr(65 + (i * 7) % 26) || chr(65 + (i * 11) % 26) || (i * 37 % 1000), "
             "  (i * 7919) % 1000, (i * 7919) % 1000 + 2 * (i % 50), "
             "  CASE WHEN i % 5 = 0 THEN NULL ELSE 'label' || i END, 1 + (i % 97) * 1.5 "
             "FROM generate_series(1, 1200) i")


def _check_warnings(warnings: tuple[str, ...]) -> list[str]:
    return sorted(w for w in warnings if "CHECK" in w or "check constraint" in w)


def test_dask_workers_evaluate_unreadable_checks_in_the_target(postgres_url: str, postgres_target: str) -> None:
    run(postgres_url, IS_EVEN, ITEM, ITEM_ROWS,
        "CREATE TABLE note (id serial PRIMARY KEY, item_id int NOT NULL REFERENCES item, body text)",
        "INSERT INTO note (item_id, body) SELECT 1 + (i * 13) % 1200, 'note ' || i FROM generate_series(1, 2000) i")
    run(postgres_target, IS_EVEN)
    local = dbsynth.clone(postgres_url, postgres_target, **OPTIONS)
    expected = {t: rows_of(postgres_target, t) for t in ("item", "note")}
    assert local.partitions > 1 and local.writers == {}

    result = dbsynth.clone(postgres_url, postgres_target, dask="local", jobs=2, if_exists="replace", **OPTIONS)

    assert result.writers and sum(result.writers.values()) == result.total_rows   # the workers wrote
    for name, condition in PG_UNREADABLE.items():
        assert violations(postgres_target, "item", condition) == 0, name
    assert scalar(postgres_target, "SELECT COUNT(*) FROM item") == result.rows["item"] > 900
    assert result.rows == local.rows and {t: rows_of(postgres_target, t) for t in expected} == expected
    assert _integrity(postgres_target) == (0, 0)
    assert _check_warnings(result.warnings) == _check_warnings(local.warnings)
    assert any("sum_even" in w and "repaired" in w for w in result.warnings), result.warnings


@pytest.mark.parametrize("dask", [None, "local"])
@pytest.mark.parametrize("scale", [1.0, 1.5])
def test_unique_values_changed_across_partitions_still_meet_checks(dask: str | None, scale: float, postgres_url: str,
                                                                     postgres_target: str) -> None:
    """A UNIQUE score in a narrow range: values moved past a clash with an earlier partition must stay in it.

    At scale 1 every clash finds a free score inside the range; at 1.5 (1,800 rows for 1,300 scores) the
    rows that cannot are dropped, and the warning says how many.
    """
    run(postgres_url,
        "CREATE TABLE player (id serial PRIMARY KEY, score int NOT NULL UNIQUE CHECK (score BETWEEN 1 AND 1300), "
        "nick text NOT NULL CONSTRAINT nick_format CHECK (nick ~ '^[a-z]+[0-9]*$'), lvl int NOT NULL)",
        "INSERT INTO player (score, nick, lvl) SELECT i, chr(97 + i % 26) || chr(97 + (i * 7) % 26) || (i % 90), "
        "i % 7 FROM generate_series(1, 1200) i")
    options = {**OPTIONS, "dask": dask, "jobs": 2} if dask else OPTIONS
    result = dbsynth.clone(postgres_url, postgres_target, scale=scale, **options)
    assert result.partitions > 1
    assert violations(postgres_target, "player", "score BETWEEN 1 AND 1300") == 0
    assert violations(postgres_target, "player", "nick ~ '^[a-z]+[0-9]*$'") == 0
    written = result.rows["player"]
    assert scalar(postgres_target, "SELECT COUNT(DISTINCT score) FROM player") == written
    dropped = [w for w in result.warnings if w.startswith("table player: CHECK player_score_check")]
    if scale == 1.0:
        assert written == 1200 and dropped == []
    else:   # no row points at a player: those that found no free score are dropped, and said so
        assert 1200 < written <= 1300 and len(dropped) == 1
        assert dropped[0].endswith(f"{1800 - written:,} dropped"), dropped
