"""PostgreSQL partitioned tables and table inheritance, read from the catalog.

SQLAlchemy lists every partition as a table of its own, and a partitioned table's
SELECT returns its partitions' rows: modelling both would generate every row twice
and clone the foreign keys PostgreSQL attaches to each partition. So the model
keeps the partitioned table alone, holding all its rows, with its partitions
(name, parent, bound, sub-partitioning key) as a `Partitioning` that the writer
recreates on PostgreSQL. The partitions' bounds, as PostgreSQL itself states
them (`pg_get_partition_constraintdef`), become one CHECK that only binds the
generated rows, so that each finds a partition to go to.

Inheritance (`INHERITS`) is different: the child is a table with rows of its own,
but the parent's SELECT returns the child's rows too; each table keeps its parents
(`Table.inherits`), is read FROM ONLY itself, and is recreated INHERITS its parents
on a PostgreSQL target (`io.inheritance`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from dbsynth.schema.model import CheckConstraint, Partition, Partitioning, qualified_name

__all__ = ["PartitionCatalog", "partition_catalog"]


@dataclass
class PartitionCatalog:
    """Which relations are partitions (left out of the model) and how each partitioned table is split."""

    partitions: set[tuple[str, str]] = field(default_factory=set)          # (schema, name) of every partition
    layouts: dict[tuple[str, str], Partitioning] = field(default_factory=dict)   # root (schema, name) ->
    bounds: dict[tuple[str, str], str] = field(default_factory=dict)       # root -> OR of its leaves' bounds
    inherits: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)  # child -> parents

    def is_partition(self, schema: str, name: str) -> bool:
        return (schema, name) in self.partitions

    def partitioning(self, schema: str, name: str) -> Partitioning | None:
        return self.layouts.get((schema, name))

    def bound_check(self, schema: str, name: str) -> CheckConstraint | None:
        """The rule generated rows of a partitioned table must meet to find a partition (None: any row does)."""
        text = self.bounds.get((schema, name))
        return CheckConstraint(text, name=f"{name}_partition_bounds", partition=True) if text else None

    def parents(self, schema: str, name: str, default: str | None) -> tuple[str, ...]:
        """The model names of the tables `schema.name` INHERITS from."""
        return tuple(qualified_name(None if s == default else s, n) for s, n in self.inherits.get((schema, name), []))


def partition_catalog(engine: sa.Engine) -> PartitionCatalog:
    """The partitions, partitioned tables and inheritance of a PostgreSQL source (empty elsewhere)."""
    catalog = PartitionCatalog()
    if engine.dialect.name != "postgresql":
        return catalog
    with engine.connect() as conn:
        roots = conn.execute(sa.text(
            "SELECT n.nspname, c.relname, pg_get_partkeydef(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'p' AND NOT c.relispartition")).all()
        members = conn.execute(sa.text(
            "SELECT n.nspname, c.relname, p.relname, pn.nspname, pg_get_expr(c.relpartbound, c.oid), "
            "  CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END, "
            "  CASE WHEN c.relkind <> 'p' THEN pg_get_partition_constraintdef(c.oid) END "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace "
            "WHERE c.relispartition ORDER BY n.nspname, c.relname")).all()
        inherited = conn.execute(sa.text(
            "SELECT n.nspname, c.relname, pn.nspname, p.relname FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace "
            "WHERE NOT c.relispartition AND p.relkind = 'r' ORDER BY n.nspname, c.relname, i.inhseqno")).all()
    parent_of = {(s, n): (ps, p) for s, n, p, ps, *_ in members}
    catalog.partitions = set(parent_of)
    children: dict[tuple[str, str], list] = {}
    for row in members:
        children.setdefault((row[3], row[2]), []).append(row)
    for schema, name, key in roots:
        ordered: list[Partition] = []
        leaves: list[str | None] = []
        top_default = False
        queue = [(schema, name)]
        while queue:   # breadth first: a partition is created after the one it belongs to
            parent = queue.pop(0)
            for s, n, p, _, bound, sub_key, constraint in children.get(parent, []):
                ordered.append(Partition(n, p, bound, sub_key))
                top_default |= parent == (schema, name) and bound == "DEFAULT"
                if sub_key is not None:
                    queue.append((s, n))
                else:
                    leaves.append(constraint)
        catalog.layouts[(schema, name)] = Partitioning(key, tuple(ordered))
        if leaves and not top_default and key.split(" ", 1)[0].upper() != "HASH" \
                and all(c and "satisfies_hash_partition" not in c for c in leaves):
            catalog.bounds[(schema, name)] = " OR ".join(f"({c})" for c in leaves)
    for schema, name, parent_schema, parent in inherited:
        catalog.inherits.setdefault((schema, name), []).append((parent_schema, parent))
    return catalog

