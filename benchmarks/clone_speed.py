"""Clone speed against a plain copy of the same rows, side by side in one run.

    python benchmarks/clone_speed.py [--scale 4] [--target-url postgresql://postgres@127.0.0.1/postgres]

(a) `dbsynth.clone` of Chinook at --scale into a fresh database, end to end;
(b) a plain copy: read every source row and bulk-insert it --scale times into a
    fresh database with the same schema (what any loader must at least do);
prints both times, rows/s, and the ratio a/b. Machines here are noisy, so only
the ratio of the two, measured together, is worth comparing across runs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

import dbsynth
from dbsynth.io.engines import parse_url

CHINOOK = Path(__file__).resolve().parent.parent / "fixtures" / "chinook.sqlite"


def fresh_target(base: str | None, folder: Path) -> tuple[str, callable]:
    if base is None:
        path = folder / f"{uuid.uuid4().hex}.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    name = f"dbsynth_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(parse_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return parse_url(base).set(database=name).render_as_string(hide_password=False), drop


def _fixture_module():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_chinook", CHINOOK.parent / "build_chinook.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def plain_copy(target: str, scale: int) -> int:
    """Copy Chinook's rows `scale` times (keys offset) with SQLAlchemy executemany / COPY-free inserts."""
    source = sa.create_engine(f"sqlite:///{CHINOOK}")
    metadata = _fixture_module().chinook_metadata()  # portable types, unlike SQLite reflection
    engine = sa.create_engine(parse_url(target))
    metadata.create_all(engine)
    rows = 0
    with source.connect() as src, engine.begin() as dst:
        for table in metadata.sorted_tables:
            data = [dict(r._mapping) for r in src.execute(sa.select(table))]
            int_cols = [c.name for c in table.columns if c.primary_key or c.foreign_keys]
            for k in range(scale):
                batch = [{**r, **{c: r[c] + k * 100_000 for c in int_cols if r[c] is not None}} for r in data]
                if batch:
                    dst.execute(table.insert(), batch)
                rows += len(batch)
    engine.dispose()
    source.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--target-url", default=None, help="server URL to create scratch databases on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        target, drop = fresh_target(args.target_url, folder)
        started = time.perf_counter()
        result = dbsynth.clone(str(CHINOOK), target, seed=0, scale=args.scale)
        clone_s = time.perf_counter() - started
        drop()
        target, drop = fresh_target(args.target_url, folder)
        started = time.perf_counter()
        copied = plain_copy(target, args.scale)
        copy_s = time.perf_counter() - started
        drop()
    kind = "sqlite" if args.target_url is None else parse_url(args.target_url).get_backend_name()
    print(f"target: {kind}, Chinook x{args.scale}")
    print(f"(a) dbsynth clone : {result.total_rows:>9,} rows in {clone_s:6.2f}s ({result.total_rows / clone_s:>9,.0f} rows/s)")
    print(f"(b) plain copy    : {copied:>9,} rows in {copy_s:6.2f}s ({copied / copy_s:>9,.0f} rows/s)")
    print(f"ratio a/b (time per row): {(clone_s / result.total_rows) / (copy_s / copied):.2f}")


if __name__ == "__main__":
    main()
