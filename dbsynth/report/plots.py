"""Plotly figures for what people would rather see than read: real next to synthetic.

Histograms and bar charts are computed here (bins, top categories) and only the
counts go into the figures, so the HTML stays small whatever the row count.
The number of figures is bounded: the worst-scoring columns, tables and
relationships first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dbsynth.report.quality import ColumnScore, QualityResult
from dbsynth.schema.model import ForeignKey, Schema

COLUMNS_PER_TABLE = 8
MAX_COLUMN_FIGURES = 80
MAX_CORRELATION_FIGURES = 20
MAX_CHILD_COUNT_FIGURES = 30
MAX_HEATMAP_COLUMNS = 15
BINS = 30
TOP_CATEGORIES = 12

REAL, SYNTHETIC = "#1f4e79", "#e07a1f"
# Colours set by hand: the "plotly" templates cost ~60 ms each and 8 kB of HTML per figure.
_AXIS = dict(gridcolor="#e6e9ef", zerolinecolor="#d5d9e0")
_LAYOUT = dict(template="none", plot_bgcolor="white", paper_bgcolor="white", xaxis=_AXIS, yaxis=_AXIS,
               height=320, margin=dict(l=50, r=20, t=50, b=50), font=dict(size=12),
               legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))


@dataclass(frozen=True)
class Figure:
    section: str        # "columns", "correlations" or "children"
    table: str
    title: str
    figure: go.Figure


Frames = dict[str, pd.DataFrame]


def build_figures(schema: Schema, quality: QualityResult, compared: tuple[Frames, Frames],
                  full: tuple[Frames, Frames]) -> list[Figure]:
    """Column distributions and correlations on the compared rows; children per parent on all rows."""
    real, synthetic = compared
    figures = [_column_figure(c.table, c.column, c.sdtype, c.score, real[c.table][c.column],
                              synthetic[c.table][c.column]) for c in _worst_columns(quality)]
    figures += [f for t in _worst_tables(quality) if (f := _correlation_figure(t, quality, real[t], synthetic[t]))]
    figures += [_children_figure(table, fk, full[0], full[1]) for table, fk in _worst_relationships(schema, quality)]
    return figures


def _worst_columns(quality: QualityResult) -> list[ColumnScore]:
    ranked = sorted(quality.columns, key=lambda c: (c.score is not None, c.score or 0.0))
    chosen: list[ColumnScore] = []
    per_table: dict[str, int] = {}
    for c in ranked:
        if per_table.get(c.table, 0) < COLUMNS_PER_TABLE and len(chosen) < MAX_COLUMN_FIGURES:
            chosen.append(c)
            per_table[c.table] = per_table.get(c.table, 0) + 1
    order = {t.table: i for i, t in enumerate(quality.tables)}
    return sorted(chosen, key=lambda c: (order[c.table], c.score if c.score is not None else -1.0))


def _worst_tables(quality: QualityResult) -> list[str]:
    ranked = sorted(quality.tables, key=lambda t: t.column_pair_trends if t.column_pair_trends is not None else 2.0)
    return sorted((t.table for t in ranked[:MAX_CORRELATION_FIGURES]),
                  key=[t.table for t in quality.tables].index)


def _worst_relationships(schema: Schema, quality: QualityResult) -> list[tuple[str, ForeignKey]]:
    scores = {(r.child, r.foreign_key): r.cardinality for r in quality.relationships}
    edges = [(t.name, fk) for t in schema.tables for fk in t.foreign_keys]
    ranked = sorted(edges, key=lambda e: s if (s := scores.get((e[0], ", ".join(e[1].columns)))) is not None else -1.0)
    return [e for e in edges if e in ranked[:MAX_CHILD_COUNT_FIGURES]]


def _column_figure(table: str, column: str, sdtype: str, score: float | None,
                   real: pd.Series, synthetic: pd.Series) -> Figure:
    if sdtype in ("numerical", "datetime"):
        traces, layout = _histogram_traces(real, synthetic, is_date=sdtype == "datetime")
    else:
        traces, layout = _category_traces(real, synthetic)
    nulls = f"NULL: real {real.isna().mean():.0%}, synthetic {synthetic.isna().mean():.0%}"
    shown = "n/a" if score is None else f"{score:.2f}"
    title = f"{table}.{column}: shape score {shown}"
    return Figure("columns", table, title, _figure(traces, title, nulls, **layout,
                                                   yaxis={**_AXIS, "title": "share of rows"}))


def _histogram_traces(real: pd.Series, synthetic: pd.Series, *, is_date: bool) -> tuple[list[dict], dict]:
    as_number = (lambda s: s.dropna().astype("int64").to_numpy(dtype=float)) if is_date \
        else (lambda s: s.dropna().to_numpy(dtype=float))
    r, s = as_number(real), as_number(synthetic)
    both = np.concatenate([r, s])
    if both.size == 0:
        return [], {}
    lo, hi = np.percentile(both, [0.5, 99.5])  # clip the far tails into the end bins
    if hi <= lo:
        lo, hi = both.min() - 0.5, both.max() + 0.5
    edges = np.linspace(lo, hi, BINS + 1)
    centers, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
    x = pd.to_datetime(centers.astype("int64")) if is_date else centers
    traces = []
    for name, values, color in (("real", r, REAL), ("synthetic", s, SYNTHETIC)):
        counts, _ = np.histogram(np.clip(values, lo, hi), bins=edges)
        traces.append(_bar(name, x, counts / max(values.size, 1), color, opacity=0.6,
                           width=width / 1e6 if is_date else width))  # date axes measure widths in ms
    return traces, {"barmode": "overlay", "bargap": 0}


def _category_traces(real: pd.Series, synthetic: pd.Series) -> tuple[list[dict], dict]:
    r = real.dropna().astype(str).value_counts(normalize=True)
    s = synthetic.dropna().astype(str).value_counts(normalize=True)
    top = pd.concat([r, s], axis=1).fillna(0).max(axis=1).sort_values(ascending=False).index[:TOP_CATEGORIES]
    labels = [str(v)[:30] for v in top] + (["(other)"] if len(r.index.union(s.index)) > len(top) else [])
    traces = []
    for name, shares, color in (("real", r, REAL), ("synthetic", s, SYNTHETIC)):
        y = [float(shares.get(v, 0.0)) for v in top]
        if len(labels) > len(top):
            y.append(max(1.0 - sum(y), 0.0) if len(shares) else 0.0)
        traces.append(_bar(name, labels, y, color))
    return traces, {"barmode": "group", "xaxis": {**_AXIS, "type": "category"}}


def _correlation_figure(table: str, quality: QualityResult, real: pd.DataFrame,
                        synthetic: pd.DataFrame) -> Figure | None:
    roles = quality.roles[table]
    columns = [c for c, role in roles.items() if role.sdtype in ("numerical", "datetime")
               and real[c].nunique() > 1][:MAX_HEATMAP_COLUMNS]
    if len(columns) < 2:
        return None
    traces = []
    for i, frame in enumerate((real, synthetic)):
        matrix = _numbers(frame[columns]).corr().reindex(index=columns, columns=columns)
        traces.append(dict(type="heatmap", z=matrix.to_numpy().round(3), x=columns, y=columns, zmin=-1, zmax=1,
                           colorscale="RdBu", reversescale=True, showscale=i == 1,
                           xaxis="x" if i == 0 else "x2", yaxis="y" if i == 0 else "y2"))
    title = f"{table}: correlations of numbers and dates"
    heads = [dict(text=text, x=x, y=1.0, xref="paper", yref="paper", showarrow=False, yanchor="bottom")
             for text, x in (("real", 0.21), ("synthetic", 0.79))]
    return Figure("correlations", table, title, _figure(
        traces, title, "", height=max(320, 100 + 28 * len(columns)), annotations=heads,
        xaxis=dict(domain=[0, 0.42]), xaxis2=dict(domain=[0.58, 1]),
        yaxis=dict(autorange="reversed"), yaxis2=dict(anchor="x2", autorange="reversed")))


def _numbers(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({c: (frame[c].astype("int64").where(frame[c].notna()) if frame[c].dtype.kind == "M"
                             else frame[c]).astype(float) for c in frame.columns})


def _children_figure(table: str, fk: ForeignKey, real: dict[str, pd.DataFrame],
                     synthetic: dict[str, pd.DataFrame]) -> Figure:
    r = children_per_parent(real[table], real[fk.referred_table], fk)
    s = children_per_parent(synthetic[table], synthetic[fk.referred_table], fk)
    top = int(max(r.max() if len(r) else 0, s.max() if len(s) else 0))
    edges = np.arange(top + 2) - 0.5 if top < BINS else np.linspace(-0.5, top + 0.5, BINS + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    traces = [_bar(name, centers, np.histogram(counts, bins=edges)[0] / max(len(counts), 1), color,
                   opacity=0.6, width=edges[1] - edges[0])
              for name, counts, color in (("real", r, REAL), ("synthetic", s, SYNTHETIC))]
    title = f"{fk.referred_table} -> {table}({', '.join(fk.columns)}): children per parent"
    sub = (f"mean real {r.mean():.2f}, synthetic {s.mean():.2f}; parents without children: "
           f"real {np.mean(r == 0):.0%}, synthetic {np.mean(s == 0):.0%}") if len(r) and len(s) else ""
    return Figure("children", table, title, _figure(
        traces, title, sub, barmode="overlay", bargap=0,
        xaxis={**_AXIS, "title": f"{table} rows per {fk.referred_table} row"},
        yaxis={**_AXIS, "title": "share of parents"}))


def _bar(name: str, x: object, y: object, color: str, **extra: object) -> dict:
    return dict(type="bar", name=name, x=x, y=y, marker=dict(color=color), **extra)


def _figure(traces: list[dict], title: str, subtitle: str, **layout: object) -> go.Figure:
    """One go.Figure built in one call: plotly validates per call, and per-figure updates add up."""
    text = f"{title}<br><sup>{subtitle}</sup>" if subtitle else title
    return go.Figure(data=traces, layout={**_LAYOUT, "title": dict(text=text, font=dict(size=14)), **layout})


def children_per_parent(child: pd.DataFrame, parent: pd.DataFrame, fk: ForeignKey) -> np.ndarray:
    """For every parent row, how many child rows point at it (0 included)."""
    cols, ref = list(fk.columns), list(fk.referred_columns)
    keys = child[cols].dropna()
    counts = keys.groupby(cols).size()
    parent_keys = parent[ref].dropna()
    index = pd.MultiIndex.from_frame(parent_keys) if len(ref) > 1 else pd.Index(parent_keys.iloc[:, 0])
    if len(cols) == 1:
        counts.index = pd.Index(counts.index)
    return counts.reindex(index, fill_value=0).to_numpy()
