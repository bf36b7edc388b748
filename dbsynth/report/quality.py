"""Statistical quality of a synthetic copy: sdmetrics' multi-table quality report, as plain data.

The metadata sdmetrics needs is built from our schema model: key columns are
sdtype "id" and only join tables; single-column foreign keys become
relationships. Personal data, mostly-unique text and types sdmetrics cannot
compare are left out of the frames (sdmetrics wants data and metadata to hold
the same columns) and named in the notes.

We call ``sdmetrics.reports.QualityReport``, the unified report: in sdmetrics
0.32 it computes exactly the four properties of the multi-table one (Column
Shapes, Column Pair Trends, Cardinality, Intertable Trends) and the
multi-table class is deprecated (importing it emits a FutureWarning).
sdmetrics is imported on first use: it takes seconds to import.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dbsynth.report.columns import ColumnRole, column_role
from dbsynth.schema.model import Schema

log = logging.getLogger(__name__)

_HINTS = {"ConstantInputError": ": a column holds a single value"}

PROPERTIES = ("Column Shapes", "Column Pair Trends", "Cardinality", "Intertable Trends")


@dataclass(frozen=True)
class ColumnScore:
    table: str
    column: str
    sdtype: str
    metric: str          # KSComplement (numbers, dates) or TVComplement (categories, booleans)
    score: float | None  # None when sdmetrics could not compute it (see error)
    error: str | None = None


@dataclass(frozen=True)
class PairScore:
    """A pair of columns of one table, or (parent column, child column) across a relationship."""

    table: str               # the table, or "parent->child" for an inter-table pair
    column_1: str
    column_2: str
    metric: str              # CorrelationSimilarity or ContingencySimilarity
    score: float | None
    real_correlation: float | None       # Pearson, for two numbers / dates
    synthetic_correlation: float | None
    real_association: float | None       # Cramér's V, when a category is involved
    contributes: bool        # the real pair is correlated enough to count in the property score
    error: str | None = None  # why sdmetrics could not score it (a constant column, say)


@dataclass(frozen=True)
class RelationshipScore:
    parent: str
    child: str
    foreign_key: str
    cardinality: float | None       # CardinalityShapeSimilarity of children-per-parent counts
    intertable_trends: float | None  # mean of the contributing parent-child column pairs


@dataclass(frozen=True)
class TableScore:
    table: str
    real_rows: int
    synthetic_rows: int
    compared_real_rows: int
    compared_synthetic_rows: int
    scored_columns: int
    column_shapes: float | None
    column_pair_trends: float | None
    cardinality: float | None        # over the relationships where this table is the child
    intertable_trends: float | None  # likewise


@dataclass(frozen=True)
class QualityResult:
    overall: float | None
    properties: dict[str, float | None]
    tables: tuple[TableScore, ...]
    columns: tuple[ColumnScore, ...]
    pairs: tuple[PairScore, ...]
    relationships: tuple[RelationshipScore, ...]
    intertable_pairs: tuple[PairScore, ...]
    roles: dict[str, dict[str, ColumnRole]] = field(repr=False)
    sampling: str = ""

    def table(self, name: str) -> TableScore:
        """The scores of one table; KeyError when it was not scored."""
        for t in self.tables:
            if t.table == name:
                return t
        raise KeyError(name)


def column_roles(schema: Schema, real: dict[str, pd.DataFrame]) -> dict[str, dict[str, ColumnRole]]:
    return {t.name: {c.name: column_role(t, c, real[t.name][c.name]) for c in t.columns} for t in schema.tables}


def sdmetrics_metadata(schema: Schema, roles: dict[str, dict[str, ColumnRole]],
                       real: dict[str, pd.DataFrame]) -> tuple[dict[str, Any], list[str]]:
    """sdmetrics' multi-table metadata dict, and notes on what it leaves out."""
    notes: list[str] = []
    tables: dict[str, Any] = {}
    for table in schema.tables:
        columns = {name: {"sdtype": role.sdtype} for name, role in roles[table.name].items() if role.sdtype}
        entry: dict[str, Any] = {"columns": columns}
        if len(table.pk_columns) == 1:
            entry["primary_key"] = table.pk_columns[0]
        tables[table.name] = entry
        for name, role in roles[table.name].items():
            if role.sdtype is None:
                notes.append(f"{table.name}.{name} left out of the quality scores: {role.reason}")
    relationships = []
    for table in schema.tables:
        for fk in table.foreign_keys:
            label = f"{table.name}({', '.join(fk.columns)}) -> {fk.referred_table}"
            if len(fk.columns) > 1:
                notes.append(f"{label}: composite foreign key, not scored (sdmetrics relates single columns)")
            elif fk.referred_table == table.name:
                notes.append(f"{label}: self-reference, not scored by sdmetrics (see the children-per-parent plot)")
            elif (real[table.name][fk.columns[0]].dtype == object) != \
                    (real[fk.referred_table][fk.referred_columns[0]].dtype == object):
                notes.append(f"{label}: key types differ between parent and child, not scored")
            else:
                relationships.append({
                    "parent_table_name": fk.referred_table, "parent_primary_key": fk.referred_columns[0],
                    "child_table_name": table.name, "child_foreign_key": fk.columns[0],
                })
    return {"tables": tables, "relationships": relationships}, notes


def scored_frames(frames: dict[str, pd.DataFrame], metadata: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Only the columns the metadata names, in its order."""
    return {name: frames[name][list(meta["columns"])] for name, meta in metadata["tables"].items()}


def measure_quality(real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
                    metadata: dict[str, Any], *, full_rows: tuple[dict[str, int], dict[str, int]],
                    roles: dict[str, dict[str, ColumnRole]], sampling: str = "") -> QualityResult:
    """Run sdmetrics' quality report on frames already typed, cut and restricted to `metadata`."""
    from sdmetrics.reports import QualityReport  # slow import, on first use only

    report = QualityReport()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report.generate(real, synthetic, metadata, verbose=False)
    for w in caught:
        log.debug("sdmetrics: %s", w.message)
    properties = {name: _num(report.get_properties().set_index("Property").loc[name, "Score"])
                  for name in PROPERTIES}
    columns = _column_scores(report.get_details("Column Shapes"), roles)
    pairs = _pair_scores(report.get_details("Column Pair Trends"))
    inter = _intertable_pairs(report.get_details("Intertable Trends"))
    relationships = _relationships(report.get_details("Cardinality"), inter)
    tables = tuple(
        _table_score(name, columns, pairs, relationships, len(real[name]), len(synthetic[name]),
                     full_rows[0][name], full_rows[1][name])
        for name in metadata["tables"]
    )
    return QualityResult(
        overall=_num(report.get_score()), properties=properties, tables=tables, columns=columns,
        pairs=pairs, relationships=relationships, intertable_pairs=inter, roles=roles, sampling=sampling,
    )


def error_notes(result: QualityResult) -> list[str]:
    """One line per kind of sdmetrics failure, so a reader knows which scores are missing and why."""
    notes = [f"{t.table}: the target has no rows, nothing to compare" for t in result.tables
             if t.synthetic_rows == 0 and t.real_rows > 0]
    notes += [f"{c.table}.{c.column}: shape not scored ({c.error or 'no values on one side'})"
              for c in result.columns if c.score is None]
    for label, pairs in (("column pairs", result.pairs), ("parent-child column pairs", result.intertable_pairs)):
        kinds: dict[str, int] = {}
        for p in pairs:
            if p.error:
                kind = p.error.split(":", 1)[0]
                kinds[kind] = kinds.get(kind, 0) + 1
        notes += [f"{n} {label} not scored by sdmetrics ({kind}{_HINTS.get(kind, '')})"
                  for kind, n in sorted(kinds.items())]
    return notes


def _column_scores(details: pd.DataFrame, roles: dict[str, dict[str, ColumnRole]]) -> tuple[ColumnScore, ...]:
    out = []
    for row in _records(details):
        out.append(ColumnScore(
            table=row["Table"], column=row["Column"], sdtype=str(roles[row["Table"]][row["Column"]].sdtype),
            metric=row["Metric"], score=_num(row["Score"]), error=_text(row.get("Error")),
        ))
    return tuple(out)


def _pair_scores(details: pd.DataFrame) -> tuple[PairScore, ...]:
    return tuple(
        PairScore(
            table=row["Table"], column_1=row["Column 1"], column_2=row["Column 2"], metric=row["Metric"],
            score=_num(row["Score"]), real_correlation=_num(row.get("Real Correlation")),
            synthetic_correlation=_num(row.get("Synthetic Correlation")),
            real_association=_num(row.get("Real Association")),
            contributes=_meets(row.get("Meets Threshold?", True)) and _num(row["Score"]) is not None,
            error=_text(row.get("Error")),
        )
        for row in _records(details)
    )


def _intertable_pairs(details: pd.DataFrame) -> tuple[PairScore, ...]:
    return tuple(
        PairScore(
            table=f"{row['Parent Table']}->{row['Child Table']}({_fk_text(row['Foreign Key'])})",
            column_1=row["Column 1"], column_2=row["Column 2"], metric=row["Metric"],
            score=_num(row["Score"]), real_correlation=_num(row.get("Real Correlation")),
            synthetic_correlation=_num(row.get("Synthetic Correlation")),
            real_association=_num(row.get("Real Association")),
            contributes=_meets(row.get("Meets Threshold?", True)) and _num(row["Score"]) is not None,
            error=_text(row.get("Error")),
        )
        for row in _records(details)
    )


def _relationships(details: pd.DataFrame, inter: tuple[PairScore, ...]) -> tuple[RelationshipScore, ...]:
    out = []
    for row in _records(details):
        fk = _fk_text(row["Foreign Key"])
        label = f"{row['Parent Table']}->{row['Child Table']}({fk})"
        out.append(RelationshipScore(
            parent=row["Parent Table"], child=row["Child Table"], foreign_key=fk,
            cardinality=_num(row["Score"]),
            intertable_trends=_mean(p.score for p in inter if p.table == label and p.contributes),
        ))
    return tuple(out)


def _table_score(name: str, columns: tuple[ColumnScore, ...], pairs: tuple[PairScore, ...],
                 relationships: tuple[RelationshipScore, ...], real_rows: int, synthetic_rows: int,
                 full_real: int, full_synthetic: int) -> TableScore:
    return TableScore(
        table=name, real_rows=full_real, synthetic_rows=full_synthetic,
        compared_real_rows=real_rows, compared_synthetic_rows=synthetic_rows,
        scored_columns=sum(c.table == name for c in columns),
        column_shapes=_mean(c.score for c in columns if c.table == name),
        column_pair_trends=_mean(p.score for p in pairs if p.table == name and p.contributes),
        cardinality=_mean(r.cardinality for r in relationships if r.child == name),
        intertable_trends=_mean(r.intertable_trends for r in relationships if r.child == name),
    )


def _records(details: pd.DataFrame) -> list[dict[str, Any]]:
    return details.to_dict("records") if not details.empty else []


def _fk_text(value: object) -> str:
    return ", ".join(value) if isinstance(value, (list, tuple)) else str(value)


def _num(value: object) -> float | None:
    """A plain float, or None for NaN / missing (JSON has no NaN)."""
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _meets(value: object) -> bool:
    """sdmetrics' 'Meets Threshold?' is True, False or <NA> (a constant column)."""
    return value is True or (type(value).__name__ == "bool_" and bool(value))


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return " ".join(str(value).split())[:200]


def _mean(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None
