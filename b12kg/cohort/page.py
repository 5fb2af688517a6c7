"""The cohort page: one self-contained HTML file (no scripts, no external assets) with the
counts by status, action, risk factor and data-quality code, and three inline SVG plots:
the status distribution, serum B12 against the guideline's cut-offs (read from the
ontology) and follow-ups due and overdue by month. Every number comes from a named query."""

from __future__ import annotations

from datetime import date
from html import escape

import pyoxigraph as ox

from . import named, svg

CSS = """body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
td.n{text-align:right}h2{margin-top:2rem;border-bottom:1px solid #ddd}figure{margin:1rem 0}figcaption{color:#555;font-size:.9rem}
.note{color:#555;font-size:.9rem}"""
MAX_LISTED = 200


def _table(caption: str, table_id: str, header: list[str], rows: list[list[str]], numeric: set[int] | frozenset = frozenset()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td{" class=n" if i in numeric else ""}>{escape(v)}</td>' for i, v in enumerate(r)) + "</tr>"
                   for r in rows)
    if not rows:
        body = f'<tr><td colspan="{len(header)}">none</td></tr>'
    return f'<table id="{table_id}"><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _counts(store: ox.Store, query: str, key: str, value: str) -> list[tuple[str, int]]:
    return [(r[key], int(r[value])) for r in named.rows(store, query)]


def render(store: ox.Store, as_of: date) -> str:
    """The cohort page for a store, overdue follow-ups counted as of `as_of`."""
    summary = (named.rows(store, "summary") or [{}])[0]
    statuses = _counts(store, "counts-by-status", "status", "patients")
    actions = _counts(store, "counts-by-action", "action", "patients")
    risks = _counts(store, "counts-by-risk-factor", "riskFactor", "patients")
    quality = named.rows(store, "counts-by-data-quality")
    cut_offs = named.rows(store, "serum-b12-cut-offs")
    values = [float(r["serumB12"]) for r in named.rows(store, "serum-b12-values")]
    months = named.rows(store, "follow-ups-by-month", {"date": as_of.isoformat()})
    overdue = named.rows(store, "overdue-follow-ups", {"date": as_of.isoformat()})
    untreated = named.rows(store, "untreated-deficiency")
    unit = cut_offs[0]["unit"] if cut_offs else ""  # the unit comes from the ontology's thresholds
    marks = [(float(c["value"]), f"{c['comparator']} {float(c['value']):g} {c['unit']}") for c in cut_offs]
    upper = max([*(v for v, _ in marks), 0.0]) * 3 or None

    parts = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>b12kg cohort</title><style>{CSS}</style></head><body>",
             "<h1>B12 peripheral neuropathy: cohort</h1>",
             f'<p id="summary">{escape(summary.get("assessments", "0"))} assessments of {escape(summary.get("patients", "0"))} '
             f'patients, as of {escape(summary.get("firstAsOf", "-"))} to {escape(summary.get("lastAsOf", "-"))}. '
             "Counts use each patient's latest assessment; data quality counts every assessment. "
             f"Follow-ups are overdue as of {escape(as_of.isoformat())}.</p>",
             '<p class="note">Guideline versions: ' + escape(summary.get("guidelineVersions", "not recorded")) + "</p>",
             '<h2 id="status">B12 status</h2>',
             f"<figure>{svg.horizontal_bars('Patients by B12 status', statuses)}"
             "<figcaption>Patients by B12 status (latest assessment).</figcaption></figure>",
             _table("Patients by B12 status", "counts-status", ["status", "patients"], [[k, str(n)] for k, n in statuses], {1}),
             '<h2 id="serum-b12">Serum B12</h2>',
             f"<figure>{svg.histogram('Deciding serum B12 against the guideline cut-offs', values, marks, unit, upper=upper)}"
             f"<figcaption>Deciding serum B12 of {len(values)} patients ({escape(unit)}), bins of 25; dashed lines: the "
             "interpretation table's cut-offs as recorded in the ontology.</figcaption></figure>",
             '<h2 id="actions">Recommended actions</h2>',
             _table("Patients by recommended action", "counts-action", ["action", "patients"], [[k, str(n)] for k, n in actions], {1}),
             '<h2 id="risk-factors">Risk factors</h2>',
             _table("Patients by risk factor", "counts-risk", ["risk factor", "patients"], [[k, str(n)] for k, n in risks], {1}),
             '<h2 id="data-quality">Data quality</h2>',
             _table("Assessments by data-quality code", "counts-data-quality", ["code", "assessments", "entries"],
                    [[r["code"], r["assessments"], r["entries"]] for r in quality], {1, 2}),
             '<h2 id="follow-ups">Follow-ups</h2>',
             "<figure>" + svg.grouped_bars("Follow-ups due and overdue by month", [r["month"] for r in months],
                                           [("due", [int(r["due"]) for r in months]), ("overdue", [int(r["overdue"]) for r in months])])
             + f"<figcaption>Follow-ups by the month they fall due, and those overdue as of {escape(as_of.isoformat())} "
               "(due before it, no serum B12 since).</figcaption></figure>",
             _table(f"Overdue follow-ups ({len(overdue)})", "overdue", ["patient", "due", "assessed as of"],
                    [[r.get("patientId", r["patient"]), r["due"], r["asOf"]] for r in overdue[:MAX_LISTED]]),
             '<h2 id="untreated">Deficiency left untreated for more than 3 months</h2>',
             _table(f"Untreated deficiency ({len(untreated)})", "untreated", ["patient", "status", "serum B12", "deficient since"],
                    [[r.get("patientId", r["patient"]), r["status"], r.get("serumB12", ""), r.get("deficientSince", "")]
                     for r in untreated[:MAX_LISTED]]),
             f'<p class="note">Lists show at most {MAX_LISTED} rows; <code>b12kg cohort DIR NAME</code> gives them all.</p>',
             "</body></html>"]
    return "\n".join(parts)
