"""Derived columns survive cloning: copied from a parent, time runs forward, running index, aggregates.

A planted PostgreSQL database (accounts, orders, order lines, products) holds each rule exactly; the
clone must hold it too, checked by SQL in the target. Chinook's copied columns are checked as well.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import sqlalchemy as sa

import dbsynth

COUNTRIES = {"France": ["Paris", "Lyon", "Lille"], "Germany": ["Berlin", "Munich", "Hamburg"],
             "Spain": ["Madrid", "Sevilla", "Valencia"], "Italy": ["Rome", "Milan", "Turin"]}
CATEGORIES = {"bulk": (2.0, (10, 20)), "retail": (15.0, (1, 4)), "luxury": (250.0, (1, 2))}


def build_planted(url: str, seed: int = 7) -> None:
    """account -> orders -> order_line <- product, every rule planted exactly."""
    rng = np.random.default_rng(seed)
    products = []
    for pid in range(1, 61):
        category = list(CATEGORIES)[pid % 3]
        base, _ = CATEGORIES[category]
        products.append((pid, category, round(base * float(rng.uniform(0.8, 1.2)), 2)))
    accounts, orders, lines = [], [], []
    cities = [(country, city) for country, names in COUNTRIES.items() for city in names]
    line_id = 0
    for aid in range(1, 301):
        tier = rng.choice(["gold", "silver", "basic"], p=[0.2, 0.3, 0.5])
        country, city = cities[int(rng.integers(len(cities)))]
        opened = dt.date(2015, 1, 1) + dt.timedelta(days=int(rng.integers(0, 5 * 365)))
        accounts.append((aid, str(tier), country, city, opened))
        for _ in range(int(rng.poisson(10 if tier == "gold" else 2))):
            oid = len(orders) + 1
            ordered = opened + dt.timedelta(days=int(rng.integers(0, 400)))
            n_lines = int(rng.integers(1, 6))
            total = 0.0
            for line_no in range(1, n_lines + 1):
                pid, category, price = products[int(rng.integers(len(products)))]
                low, high = CATEGORIES[category][1]
                qty = int(rng.integers(low, high + 1))
                line_id += 1
                lines.append((line_id, oid, line_no, pid, price, qty))
                total += price * qty
            orders.append((oid, aid, ordered, n_lines, round(total, 2)))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE product (id integer PRIMARY KEY, category text NOT NULL, "
                             "price numeric(10,2) NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE account (id integer PRIMARY KEY, tier text NOT NULL, "
                             "country text NOT NULL, city text NOT NULL, opened date NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE orders (id integer PRIMARY KEY, account_id integer NOT NULL "
                             "REFERENCES account(id), ordered date NOT NULL, line_count integer NOT NULL, "
                             "total numeric(12,2) NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE order_line (id integer PRIMARY KEY, order_id integer NOT NULL "
                             "REFERENCES orders(id), line_no integer NOT NULL, product_id integer NOT NULL "
                             "REFERENCES product(id), price numeric(10,2) NOT NULL, qty integer NOT NULL)")
        conn.execute(sa.text("INSERT INTO product VALUES (:a, :b, :c)"),
                     [dict(zip("abc", p)) for p in products])
        conn.execute(sa.text("INSERT INTO account VALUES (:a, :b, :c, :d, :e)"),
                     [dict(zip("abcde", a)) for a in accounts])
        conn.execute(sa.text("INSERT INTO orders VALUES (:a, :b, :c, :d, :e)"),
                     [dict(zip("abcde", o)) for o in orders])
        conn.execute(sa.text("INSERT INTO order_line VALUES (:a, :b, :c, :d, :e, :f)"),
                     [dict(zip("abcdef", line)) for line in lines])
    engine.dispose()


def _scalar(url: str, sql: str):  # type: ignore[no-untyped-def]
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalar()
    finally:
        engine.dispose()


def _rows(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql).fetchall()]
    finally:
        engine.dispose()


ORDERS_AFTER = "SELECT avg((o.ordered >= a.opened)::int) FROM orders o JOIN account a ON a.id = o.account_id"
LINE_NO_BROKEN = ("SELECT count(*) FROM (SELECT order_id, count(*) n, count(DISTINCT line_no) d, min(line_no) lo, "
                  "max(line_no) hi FROM order_line GROUP BY order_id) s WHERE NOT (n = d AND lo = 1 AND hi = n)")
PRICE_COPIED = ("SELECT avg((l.price = p.price)::int) FROM order_line l JOIN product p ON p.id = l.product_id")
TOTAL_SUMMED = ("SELECT avg((abs(o.total - coalesce(s.s, 0)) <= 0.01)::int) FROM orders o LEFT JOIN "
                "(SELECT order_id, sum(price * qty) s FROM order_line GROUP BY order_id) s ON s.order_id = o.id")
QTY_BY_CATEGORY = ("SELECT p.category, avg(l.qty) FROM order_line l JOIN product p ON p.id = l.product_id "
                   "GROUP BY p.category")
PER_TIER = ("SELECT a.tier, count(o.id)::float / count(DISTINCT a.id) FROM account a "
            "LEFT JOIN orders o ON o.account_id = a.id GROUP BY a.tier")


def test_planted_rules_hold_in_the_clone(postgres_url: str, postgres_target: str) -> None:
    build_planted(postgres_url)
    # The planted source holds every rule (so the checks below can tell a broken clone).
    assert _scalar(postgres_url, ORDERS_AFTER) == 1
    assert _scalar(postgres_url, LINE_NO_BROKEN) == 0
    assert _scalar(postgres_url, TOTAL_SUMMED) == 1

    dbsynth.clone(postgres_url, postgres_target, seed=1)

    assert _scalar(postgres_target, "SELECT count(*) FROM orders") > 100
    assert _scalar(postgres_target, ORDERS_AFTER) == 1, "an order before its account was opened"
    assert _scalar(postgres_target, LINE_NO_BROKEN) == 0, "line_no is not 1..n within its order"
    assert _scalar(postgres_target, "SELECT count(DISTINCT line_no) FROM order_line") > 1
    assert _scalar(postgres_target, PRICE_COPIED) == 1, "a line's price differs from its product's"
    assert _scalar(postgres_target, TOTAL_SUMMED) == 1, "an order's total is not the sum of its lines"
    assert _scalar(postgres_target, "SELECT avg((line_count = (SELECT count(*) FROM order_line l "
                                    "WHERE l.order_id = o.id))::int) FROM orders o") == 1

    real, synthetic = dict(_rows(postgres_url, PER_TIER)), dict(_rows(postgres_target, PER_TIER))
    assert real["gold"] > 3 * real["basic"]
    for tier, mean in real.items():
        assert abs(synthetic[tier] - mean) <= 0.15 * mean, (tier, synthetic, real)

    # a line's quantity depends on its *secondary* parent's category (bulk 10-20, retail 1-4, luxury 1-2)
    real_qty, synthetic_qty = dict(_rows(postgres_url, QTY_BY_CATEGORY)), dict(_rows(postgres_target, QTY_BY_CATEGORY))
    assert real_qty["bulk"] > 3 * real_qty["retail"]
    assert float(synthetic_qty["bulk"]) > 3 * float(synthetic_qty["retail"]), synthetic_qty
    for category, mean in real_qty.items():
        assert abs(float(synthetic_qty[category]) - float(mean)) <= 0.2 * float(mean), (synthetic_qty, real_qty)

    known = {city for names in COUNTRIES.values() for city in names}
    pairs = _rows(postgres_target, "SELECT city, count(DISTINCT country) FROM account GROUP BY city")
    assert {city for city, _ in pairs} & known
    assert all(n == 1 for city, n in pairs if city in known), pairs


def test_chinook_copied_columns(chinook_sqlite: Path, postgres_target: str) -> None:
    dbsynth.clone(str(chinook_sqlite), postgres_target, seed=1)
    price = _scalar(postgres_target, "SELECT avg((l.unit_price = t.unit_price)::int) FROM invoice_line l "
                                     "JOIN track t ON t.track_id = l.track_id")
    assert price >= 0.99, price
    total = _scalar(postgres_target, "SELECT avg((abs(i.total - s.s) <= 0.01)::int) FROM invoice i JOIN "
                                     "(SELECT invoice_id, sum(unit_price * quantity) s FROM invoice_line "
                                     "GROUP BY invoice_id) s ON s.invoice_id = i.invoice_id")
    assert total == 1, total
    # customer.country is mostly faked on 59 customers (rare values), so invoices model their own
    # billing_country; frequent billing cities still lie in exactly one country.
    pairs = _rows(postgres_target, "SELECT billing_city, count(DISTINCT billing_country) FROM invoice "
                                   "GROUP BY billing_city HAVING count(*) >= 7")
    assert pairs and all(n == 1 for _, n in pairs), pairs
