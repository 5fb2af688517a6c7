"""Assessment identity (contract section 7): one patient's assessments on several dates,
or from several exports, merged into one dataset keep their activities, dates and
conclusions apart."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyoxigraph as ox

from b12kg.render.rdf import to_rdf

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ex1-confirmed-oral.json"
PER_ASSESSMENT = """
PREFIX gm: <https://w3id.org/b12kg/model#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?assessment (COUNT(DISTINCT ?asOf) AS ?dates) (SAMPLE(?asOf) AS ?date)
       (COUNT(DISTINCT ?followUp) AS ?followUps) (COUNT(DISTINCT ?due) AS ?dues) (SAMPLE(?due) AS ?dueDate)
       (COUNT(DISTINCT ?status) AS ?statuses)
WHERE {
  ?assessment a gm:Assessment ; gm:asOf ?asOf .
  ?followUp a gm:FollowUp ; prov:wasGeneratedBy ?assessment ; gm:dueDate ?due .
  ?status a gm:StatusFinding ; prov:wasGeneratedBy ?assessment .
}
GROUP BY ?assessment ORDER BY ?date
"""


def _merged(*trig: str) -> ox.Store:
    store = ox.Store()
    for text in trig:
        store.load(text.encode("utf-8"), format=ox.RdfFormat.TRIG)
    return store


def _rows(store: ox.Store) -> list[dict]:
    solutions = store.query(PER_ASSESSMENT, use_default_graph_as_union=True)
    names = [v.value for v in solutions.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in solutions]


def test_two_dates_of_one_patient_stay_apart(assessor):
    first = assessor.assess(EXAMPLE, date(2026, 11, 24))
    second = assessor.assess(EXAMPLE, date(2027, 6, 1))
    rows = _rows(_merged(to_rdf(first.quads, "trig"), to_rdf(second.quads, "trig")))
    assert len(rows) == 2, rows
    assert [r["date"] for r in rows] == ["2026-11-24", "2027-06-01"]
    assert [r["dueDate"] for r in rows] == [first.document["follow_up"]["due"], second.document["follow_up"]["due"]]
    assert rows[0]["dueDate"] != rows[1]["dueDate"]
    for row in rows:  # one as-of date, one follow-up with one due date, one status per activity
        assert (row["dates"], row["followUps"], row["dues"], row["statuses"]) == ("1", "1", "1", "1"), row
    assert rows[0]["assessment"] != rows[1]["assessment"]


def test_two_exports_on_one_date_stay_apart(assessor, tmp_path):
    copy = tmp_path / "ex1-reexported.json"
    copy.write_text(EXAMPLE.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # other bytes, same facts
    first = assessor.assess(EXAMPLE, date(2026, 11, 24))
    second = assessor.assess(copy, date(2026, 11, 24))
    rows = _rows(_merged(to_rdf(first.quads, "trig"), to_rdf(second.quads, "trig")))
    assert len(rows) == 2 and rows[0]["assessment"] != rows[1]["assessment"]
    for row in rows:
        assert (row["dates"], row["followUps"], row["statuses"]) == ("1", "1", "1"), row


def test_assessment_iri_names_patient_date_and_input(assessor):
    result = assessor.assess(EXAMPLE, date(2026, 11, 24))
    gm = "https://w3id.org/b12kg/model#"
    activity = next(q.subject.value for q in result.quads
                    if q.predicate.value == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type" and q.object.value == gm + "Assessment")
    patient = next(q.object.value for q in result.quads if q.predicate.value == gm + "assessedPatient")
    assert activity == f"{patient}/assessment/2026-11-24/{result.loaded.source_sha256}"
    concluded = {q.subject.value for q in result.quads if q.predicate.value == gm + "derivedBy"}
    assert concluded and all(c.startswith(activity + "/conclusion/") for c in concluded)
