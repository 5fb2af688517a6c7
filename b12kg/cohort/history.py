"""A patient's history in a cohort store: its assessments in time order and, between each
pair, what changed (status, actions, risk factors, follow-up) and which input facts changed it.

The diffs are SPARQL (queries/living/): conclusion-changes.rq compares two assessments'
conclusions, fact-changes.rq their input facts (added, removed, changed, entering or leaving
the scope of the as-of date), conclusion-basis.rq the facts each conclusion rests on. A
conclusion is said to be changed by the changed facts it rests on, before or after; one that
rests on none changed because the as-of date moved (a duration crossed, a follow-up fell due)
or because the knowledge differs, which the step says.
"""

from __future__ import annotations

from itertools import pairwise

import pyoxigraph as ox

from ..errors import InputRejected
from ..resources import query_text
from .graphs import graph_of
from .store import CohortStore

XSD_STRING = ox.NamedNode("http://www.w3.org/2001/XMLSchema#string")


def patient_iri(cohort: CohortStore, patient: str) -> str:
    """The IRI of the patient named by its IRI or its FHIR id; InputRejected when the store has none."""
    if "://" in patient:
        rows = cohort.select(query_text("living/assessments.rq"), {"patient": ox.NamedNode(patient)})
        if rows:
            return patient
    else:
        rows = cohort.select(query_text("living/patient-by-id.rq"), {"id": ox.Literal(patient)})
        if len(rows) == 1:
            return rows[0]["patient"].value
        if len(rows) > 1:
            raise InputRejected.one(patient, f"{len(rows)} patients have this FHIR id: name one by its IRI "
                                             f"({', '.join(r['patient'].value for r in rows[:3])})", field="PATIENT")
    raise InputRejected.one(patient, f"no assessment of this patient in the store {cohort.path}", field="PATIENT")


def assessments(cohort: CohortStore, patient: str) -> list[dict]:
    """The patient's assessments, oldest first (as-of date, then start time)."""
    rows = cohort.select(query_text("living/assessments.rq"), {"patient": ox.NamedNode(patient)})
    return [{"assessment": r["assessment"].value, "as_of": r["asOf"].value, "started": _value(r, "started"),
             "input_sha256": r["inputSha256"].value, "knowledge": _value(r, "knowledge"),
             "revision_of": _value(r, "previous")} for r in rows]


def _value(row: dict, name: str) -> str | None:
    return row[name].value if name in row else None


def conclusion_changes(store_like, old: str, new: str, old_graph: ox.NamedNode | None = None,
                       new_graph: ox.NamedNode | None = None) -> list[dict]:
    """The conclusions that appear, disappear or change between two assessments (conclusion-changes.rq)."""
    bindings = {"old": ox.NamedNode(old), "new": ox.NamedNode(new),
                "oldConcluded": old_graph or graph_of(old, "concluded"), "newConcluded": new_graph or graph_of(new, "concluded")}
    return [{"key": r["key"].value, "kind": r["kind"].value, "change": r["change"].value,
             "old": _value(r, "oldValue") if "oldConclusion" in r else None,
             "new": _value(r, "newValue") if "newConclusion" in r else None,
             "old_due": _value(r, "oldDue"), "new_due": _value(r, "newDue"),
             "old_conclusion": _value(r, "oldConclusion"), "new_conclusion": _value(r, "newConclusion")}
            for r in store_like.select(query_text("living/conclusion-changes.rq"), bindings)]


def fact_changes(cohort: CohortStore, old: str, new: str) -> list[dict]:
    bindings = {f"{side}{role.capitalize()}": graph_of(iri, role)
                for side, iri in (("old", old), ("new", new)) for role in ("asserted", "ignored")}
    return [{"fact": r["fact"].value, "id": _value(r, "factId"), "type": _value(r, "type"), "change": r["change"].value}
            for r in cohort.select(query_text("living/fact-changes.rq"), bindings)]


def basis(cohort: CohortStore, assessment: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for r in cohort.select(query_text("living/conclusion-basis.rq"),
                           {"assessment": ox.NamedNode(assessment), "concluded": graph_of(assessment, "concluded")}):
        found.setdefault(r["key"].value, set()).add(r["fact"].value)
    return found


def step(cohort: CohortStore, old: dict, new: dict) -> dict:
    """What changed from one assessment to the next, and which facts changed it."""
    facts = fact_changes(cohort, old["assessment"], new["assessment"])
    changed = {f["fact"]: f for f in facts}
    before, after = basis(cohort, old["assessment"]), basis(cohort, new["assessment"])
    conclusions = conclusion_changes(cohort, old["assessment"], new["assessment"])
    for item in conclusions:
        rests_on = before.get(item["key"], set()) | after.get(item["key"], set())
        item["because"] = [{"fact": changed[f]["id"] or f, "change": changed[f]["change"]} for f in sorted(rests_on) if f in changed]
        if not item["because"]:
            reasons = []
            if old["as_of"] != new["as_of"]:
                reasons.append(f"the as-of date moved from {old['as_of']} to {new['as_of']}")
            if old["knowledge"] != new["knowledge"]:
                reasons.append("the knowledge version differs")
            if facts:
                reasons.append("other facts changed: " + ", ".join(f"{f['id'] or f['fact']} ({f['change']})" for f in facts))
            item["unexplained_by_facts"] = "no fact it rests on changed; " + ("; ".join(reasons) or "nothing else changed")
    return {"from": old["assessment"], "to": new["assessment"], "from_as_of": old["as_of"], "to_as_of": new["as_of"],
            "knowledge_changed": old["knowledge"] != new["knowledge"], "conclusions": conclusions,
            "facts": [{k: v for k, v in f.items() if k != "fact" or not f["id"]} for f in facts]}


def history(cohort: CohortStore, patient: str) -> dict:
    iri = patient_iri(cohort, patient)
    found = assessments(cohort, iri)
    return {"patient": iri, "assessments": found, "steps": [step(cohort, a, b) for a, b in pairwise(found)]}


def text(found: dict) -> str:
    """The history for a terminal."""
    from ..errors import printable

    lines = [f"Patient {found['patient']}: {len(found['assessments'])} assessment(s)"]
    for index, item in enumerate(found["assessments"], 1):
        lines.append(f"  {index}. as of {item['as_of']} (input {item['input_sha256'][:12]}, started {item['started'] or '?'})")
    for number, part in enumerate(found["steps"], 1):
        lines += ["", f"{number} -> {number + 1}: as of {part['from_as_of']} -> {part['to_as_of']}"
                  + (" (other knowledge)" if part["knowledge_changed"] else "")]
        if not part["conclusions"]:
            lines.append("  no conclusion changed")
        for c in part["conclusions"]:
            value = {"appears": f"+ {c['new']}", "disappears": f"- {c['old']}"}.get(c["change"], f"{c['old']} -> {c['new']}")
            if c["old_due"] != c["new_due"] and c["change"] == "changes":
                value += f" (due {c['old_due']} -> {c['new_due']})"
            why = ", ".join(f"{b['fact']} ({b['change']})" for b in c["because"]) or c.get("unexplained_by_facts", "")
            lines.append(f"  {c['kind']} {c['key']}: {value}; because: {why}")
        if part["facts"]:
            lines.append("  facts: " + ", ".join(f"{f.get('id') or f.get('fact')} {f['change']}" for f in part["facts"]))
    return "\n".join(printable(line, None) for line in lines) + "\n"
