"""Issue 23, item 2: SNOMED CT descendants of the conditions and procedures the guideline names
(ontology/b12/b12-condition-codes.ttl). Small bundles built inline; the expected outcomes are
derived by hand from the contract (CONTRACT.md): gastric bypass, gastrectomy and small intestine
resection give the risk factor `gastric-or-intestinal-resection`; the irreversible causes that make
`lifelong-maintenance` are pernicious anaemia, gastrectomy (total or partial) and ileal resection,
so a Roux-en-Y bypass does not, a sleeve gastrectomy (a partial gastrectomy) does; coeliac disease
and Crohn's disease are malabsorption disorders (`malabsorption`); a diabetic polyneuropathy is a
peripheral neuropathy (population)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import rdflib
from records import write_bundle

from b12kg.knowledge import load_knowledge

AS_OF = date(2026, 11, 24)
SCT = "http://snomed.info/sct"
FILE = Path(__file__).resolve().parents[1] / "ontology" / "b12" / "b12-condition-codes.ttl"
DCT_SOURCE = rdflib.URIRef("http://purl.org/dc/terms/source")


def _condition(rid: str, code: str, onset: str = "2025-06-01") -> dict:
    return {"resourceType": "Condition", "id": rid,
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"coding": [{"system": SCT, "code": code}]}, "onsetDateTime": onset}


def _procedure(rid: str, code: str, performed: str = "2017-09-12") -> dict:
    return {"resourceType": "Procedure", "id": rid, "status": "completed",
            "code": {"coding": [{"system": SCT, "code": code}]}, "performedDateTime": performed}


def _b12(value: float) -> dict:
    return {"resourceType": "Observation", "id": "obs-b12-1", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2132-9"}]}, "effectiveDateTime": "2026-11-02",
            "valueQuantity": {"value": value, "unit": "pg/mL", "system": "http://unitsofmeasure.org", "code": "pg/mL"}}


def _assess(assessor, tmp_path: Path, pid: str, *resources: dict) -> dict:
    return assessor.assess(write_bundle(tmp_path / f"{pid}.json", pid, *resources), AS_OF).document


def _risks(doc: dict) -> dict[str, list[str]]:
    return {r["code"]: r["based_on"] for r in doc["risk_factors"]}


def _actions(doc: dict) -> set[str]:
    return {r["action"] for r in doc["recommendations"]}


def test_roux_en_y_gastric_bypass_is_a_resection_not_an_irreversible_cause(assessor, tmp_path):
    # 443906008 "Bypass of stomach with short limb Roux-en-Y gastroenterostomy"; B12 150 pg/mL: confirmed
    doc = _assess(assessor, tmp_path, "ryg", _condition("cond-pn", "302226006"), _b12(150), _procedure("proc-bypass", "443906008"))
    assert doc["b12_status"]["value"] == "confirmed"
    assert _risks(doc) == {"gastric-or-intestinal-resection": ["proc-bypass"]}
    actions = _actions(doc)
    assert {"oral-b12-high-dose", "follow-up-3-months", "enhanced-monitoring"} <= actions
    assert "lifelong-maintenance" not in actions


@pytest.mark.parametrize("code", ["427074001", "85217002", "1260434005"])  # sleeve, distal subtotal, robotic total
def test_partial_or_total_gastrectomy_needs_lifelong_maintenance(assessor, tmp_path, code):
    doc = _assess(assessor, tmp_path, f"gx-{code}", _condition("cond-pn", "302226006"), _b12(150), _procedure("proc-gx", code))
    assert _risks(doc) == {"gastric-or-intestinal-resection": ["proc-gx"]}
    lifelong = [r for r in doc["recommendations"] if r["action"] == "lifelong-maintenance"]
    assert len(lifelong) == 1 and "proc-gx" in lifelong[0]["based_on"], lifelong


def test_ileal_resection_needs_lifelong_maintenance_and_jejunal_resection_does_not(assessor, tmp_path):
    ileal = _assess(assessor, tmp_path, "ileal", _condition("cond-pn", "302226006"), _b12(150), _procedure("proc-ileum", "307193005"))
    assert _risks(ileal) == {"gastric-or-intestinal-resection": ["proc-ileum"]}
    assert "lifelong-maintenance" in _actions(ileal)
    jejunal = _assess(assessor, tmp_path, "jejunal", _condition("cond-pn", "302226006"), _b12(150), _procedure("proc-jej", "116027003"))
    assert _risks(jejunal) == {"gastric-or-intestinal-resection": ["proc-jej"]}
    assert "lifelong-maintenance" not in _actions(jejunal)


@pytest.mark.parametrize("code", ["91867008", "38106008", "26629001"])  # adult coeliac, Crohn's of ileum, short bowel
def test_malabsorption_disorders(assessor, tmp_path, code):
    doc = _assess(assessor, tmp_path, f"mal-{code}", _condition("cond-pn", "302226006"), _b12(150), _condition("cond-mal", code))
    assert _risks(doc) == {"malabsorption": ["cond-mal"]}
    assert "enhanced-monitoring" in _actions(doc) and "lifelong-maintenance" not in _actions(doc)


def test_ulcerative_colitis_is_not_read_as_malabsorption(assessor, tmp_path):
    # 64766004 is in the VSAC 'Malabsorption Syndromes' value set but was left out: colonic disease does
    # not impair B12 absorption (ileum) and the guideline names coeliac and Crohn's disease
    doc = _assess(assessor, tmp_path, "uc", _condition("cond-pn", "302226006"), _b12(150), _condition("cond-uc", "64766004"))
    assert _risks(doc) == {}


@pytest.mark.parametrize("code", ["1511000119107", "71791000119104"])  # peripheral neuropathy due to type 2 / type 1 diabetes
def test_diabetic_peripheral_neuropathy_puts_the_patient_in_the_population(assessor, tmp_path, code):
    doc = _assess(assessor, tmp_path, f"dpn-{code}", _condition("cond-dpn", code), _b12(150))
    assert doc["population"]["in"] is True and doc["population"]["based_on"] == ["cond-dpn"]
    assert doc["b12_status"]["value"] == "confirmed"


def test_every_code_in_the_file_names_its_source_and_licence():
    graph = rdflib.Graph().parse(FILE, format="turtle")
    codes = {s for s in graph.subjects(rdflib.RDF.type, None) if str(s).startswith("http://snomed.info/id/")}
    assert len(codes) > 100
    license_ = rdflib.URIRef("http://purl.org/dc/terms/license")
    for code in codes:
        sources = list(graph.objects(code, DCT_SOURCE))
        assert sources, code
        for source in sources:
            assert "/blob/d80fd0ae5cae13780a0132c10192e2613cebb559/" in str(source), (code, source)
            assert (source, license_, rdflib.URIRef("https://creativecommons.org/publicdomain/zero/1.0/")) in graph


def test_the_file_is_loaded_with_the_b12_pack():
    knowledge = load_knowledge()
    b12 = rdflib.Namespace("https://w3id.org/b12kg/b12#")
    sct = rdflib.Namespace("http://snomed.info/id/")
    assert (sct["443906008"], rdflib.RDF.type, b12.GastricOrIntestinalResectionCode) in knowledge.graph
    assert (sct["427074001"], rdflib.RDF.type, b12.GastrectomyCode) in knowledge.graph
    assert (sct["443906008"], rdflib.RDF.type, b12.GastrectomyCode) not in knowledge.graph
