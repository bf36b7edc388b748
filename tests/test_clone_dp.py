"""--epsilon end to end: trained with a DP budget, orphan-free, the budget stated and stored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dbsynth
from dbsynth.io.engines import open_source, parse_url
from dbsynth.modelfile import load_model
from dbsynth.report.integrity import orphan_counts
from dbsynth.schema.introspect import introspect


def test_clone_with_epsilon(chinook_sqlite: Path, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'dp.db'}"
    result = dbsynth.clone(str(chinook_sqlite), target, seed=1, epsilon=1.0)
    assert any("not covered" in line for line in result.privacy)
    assert any(line.strip().startswith("invoice:") for line in result.privacy)
    assert all("tuned" not in choice for choice in result.models.values())   # no tuning under DP
    engine = open_source(parse_url(target))
    assert set(orphan_counts(engine, introspect(engine)).values()) == {0}
    engine.dispose()
    model = tmp_path / "dp.dbsynth"
    trained = dbsynth.train(str(chinook_sqlite), model, seed=1, epsilon=1.0)
    fitted, manifest = load_model(model)
    assert fitted.privacy is not None and manifest["privacy_notes"] == trained.privacy


def test_suggest_fks_cli(tmp_path: Path, chinook_sqlite: Path) -> None:
    import re
    import sqlite3

    bare = tmp_path / "bare.db"
    src, dst = sqlite3.connect(chinook_sqlite), sqlite3.connect(bare)
    for name, sql in src.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"):
        dst.execute(re.sub(r",\s*(CONSTRAINT \w+ )?FOREIGN KEY\s*\([^)]*\)\s*REFERENCES \w+\s*\([^)]*\)", "", sql))
        rows = src.execute(f"SELECT * FROM {name}").fetchall()
        if rows:
            dst.executemany(f"INSERT INTO {name} VALUES ({','.join('?' * len(rows[0]))})", rows)
    dst.commit()
    run = subprocess.run([sys.executable, "-m", "dbsynth", "inspect", str(bare), "--suggest-fks"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("[[foreign_keys]]") >= 9
    assert 'table = "invoice_line"' in run.stdout and 'referred_table = "invoice"' in run.stdout


def test_report_shows_the_budget_from_the_model_file(chinook_sqlite: Path, tmp_path: Path) -> None:
    from dbsynth.report import build_report, report_to_dict, write_html

    model = tmp_path / "dp.dbsynth"
    dbsynth.train(str(chinook_sqlite), model, seed=3, epsilon=2.0, model="bayesnet")
    target = f"sqlite:///{tmp_path / 'g.db'}"
    dbsynth.generate(model, target, seed=3)
    report = build_report(str(chinook_sqlite), target, model_path=str(model))
    data = report_to_dict(report)
    assert data["model"]["privacy"][0].startswith("differential privacy: epsilon 2")
    assert data["model"]["generators"]["track"] == "bayesnet"
    html = tmp_path / "r.html"
    write_html(report, html)
    assert "Differential privacy" in html.read_text()
