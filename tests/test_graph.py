"""Load order, cycle breaking and self-references in dbsynth.graph."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbsynth.graph import FkRef, LoadOrder, fk_graph, load_order, not_null_deferrals, parents
from dbsynth.schema.model import Column, ForeignKey, PrimaryKey, Schema, SqlType, Table

INT = SqlType("integer")


def make_schema(spec: dict[str, list[tuple[str, bool]]]) -> Schema:
    """{table: [(referred_table, nullable), ...]} -> Schema; FK i of t is column t.fk{i}."""
    tables = []
    for name, fks in spec.items():
        cols = [Column("id", INT, nullable=False)]
        foreign = []
        for i, (parent, nullable) in enumerate(fks):
            cols.append(Column(f"fk{i}", INT, nullable=nullable))
            foreign.append(ForeignKey((f"fk{i}",), parent, ("id",)))
        tables.append(Table(name, tuple(cols), PrimaryKey(("id",)), tuple(foreign)))
    return Schema(tuple(tables))


def assert_valid(schema: Schema, order: LoadOrder) -> None:
    """Every table exactly once; each non-deferred FK's parent loads before its child."""
    assert sorted(order.tables) == sorted(schema.table_names)
    assert len(order.tables) == len(set(order.tables))
    pos = {t: i for i, t in enumerate(order.tables)}
    for table in schema.tables:
        for i, fk in enumerate(table.foreign_keys):
            if order.is_deferred(table.name, i):
                # nullable FKs are inserted as NULL and filled later; a NOT NULL one only where its cycle
                # has no nullable FK (the writer relaxes it until the fill)
                assert all(table.column(c).nullable for c in fk.columns) \
                    or FkRef(table.name, i) in not_null_deferrals(schema)
            else:
                assert fk.referred_table != table.name, "self-reference not deferred"
                assert pos[fk.referred_table] < pos[table.name], (fk.referred_table, table.name)


def test_fk_graph_has_one_edge_per_fk_parent_to_child():
    schema = make_schema({"customer": [], "orders": [("customer", False), ("customer", True)]})
    graph = fk_graph(schema)
    edges = sorted(graph.edges(keys=True), key=lambda e: e[2].index)
    assert edges == [("customer", "orders", FkRef("orders", 0)), ("customer", "orders", FkRef("orders", 1))]
    assert FkRef("orders", 1).fk(schema).columns == ("fk1",)


def test_parents_come_before_children():
    # listed children-first on purpose so that input order cannot be the answer
    schema = make_schema({
        "line": [("orders", False), ("product", False)],
        "orders": [("customer", False)],
        "product": [("category", False)],
        "customer": [],
        "category": [],
    })
    order = load_order(schema)
    assert order.deferred == frozenset()
    assert_valid(schema, order)
    pos = {t: i for i, t in enumerate(order.tables)}
    assert pos["customer"] < pos["orders"] < pos["line"]
    assert pos["category"] < pos["product"] < pos["line"]


def test_self_reference_is_deferred():
    schema = make_schema({"employee": [("employee", True)], "dept": [], "job": [("dept", False)]})
    order = load_order(schema)
    assert order.deferred == frozenset({FkRef("employee", 0)})
    assert order.is_deferred("employee", 0)
    assert not order.is_deferred("job", 0)
    assert_valid(schema, order)
    assert parents(schema, "employee", order) == []
    assert [i for i, _ in parents(schema, "job", order)] == [0]


@pytest.mark.parametrize("nullable_at", [0, 1])
def test_two_table_cycle_defers_exactly_the_nullable_fk(nullable_at):
    # a.fk0 -> b and b.fk0 -> a; only one of them is nullable
    spec = {"a": [("b", nullable_at == 0)], "b": [("a", nullable_at == 1)]}
    schema = make_schema(spec)
    order = load_order(schema)
    expected = FkRef("a" if nullable_at == 0 else "b", 0)
    assert order.deferred == frozenset({expected})
    assert_valid(schema, order)
    # the table whose FK is deferred must come first: it is inserted with NULLs
    assert order.tables[0] == expected.table


@pytest.mark.parametrize("nullable_table", ["t1", "t2", "t3"])
def test_three_table_cycle_defers_exactly_the_nullable_fk(nullable_table):
    spec = {
        "t1": [("t3", nullable_table == "t1")],
        "t2": [("t1", nullable_table == "t2")],
        "t3": [("t2", nullable_table == "t3")],
        "leaf": [("t2", False)],
        "root": [],
    }
    spec["t1"].append(("root", False))
    schema = make_schema(spec)
    order = load_order(schema)
    assert order.deferred == frozenset({FkRef(nullable_table, 0)})
    assert_valid(schema, order)


def test_cycle_without_nullable_fk_is_broken_at_one_not_null_fk():
    # sakila's store <-> staff: every FK NOT NULL; one is deferred and reported for the writer
    schema = make_schema({
        "alpha": [("gamma", False)],
        "beta": [("alpha", False)],
        "gamma": [("beta", False)],
        "outsider": [("alpha", False)],
    })
    order = load_order(schema)
    assert len(order.deferred) == 1
    assert not_null_deferrals(schema) == sorted(order.deferred, key=lambda r: (r.table, r.index))
    assert next(iter(order.deferred)).table in ("alpha", "beta", "gamma")
    assert_valid(schema, order)


def test_not_null_cycle_inside_a_breakable_component_is_broken_too():
    schema = make_schema({
        "left_t": [("right_t", False), ("mid_t", True)],
        "right_t": [("left_t", False)],
        "mid_t": [("right_t", True)],
    })
    order = load_order(schema)
    assert_valid(schema, order)
    assert len(not_null_deferrals(schema)) == 1


def test_a_not_null_self_reference_is_deferred():
    schema = make_schema({"node": [("node", False)]})
    order = load_order(schema)
    assert order.deferred == frozenset({FkRef("node", 0)})
    assert not_null_deferrals(schema) == [FkRef("node", 0)]


@st.composite
def dag_with_back_edges(draw):
    n = draw(st.integers(1, 8))
    names = [f"t{i}" for i in range(n)]
    spec: dict[str, list[tuple[str, bool]]] = {name: [] for name in names}
    # forward edges i -> j (i < j): a DAG, nullable or not
    for j in range(n):
        for i in range(j):
            for _ in range(draw(st.integers(0, 2)) if draw(st.booleans()) else 0):
                spec[names[j]].append((names[i], draw(st.booleans())))
    # back edges and self-references: always nullable, so every cycle is breakable
    for i in range(n):
        for j in range(i, n):
            if draw(st.integers(0, 4)) == 0:
                spec[names[i]].append((names[j], True))
    # present the tables in a random order
    shuffled = draw(st.permutations(names))
    return make_schema({name: spec[name] for name in shuffled})


@settings(max_examples=50, deadline=None)
@given(dag_with_back_edges())
def test_random_dags_with_nullable_back_edges_give_a_valid_order(schema):
    order = load_order(schema)
    assert_valid(schema, order)
    # deferring is only needed for cycles: a plain DAG defers nothing
    if nx.is_directed_acyclic_graph(fk_graph(schema)):
        assert order.deferred == frozenset()
