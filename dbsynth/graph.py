"""Tables and foreign keys as a networkx graph: load order, cycles, self-references.

Edges run parent -> child (referred table -> referring table), one per foreign
key. An FK cycle cannot be inserted in one pass, so we *defer* one nullable FK
per cycle: rows go in with it NULL and an UPDATE fills it after every table of
the cycle is loaded. Self-references are always deferred the same way. A cycle
of NOT NULL keys only (sakila's store <-> staff) is broken at one of them all the
same: the writer lets that column hold NULL until the UPDATE has filled every
row (`not_null_deferrals`).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from dbsynth.schema.model import ForeignKey, Schema


@dataclass(frozen=True)
class FkRef:
    """One foreign key, addressed by its table and position in that table's FK list."""

    table: str
    index: int

    def fk(self, schema: Schema) -> ForeignKey:
        return schema.table(self.table).foreign_keys[self.index]


@dataclass(frozen=True)
class LoadOrder:
    tables: tuple[str, ...]          # parents before children once deferred FKs are ignored
    deferred: frozenset[FkRef]       # FKs inserted as NULL then filled by UPDATE

    def is_deferred(self, table: str, index: int) -> bool:
        return FkRef(table, index) in self.deferred


def fk_graph(schema: Schema) -> nx.MultiDiGraph:
    """parent -> child multigraph, one edge per FK, keyed by FkRef."""
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(schema.table_names)
    for table in schema.tables:
        for i, fk in enumerate(table.foreign_keys):
            graph.add_edge(fk.referred_table, table.name, key=FkRef(table.name, i))
    return graph


def load_order(schema: Schema) -> LoadOrder:
    """Topological order after deferring one nullable FK in every cycle.

    Raises SchemaError naming the tables when a cycle has no nullable FK to break it.
    """
    graph = fk_graph(schema)
    deferred: set[FkRef] = set()
    for parent, child, ref in list(graph.edges(keys=True)):
        if parent == child:
            deferred.add(ref)
            graph.remove_edge(parent, child, key=ref)
    while True:
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            break
        refs = [key for _, _, key in cycle]
        tables = [child for _, child, _ in cycle]
        breakable = [r for r in refs if _nullable(schema, r)] or refs
        chosen = sorted(breakable, key=lambda r: (r.table, r.index))[0]
        deferred.add(chosen)
        parent = chosen.fk(schema).referred_table
        graph.remove_edge(parent, chosen.table, key=chosen)
    order = tuple(nx.lexicographical_topological_sort(graph))
    return LoadOrder(tables=order, deferred=frozenset(deferred))


def _nullable(schema: Schema, ref: FkRef) -> bool:
    table = schema.table(ref.table)
    return all(table.column(c).nullable for c in ref.fk(schema).columns)


def not_null_deferrals(schema: Schema) -> list[FkRef]:
    """Deferred FKs whose columns are NOT NULL in the source: their cycle had no nullable key."""
    return sorted((r for r in load_order(schema).deferred if not _nullable(schema, r)),
                  key=lambda r: (r.table, r.index))


def parents(schema: Schema, table: str, order: LoadOrder) -> list[tuple[int, ForeignKey]]:
    """The non-deferred FKs of `table` (its parents at sampling time), with their index."""
    return [
        (i, fk) for i, fk in enumerate(schema.table(table).foreign_keys)
        if not order.is_deferred(table, i)
    ]
