"""The command line as users run it: output, exit codes, one-line errors, no secrets."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from dbsynth.io.engines import parse_url
from tests.helpers import rows_of, schema_of


def dbsynth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dbsynth", *args], capture_output=True, text=True, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_clone_prints_summary_and_writes_target(chinook_sqlite: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    result = dbsynth("clone", str(chinook_sqlite), str(target), "--seed", "1", "--scale", "0.5")
    assert result.returncode == 0, result.stderr
    assert "cloned 11 tables" in result.stdout
    assert schema_of(str(target)).table("invoice").row_count > 150


def test_inspect_lists_tables_in_load_order(chinook_sqlite: Path) -> None:
    result = dbsynth("inspect", str(chinook_sqlite))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("artist") < out.index("album") < out.index("track") < out.index("playlist_track")
    assert "3,503" in out and "reports_to" in out


def test_inspect_json_is_machine_readable(chinook_sqlite: Path) -> None:
    result = dbsynth("inspect", str(chinook_sqlite), "--json")
    data = json.loads(result.stdout)
    order = data["load_order"]
    assert order.index("employee") < order.index("customer") < order.index("invoice") < order.index("invoice_line")
    tables = {t["name"]: t for t in data["tables"]}
    assert tables["track"]["rows"] == 3503
    assert tables["playlist_track"]["primary_key"]["columns"] == ["playlist_id", "track_id"]
    assert data["deferred_foreign_keys"] == [{"table": "employee", "columns": ["reports_to"],
                                             "referred_table": "employee"}]
    assert tables["customer"]["personal_data"]["email"]["provider"] == "email"
    roles = {c["name"]: c["role"] for c in tables["customer"]["columns"]}
    assert roles["customer_id"] == "key" and roles["support_rep_id"] == "foreign key"


def test_unreachable_server_is_one_line(tmp_path: Path) -> None:
    result = dbsynth("clone", "postgresql://nobody@127.0.0.1:1/shop", str(tmp_path / "x.db"))
    assert_one_line_error(result, "cannot connect to source", "127.0.0.1:1")
    assert not (tmp_path / "x.db").exists()


def test_wrong_credentials_never_show_the_password(mysql_url: str, tmp_path: Path) -> None:
    url = parse_url(mysql_url).set(password="s3cret-Passw0rd")
    result = dbsynth("inspect", url.render_as_string(hide_password=False))
    assert_one_line_error(result, "cannot connect", "password")
    assert "s3cret-Passw0rd" not in result.stderr + result.stdout


def test_missing_sqlite_source(tmp_path: Path) -> None:
    result = dbsynth("clone", str(tmp_path / "nope.db"), str(tmp_path / "out.db"))
    assert_one_line_error(result, "nope.db", "does not exist")


def test_unsupported_column_type_names_the_column(postgres_url: str, tmp_path: Path) -> None:
    engine = sa.create_engine(parse_url(postgres_url))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE place (id serial PRIMARY KEY, location polygon)")
        conn.exec_driver_sql("INSERT INTO place (location) VALUES ('((0,0),(1,0),(1,1))'), ('((0,0),(2,0),(2,2))')")
    engine.dispose()
    target = tmp_path / "out.db"
    result = dbsynth("clone", postgres_url, str(target))
    # A type dbsynth cannot generate is named in a warning and written as NULL; the rest is cloned.
    assert result.returncode == 0, result.stderr
    assert "place.location" in result.stdout + result.stderr and "NULL" in result.stdout + result.stderr
    assert rows_of(f"sqlite:///{target}", "place", ["location"]) == [(None,), (None,)]


def test_failed_load_leaves_nothing_half_written(postgres_url: str, postgres_target: str) -> None:
    """A CHECK the generated data cannot satisfy makes the load fail; the target must stay empty."""
    engine = sa.create_engine(parse_url(postgres_url))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE parent (id serial PRIMARY KEY, code varchar(20) NOT NULL "
                             "CHECK (code ~ '^ABC-1[0-9]{3}$'))")
        conn.exec_driver_sql("CREATE TABLE child (id serial PRIMARY KEY, parent_id int NOT NULL REFERENCES parent)")
        conn.exec_driver_sql("INSERT INTO parent (code) SELECT 'ABC-' || (1000 + i) FROM generate_series(1, 50) i")
        conn.exec_driver_sql("INSERT INTO child (parent_id) SELECT 1 + mod(i, 50) FROM generate_series(1, 200) i")
    engine.dispose()
    result = dbsynth("clone", postgres_url, postgres_target)
    assert_one_line_error(result, "parent", "rolled back")
    assert schema_of(postgres_target).tables == ()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = dbsynth("--debug", "clone", str(tmp_path / "nope.db"), str(tmp_path / "out.db"))
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_bad_scale_is_refused(chinook_sqlite: Path, tmp_path: Path) -> None:
    result = dbsynth("clone", str(chinook_sqlite), str(tmp_path / "out.db"), "--scale", "0")
    assert_one_line_error(result, "--scale")


def test_inspect_one_table_and_unknown_table(chinook_sqlite: Path) -> None:
    result = dbsynth("inspect", str(chinook_sqlite), "--table", "customer")
    assert result.returncode == 0, result.stderr
    assert "fake (email)" in result.stdout and "foreign key" in result.stdout
    result = dbsynth("inspect", str(chinook_sqlite), "--table", "customers")
    assert_one_line_error(result, "'customers'", "invoice_line")


def _hold_port(port: int) -> socket.socket | None:
    """Occupy `port` as another user's cluster would; None when someone already does."""
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", port))
        holder.listen()
    except OSError:
        holder.close()
        return None
    return holder


def test_dask_local_keeps_distributed_logs_off_the_terminal(postgres_url: str, tmp_path: Path) -> None:
    with sa.create_engine(parse_url(postgres_url)).begin() as conn:
        conn.exec_driver_sql("CREATE TABLE item (id serial PRIMARY KEY, qty int NOT NULL, tag text)")
        conn.exec_driver_sql("INSERT INTO item (qty, tag) SELECT 1 + mod(i, 40), 't' || mod(i, 5) "
                             "FROM generate_series(1, 600) i")
    holder = _hold_port(8787)   # distributed's default dashboard port, busy: no "already in use" warning either
    try:
        quiet = dbsynth("clone", postgres_url, str(tmp_path / "quiet.db"), "--seed", "1", "--dask", "local",
                        "--jobs", "2")
        debug = dbsynth("--debug", "clone", postgres_url, str(tmp_path / "debug.db"), "--seed", "1",
                        "--dask", "local", "--jobs", "2")
    finally:
        if holder is not None:
            holder.close()
    assert quiet.returncode == 0 and debug.returncode == 0, quiet.stderr + debug.stderr
    assert "cloned 1 tables" in quiet.stdout and rows_of(str(tmp_path / "quiet.db"), "item")
    assert not [line for line in quiet.stderr.splitlines() if line.startswith("INFO")], quiet.stderr
    assert "Scheduler" not in quiet.stderr and "already in use" not in quiet.stderr, quiet.stderr
    assert "Scheduler at" in debug.stderr   # --debug still shows them
