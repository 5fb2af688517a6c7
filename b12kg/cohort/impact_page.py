"""The impact report as one self-contained HTML page: the two knowledge versions, the counts,
the edits with the conclusions and patients each explains (a bar chart), and the changes per
patient. Every value is escaped; no scripts, no external assets."""

from __future__ import annotations

from html import escape

from . import svg
from .page import CSS

MAX_PATIENTS = 500


def _short(iri: str | None) -> str:
    if iri is None:
        return "-"
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1] if "://" in iri else iri


def render(report: dict) -> str:
    counts = report["counts"]
    edits = report["edits"]
    bars = [(_short(e["id"]), e["conclusions"], svg.PALETTE[0]) for e in edits]
    rows = []
    for e in edits:
        changed = "; ".join(f"{_short(c['property'])}: {c['old'] if c['old'] is not None else '-'} → "
                            f"{c['new'] if c['new'] is not None else '-'}" for c in e["changes"])
        rows.append(f"<tr><td title=\"{escape(e['id'])}\">{escape(_short(e['id']))}</td><td>{escape(e['kind'] or '')}</td>"
                    f"<td>{escape(e['label'] or '')}</td><td>{escape(changed)}</td>"
                    f"<td class=num>{e['conclusions']}</td><td class=num>{e['patients']}</td></tr>")
    people = []
    for p in report["patients"][:MAX_PATIENTS]:
        for c in p["changes"]:
            value = {"appears": f"+ {c['new']}", "disappears": f"- {c['old']}"}.get(c["change"], f"{c['old']} → {c['new']}")
            why = ", ".join(_short(e) for e in c["explained_by"]) or "unexplained"
            if c.get("via"):
                why += f" (via {', '.join(c['via'])})"
            people.append(f"<tr><td>{escape(_short(p['patient']))}</td><td>{escape(c['kind'])}</td><td>{escape(c['key'])}</td>"
                          f"<td>{escape(value)}</td><td>{escape(why)}</td></tr>")
    summary = (f"{counts['assessed']} patients assessed under both versions; {counts['patients_changed']} with a changed "
               f"conclusion ({counts['appears']} appear, {counts['disappears']} disappear, {counts['changes']} change value; "
               f"{counts['unexplained']} not explained by an edit). {counts['without_input']} assessments kept no input, "
               f"{counts['refused']} inputs were refused.")
    return "\n".join([
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Knowledge change impact</title>"
        f"<style>{CSS}</style></head><body>",
        "<h1>Knowledge change impact</h1>",
        f"<p>From <code>{escape(report['old']['spec'])}</code> ({escape(_short(report['old']['knowledge'])[:12])}) to "
        f"<code>{escape(report['new']['spec'])}</code> ({escape(_short(report['new']['knowledge'])[:12])}), "
        f"store <code>{escape(report['store'])}</code>.</p>",
        f'<p id="summary">{escape(summary)}</p>',
        '<h2 id="edits">Edits</h2>',
        f"<figure>{svg.horizontal_bars('Changed conclusions per knowledge edit', bars, 'conclusions')}"
        "<figcaption>Conclusions each edit explains (an edit explains a conclusion that depends on it: its rule, a "
        "threshold, a statement, a code).</figcaption></figure>",
        "<table id=edits-table><caption>Knowledge edits</caption><tr><th>edit</th><th>kind</th><th>label</th><th>changed</th>"
        "<th>conclusions</th><th>patients</th></tr>", *rows, "</table>",
        '<h2 id="patients">Changes per patient</h2>',
        "<table id=changes><tr><th>patient</th><th>kind</th><th>conclusion</th><th>change</th><th>explained by</th></tr>",
        *people, "</table>",
        f'<p class="note">At most {MAX_PATIENTS} patients are listed; the JSON report (--json) has them all.</p>',
        "</body></html>"])
