"""CHECK constraints hold in the target, whatever form they are written in (issue 4).

CHECKs dbsynth cannot parse (a regex, a user-defined function, nested functions)
are evaluated by the target engine itself on the generated rows when the target
is the same engine, and failing rows are repaired; CHECKs over values that later
steps change (aggregates recomputed from children, FKs filled after the insert)
still hold at the end; repairs are reported in the clone result's warnings.
Every assertion is measured in the target database.
"""

from __future__ import annotations

import sqlalchemy as sa

import dbsynth
from dbsynth.io.engines import parse_url
from tests.helpers import database_checksum

IS_EVEN = "CREATE FUNCTION is_even(n integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT n % 2 = 0'"


def _driver_sql(url: str, statement: str) -> str:
    """psycopg and PyMySQL take % as a placeholder marker; sqlite3 does not."""
    return statement if url.startswith("sqlite") else statement.replace("%", "%%")


def run(url: str, *statements: str) -> None:
    engine = sa.create_engine(parse_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(_driver_sql(url, statement))
    finally:
        engine.dispose()


def scalar(url: str, query: str) -> object:
    engine = sa.create_engine(parse_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(_driver_sql(url, query)).scalar_one()
    finally:
        engine.dispose()


def violations(url: str, table: str, condition: str) -> int:
    """Rows of `table` for which `condition` is FALSE, counted by the target (NULL passes, as in a CHECK)."""
    return int(scalar(url, f"SELECT COUNT(*) FROM {table} WHERE NOT ({condition})"))  # type: ignore[arg-type]


PG_UNREADABLE = {
    "code_format": "code ~ '^[A-Z]{3}[0-9]+$'",
    "sum_even": "is_even(a + b)",
    "label_long": "char_length(trim(label)) > 2",
}


def test_unreadable_postgres_checks_hold_postgres_to_postgres(postgres_url: str, postgres_target: str) -> None:
    """A regex, a user-defined function and nested functions: 0 violations, every row written."""
    run(postgres_url, IS_EVEN,
        "CREATE TABLE item (id serial PRIMARY KEY, code text NOT NULL, a integer NOT NULL, b integer NOT NULL, "
        "label text, "
        "price numeric(8,2) NOT NULL CHECK (price > 0), "
        + ", ".join(f"CONSTRAINT {name} CHECK ({sql})" for name, sql in PG_UNREADABLE.items()) + ")",
        "CREATE TABLE note (id serial PRIMARY KEY, item_id int NOT NULL REFERENCES item, body text)",
        # unique codes (written as words unless their shape is kept), a + b even although a and b each
        # take both parities (the model learns the pair only roughly), unique one-word labels (lorem
        # words, some of them two letters long)
        "INSERT INTO item (code, a, b, label, price) SELECT "
        "  chr(65 + i % 26) || chr(65 + (i * 7) % 26) || chr(65 + (i * 11) % 26) || (i * 37 % 1000), "
        "  (i * 7919) % 1000, (i * 7919) % 1000 + 2 * (i % 50), "
        "  CASE WHEN i % 5 = 0 THEN NULL ELSE 'label' || i END, "
        "  1 + (i % 97) * 1.5 "
        "FROM generate_series(1, 400) i",
        "INSERT INTO note (item_id, body) SELECT 1 + (i * 13) % 400, 'note ' || i FROM generate_series(1, 900) i")
    run(postgres_target, IS_EVEN)
    result = dbsynth.clone(postgres_url, postgres_target, seed=3)
    assert result.rows["item"] > 300 and result.rows["note"] > 600
    assert scalar(postgres_target, "SELECT COUNT(*) FROM item") == result.rows["item"]
    for name, condition in PG_UNREADABLE.items():
        assert violations(postgres_target, "item", condition) == 0, name
    assert scalar(postgres_target, "SELECT COUNT(*) FROM note LEFT JOIN item ON item.id = note.item_id "
                                   "WHERE item.id IS NULL") == 0
    # the CHECKs are in the target as written, so the target enforces them too
    assert scalar(postgres_target, "SELECT COUNT(*) FROM pg_constraint WHERE contype = 'c' "
                                   "AND conrelid = 'item'::regclass") == 4
    assert not [w for w in result.warnings if "cannot read" in w]
    # the repairs are reported, one line per CHECK with counts
    repaired = [w for w in result.warnings if w.startswith("table item: CHECK ")]
    assert any("sum_even" in w and "repaired" in w for w in repaired), result.warnings


MARIADB_UNREADABLE = {
    "code_format": "code REGEXP '^[A-Z]{3}[0-9]+$'",
    "sum_even": "MOD(a + b, 2) = 0",
}


def test_unreadable_mariadb_checks_hold_mariadb_to_mariadb(mysql_url: str) -> None:
    """REGEXP and MOD() CHECKs, evaluated by MariaDB on the generated rows: 0 violations, every row written."""
    source = mysql_url
    target = mysql_url.rsplit("/", 1)[0] + "/" + mysql_url.rsplit("/", 1)[1] + "_copy"
    run(source, f"CREATE DATABASE `{target.rsplit('/', 1)[1]}` CHARACTER SET utf8mb4")
    try:
        run(source,
            "CREATE TABLE item (id int AUTO_INCREMENT PRIMARY KEY, code varchar(20) NOT NULL, a int NOT NULL, "
            "b int NOT NULL, " + ", ".join(f"CONSTRAINT {n} CHECK ({sql})" for n, sql in MARIADB_UNREADABLE.items())
            + ")",
            "CREATE TABLE note (id int AUTO_INCREMENT PRIMARY KEY, item_id int NOT NULL, body varchar(40), "
            "FOREIGN KEY (item_id) REFERENCES item (id))",
            "INSERT INTO item (code, a, b) SELECT CONCAT(CHAR(65 + seq % 26), CHAR(65 + (seq * 7) % 26), "
            "CHAR(65 + (seq * 11) % 26), (seq * 37) % 1000), (seq * 7919) % 1000, (seq * 7919) % 1000 + 2 * (seq % 50) "
            "FROM seq_1_to_400",
            "INSERT INTO note (item_id, body) SELECT 1 + (seq * 13) % 400, CONCAT('note ', seq) FROM seq_1_to_900")
        result = dbsynth.clone(source, target, seed=5)
        assert result.rows["item"] > 300 and result.rows["note"] > 600
        assert scalar(target, "SELECT COUNT(*) FROM item") == result.rows["item"]
        for name, condition in MARIADB_UNREADABLE.items():
            assert violations(target, "item", condition) == 0, name
        assert scalar(target, "SELECT COUNT(*) FROM note LEFT JOIN item ON item.id = note.item_id "
                              "WHERE item.id IS NULL") == 0
        assert scalar(target, "SELECT COUNT(*) FROM information_schema.check_constraints "
                              "WHERE constraint_schema = DATABASE() AND table_name = 'item'") == 2
        assert any(w.startswith("table item: CHECK sum_even:") and "repaired" in w for w in result.warnings), \
            result.warnings
    finally:
        run(source, f"DROP DATABASE IF EXISTS `{target.rsplit('/', 1)[1]}`")


def test_unreadable_check_across_engines_stays_a_warning(postgres_url: str, sqlite_url: str) -> None:
    """PostgreSQL -> SQLite: the regex is not written to the target, so it is named in a warning; rows load."""
    run(postgres_url,
        "CREATE TABLE item (id serial PRIMARY KEY, code text NOT NULL CONSTRAINT code_format "
        "CHECK (code ~ '^[A-Z]{3}[0-9]+$'))",
        "INSERT INTO item (code) SELECT 'ABC' || i FROM generate_series(1, 200) i")
    result = dbsynth.clone(postgres_url, sqlite_url, seed=1)
    assert scalar(sqlite_url, "SELECT COUNT(*) FROM item") == result.rows["item"] > 150
    warned = [w for w in result.warnings if "code_format" in w]
    assert len(warned) == 1 and "cannot read" in warned[0] and "left out of the target" in warned[0]


def test_check_over_an_aggregate_recomputed_from_children_holds(postgres_url: str, postgres_target: str) -> None:
    """order.total = sum of its lines is recomputed after the order was drawn; CHECK (discount <= total) must hold."""
    run(postgres_url,
        "CREATE TABLE orders (id serial PRIMARY KEY, discount numeric(10,2) NOT NULL, total numeric(10,2) NOT NULL, "
        "CONSTRAINT discount_within_total CHECK (discount <= total))",
        "CREATE TABLE line (id serial PRIMARY KEY, order_id int NOT NULL REFERENCES orders, amount numeric(10,2) NOT NULL)",
        "INSERT INTO orders (discount, total) SELECT 0, 0 FROM generate_series(1, 300)",
        "INSERT INTO line (order_id, amount) SELECT o.id, 5 + (o.id * 31 + k * 17) % 90 "
        "FROM orders o, generate_series(1, 6) k WHERE k <= 1 + o.id % 6",
        # the discount is a share of the total, up to all of it: the model learns discount and total apart
        "UPDATE orders o SET total = s.t, discount = round(s.t * ((o.id * 7) % 11) / 10.0, 2) "
        "FROM (SELECT order_id, sum(amount) t FROM line GROUP BY order_id) s WHERE s.order_id = o.id",
        "UPDATE orders SET discount = total WHERE discount > total")
    result = dbsynth.clone(postgres_url, postgres_target, seed=4)
    assert result.rows["orders"] > 200
    assert violations(postgres_target, "orders", "discount <= total") == 0
    # the aggregate still is the sum of the lines: the repair changed the discount, not the total
    assert scalar(postgres_target, "SELECT COUNT(*) FROM orders o WHERE o.total <> "
                                   "(SELECT COALESCE(sum(amount), 0) FROM line l WHERE l.order_id = o.id)") == 0
    assert any(w.startswith("table orders: CHECK discount_within_total:") for w in result.warnings), result.warnings


def test_check_over_a_self_reference_filled_after_the_insert_holds(postgres_url: str, postgres_target: str) -> None:
    """manager_id is filled by UPDATE after the insert; CHECK (manager_id < id) must hold for every row."""
    run(postgres_url,
        "CREATE TABLE employee (id serial PRIMARY KEY, manager_id int REFERENCES employee, salary int NOT NULL, "
        "CONSTRAINT manager_first CHECK (manager_id < id))",
        "INSERT INTO employee (manager_id, salary) SELECT NULL, 1000 + (i * 37) % 500 FROM generate_series(1, 300) i",
        "UPDATE employee SET manager_id = 1 + (id * 7) % (id - 1) WHERE id > 3")
    result = dbsynth.clone(postgres_url, postgres_target, seed=6)
    assert scalar(postgres_target, "SELECT COUNT(*) FROM employee") == result.rows["employee"] > 200
    assert violations(postgres_target, "employee", "manager_id < id") == 0
    # still a tree with a few roots, not a flat list
    roots = scalar(postgres_target, "SELECT COUNT(*) FROM employee WHERE manager_id IS NULL")
    assert 1 <= roots <= 0.1 * result.rows["employee"]


def test_unreadable_sqlite_check_holds_sqlite_to_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SQLite evaluates its own GLOB on the generated rows; the CLI prints the repair counts and exits 0."""
    import subprocess
    import sys

    source, target = f"sqlite:///{tmp_path / 'src.db'}", tmp_path / "out.db"
    run(source,
        "CREATE TABLE item (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b INTEGER NOT NULL, "
        "CONSTRAINT sum_even CHECK (printf('%d', a + b) GLOB '*[02468]'))",
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 400) "
        "INSERT INTO item (a, b) SELECT (i * 7919) % 1000, (i * 7919) % 1000 + 2 * (i % 50) FROM s")
    done = subprocess.run([sys.executable, "-m", "dbsynth", "clone", source, str(target), "--seed", "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "table item: CHECK sum_even: generated rows that failed it:" in done.stdout + done.stderr
    url = f"sqlite:///{target}"
    assert scalar(url, "SELECT COUNT(*) FROM item") > 300
    assert violations(url, "item", "printf('%d', a + b) GLOB '*[02468]'") == 0
    # the same seed repairs the same rows the same way
    again = tmp_path / "again.db"
    dbsynth.clone(source, str(again), seed=2)
    assert database_checksum(str(again)) == database_checksum(str(target))
