"""Indexes and exclusion constraints keep their kind: method, expressions, opclasses, INCLUDE, DESC,
MariaDB's FULLTEXT and prefix lengths; what a target cannot take is named in a warning."""

from __future__ import annotations

import io

import sqlalchemy as sa
from rich.console import Console

import dbsynth
from dbsynth.api import inspect
from dbsynth.cli_render import render_table
from dbsynth.io.engines import parse_url
from dbsynth.schema.compare import schema_differences
from tests.helpers import schema_of

_PG_SOURCE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "CREATE TABLE room (id serial PRIMARY KEY, name text NOT NULL)",
    "CREATE TABLE booking (id serial PRIMARY KEY, room_id int NOT NULL REFERENCES room, during tsrange, "
    "  label text, CONSTRAINT no_overlap EXCLUDE USING gist (room_id WITH =, during WITH &&), "
    "  CONSTRAINT one_label EXCLUDE USING btree (label WITH =))",
    "CREATE TABLE account (id serial PRIMARY KEY, email text NOT NULL, login text NOT NULL, doc jsonb, "
    "  seen timestamp NOT NULL, score int, tag text, period int4range)",
    "CREATE INDEX account_doc_gin ON account USING gin (doc jsonb_path_ops)",
    "CREATE INDEX account_period_gist ON account USING gist (period)",
    "CREATE INDEX account_seen_brin ON account USING brin (seen)",
    "CREATE INDEX account_tag_hash ON account USING hash (tag)",
    "CREATE UNIQUE INDEX account_email_ci ON account (lower(email))",
    "CREATE UNIQUE INDEX account_login_ci ON account (upper(login))",
    "CREATE INDEX account_score_incl ON account (score DESC NULLS LAST) INCLUDE (tag)",
    "CREATE INDEX account_tag_partial ON account (tag text_pattern_ops) WHERE score > 10",
    "INSERT INTO room (name) SELECT 'room ' || i FROM generate_series(1, 12) i",
    # labels are distinct in the source; sampled from a few categories they repeat, breaking one_label
    "INSERT INTO booking (room_id, during, label) SELECT 1 + mod(i, 12), tsrange(timestamp '2024-01-01' + i * interval "
    "  '1 day', timestamp '2024-01-01' + i * interval '1 day' + interval '2 hours'), 'L' || (mod(i, 200)) "
    "FROM generate_series(0, 199) i",
    # logins differ only by case from a short list in the sample: upper(login) must be kept unique
    "INSERT INTO account (email, login, doc, seen, score, tag) SELECT 'user' || i || '@example.com', "
    "  (ARRAY['ann', 'Bob', 'cy', 'Dee'])[1 + mod(i, 4)] || i, jsonb_build_object('k', mod(i, 5)), "
    "  timestamp '2024-01-01' + i * interval '1 hour', mod(i, 40), (ARRAY['a', 'b', 'c'])[1 + mod(i, 3)] "
    "FROM generate_series(1, 300) i",
]


def _execute(url: str, statements: list[str]) -> None:
    engine = sa.create_engine(parse_url(url))
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


def _scalars(url: str, query: str) -> list:
    engine = sa.create_engine(parse_url(url))
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.exec_driver_sql(query).all()]
    engine.dispose()
    return rows


_INDEXDEFS = ("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'account' "
              "ORDER BY 1")
_EXCLUSIONS = ("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'x' ORDER BY 1")


def test_postgres_indexes_and_exclusions_are_recreated_exactly(postgres_url: str, postgres_target: str) -> None:
    _execute(postgres_url, _PG_SOURCE)
    result = dbsynth.clone(postgres_url, postgres_target, seed=3)
    # every index as the source defines it: method, opclass, expression, INCLUDE, DESC NULLS LAST, WHERE
    assert _scalars(postgres_target, _INDEXDEFS) == _scalars(postgres_url, _INDEXDEFS)
    assert _scalars(postgres_target, _EXCLUSIONS) == _scalars(postgres_url, _EXCLUSIONS)
    # the unique expression indexes hold on the generated rows: no two equal but for case
    n, emails, logins = _scalars(postgres_target, "SELECT count(*), count(DISTINCT lower(email)), "
                                                  "count(DISTINCT upper(login)) FROM account")[0]
    assert n == 300 and emails == n and logins == n
    # the exclusion constraints hold: the repeated labels were repaired, and the warning says so
    assert _scalars(postgres_target, "SELECT count(*) FROM booking b JOIN booking c ON b.id < c.id "
                                     "AND b.label = c.label") == [(0,)]
    repaired = [w for w in result.warnings if "one_label" in w]
    assert repaired and "label was set to NULL" in repaired[0], result.warnings
    # nothing about the indexes is reported as lost
    assert not [w for w in result.warnings if "index" in w and "account" in w], result.warnings
    source, target = schema_of(postgres_url), schema_of(postgres_target)
    assert not [d for d in schema_differences(source, target) if "index" in d or "exclusion" in d]


def test_unique_expression_index_broken_by_generated_rows_is_repaired_or_relaxed(postgres_url: str,
                                                                                 postgres_target: str) -> None:
    # (code || '') is no expression sampling understands, so the generated codes repeat. In item, code is
    # NOT NULL and part refers to it: nothing can be repaired, the index is created non-unique with a warning.
    # Nothing refers to label: its colliding rows are deleted and the index stays unique.
    _execute(postgres_url, [
        "CREATE TABLE item (id serial PRIMARY KEY, code text NOT NULL)",
        "CREATE TABLE part (id serial PRIMARY KEY, item_id int NOT NULL REFERENCES item)",
        "CREATE TABLE label (id serial PRIMARY KEY, code text NOT NULL)",
        "CREATE UNIQUE INDEX item_code_expr ON item ((code || ''))",
        "CREATE UNIQUE INDEX label_code_expr ON label ((code || ''))",
        "INSERT INTO item (code) SELECT 'c' || i FROM generate_series(1, 200) i",
        "INSERT INTO label (code) SELECT 'c' || i FROM generate_series(1, 200) i",
        "INSERT INTO part (item_id) SELECT 1 + mod(i, 200) FROM generate_series(1, 400) i",
    ])
    result = dbsynth.clone(postgres_url, postgres_target, seed=1)
    index = "SELECT indisunique FROM pg_index WHERE indexrelid = '{}'::regclass"
    assert _scalars(postgres_target, "SELECT count(*) > count(DISTINCT code) FROM item") == [(True,)]
    assert _scalars(postgres_target, index.format("item_code_expr")) == [(False,)]
    assert any(w.startswith("index item_code_expr on table item is unique in the source, but the generated rows "
                            "repeat its key") and w.endswith("it is a non-unique index in the target")
               for w in result.warnings), result.warnings
    assert _scalars(postgres_target, index.format("label_code_expr")) == [(True,)]
    assert _scalars(postgres_target, "SELECT count(*) = count(DISTINCT code) FROM label") == [(True,)]
    assert any(w.startswith("index label_code_expr on table label: ") and "were deleted" in w
               for w in result.warnings), result.warnings
    # the rows-written count the clone reports is the target's, after the deletions
    (left,), = _scalars(postgres_target, "SELECT count(*) FROM label")
    deleted = int(next(w for w in result.warnings if "label_code_expr" in w).split(": ")[1].split()[0])
    assert deleted > 0 and result.rows["label"] == left == 200 - deleted, (result.rows, left, deleted)
    assert result.rows["item"] == _scalars(postgres_target, "SELECT count(*) FROM item")[0][0]


def test_postgres_indexes_on_sqlite_and_mariadb(postgres_url: str, sqlite_url: str, mysql_url: str) -> None:
    _execute(postgres_url, _PG_SOURCE)
    result = dbsynth.clone(postgres_url, sqlite_url, seed=2)
    sql = dict(_scalars(sqlite_url, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
    assert "lower" in sql["account_email_ci"].lower() and sql["account_email_ci"].startswith("CREATE UNIQUE INDEX")
    assert _scalars(sqlite_url, "SELECT count(*) - count(DISTINCT lower(email)) FROM account") == [(0,)]
    assert "DESC" in sql["account_score_incl"]
    assert "account_doc_gin" in sql
    assert any(w.startswith("index account_tag_hash on table account is a hash index") for w in result.warnings)

    result = dbsynth.clone(postgres_url, mysql_url, seed=2)
    warnings = result.warnings
    for name, reason in [("account_email_ci", "it is on expressions"),
                         ("account_seen_brin", "is a brin index in the source"),
                         ("account_score_incl", "has INCLUDE (tag)"),
                         ("account_doc_gin", "cannot be indexed on mysql")]:
        assert any(w.startswith(f"index {name} on table account") and reason in w for w in warnings), (name, warnings)
    assert any(w.startswith("exclusion constraint no_overlap on table booking was left out") for w in warnings)
    kept = {i.name: i for i in schema_of(mysql_url).table("account").indexes}
    assert {"account_tag_hash", "account_seen_brin"} <= set(kept)   # as plain indexes
    assert any(w.startswith("index account_tag_partial on table account was left out: on mysql it would be the same "
                            "index as account_tag_hash") for w in warnings), warnings
    assert kept["account_score_incl"].descending == ("score",)


_MARIADB_SOURCE = [
    "CREATE TABLE article (id int PRIMARY KEY AUTO_INCREMENT, title varchar(200) NOT NULL, body text, "
    "  code varchar(60), rank_no int, FULLTEXT KEY ft_text (title, body), KEY code_prefix (code(8)), "
    "  KEY rank_desc (rank_no DESC, code))",
    "INSERT INTO article (title, body, code, rank_no) SELECT concat('title ', seq), concat('body words ', mod(seq, 13)), "
    "  concat('code-', mod(seq, 30)), mod(seq, 17) FROM seq_1_to_150",
]


def test_mariadb_fulltext_prefix_and_desc_indexes(mysql_url: str, mysql_target: str, postgres_target: str) -> None:
    _execute(mysql_url, _MARIADB_SOURCE)
    dbsynth.clone(mysql_url, mysql_target, seed=1)
    indexes = {i.name: i for i in schema_of(mysql_target).table("article").indexes}
    assert indexes["ft_text"].method == "fulltext" and indexes["ft_text"].columns == ("title", "body")
    assert indexes["code_prefix"].lengths == (("code", 8),)
    assert indexes["rank_desc"].descending == ("rank_no",) and indexes["rank_desc"].columns == ("rank_no", "code")
    assert not [d for d in schema_differences(schema_of(mysql_url), schema_of(mysql_target)) if "index" in d]
    # FULLTEXT on PostgreSQL: a GIN index over the columns' text-search document
    result = dbsynth.clone(mysql_url, postgres_target, seed=1)
    (definition,), = _scalars(postgres_target, "SELECT indexdef FROM pg_indexes WHERE indexname = 'ft_text'")
    assert "USING gin (to_tsvector('simple'::regconfig" in definition
    assert any(w.startswith("index ft_text on table article is a FULLTEXT index") for w in result.warnings)


def test_compare_reports_index_method_and_expression(postgres_url: str, postgres_target: str) -> None:
    _execute(postgres_url, ["CREATE TABLE t (id int PRIMARY KEY, a text, b jsonb)",
                            "CREATE INDEX t_a ON t (lower(a))", "CREATE INDEX t_b ON t USING gin (b)"])
    _execute(postgres_target, ["CREATE TABLE t (id int PRIMARY KEY, a text, b jsonb)",
                               "CREATE UNIQUE INDEX t_a ON t (a)", "CREATE INDEX t_b ON t (b)"])
    differences = schema_differences(schema_of(postgres_url), schema_of(postgres_target))
    (line,) = [d for d in differences if "indexes" in d]
    assert "lower(a)" in line and "gin" in line and "True" in line
    out = io.StringIO()   # what `dbsynth inspect --table t` prints
    render_table(Console(file=out, width=200), inspect(postgres_url), "t")
    assert "index t_a: btree (lower(a))" in out.getvalue() and "index t_b: gin (b)" in out.getvalue()


def test_sqlite_expression_indexes_are_read_and_recreated(tmp_path, postgres_target: str) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    _execute(source, [
        "CREATE TABLE member (id INTEGER PRIMARY KEY, email TEXT NOT NULL, n INT)",
        "CREATE UNIQUE INDEX member_email_ci ON member (lower(email))",
        "CREATE INDEX member_n ON member (n DESC, abs(n)) WHERE n > 0",
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 120) "
        "INSERT INTO member (email, n) SELECT 'Member' || i || '@example.org', i % 9 - 3 FROM c",
    ])
    indexes = {i.name: i for i in schema_of(source).table("member").indexes}
    assert indexes["member_email_ci"].expressions == ("lower(email)",) and indexes["member_email_ci"].unique
    assert indexes["member_n"].elements == ("n", "abs(n)") and indexes["member_n"].descending == ("n",)
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    dbsynth.clone(source, copy, seed=1)
    assert {i.name: (i.elements, i.unique, i.where) for i in schema_of(copy).table("member").indexes} == {
        "member_email_ci": (("lower(email)",), True, None), "member_n": (("n", "abs(n)"), False, "n > 0")}
    dbsynth.clone(source, postgres_target, seed=1)
    defs = dict(_scalars(postgres_target, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'member'"))
    assert "UNIQUE INDEX member_email_ci ON public.member USING btree (lower(email))" in defs["member_email_ci"]
    assert _scalars(postgres_target, "SELECT count(*) - count(DISTINCT lower(email)) FROM member") == [(0,)]
