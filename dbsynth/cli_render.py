"""Terminal rendering for the CLI: progress bars and the `inspect` view (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable
from rich.tree import Tree

from dbsynth.api import Inspection
from dbsynth.inspection import column_role
from dbsynth.schema.model import Table


class RichProgress:
    """dbsynth.progress.Progress drawn with rich; does nothing when disabled (not a TTY, --quiet)."""

    def __init__(self, console: Console, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Progress | None = None
        self._task = None
        self._rows = 0
        self._console = console

    def stage(self, name: str, total: int) -> None:
        if not self.enabled:
            return
        self._rows = 0
        self._bar = Progress(TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                             console=self._console, transient=False)
        self._bar.start()
        self._task = self._bar.add_task(name, total=total, detail="")

    def advance(self, detail: str = "", rows: int = 0) -> None:
        if self._bar is not None and self._task is not None:
            self._rows += rows
            text = f"{detail} ({self._rows:,} rows)" if rows else detail
            self._bar.update(self._task, advance=1, detail=text)

    def done(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def render_inspection(console: Console, inspection: Inspection) -> None:
    schema = inspection.schema
    total = sum(t.row_count for t in schema.tables)
    console.print(f"[bold]{len(schema.tables)} tables[/], {total:,} rows ({schema.dialect}), in load order:")
    grid = RichTable(show_edge=False, pad_edge=False, header_style="bold")
    for head in ("#", "table", "rows", "primary key", "foreign keys", "personal data (faked)", "mode"):
        grid.add_column(head, justify="right" if head in ("#", "rows") else "left", overflow="fold")
    for i, name in enumerate(inspection.order.tables, 1):
        t = schema.table(name)
        fks = []
        for j, fk in enumerate(t.foreign_keys):
            mark = " (filled after insert)" if inspection.order.is_deferred(name, j) else ""
            fks.append(f"{', '.join(fk.columns)} -> {fk.referred_table}{mark}")
        plan = inspection.plans[name]
        pii = ", ".join(plan.pii)
        mode = plan.mode + (" (lookup)" if plan.mode_reason.startswith("lookup") else "")
        grid.add_row(str(i), name, f"{t.row_count:,}", ", ".join(t.pk_columns) or "-",
                     "\n".join(fks) or "-", pii or "-", mode)
    console.print(grid)
    console.print()
    console.print(_fk_tree(inspection))
    copied = [f"{n} ({p.mode_reason})" for n, p in inspection.plans.items() if p.mode_reason.startswith("lookup")]
    if copied:
        console.print("copied verbatim as lookup tables (set mode = \"model\" in the config to model them): "
                      + "; ".join(copied))
    partitioned = [f"{t.name} by {t.partitioning.key}, {len(t.partitioning.partitions)} partitions"
                   for t in schema.tables if t.partitioning is not None]
    if partitioned:
        console.print("partitioned (recreated with their partitions on PostgreSQL): " + "; ".join(partitioned),
                      markup=False, soft_wrap=True)
    inheriting = [f"{t.name} from {', '.join(t.inherits)}" for t in schema.tables if t.inherits]
    if inheriting:
        console.print("inherit (INHERITS recreated on PostgreSQL, plain tables elsewhere; each holds its own rows): "
                      + "; ".join(inheriting), markup=False, soft_wrap=True)
    unsupported = [f"{t.name}.{c.name} ({c.type.source_name})" for t in schema.tables for c in t.columns
                   if c.type.kind == "other"]
    if unsupported:
        console.print(f"[yellow]cannot generate:[/] {', '.join(unsupported)}")
    for note in schema.notes:
        console.print(f"note: {note}", markup=False, soft_wrap=True)  # one line, for grep
    # recreated on a target of the same engine (functions before the tables, triggers after the rows)
    for r in schema.routines:
        console.print(f"{r.kind} {r.signature} ({r.language or 'SQL'})", markup=False, soft_wrap=True)
    for t in schema.triggers:
        console.print(f"trigger {t.name} on {t.table}", markup=False, soft_wrap=True)
    for q in schema.sequences:
        console.print(f"sequence {q.name} (no column owns it)", markup=False, soft_wrap=True)



def _fk_tree(inspection: Inspection) -> Tree:
    """Parent -> child tree; a child with several parents is listed under each, marked."""
    schema, order = inspection.schema, inspection.order
    children: dict[str, list[tuple[str, str]]] = {n: [] for n in order.tables}
    has_parent: set[str] = set()
    for t in schema.tables:
        for j, fk in enumerate(t.foreign_keys):
            if fk.referred_table == t.name:
                continue
            deferred = order.is_deferred(t.name, j)
            children[fk.referred_table].append((t.name, f"via {', '.join(fk.columns)}" + (" (deferred)" if deferred else "")))
            if not deferred:
                has_parent.add(t.name)
    tree = Tree("[bold]foreign-key graph[/] (parent -> children)")

    def add(node: Tree, name: str, seen: set[str]) -> None:
        for child, via in sorted(children[name]):
            self_ref = [fk for fk in schema.table(child).foreign_keys if fk.referred_table == child]
            label = f"{child} [dim]{via}{' + self-reference' if self_ref else ''}[/]"
            sub = node.add(label)
            if child not in seen:
                add(sub, child, seen | {child})

    for name in order.tables:
        if name not in has_parent:
            self_ref = [fk for fk in schema.table(name).foreign_keys if fk.referred_table == name]
            root = tree.add(f"{name}" + (" [dim](self-reference)[/]" if self_ref else ""))
            add(root, name, {name})
    return tree


def render_table(console: Console, inspection: Inspection, name: str) -> None:
    """One table's columns: type, nullability and what dbsynth will do with each."""
    t = inspection.schema.table(name)
    console.print(f"[bold]{name}[/]: {t.row_count:,} rows, primary key ({', '.join(t.pk_columns) or 'none'})")
    if t.partitioning is not None:
        console.print(f"partitioned by {t.partitioning.key}: "
                      + ", ".join(f"{p.name} {p.bound}" for p in t.partitioning.partitions), markup=False, soft_wrap=True)
    children = [c.name for c in inspection.schema.tables if name in c.inherits]
    if t.inherits or children:
        console.print("; ".join([f"inherits from {', '.join(t.inherits)}"] * bool(t.inherits)
                                + [f"inherited by {', '.join(children)}"] * bool(children))
                      + " (rows counted and read FROM ONLY this table)", markup=False, soft_wrap=True)
    grid = RichTable(show_edge=False, pad_edge=False, header_style="bold")
    for head in ("column", "type", "null", "dbsynth"):
        grid.add_column(head, overflow="fold")
    for c in t.columns:
        grid.add_row(c.name, c.type.source_name or c.type.kind, "yes" if c.nullable else "no",
                     column_role(inspection, name, c.name))
    console.print(grid)
    for line in index_lines(t):
        console.print(line, markup=False, soft_wrap=True)


def index_lines(t: Table) -> list[str]:
    """One line per index and exclusion constraint: its kind (unique, method) and its key, as written."""
    lines = []
    for i in t.indexes:
        key = ", ".join(f"{e}({dict(i.lengths)[e]})" if e in dict(i.lengths) else
                        e + (" DESC" if e in i.descending else "") for e in i.elements)
        extra = (f" INCLUDE ({', '.join(i.include)})" if i.include else "") + (f" WHERE {i.where}" if i.where else "")
        shown = ("unique " if i.unique else "") + i.definition if i.definition else f"{i.kind} ({key}){extra}"
        lines.append(f"index {i.name or '(unnamed)'}: {shown}")
    lines += [f"exclusion constraint {x.name}: {x.definition}" for x in t.exclusions]
    return lines
