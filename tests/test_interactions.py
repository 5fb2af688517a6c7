"""Guidelines meeting for a patient (contract section 8): the interaction cases of
tests/cases/interactions/ (one per row of the table in companions.md, and negatives),
the companion guidelines' own conclusions, and the interactions' provenance in RDF."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyoxigraph as ox
import pytest

CASES = Path(__file__).resolve().parent / "cases" / "interactions"
EXPECTED = sorted(p for p in CASES.parent.glob("*/*.expected.json") if p.parent.name != "b12")
"""The interaction cases and the companion packs' (tests/cases/<pack>/); the primary pack's, in
tests/cases/b12/, are test_cases.py's."""
GM = "https://w3id.org/b12kg/model#"
PROV = "http://www.w3.org/ns/prov#"


def _assess(assessor, expected_file: Path):
    expected = json.loads(expected_file.read_text())
    path = expected_file.with_name(expected_file.name.replace(".expected.json", ".json"))
    return expected, assessor.assess(path, date.fromisoformat(expected["as_of"]))


def test_every_row_of_the_companions_table_has_a_case():
    types = {i["type"] for e in EXPECTED for i in json.loads(e.read_text())["interactions"]}
    assert types == {"contradiction", "repetition", "alternative-actions", "repairable-transition"}
    assert any(not json.loads(e.read_text())["interactions"] for e in EXPECTED)


@pytest.mark.parametrize("expected_file", EXPECTED, ids=lambda p: p.name[: -len(".expected.json")])
def test_interaction_case(expected_file: Path, assessor):
    expected, result = _assess(assessor, expected_file)
    doc = result.document
    assert doc["b12_status"]["value"] == expected["b12_status"]
    actions = {r["action"] for r in doc["recommendations"]}
    assert set(expected["actions"].get("must", [])) <= actions
    assert not set(expected["actions"].get("must_not", [])) & actions
    if "risk_factors" in expected:
        assert sorted(r["code"] for r in doc["risk_factors"]) == sorted(expected["risk_factors"])
    # companion conclusions: beside the primary guideline's, with their own evidence
    companion = {c["code"]: c for g in doc["guidelines"] if not g["primary"] for c in g["conclusions"]}
    assert set(expected["companions"].get("must", [])) <= set(companion), sorted(companion)
    assert not set(expected["companions"].get("must_not", [])) & set(companion)
    if expected["companions"].get("none"):
        assert not companion
    assert not {c["code"] for c in companion.values()} & actions, "a companion's conclusion leaked into the B12 recommendations"
    for c in companion.values():
        assert c["evidence"] and all(e["statement"] and e["citation"] for e in c["evidence"])
    # interactions: exactly the expected ones, each with both sides' statements verbatim
    got = sorted((i["type"], sorted({r["guideline"] for r in i["recommendations"] if r["role"] == "recommendation"}))
                 for i in doc["interactions"])
    want = sorted((i["type"], sorted(i["guidelines"])) for i in expected["interactions"])
    assert got == want, json.dumps(doc["interactions"], indent=1)[:3000]
    for want_item in expected["interactions"]:
        item = next(i for i in doc["interactions"] if i["type"] == want_item["type"])
        assert set(want_item["based_on"]) <= set(item["based_on"]), item["based_on"]
        assert want_item.get("resolution_has", "") in item["resolution"]
        assert len({r["guideline"] for r in item["recommendations"]}) >= 2
        assert all(r["statement"] and r["citation"] for r in item["recommendations"])


def test_metformin_is_never_to_be_stopped(assessor):
    _, result = _assess(assessor, CASES / "repairable-transition-fires-type-2-diabetes-metformin-over-4-months.expected.json")
    doc = result.document
    codes = {r["action"] for r in doc["recommendations"]} | {c["code"] for g in doc["guidelines"] if not g["primary"] for c in g["conclusions"]}
    assert not any("stop" in code for code in codes)
    repair = next(i for i in doc["interactions"] if i["type"] == "repairable-transition")
    assert "never for stopping metformin" in repair["resolution"]
    cited = {r["statement"] for r in repair["recommendations"]}
    assert any(s.startswith("Metformin, if not contraindicated") for s in cited)  # ADA 8.5, the cause
    assert any("continue metformin therapy" in s for s in cited)  # MHRA, the repair


def test_folic_acid_contradiction_compares_the_dose_with_both_thresholds(assessor):
    _, result = _assess(assessor, CASES / "contradiction-fires-could-become-pregnant-folic-acid-0_4-mg.expected.json")
    store = ox.Store()
    store.extend(result.quads)
    rows = list(store.query(f"""SELECT ?t WHERE {{ GRAPH ?g {{ ?i a <{GM}Contradiction> ; <{GM}comparedWith> ?t }} }}""",
                            use_default_graph_as_union=False))
    thresholds = {row["t"].value.rsplit("#", 1)[-1] for row in rows}
    assert {"threshold-folic-acid-daily", "threshold-folic-acid-min", "threshold-folic-acid-max"} <= thresholds


def test_interaction_provenance_in_rdf(assessor):
    """Each interaction is a prov:Entity generated by the assessment, derived from both
    conclusions, naming both guidelines (with their versions in the cited graph) and the facts."""
    _, result = _assess(assessor, CASES / "alternative-actions-fires-ppi-over-12-months.expected.json")
    store = ox.Store()
    store.extend(result.quads)
    ask = f"""ASK {{
      ?i a <{GM}AlternativeActions>, <{PROV}Entity> ; <{PROV}wasGeneratedBy> ?a ; <{GM}basedOn> ?fact ;
         <{GM}involvesGuideline> <https://w3id.org/b12kg/guideline/aga-ppi-deprescribing-2022>, <https://w3id.org/b12kg/guideline/b12-neuropathy> ;
         <{PROV}wasDerivedFrom> ?review, ?risk .
      ?a a <{GM}Assessment> .
      ?review <{GM}concerns> <https://w3id.org/b12kg/aga#action-review-ppi-indication> .
      ?risk <{GM}concerns> <https://w3id.org/b12kg/b12#rf-ppi> .
      GRAPH <https://w3id.org/b12kg/graph/cited-guideline> {{
        <https://w3id.org/b12kg/guideline/aga-ppi-deprescribing-2022> <http://www.w3.org/2002/07/owl#versionInfo> "2022" .
        <https://w3id.org/b12kg/aga#stmt-bpa-10> <{GM}statementText> ?bpa10 . }}
    }}"""
    assert store.query(ask, use_default_graph_as_union=True)


def test_explanation_shows_both_statements_side_by_side_and_the_resolution(assessor):
    from b12kg.render.explain import render

    _, result = _assess(assessor, CASES / "contradiction-fires-could-become-pregnant-folic-acid-0_4-mg.expected.json")
    interaction = result.document["interactions"][0]
    statements = [r["statement"] for r in interaction["recommendations"]]
    text = render(result, assessor.knowledge, "text")
    primary_part, section = text.split("Other guidelines and their interactions", 1)
    assert "uspstf-folic-acid-0.4-0.8-mg-daily" not in primary_part, "a companion's conclusion in the B12 guideline's part"
    assert "uspstf-folic-acid-0.4-0.8-mg-daily" in section
    assert all(s in section for s in statements) and interaction["resolution"] in section
    assert "med-folic (0.4 mg/d) meets > 0.1 mg/d" in section and "meets >= 0.4 mg/d" in section
    page = render(result, assessor.knowledge, "html")
    html_section = page.split('id="other-guidelines"', 1)[1]
    side = html_section.split('class="side-by-side"', 1)[1].split("</div></div>", 1)[0]
    assert side.count("<blockquote>") == 2 and "USPSTF" in side and "Avoid folic acid alone" in side
    assert "Resolution:" in html_section and "<script" not in page


def test_no_section_noise_when_nothing_meets(assessor):
    from b12kg.render.explain import render

    _, result = _assess(assessor, CASES / "no-interaction-only-b12-guideline.expected.json")
    text = render(result, assessor.knowledge, "text")
    assert "None found: no recommendations of different guidelines meet for this patient." in text
