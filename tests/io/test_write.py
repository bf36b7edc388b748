"""The write stage against real databases: schema creation, bulk load, fix-ups, rollback."""

from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import uuid
from collections.abc import Iterator

import pandas as pd
import pytest
import sqlalchemy as sa

from dbsynth.errors import DbsynthError, TargetNotEmpty
from dbsynth.io.ddl import create_schema, drop_tables, existing_tables, table_for, target_metadata
from dbsynth.io.engines import open_target, parse_url
from dbsynth.io.load import insert_frame, make_transactional, reset_sequences, transactional_ddl, update_rows
from dbsynth.io.typemap import sa_type
from dbsynth.schema.model import (CheckConstraint, Column, ForeignKey, Identity, Index, PrimaryKey, Schema,
                                  SqlType, Table, UniqueConstraint)

INT = SqlType("integer", source_name="INTEGER", size=32)
HOSTILE = ["tab\there", "new\nline", "back\\slash", "quote ' and \"", "NULL", "\\N", "emoji 🦆✨", ""]


def shop_schema() -> Schema:
    """parent (serial PK, unique code, numeric, timestamp, hostile text, self-reference),
    child (composite PK, FK to parent), line (serial PK, composite FK to child)."""
    parent = Table(
        name="parent",
        columns=(
            Column("id", INT, nullable=False, autoincrement=True, default="nextval('parent_id_seq'::regclass)"),
            Column("code", SqlType("text", source_name="VARCHAR(20)", length=20), nullable=False),
            Column("price", SqlType("decimal", source_name="NUMERIC(10,2)", precision=10, scale=2)),
            Column("created", SqlType("datetime", source_name="TIMESTAMP")),
            Column("note", SqlType("text", source_name="TEXT")),
            Column("manager_id", INT),
            Column("active", SqlType("boolean"), nullable=False, default="true"),
            Column("attrs", SqlType("json", source_name="JSONB")),
        ),
        primary_key=PrimaryKey(("id",), name="parent_pkey"),
        foreign_keys=(ForeignKey(("manager_id",), "parent", ("id",), name="parent_manager_fk"),),
        unique_constraints=(UniqueConstraint(("code",), name="parent_code_key"),),
        check_constraints=(CheckConstraint("price >= 0", name="parent_price_check"),),
    )
    child = Table(
        name="child",
        columns=(Column("parent_id", INT, nullable=False), Column("line_no", INT, nullable=False),
                 Column("qty", SqlType("integer", size=16))),
        primary_key=PrimaryKey(("parent_id", "line_no")),
        foreign_keys=(ForeignKey(("parent_id",), "parent", ("id",), on_delete="CASCADE"),),
    )
    line = Table(
        name="line",
        columns=(Column("id", SqlType("integer", size=64), nullable=False, autoincrement=True),
                 Column("parent_id", INT, nullable=False), Column("line_no", INT, nullable=False),
                 Column("label", SqlType("text", length=40))),
        primary_key=PrimaryKey(("id",)),
        foreign_keys=(ForeignKey(("parent_id", "line_no"), "child", ("parent_id", "line_no"),
                                 name="line_child_fk"),),
        indexes=(Index(("label",), name="line_label_idx"),),
    )
    return Schema(tables=(parent, child, line), dialect="postgresql")


def parent_frame() -> pd.DataFrame:
    n = len(HOSTILE)
    return pd.DataFrame({
        "id": range(1, n + 1),
        "code": [f"P{i}" for i in range(1, n + 1)],
        "price": [12.34, 0.1, 99999999.99, None, 1.005, 7.0, 0.0, 3.5],
        "created": pd.to_datetime(["2024-02-29 23:59:59.123456", None, "1999-12-31 00:00:00",
                                   "2024-01-01 12:00:00.000001", "2030-06-15 08:30:00", "1970-01-01",
                                   "2000-01-01", "2024-07-04 04:05:06"], format="ISO8601"),
        "note": [*HOSTILE[:-1], None],
        "manager_id": pd.array([None] * n, dtype="Int64"),  # filled by update_rows: a self-reference
        "active": [True, False] * (n // 2),
        "attrs": [{"k": i, "tags": ["x", None], "s": HOSTILE[i]} for i in range(n - 2)] + [[1.5, "two"], None],
    })


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres), "sqlite",
                        pytest.param("mysql", marks=pytest.mark.mysql)])
def target(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    url = request.getfixturevalue(f"{request.param}_url")
    engine = open_target(parse_url(url))
    make_transactional(engine)
    yield engine
    engine.dispose()


def load_shop(engine: sa.Engine, as_objects: bool = False) -> tuple[sa.MetaData, list[str]]:
    """Create the shop schema and load it; `as_objects` loads object columns, as read from a database."""
    dialect = engine.dialect.name
    md, warnings = target_metadata(shop_schema(), dialect, same_dialect=dialect == "postgresql")
    parents = parent_frame().astype(object) if as_objects else parent_frame()
    children = pd.DataFrame({"parent_id": [1, 1, 2], "line_no": [1, 2, 1], "qty": [3, None, 5]})
    lines = pd.DataFrame({"id": [10, 11, 12], "parent_id": [1, 1, 2], "line_no": [1, 2, 1],
                          "label": ["a", "b", None]})
    with engine.begin() as conn:
        create_schema(conn, md)
        assert insert_frame(conn, table_for(md, "parent"), parents, batch_rows=3) == len(parents)
        assert insert_frame(conn, table_for(md, "child"), children) == 3
        assert insert_frame(conn, table_for(md, "line"), lines, batch_rows=2) == 3
        managers = pd.DataFrame({"id": [2, 3, 4], "manager_id": [1, 1, 2]})
        assert update_rows(conn, table_for(md, "parent"), managers, ["id"], ["manager_id"]) == 3
        reset_sequences(conn, md)
    return md, warnings


def test_tables_are_created_with_their_keys(target: sa.Engine) -> None:
    md, warnings = load_shop(target)
    insp = sa.inspect(target)
    assert sorted(existing_tables(target, ["parent", "child", "line", "nope"])) == ["child", "line", "parent"]
    assert insp.get_pk_constraint("parent")["constrained_columns"] == ["id"]
    assert insp.get_pk_constraint("child")["constrained_columns"] == ["parent_id", "line_no"]
    fks = {tuple(fk["constrained_columns"]): fk for fk in insp.get_foreign_keys("line")}
    assert fks[("parent_id", "line_no")]["referred_table"] == "child"
    assert fks[("parent_id", "line_no")]["referred_columns"] == ["parent_id", "line_no"]
    self_ref = insp.get_foreign_keys("parent")[0]
    assert (self_ref["constrained_columns"], self_ref["referred_table"]) == (["manager_id"], "parent")
    child_fk = insp.get_foreign_keys("child")[0]
    assert child_fk["options"].get("ondelete") == "CASCADE"
    uniques = [u["column_names"] for u in insp.get_unique_constraints("parent")]
    assert ["code"] in uniques
    assert "line_label_idx" in {i["name"] for i in insp.get_indexes("line")}
    # a CHECK dbsynth can read is carried to every engine (rewritten for SQLite from the parsed form)
    assert [c["name"] for c in insp.get_check_constraints("parent")] == ["parent_price_check"]
    if target.dialect.name == "postgresql":
        assert warnings == []


@pytest.mark.parametrize("as_objects", [False, True], ids=["typed", "objects"])
def test_rows_round_trip_exactly(target: sa.Engine, as_objects: bool) -> None:
    md, _ = load_shop(target, as_objects)
    parent = table_for(md, "parent")
    with target.connect() as conn:
        rows = conn.execute(sa.select(parent).order_by(parent.c.id)).mappings().all()
    expected = parent_frame()
    assert [r["note"] for r in rows] == [*HOSTILE[:-1], None]
    assert [r["code"] for r in rows] == list(expected["code"])
    assert [r["price"] for r in rows] == [decimal.Decimal(x) if x else x for x in
                                          ["12.34", "0.10", "99999999.99", None, "1.00", "7.00", "0.00", "3.50"]]
    assert [r["created"] for r in rows] == [None if pd.isna(t) else t.to_pydatetime() for t in expected["created"]]
    assert [r["manager_id"] for r in rows] == [None, 1, 1, 2, None, None, None, None]
    assert [bool(r["active"]) for r in rows] == list(expected["active"])
    assert [r["attrs"] for r in rows] == list(expected["attrs"])
    with target.connect() as conn:
        child = table_for(md, "child")
        assert conn.execute(sa.select(child.c.qty).order_by(child.c.parent_id, child.c.line_no)).scalars().all() \
            == [3, None, 5]


def test_sequences_continue_after_the_loaded_keys(target: sa.Engine) -> None:
    md, _ = load_shop(target)
    with target.begin() as conn:
        conn.execute(sa.text("INSERT INTO parent (code, active) VALUES ('new', true)"))
        new_id = conn.execute(sa.text("SELECT id FROM parent WHERE code = 'new'")).scalar()
        conn.execute(sa.text("INSERT INTO line (parent_id, line_no, label) VALUES (1, 1, 'new')"))
        new_line = conn.execute(sa.text("SELECT id FROM line WHERE label = 'new'")).scalar()
    assert new_id == len(HOSTILE) + 1
    assert new_line == 13


def test_a_failed_load_leaves_no_tables(target: sa.Engine) -> None:
    dialect = target.dialect.name
    md, _ = target_metadata(shop_schema(), dialect, same_dialect=False)
    names = [t.name for t in md.tables.values()]
    orphan = pd.DataFrame({"parent_id": [999], "line_no": [1], "qty": [1]})
    with pytest.raises(DbsynthError, match="writing table child failed"):
        try:
            with target.begin() as conn:
                create_schema(conn, md)
                insert_frame(conn, table_for(md, "parent"), parent_frame())
                insert_frame(conn, table_for(md, "child"), orphan)
        except DbsynthError:
            if not transactional_ddl(dialect):  # MySQL committed each CREATE TABLE: the caller cleans up
                assert existing_tables(target, names)
                with target.begin() as conn:
                    drop_tables(conn, names)
            raise
    assert existing_tables(target, names) == []


def test_create_refuses_existing_tables_and_drop_replaces_them(target: sa.Engine) -> None:
    md, _ = load_shop(target)
    with pytest.raises(TargetNotEmpty), target.begin() as conn:
        create_schema(conn, target_metadata(shop_schema(), target.dialect.name, False)[0])
    with target.begin() as conn:
        drop_tables(conn, ["line", "parent", "child", "not_there"])  # any order; self-reference and all
    assert existing_tables(target, ["parent", "child", "line"]) == []
    load_shop(target)  # and the same schema can be created again


def test_drop_handles_foreign_key_cycles(target: sa.Engine) -> None:
    a = Table("a", (Column("id", INT, nullable=False), Column("b_id", INT)), PrimaryKey(("id",)),
              foreign_keys=(ForeignKey(("b_id",), "b", ("id",), name="a_b_fk"),))
    b = Table("b", (Column("id", INT, nullable=False), Column("a_id", INT)), PrimaryKey(("id",)),
              foreign_keys=(ForeignKey(("a_id",), "a", ("id",), name="b_a_fk"),))
    md, _ = target_metadata(Schema((a, b)), target.dialect.name, same_dialect=False)
    with target.begin() as conn:
        create_schema(conn, md)
        insert_frame(conn, md.tables["a"], pd.DataFrame({"id": [1], "b_id": [None]}))
        insert_frame(conn, md.tables["b"], pd.DataFrame({"id": [1], "a_id": [1]}))
        update_rows(conn, md.tables["a"], pd.DataFrame({"id": [1], "b_id": [1]}), ["id"], ["b_id"])
    with target.begin() as conn:
        drop_tables(conn, ["a", "b"])
    assert existing_tables(target, ["a", "b"]) == []


@pytest.mark.postgres
def test_postgres_types_and_quoted_names_through_copy(postgres_url: str) -> None:
    """JSON/JSONB, arrays, UUID, enums, intervals, INET, identity ALWAYS, a mixed-case schema-qualified table."""
    mood = SqlType("enum", source_name="mood", enum_name="mood", values=("happy", "sad", "it's ok"))
    table = Table(
        name="Odd Table", schema="Sales Dept",
        columns=(
            Column("ID", SqlType("integer", size=64), nullable=False, identity=Identity(always=True, start=100)),
            Column("doc", SqlType("json", source_name="JSONB")),
            Column("plain_doc", SqlType("json", source_name="JSON")),
            Column("tags", SqlType("array", item=SqlType("text"))),
            Column("uid", SqlType("uuid")),
            Column("mood", mood), Column("other_mood", mood),
            Column("wait", SqlType("interval")),
            Column("addr", SqlType("network", source_name="INET")),
            Column("at", SqlType("datetime", timezone=True)),
            Column("blob", SqlType("bytes")),
        ),
        primary_key=PrimaryKey(("ID",)),
    )
    engine = open_target(parse_url(postgres_url))
    md, warnings = target_metadata(Schema((table,), dialect="postgresql"), "postgresql", same_dialect=True)
    uid = uuid.uuid4()
    frame = pd.DataFrame({
        "ID": [100, 101],
        "doc": [{"a": [1, 2.5, None], "s": "x\ty"}, None],
        "plain_doc": ["just a string", [1, 2]],
        "tags": [["a", "b,c", 'q"uote', None], None],
        "uid": [uid, str(uid).upper()],
        "mood": ["it's ok", None], "other_mood": ["sad", "happy"],
        "wait": pd.to_timedelta(["1 days 02:03:04.5", None]),
        "addr": [ipaddress.ip_address("10.0.0.1"), "::1"],
        "at": pd.to_datetime(["2024-03-10 12:00:00+02:00", None], utc=True),
        "blob": [b"\x00\x01\\N", None],
    })
    with engine.begin() as conn:
        create_schema(conn, md)
        insert_frame(conn, md.tables["Sales Dept.Odd Table"], frame)
        reset_sequences(conn, md)
        conn.execute(sa.text('INSERT INTO "Sales Dept"."Odd Table" (mood) VALUES (\'happy\')'))
        rows = conn.execute(sa.text('SELECT * FROM "Sales Dept"."Odd Table" ORDER BY "ID"')).mappings().all()
    assert existing_tables(engine, ["Sales Dept.Odd Table"]) == ["Sales Dept.Odd Table"]
    with engine.begin() as conn:
        drop_tables(conn, ["Sales Dept.Odd Table"])
        assert conn.execute(sa.text("SELECT count(*) FROM pg_type WHERE typname = 'mood'")).scalar() == 0
    engine.dispose()
    assert warnings == []
    assert [r["ID"] for r in rows] == [100, 101, 102]
    assert rows[0]["doc"] == {"a": [1, 2.5, None], "s": "x\ty"} and rows[1]["doc"] is None
    assert [r["plain_doc"] for r in rows[:2]] == ["just a string", [1, 2]]
    assert rows[0]["tags"] == ["a", "b,c", 'q"uote', None] and rows[1]["tags"] is None
    assert [r["uid"] for r in rows[:2]] == [uid, uid]
    assert [r["mood"] for r in rows] == ["it's ok", None, "happy"]
    assert rows[0]["wait"] == dt.timedelta(days=1, hours=2, minutes=3, seconds=4.5) and rows[1]["wait"] is None
    assert [str(r["addr"]) for r in rows[:2]] == ["10.0.0.1", "::1"]
    assert rows[0]["at"] == dt.datetime(2024, 3, 10, 10, tzinfo=dt.timezone.utc)
    assert rows[0]["blob"] == b"\x00\x01\\N" and rows[1]["blob"] is None


def test_quoted_names_survive_every_path(target: sa.Engine) -> None:
    """COPY, the staging UPDATE and the sequence reset all quote names with quotes, spaces and %."""
    name, key, ref = 'Odd "Name" 100%', "Key Col", "Boss %s"
    table = Table(name, (Column(key, INT, nullable=False, autoincrement=True), Column(ref, INT),
                         Column("v", SqlType("text"))), PrimaryKey((key,)),
                  foreign_keys=(ForeignKey((ref,), name, (key,)),))
    md, _ = target_metadata(Schema((table,)), target.dialect.name, same_dialect=False)
    t = table_for(md, name)
    with target.begin() as conn:
        create_schema(conn, md)
        insert_frame(conn, t, pd.DataFrame({key: [1, 2, 3], "v": ["a", "%s", "%(x)s"]}))
        assert update_rows(conn, t, pd.DataFrame({key: [2, 3], ref: [1, 2]}), [key], [ref]) == 2
        reset_sequences(conn, md)
        conn.execute(t.insert().values(v="new"))
        rows = conn.execute(sa.select(t).order_by(t.c[key])).all()
    assert [tuple(r) for r in rows] == [(1, None, "a"), (2, 1, "%s"), (3, 2, "%(x)s"), (4, None, "new")]


def test_conversion_edge_cases() -> None:
    from dbsynth.io.values import convert as _convert  # the conversion is the contract here
    md = sa.MetaData()
    t = sa.Table("t", md, sa.Column("j", sa.JSON), sa.Column("big", sa.BigInteger), sa.Column("n", sa.Integer),
                 sa.Column("at", sa.DateTime(timezone=True)), sa.Column("s", sa.String(10)))
    same_length_lists = pd.Series([[1, 2], [3, 4], None, [float("nan"), 1]])
    got = _convert(same_length_lists, t.c.j, "sqlite")
    assert got.shape == (4,) and got[:3].tolist() == [[1, 2], [3, 4], None] and got[3][1] == 1
    assert _convert(pd.Series([2**63 + 5, None], dtype=object), t.c.big, "mysql").tolist() == [2**63 + 5, None]
    assert _convert(pd.Series([1.0, None, 3.0]), t.c.n, "sqlite").tolist() == [1, None, 3]
    assert _convert(pd.Series(["7", None], dtype=object), t.c.n, "sqlite").tolist() == [7, None]
    with pytest.raises(DbsynthError, match="t.n"):
        _convert(pd.Series([1.5]), t.c.n, "sqlite")
    aware = pd.Series(pd.to_datetime(["2024-01-01 12:00+02:00"]))
    assert _convert(aware, t.c.at, "postgresql")[0] == dt.datetime(2024, 1, 1, 10, tzinfo=dt.timezone.utc)
    assert _convert(aware, t.c.at, "mysql")[0] == dt.datetime(2024, 1, 1, 10)
    assert _convert(pd.Series([uuid.UUID(int=1), 5, None], dtype=object), t.c.s, "sqlite").tolist() == \
        [str(uuid.UUID(int=1)), "5", None]


def test_decimal_values_are_quantised_to_the_column_scale() -> None:
    from dbsynth.io.values import convert as _convert  # the conversion is the contract here
    col = sa.Column("x", sa.Numeric(10, 2))
    sa.Table("t", sa.MetaData(), col)
    got = _convert(pd.Series([0.1, 2.675, None, 1e-9]), col, "postgresql").tolist()
    assert got == [decimal.Decimal("0.10"), decimal.Decimal("2.68"), None, decimal.Decimal("0.00")]
    got = _convert(pd.Series([decimal.Decimal("1.234"), "5", 7], dtype=object), col, "sqlite").tolist()
    assert got == [decimal.Decimal("1.23"), decimal.Decimal("5.00"), decimal.Decimal("7.00")]


@pytest.mark.parametrize(("kind", "dialect", "lossy"), [
    (SqlType("array", item=SqlType("integer")), "mysql", True),
    (SqlType("array", item=SqlType("integer")), "postgresql", False),
    (SqlType("uuid"), "mysql", True),
    (SqlType("uuid"), "postgresql", False),
    (SqlType("interval"), "sqlite", True),
    (SqlType("other", source_name="TSVECTOR"), "sqlite", True),
    (SqlType("network", source_name="CIDR"), "mariadb", True),
    (SqlType("integer", size=64, unsigned=True), "postgresql", True),
])
def test_lossy_mappings_say_so(kind: SqlType, dialect: str, lossy: bool) -> None:
    _, warning = sa_type(kind, dialect)
    assert (warning is not None) == lossy


def test_type_choices() -> None:
    d = sa.dialects
    render = {name: mod.dialect() for name, mod in
              (("postgresql", d.postgresql), ("mysql", d.mysql), ("sqlite", d.sqlite))}

    def spell(t: SqlType, dialect: str) -> str:
        return sa_type(t, dialect)[0].compile(dialect=render["mysql" if dialect == "mariadb" else dialect])

    assert spell(SqlType("json", source_name="JSONB"), "postgresql") == "JSONB"
    assert spell(SqlType("float", precision=24), "postgresql") == "REAL"
    assert spell(SqlType("float", precision=24), "mysql") == "FLOAT"
    assert spell(SqlType("float", precision=53), "mysql") == "DOUBLE"
    assert spell(SqlType("integer", size=32, unsigned=True), "mysql") == "INTEGER UNSIGNED"
    assert spell(SqlType("integer", size=32, unsigned=True), "postgresql") == "BIGINT"
    assert spell(SqlType("datetime", timezone=True), "postgresql") == "TIMESTAMP WITH TIME ZONE"
    assert spell(SqlType("datetime"), "mariadb") == "DATETIME(6)"
    assert spell(SqlType("text", source_name="CHAR(3)", length=3), "postgresql") == "CHAR(3)"
    assert spell(SqlType("text", source_name="CHARACTER VARYING(3)", length=3), "postgresql") == "VARCHAR(3)"
    assert spell(SqlType("network", source_name="MACADDR"), "postgresql") == "MACADDR"
