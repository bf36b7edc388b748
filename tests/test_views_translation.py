"""Views written for one engine, cloned to another and checked there against pandas.

fixtures/views_mariadb.sql (GROUP_CONCAT, loose GROUP BY, IF/IFNULL/CONCAT_WS/CONCAT, DATE_FORMAT,
UNIX_TIMESTAMP, LOCATE, SUBSTRING_INDEX, DIV, `/`) goes to PostgreSQL; fixtures/views_postgres_portable.sql
(interval arithmetic, age, week/quarter, ILIKE, string_agg/array_agg, FILTER, DISTINCT ON, numeric) goes to
SQLite and MariaDB. Each view must exist on the target as a view, return rows, and give what pandas computes
from the target's own (synthetic) tables under the source engine's rules.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import dbsynth
from dbsynth.io.engines import parse_url
from dbsynth.io.sqltranslate import translate
from dbsynth.io.sqlscope import SourceTables, UntranslatableSQL
from tests.helpers import load_mariadb_sql
from tests.test_views_across_engines import objects_of

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MARIADB_VIEWS = ("store_films", "category_rentals", "film_labels", "rental_dates", "store_sales")
POSTGRES_VIEWS = ("sale_times", "shop_years", "weekly", "quarterly", "sale_weeks", "web_sales", "city_stats",
                  "city_sale_ids", "top_sale", "unit_prices")
ORDERED_AGGREGATES = sqlite3.sqlite_version_info >= (3, 44)


def frame(conn: sa.Connection, sql: str) -> pd.DataFrame:
    return pd.read_sql_query(sa.text(sql), conn)


def close(a: Any, b: Any, tolerance: float = 1e-6) -> bool:
    if a is None or b is None or (isinstance(a, float) and pd.isna(a)) or (isinstance(b, float) and pd.isna(b)):
        return (a is None or pd.isna(a)) and (b is None or pd.isna(b))
    return abs(float(a) - float(b)) <= tolerance * max(1.0, abs(float(b)))


def stamp(value: Any) -> dt.datetime:
    """A date or timestamp as each engine returns it (SQLite: text), without time zone."""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=None)


def view_warnings(result: dbsynth.CloneResult) -> list[str]:
    return sorted(w for w in result.warnings if w.startswith(("view ", "materialized view ")))


# --- MariaDB -> PostgreSQL ----------------------------------------------------------------------------------

def test_mariadb_views_compute_the_same_on_postgres(mysql_url: str, postgres_target: str) -> None:
    load_mariadb_sql(mysql_url, FIXTURES / "views_mariadb.sql")
    result = dbsynth.clone(mysql_url, postgres_target, seed=4)
    assert view_warnings(result) == []
    engine = sa.create_engine(parse_url(postgres_target), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            objects = objects_of(conn)
            assert {v: objects.get(v) for v in MARIADB_VIEWS} == dict.fromkeys(MARIADB_VIEWS, "view")
            stores = frame(conn, "SELECT id, name, city FROM store").set_index("id")
            films = frame(conn, "SELECT id, title, category, length, rating, code FROM film").set_index("id")
            rentals = frame(conn, "SELECT id, store_id, film_id, rented_at, days, fee FROM rental")
            assert len(stores) >= 5 and len(films) >= 30 and len(rentals) >= 200
            joined = rentals.join(films, on="film_id").join(stores, on="store_id", rsuffix="_store")
            check_store_films(frame(conn, "SELECT * FROM store_films"), joined)
            check_category_rentals(frame(conn, "SELECT * FROM category_rentals"), joined)
            check_film_labels(frame(conn, "SELECT * FROM film_labels"), films)
            check_rental_dates(frame(conn, "SELECT * FROM rental_dates"), rentals)
            check_store_sales(frame(conn, "SELECT * FROM store_sales"), joined)
    finally:
        engine.dispose()


def check_store_films(view: pd.DataFrame, joined: pd.DataFrame) -> None:
    """GROUP_CONCAT(... ORDER BY ... SEPARATOR ', '), DISTINCT, default ','; name/city depend on the key."""
    assert len(view) == joined["store_id"].nunique() > 0
    for row in view.itertuples():
        group = joined[joined["store_id"] == row.id]
        assert (row.name, row.city) == (group["name"].iloc[0], group["city"].iloc[0])
        assert row.titles == ", ".join(sorted(group["title"]))
        assert row.categories == ",".join(sorted(set(group["category"])))
        assert sorted(int(i) for i in row.rental_ids.split(",")) == sorted(group["id"])
        assert row.rentals == len(group)


def check_category_rentals(view: pd.DataFrame, joined: pd.DataFrame) -> None:
    """Loose GROUP BY of a column that does not depend on the group: one row per category, counts kept."""
    groups = joined.groupby("category")
    assert sorted(view["category"]) == sorted(groups.groups)
    for row in view.itertuples():
        group = groups.get_group(row.category)
        assert row.rentals == len(group) and close(row.fees, group["fee"].astype(float).sum())
        assert row.city == min(group["city"])          # MIN(): one of the group's cities, as MariaDB gives one


def check_store_sales(view: pd.DataFrame, joined: pd.DataFrame) -> None:
    """GROUP BY r.store_id with the store's columns loose in SELECT and ORDER BY: one row per store."""
    expected = {f"{g['city'].iloc[0]},{g['name'].iloc[0]}": (round(g["fee"].astype(float).sum(), 2), len(g))
                for _, g in joined.groupby("store_id")}
    got = {r.store: (round(float(r.total), 2), r.rentals) for r in view.itertuples()}
    assert got == expected and len(view) == joined["store_id"].nunique()
    assert list(view["store"]) == sorted(view["store"], key=lambda s: s.split(",")[0])  # ordered by city


def check_film_labels(view: pd.DataFrame, films: pd.DataFrame) -> None:
    assert len(view) == len(films)
    for row in view.itertuples():
        film = films.loc[row.id]
        rating = None if pd.isna(film.rating) else film.rating
        assert row.size == ("long" if film.length > 120 else "short")
        assert row.rating == (rating or "unrated")
        assert row.label == " / ".join(p for p in (film.title, rating, film.category) if p is not None)
        assert (None if pd.isna(row.rated_title) else row.rated_title) == (
            None if rating is None else f"{film.title} ({rating})")          # CONCAT is NULL with a NULL part
        assert row.r_at == film.title.lower().find("r") + 1                   # LOCATE ignores case (utf8mb4_*_ci)
        words = film.title.split(" ")
        assert row.region == film.code.split("-")[0]
        assert (row.first_words, row.last_word, row.last_words) == (
            " ".join(words[:2]), words[-1], " ".join(words[-2:]))               # SUBSTRING_INDEX(title, ' ', n)
        assert row.hours == int(film.length / 60)                           # DIV truncates towards zero
        assert close(row.hours_exact, film.length / 60)                     # `/` is a decimal, not a truncation
    assert any(view["hours_exact"].astype(float) % 1 != 0)
    assert view["rated_title"].isna().any() and view["rated_title"].notna().any()   # both CONCAT paths ran


def check_rental_dates(view: pd.DataFrame, rentals: pd.DataFrame) -> None:
    assert len(view) == len(rentals)
    by_id = rentals.set_index("id")
    for row in view.itertuples():
        rental = by_id.loc[row.id]
        at = stamp(rental.rented_at)
        assert row.stamp == at.strftime("%Y-%m-%d %H:%M:%S")
        assert row.short_day == at.strftime("%d %b %Y") and row.long_day == at.strftime("%A, %B")
        assert close(row.epoch, at.replace(tzinfo=dt.timezone.utc).timestamp())
        assert close(row.weeks, rental.days / 7)
        assert close(row.fee_per_day, None if rental.days == 0 else float(rental.fee) / rental.days)


# --- PostgreSQL -> SQLite, MariaDB ---------------------------------------------------------------------------

def load_postgres(url: str, fixture: str) -> None:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        conn.execute((FIXTURES / fixture).read_text().encode())


@pytest.mark.parametrize("target_kind", ["sqlite", "mariadb"])
def test_postgres_views_compute_the_same_elsewhere(target_kind: str, postgres_url: str, tmp_path: Path,
                                                   request: pytest.FixtureRequest) -> None:
    load_postgres(postgres_url, "views_postgres_portable.sql")
    target = f"sqlite:///{tmp_path / 'views.db'}" if target_kind == "sqlite" else request.getfixturevalue("mysql_url")
    result = dbsynth.clone(postgres_url, target, seed=6)
    engine = sa.create_engine(parse_url(target), poolclass=sa.pool.NullPool)
    dialect = engine.dialect.name
    ordered = dialect != "sqlite" or ORDERED_AGGREGATES
    expected_warnings = [] if ordered else [
        f"view city_sale_ids not created on sqlite: array_agg(... ORDER BY ...) needs SQLite 3.44 (this one is "
        f"{sqlite3.sqlite_version})"]
    assert view_warnings(result) == expected_warnings
    try:
        with engine.connect() as conn:
            objects = objects_of(conn)
            views = [v for v in POSTGRES_VIEWS if ordered or v != "city_sale_ids"]
            assert {v: objects.get(v) for v in views} == dict.fromkeys(views, "view")
            today = stamp(conn.exec_driver_sql("SELECT CURRENT_DATE").scalar())
            shops = frame(conn, "SELECT id, city, opened FROM shop").set_index("id")
            sales = frame(conn, "SELECT id, shop_id, sold_on, sold_at, delivered_at, qty, amount, channel FROM sale")
            assert len(shops) >= 10 and len(sales) >= 300
            for column in ("sold_on", "sold_at"):
                sales[column] = sales[column].map(stamp)
            check_sale_times(frame(conn, "SELECT * FROM sale_times"), sales, today)
            check_shop_years(frame(conn, "SELECT * FROM shop_years"), shops, today)
            check_weeks_and_quarters(conn, sales)
            web = frame(conn, "SELECT id FROM web_sales")
            assert sorted(web["id"]) == sorted(sales[sales["channel"].str.lower().str.startswith("web")]["id"])
            joined = sales.join(shops, on="shop_id")
            check_city_stats(frame(conn, "SELECT * FROM city_stats"), joined)
            if ordered:
                check_city_sale_ids(frame(conn, "SELECT * FROM city_sale_ids"), joined)
            check_top_sale(frame(conn, "SELECT * FROM top_sale"), sales)
            check_unit_prices(frame(conn, "SELECT * FROM unit_prices"), sales)
    finally:
        engine.dispose()


def check_sale_times(view: pd.DataFrame, sales: pd.DataFrame, today: dt.datetime) -> None:
    assert len(view) == len(sales)
    by_id = sales.set_index("id")
    month_ends = 0
    for row in view.itertuples():
        sale = by_id.loc[row.id]
        assert stamp(row.due) == sale.sold_on + dt.timedelta(days=7)
        expected = (pd.Timestamp(sale.sold_at) - pd.DateOffset(months=1)).to_pydatetime()  # Mar 31 -> Feb 28
        assert stamp(row.month_before) == expected
        month_ends += sale.sold_at.day > 28
        assert stamp(row.three_hours_later) == sale.sold_at + dt.timedelta(hours=3)
        delivered = None if pd.isna(sale.delivered_at) else stamp(sale.delivered_at)
        assert close(row.delivery_time, None if delivered is None else
                     (delivered - sale.sold_at).total_seconds() / 86400, 1e-6)   # days, fractional
        assert row.days_ago == (today - sale.sold_on).days
        assert stamp(row.plus_30) == sale.sold_on + dt.timedelta(days=30)
    assert month_ends > 0


def whole_years(later: dt.datetime, earlier: dt.datetime) -> int:
    """EXTRACT(YEAR FROM age(later, earlier)): complete years, counted towards zero when negative."""
    if later < earlier:
        return -whole_years(earlier, later)
    return later.year - earlier.year - ((later.month, later.day) < (earlier.month, earlier.day))


def check_shop_years(view: pd.DataFrame, shops: pd.DataFrame, today: dt.datetime) -> None:
    assert len(view) == len(shops)
    for row in view.itertuples():
        opened = stamp(shops.loc[row.id, "opened"])
        assert int(row.years_open) == whole_years(today, opened)
        assert int(row.years_by_2030) == whole_years(dt.datetime(2030, 1, 1), opened)


def check_weeks_and_quarters(conn: sa.Connection, sales: pd.DataFrame) -> None:
    weekly = {stamp(w): n for w, n in frame(conn, "SELECT week, sales FROM weekly").itertuples(index=False)}
    mondays = Counter((s - dt.timedelta(days=s.weekday())).replace(hour=0, minute=0, second=0)
                      for s in sales["sold_at"])
    assert weekly == dict(mondays)
    quarters: dict[dt.datetime, float] = {}
    for day, amount in zip(sales["sold_on"], sales["amount"]):
        start = dt.datetime(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        quarters[start] = quarters.get(start, 0.0) + float(amount)
    view = frame(conn, "SELECT quarter, q, total FROM quarterly")
    assert {stamp(r.quarter): int(r.q) for r in view.itertuples()} == {k: (k.month + 2) // 3 for k in quarters}
    for r in view.itertuples():
        assert close(r.total, quarters[stamp(r.quarter)])
    by_id = sales.set_index("id")
    weeks = frame(conn, "SELECT id, iso_week, q FROM sale_weeks")
    assert len(weeks) == len(sales)
    for r in weeks.itertuples():
        sale = by_id.loc[r.id]
        assert int(r.iso_week) == sale.sold_on.isocalendar()[1]
        assert int(r.q) == (sale.sold_at.month + 2) // 3


def check_city_stats(view: pd.DataFrame, joined: pd.DataFrame) -> None:
    groups = joined.groupby("city")
    assert sorted(view["city"]) == sorted(groups.groups)
    for row in view.itertuples():
        group = groups.get_group(row.city)
        assert sorted(row.channels.split(",")) == sorted(set(group["channel"]))
        assert sorted(json.loads(row.quantities)) == sorted(group["qty"])       # a JSON array on the target
        assert row.big_sales == (group["qty"] > 4).sum() and row.sales == len(group)
        store = group[group["channel"] == "store"]["amount"]
        assert close(row.store_amount, None if store.empty else store.astype(float).sum())


def check_city_sale_ids(view: pd.DataFrame, joined: pd.DataFrame) -> None:
    groups = joined.groupby("city")
    assert len(view) == len(groups)
    for row in view.itertuples():
        group = groups.get_group(row.city).sort_values("id")
        assert row.sale_ids == ";".join(str(i) for i in group["id"])
        assert row.channels == "|".join(sorted(set(group["channel"])))
        assert json.loads(row.quantities) == list(group["qty"])


def check_top_sale(view: pd.DataFrame, sales: pd.DataFrame) -> None:
    """DISTINCT ON (shop_id) ... ORDER BY shop_id, amount DESC, id: each shop's biggest sale, lowest id first."""
    expected = sales.sort_values(["shop_id", "amount", "id"], ascending=[True, False, True]).drop_duplicates("shop_id")
    assert sorted(zip(view["shop_id"], view["sale_id"])) == sorted(zip(expected["shop_id"], expected["id"]))


def check_unit_prices(view: pd.DataFrame, sales: pd.DataFrame) -> None:
    by_id = sales.set_index("id")
    assert len(view) == len(sales)
    for row in view.itertuples():
        sale = by_id.loc[row.id]
        amount = Decimal(str(sale.amount))
        assert close(row.unit_price, None if sale.qty == 0 else float(amount) / sale.qty)
        assert close(row.quarter_qty, sale.qty / 4)
        assert row.whole_quarters == int(sale.qty / 4)                     # integer / integer truncates
        assert close(row.third, float(round(amount / 3, 2)))               # ::numeric(10, 2) rounds


# --- translate() itself -------------------------------------------------------------------------------------

TABLES = SourceTables.of([("t", None, {"id": "integer", "d": "date", "ts": "datetime", "n": "integer",
                                       "name": "text"}, ("id",)),
                          ("u", None, {"id": "integer", "t_id": "integer", "x": "text"}, ("id",))])


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT t.id, t.name, u.x, count(*) FROM t JOIN u ON u.t_id = t.id GROUP BY t.id",
     'SELECT "t"."id", "t"."name", MIN("u"."x") AS "x", COUNT(*) FROM "t" JOIN "u" ON "u"."t_id" = "t"."id" '
     'GROUP BY "t"."id"'),
    ("SELECT CONCAT(u.x, ',', t.name) AS store, sum(t.n) AS total FROM t JOIN u ON u.t_id = t.id GROUP BY u.t_id "
     "HAVING t.n > 0 ORDER BY t.name, total DESC",                          # sakila's sales_by_store
     'SELECT MIN("u"."x" || \',\' || "t"."name") AS "store", SUM("t"."n") AS "total" FROM "t" JOIN "u" '
     'ON "u"."t_id" = "t"."id" GROUP BY "u"."t_id" HAVING MIN("t"."n") > 0 ORDER BY MIN("t"."name") NULLS FIRST, '
     '"total" DESC NULLS LAST'),
    ("SELECT 7 / 2, 7 DIV 2, CONCAT(t.n, 'x') FROM t",
     "SELECT CAST(7 AS DECIMAL) / NULLIF(2, 0), DIV(7, NULLIF(2, 0)), CAST(\"t\".\"n\" AS TEXT) || 'x' FROM \"t\""),
    ("SELECT GROUP_CONCAT(t.n) FROM t", 'SELECT STRING_AGG(CAST("t"."n" AS TEXT), \',\') FROM "t"'),
])
def test_mariadb_to_postgres_rewrites(sql: str, expected: str) -> None:
    assert translate(sql, "mariadb", "postgresql", tables=TABLES) == expected


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT t.d + '1 mon 1 day 02:00:00'::interval FROM t",   # as PostgreSQL stores a view's interval
     "SELECT DATE_ADD(DATE_ADD(DATE_ADD(CAST(`t`.`d` AS DATETIME), INTERVAL 1 MONTH), INTERVAL 1 DAY), "
     "INTERVAL 2 HOUR) FROM `t`"),
    ("SELECT t.n / 2, count(*) FILTER (WHERE t.n > 1) FROM t",
     "SELECT `t`.`n` DIV 2, COUNT(CASE WHEN `t`.`n` > 1 THEN 1 END) FROM `t`"),
    ("SELECT t.ts - t.ts, t.d - t.d FROM t",
     "SELECT (TIMESTAMPDIFF(MICROSECOND, `t`.`ts`, `t`.`ts`) / 8.64e10), DATEDIFF(`t`.`d`, `t`.`d`) FROM `t`"),
])
def test_postgres_to_mariadb_rewrites(sql: str, expected: str) -> None:
    assert translate(sql, "postgresql", "mariadb", tables=TABLES) == expected


def test_interval_on_a_value_of_unknown_type_is_refused_on_sqlite() -> None:
    """SQLite would take CAST('7 days' AS INTERVAL) as a number: no view at all beats a view that lies."""
    with pytest.raises(UntranslatableSQL, match="interval arithmetic"):
        translate("SELECT v.x + interval '7 days' FROM v", "postgresql", "sqlite", tables=TABLES)
    with pytest.raises(UntranslatableSQL, match="SUBSTRING_INDEX"):
        translate("SELECT SUBSTRING_INDEX(t.name, '-', t.n) FROM t", "mariadb", "postgresql", tables=TABLES)
