"""Issue 23, item 5 ("nothing silent"): medication records coded in RxNorm or NDC by codes no table
resolves, and carrying no name (no text, no display), are counted once per record (data_quality
medication-code-unresolved, about no fact, with the number of records and of codes, and the codes);
records set aside (cancelled...) are not counted, a record another of whose codings resolves is
read, and a record with a name is read by its name (medication-unrecognised-code when it names a
drug a guideline reads). Expectations written by hand from the records."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from records import write_bundle

from b12kg.knowledge import load_knowledge

CASES = Path(__file__).resolve().parent / "cases" / "b12"
AS_OF = date(2026, 11, 24)
NDC = "http://hl7.org/fhir/sid/ndc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _notes(doc: dict, code: str = "medication-code-unresolved") -> list[dict]:
    return [note for note in doc["data_quality"] if note["code"] == code]


def _statement(rid: str, system: str, code: str, text: str | None = None, status: str = "active") -> dict:
    concept = {"coding": [{"system": system, "code": code}], **({"text": text} if text else {})}
    return {"resourceType": "MedicationStatement", "id": rid, "status": status, "medicationCodeableConcept": concept,
            "effectivePeriod": {"start": "2026-03-01"}}


def test_one_summary_note_counting_records_and_codes(assessor):
    doc = assessor.assess(CASES / "data-quality-medication-code-unresolved-summary-once-per-record.json", AS_OF).document
    [note] = _notes(doc)
    assert note["fact"] is None
    # med-statin-1, med-statin-2 (RxNorm 259255) and med-amlodipine (RxNorm 197361), coded without a name:
    # 3 records, 2 codes; the cancelled simvastatin (312961) is set aside, the lisinopril order (314076) is
    # read by its display, the metformin product (860975) is resolved
    assert note["detail"].startswith("3 medication records are coded by 2 codes that no table"), note
    assert "(RxNorm 197361, RxNorm 259255)" in note["detail"], note
    assert "312961" not in note["detail"] and "860975" not in note["detail"] and "314076" not in note["detail"]
    assert [r["code"] for r in doc["risk_factors"]] == ["metformin-over-4-months"]


def test_not_when_another_coding_resolves(assessor):
    doc = assessor.assess(CASES / "data-quality-medication-code-unresolved-not-when-another-coding-resolves.json", AS_OF).document
    assert not _notes(doc)


def test_ndc_counted_and_local_codes_not(assessor, tmp_path):
    path = write_bundle(tmp_path / "ndc.json", "pat-ndc",
                   _statement("med-ndc", NDC, "0069-3060-86"),
                   _statement("med-local", "http://example.org/formulary", "LIS10", "Lisinopril 10 mg"))
    doc = assessor.assess(path, AS_OF).document
    [note] = _notes(doc)
    assert note["fact"] is None
    assert note["detail"].startswith("1 medication record is coded by 1 code that no table"), note
    assert "(NDC 0069-3060-86)" in note["detail"], note
    assert not _notes(doc, "medication-unrecognised-code")  # neither names a drug the guideline reads


def test_unresolved_code_of_a_guideline_drug_named_in_text(assessor, tmp_path):
    """An RxNorm product code missing from the tables, with text naming metformin: reported per resource
    (medication-unrecognised-code, contract 6), not again in the summary (it was read by its name)."""
    path = write_bundle(tmp_path / "rx.json", "pat-rx", _statement("med-rx", RXNORM, "99999999", "Metformin 500 mg tablet"))
    doc = assessor.assess(path, AS_OF).document
    assert [n["fact"] for n in _notes(doc, "medication-unrecognised-code")] == ["med-rx"]
    assert not _notes(doc)
    assert doc["risk_factors"] == []


def test_a_record_named_for_another_drug_is_read_by_its_name(assessor, tmp_path):
    """A Synthea-like record: RxNorm codes the tables do not hold, each with its display naming a drug
    no guideline reads: nothing unresolved, nothing unrecognised."""
    path = write_bundle(tmp_path / "named.json", "pat-named", _statement("med-a", RXNORM, "308182", "Amoxicillin 250 MG Oral Capsule"),
                   _statement("med-b", RXNORM, "313782", "Acetaminophen 325 MG Oral Tablet"))
    doc = assessor.assess(path, AS_OF).document
    assert not _notes(doc) and not _notes(doc, "medication-unrecognised-code")


def test_same_note_alone_and_in_a_chunk(assessor, tmp_path):
    """The codes are listed in one order whatever the other patients of the chunk."""
    case = CASES / "data-quality-medication-code-unresolved-summary-once-per-record.json"
    other = write_bundle(tmp_path / "other.json", "pat-other", _statement("med-x", RXNORM, "197361"),
                    _statement("med-y", RXNORM, "1000126"))
    alone = _notes(assessor.assess(case, AS_OF).document)
    together = {str(path): item.document for path, item in assessor.assess_many([other, case], AS_OF)}
    assert _notes(together[str(case)]) == alone
    [note] = _notes(together[str(other)])
    assert "(RxNorm 1000126, RxNorm 197361)" in note["detail"]


def test_the_code_is_declared_with_its_systems():
    graph = load_knowledge().graph
    found = graph.query("""
        PREFIX pt: <https://w3id.org/b12kg/patient#>
        PREFIX gm: <https://w3id.org/b12kg/model#>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?uri WHERE { ?dq skos:notation "medication-code-unresolved" ; skos:definition ?d ; pt:countsCodesOf ?uri .
                            ?cs a gm:CodeSystem ; gm:systemUri ?uri }""")
    assert {str(row[0]) for row in found} == {RXNORM, NDC}


def test_metformin_product_861007_with_and_without_its_display(assessor, tmp_path):
    """Issue 23's done-when: metformin hydrochloride 500 MG Oral Tablet (RxNorm 861007) ordered
    2026-01-15 and active gives the metformin risk factor at 2026-11-24 (over 4 months), with or
    without its display: the code alone resolves it through the product table."""
    for display in ("metformin hydrochloride 500 MG Oral Tablet", None):
        coding = {"system": RXNORM, "code": "861007", **({"display": display} if display else {})}
        order = {"resourceType": "MedicationRequest", "id": "med-861007", "status": "active", "intent": "order",
                 "medicationCodeableConcept": {"coding": [coding]}, "authoredOn": "2026-01-15"}
        doc = assessor.assess(write_bundle(tmp_path / f"m-{bool(display)}.json", "pat-861007", order), AS_OF).document
        assert [r["code"] for r in doc["risk_factors"]] == ["metformin-over-4-months"], display
        assert doc["risk_factors"][0]["based_on"] == ["med-861007"]
        assert not _notes(doc) and not _notes(doc, "medication-unrecognised-code")
