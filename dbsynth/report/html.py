"""The report as one self-contained HTML file: inline CSS, plotly.js inlined once, no network.

Security teams open these on machines without internet access, and a file that
fetched scripts from a CDN would also tell a third party who reads it. Every
text that came from a database (table, column and category names) is escaped.
"""

from __future__ import annotations

from html import escape
from importlib.metadata import version
from typing import TYPE_CHECKING, Iterable

import plotly.io as pio
from plotly.offline import get_plotlyjs

from dbsynth.report.quality import PROPERTIES, PairScore

if TYPE_CHECKING:
    from dbsynth.report import Report

WORST_PAIRS = 15
_SECTIONS = {"columns": "Column distributions (worst shape scores first per table)",
             "correlations": "Correlations, real and synthetic",
             "children": "Children per parent"}
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin-top:40px;border-bottom:2px solid #dfe3ea;padding-bottom:6px}h3{margin-top:28px}
.meta{color:#5b6475;font-size:14px}nav a{margin-right:14px;font-size:14px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border-radius:8px;padding:14px 18px;min-width:150px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.card .v{font-size:30px;font-weight:600}.card .k{font-size:13px;color:#5b6475}
.card.big .v{font-size:44px}
.good{color:#1b7f3b}.fair{color:#b26b00}.poor{color:#c0392b}.na{color:#8a93a3}
table{border-collapse:collapse;background:#fff;font-size:14px;margin:8px 0;box-shadow:0 1px 3px rgba(0,0,0,.06)}
th,td{padding:5px 10px;border-bottom:1px solid #eceff4;text-align:left}th{background:#eef1f6}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:9px;background:#1f4e79;border-radius:2px;vertical-align:middle;margin-right:6px}
.fig{background:#fff;border-radius:8px;margin:10px 0;padding:4px;box-shadow:0 1px 3px rgba(0,0,0,.06)}
ul.notes li{margin:3px 0;font-size:14px}
"""


def render_html(report: Report) -> str:
    body = "\n".join([
        _header(report), _summary(report), _tables(report), _columns(report), _pairs(report),
        _relationships(report), _model(report), _efficacy(report), _figures(report), _privacy(report), _integrity(report), _notes(report),
    ])
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>dbsynth report: {escape(report.target)}</title><style>{_CSS}</style>\n"
            f"<script type=\"text/javascript\">{get_plotlyjs()}</script></head>\n"
            f"<body><main>\n{body}\n</main></body></html>\n")


def _header(report: Report) -> str:
    return (f"<h1>Synthetic data report</h1><p class=\"meta\">source <b>{escape(report.source)}</b> &rarr; "
            f"synthetic <b>{escape(report.target)}</b><br>created {escape(report.created)} in "
            f"{report.seconds:.1f} s by dbsynth with sdmetrics {escape(_version('sdmetrics'))}</p>"
            "<nav><a href=\"#tables\">tables</a><a href=\"#columns\">columns</a><a href=\"#pairs\">column pairs</a>"
            "<a href=\"#relationships\">relationships</a><a href=\"#efficacy\">ML efficacy</a>"
            "<a href=\"#plots\">plots</a><a href=\"#privacy\">privacy</a>"
            "<a href=\"#integrity\">integrity</a><a href=\"#notes\">notes</a></nav>")


def _summary(report: Report) -> str:
    q, integrity = report.quality, report.integrity
    cards = [_card("overall quality", _score(q.overall), _grade(q.overall), big=True)]
    cards += [_card(name, _score(q.properties.get(name)), _grade(q.properties.get(name))) for name in PROPERTIES]
    cards.append(_card("orphan foreign keys", f"{integrity.orphan_total:,}",
                       "good" if integrity.orphan_total == 0 else "poor"))
    cards.append(_card("duplicate keys", f"{integrity.duplicate_total:,}",
                       "good" if integrity.duplicate_total == 0 else "poor"))
    shares = [p.exact_copy_share for p in report.privacy if p.exact_copy_share is not None and not p.few_columns]
    worst = max(shares) if shares else None
    cards.append(_card("most copied rows (share)", "n/a" if worst is None else f"{worst:.1%}",
                       "na" if worst is None else "good" if worst < 0.01 else "fair" if worst < 0.1 else "poor"))
    review = [c.table for c in report.privacy_checks if c.verdict != "ok"]
    cards.append(_card("tables to review for privacy", f"{len(review):,}", "good" if not review else "poor"))
    verdict = ("every foreign key resolves and every key is unique" if integrity.ok
               else f"{integrity.orphan_total:,} orphan rows and {integrity.duplicate_total:,} duplicate keys")
    return (f"<h2 id=\"summary\">Summary</h2><div class=\"cards\">{''.join(cards)}</div>"
            f"<p>Scores run from 0 (unlike) to 1 (alike); integrity: {escape(verdict)}.</p>")


def _tables(report: Report) -> str:
    rows = [[t.table, _int(t.real_rows), _int(t.synthetic_rows), _int(t.scored_columns),
             _scored(t.column_shapes), _scored(t.column_pair_trends), _scored(t.cardinality),
             _scored(t.intertable_trends)] for t in report.quality.tables]
    return "<h2 id=\"tables\">Tables</h2>" + _table(
        ["table", "rows real", "rows synthetic", "scored columns", "column shapes", "column pair trends",
         "cardinality", "intertable trends"], rows, raw={1, 2, 3, 4, 5, 6, 7})


def _columns(report: Report) -> str:
    ranked = sorted(report.quality.columns, key=lambda c: (c.table, c.score if c.score is not None else -1.0))
    rows = [[c.table, c.column, c.sdtype, c.metric, _bar(c.score)] for c in ranked]
    return ("<h2 id=\"columns\">Column shapes</h2><p>KSComplement for numbers and dates, TVComplement for "
            "categories and booleans; NULLs are not part of these scores (see the plots).</p>"
            + _table(["table", "column", "sdtype", "metric", "score"], rows, raw={4}))


def _pairs(report: Report) -> str:
    def rows(pairs: Iterable[PairScore]) -> list[list[str]]:
        ranked = sorted((p for p in pairs if p.contributes), key=lambda p: p.score or 0.0)[:WORST_PAIRS]
        return [[p.table, p.column_1, p.column_2, p.metric, _num(p.real_correlation),
                 _num(p.synthetic_correlation), _num(p.real_association), _bar(p.score)] for p in ranked]

    head = ["table", "column 1", "column 2", "metric", "real r", "synthetic r", "real V", "score"]
    return ("<h2 id=\"pairs\">Worst column pairs</h2><p>Only pairs that are correlated (|r| &gt; 0.5) or "
            "associated (Cram&eacute;r's V &gt; 0.3) in the real data count towards the scores.</p>"
            "<h3>Within a table</h3>" + _table(head, rows(report.quality.pairs), raw={7})
            + "<h3>Parent column, child column</h3>"
            + _table(["parent -> child"] + head[1:], rows(report.quality.intertable_pairs), raw={7}))


def _relationships(report: Report) -> str:
    rows = [[f"{r.parent} -> {r.child}", r.foreign_key, _scored(r.cardinality), _scored(r.intertable_trends)]
            for r in report.quality.relationships]
    return "<h2 id=\"relationships\">Relationships</h2>" + _table(
        ["parent -> child", "foreign key", "cardinality", "intertable trends"], rows, raw={2, 3})


def _model(report: Report) -> str:
    """The model file's account: which generator made each table, and the privacy budget spent."""
    if not report.model:
        return ""
    rows = [[table, choice] for table, choice in report.model["generators"].items()]
    budget = "".join(f"<li>{escape(line.strip())}</li>" for line in report.model["privacy"])
    return ("<h2 id=\"model\">Model</h2>"
            f"<p>From {escape(report.model['path'])}.</p>" + _table(["table", "generator"], rows)
            + (f"<h3>Differential privacy</h3><ul>{budget}</ul>" if budget else
               "<p>Trained without differential privacy.</p>"))


def _efficacy(report: Report) -> str:
    from dbsynth.report.efficacy import EXPLANATION

    rows = [[f"{r.table}.{r.column}" + ("" if r.guessed else " (chosen)"), r.task, r.metric, _num(r.trtr),
             _num(r.tstr), _ratio(r.ratio), _num(r.baseline),
             "" if r.tstr_accuracy is None else f"{r.trtr_accuracy:.2f} / {r.tstr_accuracy:.2f} / "
                                                f"{r.baseline_accuracy:.2f}",
             f"{r.real_train_rows:,} / {r.synthetic_train_rows:,} / {r.test_rows:,}", ", ".join(r.features)]
            for r in report.efficacy]
    return ("<h2 id=\"efficacy\">Machine-learning efficacy</h2>"
            f"<p>TSTR vs TRTR: {escape(EXPLANATION)}. A ratio near 1 means the synthetic rows train as good a "
            "model; the baseline predicts the majority class or the mean. The synthetic rows were generated "
            "from all real rows, test rows included, so a ratio well above 1 can mean copied rows.</p>"
            + _table(["target", "task", "metric", "TRTR (real)", "TSTR (synthetic)", "ratio", "baseline",
                      "accuracy real / synthetic / baseline", "rows real train / synthetic / real test",
                      "features"], rows, raw={5}))


def _ratio(ratio: float | None) -> str:
    if ratio is None:
        return "<span class=\"na\">n/a</span>"
    grade = "good" if ratio >= 0.9 else "fair" if ratio >= 0.75 else "poor"
    return f"<span class=\"{grade}\">{ratio:.2f}</span>"


def _figures(report: Report) -> str:
    parts = ["<h2 id=\"plots\">Plots</h2>"]
    for section, title in _SECTIONS.items():
        figures = [f for f in report.figures if f.section == section]
        if not figures:
            continue
        parts.append(f"<h3>{escape(title)}</h3>")
        for f in figures:
            div = pio.to_html(f.figure, include_plotlyjs=False, full_html=False, config=_PLOT_CONFIG)
            parts.append(f"<div class=\"fig\">{div}</div>")
    if len(parts) == 1:
        parts.append("<p>No plots: nothing was scored.</p>")
    return "\n".join(parts)


def _privacy(report: Report) -> str:
    rows = [[p.table, _int(len(p.columns)), _int(p.synthetic_rows), _int(p.exact_copies), _pct(p.exact_copy_share),
             _pct(p.source_duplicate_share), "yes" if p.few_columns else ""] for p in report.privacy]
    return ("<h2 id=\"privacy\">Privacy</h2><h3>Exact copies</h3><p>Synthetic rows equal to a source row on every "
            "non-key column, next to the share of source rows that repeat another source row. With fewer "
            "than three columns compared, matches happen by chance.</p>"
            + _table(["table", "columns compared", "synthetic rows", "exact copies", "copy share",
                      "source duplicate share", "few columns"], rows)
            + _privacy_checks(report))


def _privacy_checks(report: Report) -> str:
    from dbsynth.report.privacy import CAVEAT, THRESHOLDS

    t = THRESHOLDS
    rows = []
    for c in report.privacy_checks:
        d = c.distance
        risks = ", ".join(f"{k.replace('_', '-')} {v:.2f}" for k, v in c.attacks.items()) if c.attacks else ""
        verdict = f"<span class=\"{'good' if c.verdict == 'ok' else 'poor'}\">{escape(c.verdict)}</span>"
        rows.append([c.table, _int(len(c.columns)),
                     "" if d is None else _num(d.closer_to_train_share),
                     "" if d is None else _num(d.nearer_than_real_share),
                     "" if d is None else f"{d.median_dcr_train:.3f} / {d.median_dcr_holdout:.3f}",
                     "" if d is None else f"{d.median_dcr_real_baseline:.3f}",
                     f"{c.rare_leaked:,} of {c.rare_singletons:,}", risks, verdict, "; ".join(c.reasons)])
    return ("<h3>Distance to the closest record, rare values, verdict</h3>"
            "<p>Per table with at least two non-key columns that are modelled (faked personal data is left "
            "out). Distances run from 0 (identical) to 1 (different on every column): numbers scaled by the "
            "source's interquartile range, other values equal or not, NULL a value of its own. The source "
            "rows are split into a train and a holdout half with a fixed seed. "
            f"{escape(CAVEAT)}</p>"
            f"<p>Verdict <b>review</b> when: exact copies exceed the source's own duplicate share by more than "
            f"{t['excess_exact_copy_share']:.0%} (tables with three or more columns); the nearer-than-real share "
            f"exceeds {t['nearer_than_real_share']} (tables with {t['distance_min_rows']:.0f} source rows or more); "
            f"at least {t['rare_leaked_min']:.0f} values seen once in the source reappear and they are more than "
            f"{t['rare_leaked_share']:.0%} of those values; an anonymeter risk exceeds {t['attack_risk']}.</p>"
            + _table(["table", "columns", "closer to train", "nearer than real", "median DCR train / holdout",
                      "median DCR real holdout", "rare values leaked", "anonymeter risks", "verdict", "why"],
                     rows, raw={8}))


def _integrity(report: Report) -> str:
    integrity = report.integrity
    orphans = [[k, _int(v)] for k, v in integrity.orphans.items()]
    dups = [[k, _int(v)] for k, v in integrity.duplicates.items()]
    return ("<h2 id=\"integrity\">Integrity of the synthetic database</h2>"
            "<p>Counted by SQL in the target, with the source's keys.</p><h3>Orphan rows per foreign key</h3>"
            + _table(["foreign key", "orphan rows"], orphans)
            + "<h3>Duplicate values per primary / unique key</h3>" + _table(["key", "extra rows"], dups))


def _notes(report: Report) -> str:
    items = "".join(f"<li>{escape(n)}</li>" for n in report.notes) or "<li>none</li>"
    sampling = report.quality.sampling
    return (f"<h2 id=\"notes\">Notes</h2><p>Sampling: {escape(sampling)}.</p>"
            f"<ul class=\"notes\">{items}</ul>")


def _table(head: list[str], rows: list[list[str]], raw: set[int] = frozenset()) -> str:  # type: ignore[assignment]
    if not rows:
        return "<p class=\"meta\">none</p>"
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(
            f"<td class=\"n\">{cell}</td>" if i in raw else f"<td>{escape(cell)}</td>"
            for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _card(label: str, value: str, grade: str, big: bool = False) -> str:
    return (f"<div class=\"card{' big' if big else ''}\"><div class=\"v {grade}\">{escape(value)}</div>"
            f"<div class=\"k\">{escape(label)}</div></div>")


def _grade(score: float | None) -> str:
    if score is None:
        return "na"
    return "good" if score >= 0.9 else "fair" if score >= 0.75 else "poor"


def _score(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.2f}"


def _scored(score: float | None) -> str:
    return f"<span class=\"{_grade(score)}\">{_score(score)}</span>"


def _bar(score: float | None) -> str:
    if score is None:
        return "<span class=\"na\">n/a</span>"
    return f"<span class=\"bar\" style=\"width:{max(score, 0.0) * 80:.0f}px\"></span>{_scored(score)}"


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _int(value: int) -> str:
    return f"{value:,}"


def _version(package: str) -> str:
    try:
        return version(package)
    except Exception:
        return "?"
