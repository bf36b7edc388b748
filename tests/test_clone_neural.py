"""GAN and VAE end to end: each clones a parent + child fixture orphan-free and beats independent columns
on sdmetrics' Column Pair Trends; --device reaches the torch models and `cuda` without a GPU is one line."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

import dbsynth
from dbsynth.errors import ConfigError
from dbsynth.modelfile import load_model

SEGMENTS = ("consumer", "business", "enterprise")


def build_shop(path: Path, customers: int = 400, seed: int = 0) -> str:
    """customer -> orders with clear pairwise dependencies (segment drives tier, credit, order count,
    channel and amount; amount drives status and items), about 2,000 orders."""
    rng = np.random.default_rng(seed)
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE customer (id INTEGER PRIMARY KEY, segment TEXT NOT NULL, tier INTEGER NOT NULL,
                               credit REAL NOT NULL, zone TEXT NOT NULL);
        CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer(id),
                             channel TEXT NOT NULL, amount REAL NOT NULL, status TEXT NOT NULL,
                             items INTEGER NOT NULL);
    """)
    order_id = 0
    for cid in range(1, customers + 1):
        s = int(rng.choice(3, p=[0.6, 0.3, 0.1]))
        tier = s + 1 if rng.random() < 0.85 else int(rng.integers(1, 4))
        credit = round(float(rng.normal([500, 5000, 50000][s], [100, 1000, 8000][s])), 2)
        zone = str(rng.choice(["north", "south"] if s < 2 else ["east", "west"]))
        con.execute("INSERT INTO customer VALUES (?, ?, ?, ?, ?)", (cid, SEGMENTS[s], tier, credit, zone))
        for _ in range(int(rng.poisson([3, 7, 14][s]))):
            order_id += 1
            channel = str(rng.choice(["web", "phone", "partner"], p=[[0.8, 0.15, 0.05], [0.3, 0.5, 0.2],
                                                                     [0.05, 0.25, 0.7]][s]))
            amount = round(float(rng.lognormal({"web": 3.0, "phone": 4.5, "partner": 6.0}[channel] + s, 0.3)), 2)
            status = "review" if amount > 900 else str(rng.choice(["paid", "shipped"]))
            items = max(1, int(amount // 40 + rng.integers(0, 2)))
            con.execute("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)",
                        (order_id, cid, channel, amount, status, items))
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def pair_trends(source: str, target: str) -> float:
    """sdmetrics' Column Pair Trends of target against source, with dbsynth's own report code (no sampling)."""
    from dbsynth.report.frames import open_databases, read_pair
    from dbsynth.report.quality import column_roles, measure_quality, scored_frames, sdmetrics_metadata
    from dbsynth.progress import SilentProgress

    dbs = open_databases(source, target)
    try:
        pair = read_pair(dbs, SilentProgress())
    finally:
        dbs.dispose()
    roles = column_roles(pair.schema, pair.real)
    metadata, _ = sdmetrics_metadata(pair.schema, roles, pair.real)
    sizes = {n: len(f) for n, f in pair.real.items()}, {n: len(f) for n, f in pair.synthetic.items()}
    quality = measure_quality(scored_frames(pair.real, metadata), scored_frames(pair.synthetic, metadata), metadata,
                              roles=roles, full_rows=sizes)
    return float(quality.properties["Column Pair Trends"])


def orphans(url: str) -> int:
    with sa.create_engine(url).connect() as conn:
        return int(conn.exec_driver_sql(
            "SELECT COUNT(*) FROM orders o LEFT JOIN customer c ON c.id = o.customer_id WHERE c.id IS NULL"
        ).scalar())


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_shop(tmp_path_factory.mktemp("shop") / "shop.sqlite")


@pytest.fixture(scope="module")
def independent_pair_trends(shop: str, tmp_path_factory: pytest.TempPathFactory) -> float:
    target = f"sqlite:///{tmp_path_factory.mktemp('independent') / 'copy.db'}"
    dbsynth.clone(shop, target, seed=3, model="independent")
    return pair_trends(shop, target)


@pytest.mark.parametrize("model", ["gan", "neural"])
def test_torch_model_clones_orphan_free_and_beats_independent_on_pair_trends(
        model: str, shop: str, postgres_url: str, independent_pair_trends: float) -> None:
    result = dbsynth.clone(shop, postgres_url, seed=3, model=model, device="cpu")
    assert result.models == {"customer": model, "orders": model}
    assert result.rows["customer"] == 400
    assert 1800 < result.rows["orders"] < 2400          # the source has 2,009
    assert orphans(postgres_url) == 0
    got = pair_trends(shop, postgres_url)
    assert got > independent_pair_trends + 0.03, (model, got, independent_pair_trends)


def test_device_reaches_the_torch_models_and_generate_places_them(shop: str, tmp_path: Path) -> None:
    model_path = tmp_path / "shop.dbsynth"
    dbsynth.train(shop, model_path, seed=1, model="neural", device="cpu")
    fitted, _ = load_model(model_path)
    assert {f.generator.settings["device"] for f in fitted.tables.values()} == {"cpu"}
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    dbsynth.generate(model_path, target, seed=1, device="cpu")
    assert orphans(target) == 0
    with pytest.raises(ConfigError, match="device"):
        dbsynth.train(shop, model_path, model="neural", device="tpu")


def torch_sees_a_gpu() -> bool:
    import torch
    return bool(torch.cuda.is_available())


@pytest.mark.skipif(torch_sees_a_gpu(), reason="this machine has a GPU: --device cuda is valid here")
def test_device_cuda_without_a_gpu_is_one_line_before_reading_anything(shop: str, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    out = subprocess.run([sys.executable, "-m", "dbsynth", "clone", shop, str(target), "--device", "cuda"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --device cuda:"), out.stderr
    assert "sees no CUDA GPU" in lines[0] and "--device auto or cpu" in lines[0]
    assert not target.exists() or sa.inspect(sa.create_engine(f"sqlite:///{target}")).get_table_names() == []
