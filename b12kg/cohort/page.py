"""The cohort page: one self-contained HTML file (no scripts, no external assets). Every
number comes from a named query. The generic sections (statuses, actions, risk factors,
data quality, follow-ups) read the generic queries; a guideline pack adds its own sections
by a header in its cohort queries:

    # section: the heading
    # page:    histogram value=COLUMN by=COLUMN marks=QUERY [order=N]
    # page:    list columns=COLUMN,COLUMN,... [order=N]
    # caption: what the reader sees (optional)
    # labels:  COLUMN=label; COLUMN=label (optional; else the column's name in words)

A histogram's bins start at the cut-offs the `marks` query returns (value, comparator,
label, unit), and its bars are divided by the `by` column (a status code: coloured by that
status's gm:priority). Colours follow the ontology's gm:priority as on the explanation page."""

from __future__ import annotations

import re
from datetime import date
from html import escape

import pyoxigraph as ox

from . import named, svg

CSS = """body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
td.n{text-align:right}h2{margin-top:2rem;border-bottom:1px solid #ddd}figure{margin:1rem 0}figcaption{color:#555;font-size:.9rem}
.note{color:#555;font-size:.9rem}caption{text-align:left;font-weight:bold;padding:.25rem 0}"""
MAX_LISTED = 200
_OPTION = re.compile(r"(\w[\w-]*)=(\S+)")
_LONG_DECIMAL = re.compile(r"^-?\d+\.\d{5,}$")


def _table(caption: str, table_id: str, header: list[str], rows: list[list[str]], numeric: set[int] | frozenset = frozenset()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td{" class=n" if i in numeric else ""}>{escape(v)}</td>' for i, v in enumerate(r)) + "</tr>"
                   for r in rows)
    if not rows:
        body = f'<tr><td colspan="{len(header)}">none</td></tr>'
    return f'<table id="{table_id}"><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def column_label(name: str, labels: dict[str, str] | None = None) -> str:
    """The query's own label for a column (`# labels: name=label; ...`), else the name's
    words: patientId -> patient, deficientSince -> deficient since."""
    if labels and name in labels:
        return labels[name]
    if name == "patientId":
        return "patient"
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()


def _labels(query: named.NamedQuery) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in query.header.get("labels", "").replace("\n", " ").split(";") if "=" in item)
    return {k.strip(): " ".join(v.split()) for k, v in pairs}


def _guidelines(guidelines: list[dict[str, str]], versions: str) -> str:
    items = "".join(f"<li>{escape(g['title'])} ({escape(g.get('version', 'no version'))})"
                    f"{' <em>primary</em>' if g.get('primary') == 'true' else ''}</li>" for g in guidelines)
    listed = "".join(f"<li><code>{escape(v)}</code></li>" for v in versions.split())
    return (f'<details class="note" id="guidelines"><summary>{len(guidelines)} guidelines in the knowledge; the knowledge '
            f"versions the assessments used</summary><ul>{items}</ul><ul>{listed}</ul></details>")


def _cell(value: str) -> str:
    """A value as a reader wants it: a long decimal rounded to 4 significant digits."""
    return f"{float(value):.4g}" if _LONG_DECIMAL.match(value) else value


def _patient(row: dict[str, str]) -> str:
    return row.get("patientId", row.get("patient", ""))


def _counts(store: ox.Store, query: str, key: str, value: str) -> list[tuple[str, int]]:
    return [(r[key], int(r[value])) for r in named.rows(store, query)]


def _given(query: named.NamedQuery, as_of: date) -> dict[str, str]:
    return {"date": as_of.isoformat()} if any(p.name == "date" for p in query.params) else {}


def pack_sections(store: ox.Store, as_of: date, priorities: dict[str, str]) -> list[str]:
    """The sections the packs' cohort queries ask for (`# page:`), in their order."""
    wanted = []
    for query in named.named_queries().values():
        if "page" not in query.header:
            continue
        kind, *rest = query.header["page"].split(None, 1)
        options = dict(_OPTION.findall(rest[0] if rest else ""))
        wanted.append((int(options.get("order", 100)), query.name, kind, options, query))
    html = []
    for _, name, kind, options, query in sorted(wanted):
        heading = query.header.get("section", name)
        caption = query.header.get("caption", "")
        rows = named.rows(store, name, _given(query, as_of))
        html.append(f'<h2 id="{escape(name)}-section">{escape(heading)}</h2>')
        if kind == "histogram":
            html.append(_histogram(store, heading, caption, rows, options, priorities, _labels(query)))
        elif kind == "list":
            columns = options.get("columns", "patientId").split(",")
            html.append(_table(f"{heading} ({len(rows)})", name, [column_label(c, _labels(query)) for c in columns],
                               [[_patient(r) if c == "patientId" else _cell(r.get(c, "")) for c in columns] for r in rows[:MAX_LISTED]]))
        else:
            raise ValueError(f"cohort query {name}: unknown page kind {kind!r} (histogram or list)")
    return html


def _histogram(store: ox.Store, heading: str, caption: str, rows: list[dict[str, str]], options: dict[str, str],
               priorities: dict[str, str], labels: dict[str, str]) -> str:
    value, by = options["value"], options.get("by", "")
    marks = named.rows(store, options["marks"]) if "marks" in options else []
    unit = marks[0]["unit"] if marks else ""  # the unit comes from the ontology's thresholds
    cut_offs = [(float(m["value"]), m.get("comparator", ""), f"{m.get('comparator', '')} {float(m['value']):g} {m.get('unit', '')}".strip())
                for m in marks]
    values = [(float(r[value]), r.get(by, "")) for r in rows]
    colours = svg.priority_colours(priorities)
    upper = max([c for c, _, _ in cut_offs] or [0.0]) * 3 or None
    axis = f"{column_label(value, labels)} ({unit})" if unit else column_label(value, labels)
    chart = svg.histogram(heading, values, cut_offs, axis, colours, upper=upper)
    text = caption or f"{column_label(value, labels)} of {len(values)} patients."
    return (f"<figure>{chart}<figcaption>{escape(text)} Bins start at the cut-offs (dashed lines, as the ontology records "
            f"them; a value equal to a cut-off is counted on the side its comparator puts it); the last bin holds every value "
            f"from its lower edge up; bars are divided by {escape(column_label(by, labels) or 'category')}.</figcaption></figure>")


def _overrides(store: ox.Store) -> list[str]:
    """Clinicians' overrides of the CDS Hooks cards per rule (named query override-rate), when there is feedback."""
    rows = [r for r in named.rows(store, "override-rate") if r["by"] == "rule"]
    if not rows:
        return []
    bars = [(r["item"].rsplit("/", 1)[-1], int(r["overrides"]), svg.colour("alert")) for r in rows]
    return ['<h2 id="overrides">Overridden recommendations</h2>',
            f"<figure>{svg.horizontal_bars('Cards overridden per rule', bars, 'overrides')}"
            "<figcaption>CDS Hooks cards overridden by clinicians, per rule that made the card's conclusion.</figcaption></figure>",
            _table("Override rate per rule and statement", "override-rate", ["by", "rule or statement", "feedback", "overridden",
                                                                              "rate", "reasons"],
                   [[r["by"], r["item"], r["feedbackItems"], r["overrides"], r["rate"], r.get("reasons", "")] for r in rows]
                   + [[r["by"], r["item"], r["feedbackItems"], r["overrides"], r["rate"], r.get("reasons", "")]
                      for r in named.rows(store, "override-rate") if r["by"] == "statement"], {2, 3, 4})]


def render(store: ox.Store, as_of: date) -> str:
    """The cohort page for a store, overdue follow-ups counted as of `as_of`."""
    summary = (named.rows(store, "summary") or [{}])[0]
    guidelines = named.rows(store, "guidelines")
    primary = next((g for g in guidelines if g.get("primary") == "true"), guidelines[0] if guidelines else {})
    statuses = named.rows(store, "counts-by-status")
    priorities = {r["status"]: r.get("priority", "") for r in statuses}
    actions = _counts(store, "counts-by-action", "action", "patients")
    risks = _counts(store, "counts-by-risk-factor", "riskFactor", "patients")
    quality = named.rows(store, "counts-by-data-quality")
    months = named.rows(store, "follow-ups-by-month", {"date": as_of.isoformat()})
    overdue = named.rows(store, "overdue-follow-ups", {"date": as_of.isoformat()})
    title = primary.get("title", "b12kg")
    fills = svg.priority_colours(priorities)
    bars = [(r["status"], int(r["patients"]), fills[r["status"]]) for r in statuses]
    due_only = [int(r["due"]) - int(r["overdue"]) for r in months]

    parts = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Cohort: {escape(title)}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>Cohort: {escape(title)}</h1>",
             f'<p id="summary">{escape(summary.get("assessments", "0"))} assessments of {escape(summary.get("patients", "0"))} '
             f'patients, as of {escape(summary.get("firstAsOf", "-"))} to {escape(summary.get("lastAsOf", "-"))}. '
             "Counts use each patient's latest assessment; data quality counts every assessment. "
             f"Follow-ups are overdue as of {escape(as_of.isoformat())}.</p>",
             _guidelines(guidelines, summary.get("guidelineVersions", "")),
             '<h2 id="status">Diagnostic status</h2>',
             f"<figure>{svg.horizontal_bars('Patients by diagnostic status', bars, 'patients')}"
             "<figcaption>Patients by the status of their latest assessment, coloured by the status's priority "
             "(red: alert, amber: caution, green: reassuring, grey: neutral).</figcaption></figure>",
             _table("Patients by diagnostic status", "counts-status", ["status", "patients", "meaning"],
                    [[r["status"], r["patients"], r.get("label", "")] for r in statuses], {1}),
             *pack_sections(store, as_of, priorities),
             '<h2 id="actions">Recommended actions</h2>',
             _table("Patients by recommended action", "counts-action", ["action", "patients"], [[k, str(n)] for k, n in actions], {1}),
             '<h2 id="risk-factors">Risk factors</h2>',
             _table("Patients by risk factor", "counts-risk", ["risk factor", "patients"], [[k, str(n)] for k, n in risks], {1}),
             '<h2 id="data-quality">Data quality</h2>',
             _table("Assessments by data-quality code", "counts-data-quality", ["code", "assessments", "entries"],
                    [[r["code"], r["assessments"], r["entries"]] for r in quality], {1, 2}),
             *_overrides(store),
             '<h2 id="follow-ups">Follow-ups</h2>',
             "<figure>" + svg.stacked_bars("Follow-ups by the month they fall due", [r["month"] for r in months],
                                           [("overdue", [int(r["overdue"]) for r in months], svg.colour("alert")),
                                            ("due, not overdue", due_only, svg.PALETTE[0])], "follow-ups")
             + f"<figcaption>Follow-ups by the month they fall due; the red part of each bar is overdue as of "
               f"{escape(as_of.isoformat())} (due before it, and no result since that settles it).</figcaption></figure>",
             _table(f"Overdue follow-ups ({len(overdue)})", "overdue", ["patient", "due", "assessed as of"],
                    [[_patient(r), r["due"], r["asOf"]] for r in overdue[:MAX_LISTED]]),
             f'<p class="note">Lists show at most {MAX_LISTED} rows; <code>b12kg cohort DIR NAME</code> gives them all.</p>',
             "</body></html>"]
    return "\n".join(parts)
