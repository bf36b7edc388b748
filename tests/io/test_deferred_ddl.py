"""PostgreSQL: foreign keys and plain indexes built after the load leave the schema a normal create makes."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from dbsynth.api import compare
from dbsynth.errors import DbsynthError
from dbsynth.io.ddl import create_schema, existing_tables, target_metadata
from dbsynth.io.write import write_database
from dbsynth.relational.sample import SyntheticDatabase
from dbsynth.schema.model import Column, ForeignKey, Index, PrimaryKey, Schema, SqlType, Table, UniqueConstraint

pytestmark = pytest.mark.postgres

INT = SqlType("integer", source_name="INTEGER", size=32)
TEXT = SqlType("text", source_name="TEXT")
ODD = 'Odd "Name" 100%'


def schema() -> Schema:
    """A parent with a unique code and a self-reference, a child with a deferrable composite FK and
    indexes (one unique, one on a quoted name), and a table whose name holds quotes, spaces and %."""
    parent = Table("parent", (Column("id", INT, nullable=False), Column("code", TEXT, nullable=False),
                              Column("boss", INT)),
                   PrimaryKey(("id",)),
                   foreign_keys=(ForeignKey(("boss",), "parent", ("id",), name="parent_boss_fk"),),
                   unique_constraints=(UniqueConstraint(("code",), name="parent_code_key"),),
                   indexes=(Index(("boss",), name="parent_boss_idx"),))
    child = Table("child", (Column("parent_id", INT, nullable=False), Column("n", INT, nullable=False),
                            Column("label", TEXT), Column("code", TEXT)),
                  PrimaryKey(("parent_id", "n")),
                  foreign_keys=(ForeignKey(("parent_id",), "parent", ("id",), on_delete="CASCADE",
                                           deferrable=True, initially_deferred=True),
                                ForeignKey(("code",), "parent", ("code",), name="child_code_fk")),
                  indexes=(Index(("label",), name="child_label_idx"), Index(("label", "n"), unique=True)))
    odd = Table(ODD, (Column("Key Col", INT, nullable=False), Column("Boss %s", INT)), PrimaryKey(("Key Col",)),
                foreign_keys=(ForeignKey(("Boss %s",), ODD, ("Key Col",)),),
                indexes=(Index(("Boss %s",), name='idx "quoted" 100%'),))
    return Schema((parent, child, odd), dialect="postgresql")


def data(orphan: bool = False) -> SyntheticDatabase:
    parents = pd.DataFrame({"id": [1, 2, 3], "code": ["a", "b", "c"], "boss": [None, 1, 1]})
    children = pd.DataFrame({"parent_id": [1, 1, 3 if not orphan else 99], "n": [1, 2, 1],
                             "label": ["x", "y", None], "code": ["a", None, "c"]})
    odd = pd.DataFrame({"Key Col": [1, 2], "Boss %s": [None, 1]})
    return SyntheticDatabase({"parent": parents, "child": children, ODD: odd}, [])


def catalog(url: str) -> tuple[list[tuple], list[tuple]]:
    """Every constraint and index of the public schema, as PostgreSQL itself spells them."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        constraints = conn.exec_driver_sql(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2").all()
        indexes = conn.exec_driver_sql(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2").all()
    engine.dispose()
    return [tuple(r) for r in constraints], [tuple(r) for r in indexes]


def test_schema_is_the_one_a_normal_create_makes(postgres_url: str, postgres_target: str) -> None:
    s = schema()
    loaded = sa.create_engine(postgres_url)
    write_database(loaded, s, ("parent", "child", ODD), data())
    with loaded.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM child").scalar() == 3
        odd = sa.Table(ODD, sa.MetaData(), sa.Column("Key Col"))
        assert conn.execute(sa.select(sa.func.count()).select_from(odd)).scalar() == 2
    loaded.dispose()
    plain = sa.create_engine(postgres_target)
    with plain.begin() as conn:
        create_schema(conn, target_metadata(s, "postgresql", same_dialect=True)[0])
    plain.dispose()
    constraints, indexes = catalog(postgres_url)
    assert (constraints, indexes) == catalog(postgres_target)
    assert sum(1 for c in constraints if c[2] == "f") == 4 and len(indexes) == 8  # 3 keys, 1 unique, 4 indexes
    assert any("DEFERRABLE INITIALLY DEFERRED" in c[3] and "ON DELETE CASCADE" in c[3] for c in constraints)
    assert compare(postgres_url, postgres_target) == []


def test_a_foreign_key_violation_is_one_line_naming_the_table_and_rolls_back(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    violation = r"checking foreign key \S+ of table child failed: .*violates.*\(parent_id\)=\(99\) is not present"
    with pytest.raises(DbsynthError, match=violation) as info:
        write_database(engine, schema(), ("parent", "child", ODD), data(orphan=True))
    assert "\n" not in str(info.value) and "rolled back" in str(info.value)
    assert existing_tables(engine, ["parent", "child", ODD]) == []
    engine.dispose()


def test_a_duplicate_in_a_unique_index_is_caught_after_the_load(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    bad = data()
    bad.tables["child"]["label"] = ["x", "x", None]
    bad.tables["child"]["n"] = [1, 1, 1]  # (label, n) repeats; the primary key (parent_id, n) still holds
    bad.tables["child"]["parent_id"] = [1, 2, 3]
    duplicate = r"creating index \S+ on table child failed: .*\(label, n\)=\(x, 1\) is duplicated"
    with pytest.raises(DbsynthError, match=duplicate) as info:
        write_database(engine, schema(), ("parent", "child", ODD), bad)
    assert "\n" not in str(info.value)
    assert existing_tables(engine, ["parent", "child", ODD]) == []
    engine.dispose()
