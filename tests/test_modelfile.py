"""Train once, generate many: the model file round-trips, needs no source, and refuses tampering."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import dbsynth
from dbsynth.modelfile import ModelFileError, load_model
from tests.helpers import rows_of, schema_of


def test_generate_from_model_equals_in_process_clone(chinook_sqlite: Path, tmp_path: Path,
                                                      postgres_url: str) -> None:
    source = tmp_path / "source.db"
    shutil.copy(chinook_sqlite, source)
    model = tmp_path / "chinook.dbsynth"
    trained = dbsynth.train(str(source), model, seed=11)
    assert trained.path == model and model.stat().st_size > 10_000
    cloned = f"sqlite:///{tmp_path / 'cloned.db'}"
    dbsynth.clone(str(source), cloned, seed=11)
    source.unlink()  # generate must not need the source
    generated = f"sqlite:///{tmp_path / 'generated.db'}"
    dbsynth.generate(model, generated, seed=11)
    for table in ("employee", "customer", "invoice", "invoice_line", "track", "playlist_track"):
        assert rows_of(generated, table) == rows_of(cloned, table), table
    # The same model writes to another engine, scaled.
    result = dbsynth.generate(model, postgres_url, seed=12, scale=0.5)
    assert 0.4 * 412 < result.rows["invoice"] < 0.6 * 412
    assert schema_of(postgres_url).table("invoice").row_count == result.rows["invoice"]


def test_model_file_holds_no_personal_values(chinook_sqlite: Path, tmp_path: Path) -> None:
    model = tmp_path / "m.dbsynth"
    dbsynth.train(str(chinook_sqlite), model, seed=1)
    with zipfile.ZipFile(model) as archive:
        members = json.loads(archive.read("manifest.json"))["tables"]
        texts = {table: archive.read(member).decode() for table, member in members.items()}
    for table, column in [("customer", "email"), ("customer", "last_name"), ("customer", "address"),
                          ("employee", "phone"), ("employee", "last_name"), ("track", "name")]:
        values = {r[0] for r in rows_of(str(chinook_sqlite), table, [column])} - {None}
        leaked = [v for v in values if json.dumps(v) in texts[table]]  # whole values, as JSON strings
        assert not leaked, f"{table}.{column} values stored in the model: {leaked[:3]}"


def _rewrite(model: Path, member: str, change) -> None:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(model) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    contents[member] = change(contents[member])
    with zipfile.ZipFile(model, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def test_tampered_truncated_and_foreign_files_are_refused(chinook_sqlite: Path, tmp_path: Path) -> None:
    model = tmp_path / "m.dbsynth"
    dbsynth.train(str(chinook_sqlite), model, seed=1)
    load_model(model)  # intact: loads

    tampered = tmp_path / "tampered.dbsynth"
    shutil.copy(model, tampered)
    _rewrite(tampered, "tables/0000.json", lambda b: b.replace(b'"source_rows":', b'"source_rows":1'))
    with pytest.raises(ModelFileError, match="modified or damaged"):
        load_model(tampered)

    forged = tmp_path / "forged.dbsynth"  # consistent checksums, nonsense content: still a clean error
    shutil.copy(model, forged)
    _rewrite(forged, "tables/0000.json", lambda b: b'{"plan": 1}')
    _rewrite(forged, "manifest.json", lambda b: _rehash(b, "tables/0000.json", b'{"plan": 1}'))
    with pytest.raises(ModelFileError, match="inconsistent"):
        load_model(forged)

    truncated = tmp_path / "truncated.dbsynth"
    truncated.write_bytes(model.read_bytes()[:500])
    with pytest.raises(ModelFileError, match="not a readable"):
        load_model(truncated)

    with pytest.raises(ModelFileError, match="not a readable"):
        load_model(chinook_sqlite)  # some other file
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "missing.dbsynth")

    result = subprocess.run([sys.executable, "-m", "dbsynth", "generate", str(tampered),
                             str(tmp_path / "out.db")], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.db").exists()


def _rehash(manifest: bytes, member: str, data: bytes) -> bytes:
    import hashlib

    parsed = json.loads(manifest)
    parsed["sha256"][member] = hashlib.sha256(data).hexdigest()
    return json.dumps(parsed).encode()


def test_train_and_generate_cli(chinook_sqlite: Path, tmp_path: Path) -> None:
    model = tmp_path / "m.dbsynth"
    run = lambda *a: subprocess.run([sys.executable, "-m", "dbsynth", *a],  # noqa: E731
                                    capture_output=True, text=True, timeout=300)
    trained = run("train", str(chinook_sqlite), "-o", str(model), "--seed", "3")
    assert trained.returncode == 0, trained.stderr
    assert "trained 11 tables" in trained.stdout
    generated = run("generate", str(model), str(tmp_path / "g.db"), "--seed", "3", "--scale", "2")
    assert generated.returncode == 0, generated.stderr
    assert "generated 11 tables" in generated.stdout
    assert schema_of(str(tmp_path / "g.db")).table("invoice").row_count > 700
