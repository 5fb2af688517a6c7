"""CDS Hooks as the sandbox and an EHR call it, with the 22 real Synthea bundles of
tests/realworld/synthea (issue 22). Each patient's record is sent as prefetch in the two
shapes clients use: the transaction Bundle's own resources, whose references are
`urn:uuid:` (as a client holding a Synthea Bundle sends them), and a FHIR server's search
answers, whose references are `Patient/<id>` (as the sandbox's FHIR server answers the
discovery templates). Both give the cards an in-process assessment of the whole bundle
gives (what `batch` concludes), and the cards carry each conclusion the record's expected
file requires. The practitioner file (no Patient) is refused with a message."""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from cds_hooks_rules import check_response  # noqa: E402
from servers import LiveService  # noqa: E402

from b12kg.api import Api  # noqa: E402
from b12kg.render.fhir import facts  # noqa: E402
from b12kg.render.vocabulary import vocabulary  # noqa: E402
from b12kg.serve.cds import Config, create_app  # noqa: E402
from b12kg.serve.cds.cards import patient_cards  # noqa: E402
from b12kg.serve.cds.prefetch import templates  # noqa: E402

SYNTHEA = Path(__file__).resolve().parent / "realworld" / "synthea"
BUNDLES = sorted(p for p in SYNTHEA.glob("*.json") if not p.name.endswith(".expected.json"))
AS_OF = "2026-11-24"
_UUID = re.compile(r"urn:uuid:([0-9a-f-]{36})")


@pytest.fixture(scope="module")
def service(assessor, tmp_path_factory):
    live = LiveService(create_app(Config(as_of=date.fromisoformat(AS_OF), feedback_db=tmp_path_factory.mktemp("syn") / "fb.sqlite3"),
                                  Api(assessor)))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def client(service):
    with httpx.Client(base_url=service.url, timeout=300) as c:
        yield c


def _matches(resource: dict, template: str) -> bool:
    """Whether a FHIR server would return `resource` for a discovery template (type and code filter)."""
    path, _, query = template.partition("?")
    if resource["resourceType"] != path.split("/")[0]:
        return False
    codes = parse_qs(query).get("code")
    if not codes:
        return True
    wanted = set(codes[0].split(","))
    return any(f"{c.get('system')}|{c.get('code')}" in wanted for c in (resource.get("code") or {}).get("coding", []))


def _as_search_answer(resource: dict, types: dict[str, str]) -> dict:
    """A resource as a FHIR server gives it back after the transaction: references as Type/id."""
    text = _UUID.sub(lambda m: f"{types.get(m.group(1), 'Patient')}/{m.group(1)}", json.dumps(resource))
    return json.loads(text)


def prefetch(bundle: dict, knowledge, shape: str) -> dict:
    """The prefetch a client sends for the discovery templates: `transaction` (the bundle's own
    resources and fullUrls, urn:uuid references) or `search` (searchset answers, Patient/<id> references)."""
    types = {e["resource"]["id"]: e["resource"]["resourceType"] for e in bundle["entry"]}
    found = {}
    for key, template in templates(knowledge).items():
        entries = [e for e in bundle["entry"] if _matches(e["resource"], template)]
        if key == "patient":
            found[key] = (entries[0]["resource"] if shape == "transaction" else _as_search_answer(entries[0]["resource"], types)) \
                if entries else None
            continue
        if shape == "transaction":
            found[key] = {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": e["fullUrl"], "resource": e["resource"]}
                                                                                   for e in entries]}
        else:
            found[key] = {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": [
                {"fullUrl": f"https://ehr.example/fhir/{e['resource']['resourceType']}/{e['resource']['id']}",
                 "resource": _as_search_answer(e["resource"], types), "search": {"mode": "match"}} for e in entries]}
    return found


def _request(bundle: dict, knowledge, shape: str, hook: str = "patient-view") -> dict:
    patient = next((e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"), "no-patient")
    return {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "hook": hook, "fhirServer": None,
            "context": {"userId": "Practitioner/example", "patientId": patient}, "prefetch": prefetch(bundle, knowledge, shape)}


def _shape(cards: list[dict]) -> list[tuple[str, str]]:
    return sorted((c["indicator"], c["summary"]) for c in cards)


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.stem.split("_")[0] + "-" + p.stem.split("_")[1][:8] if "_" in p.stem else p.stem)
def test_synthea_record_in_both_prefetch_shapes(client, assessor, path):
    bundle = json.loads(path.read_text())
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text())
    knowledge = assessor.knowledge
    if expected.get("exit_code") == 2:  # the practitioner file: no Patient to assess
        for shape in ("transaction", "search"):
            body = _request(bundle, knowledge, shape)
            body.pop("fhirServer")
            response = client.post("/cds-services/b12-patient-view", json=body)
            assert response.status_code == 400 and "Patient is needed" in response.json()["error"]
        return
    whole = Api(assessor).assess(bundle, date.fromisoformat(AS_OF), path.name).assessment  # as batch reads the whole file
    assert whole.document["b12_status"]["value"] == expected["b12_status"]
    reference = _shape(patient_cards(whole.document, facts(whole, knowledge), vocabulary(knowledge), []))
    vocab = vocabulary(knowledge)
    for shape in ("transaction", "search"):
        body = _request(bundle, knowledge, shape)
        body.pop("fhirServer")
        response = client.post("/cds-services/b12-patient-view", json=body)
        assert response.status_code == 200, response.text
        check_response(response.json())
        cards = response.json()["cards"]
        assert not any("refused" in c["summary"] for c in cards), (shape, cards)
        assert _shape(cards) == reference, shape
        summaries = " | ".join(c["summary"] for c in cards)
        for action in expected["actions"]["must"]:
            item = vocab.items[action]
            assert (item.plan_label and item.plan_label in summaries) or item.summary in summaries, (shape, action)
        for action in expected["actions"]["must_not"]:
            item = vocab.items[action]
            assert item.summary not in summaries and not (item.plan_label and f": {item.plan_label}" in summaries), (shape, action)


def test_synthea_patient_order_select(client, assessor):
    """order-select as an EHR sends it for a Synthea patient (Dirk Kuhlman: neuropathy, no serum B12 on
    record): selecting folic acid 1 mg daily without B12 therapy raises the issue and records it on the draft."""
    path = next(p for p in BUNDLES if p.name.startswith("Dirk_Kuhlman"))
    bundle = json.loads(path.read_text())
    body = _request(bundle, assessor.knowledge, "search", "order-select")
    body.pop("fhirServer")
    pid = body["context"]["patientId"]
    folic = {"resourceType": "MedicationRequest", "id": "draft-folic", "status": "draft", "intent": "order",
             "subject": {"reference": f"Patient/{pid}"}, "authoredOn": AS_OF,
             "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "4511",
                                                       "display": "folic acid"}], "text": "folic acid"},
             "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                                    "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "mg", "system": "http://unitsofmeasure.org",
                                                                      "code": "mg"}}]}]}
    other = copy.deepcopy(folic) | {"id": "draft-other"}
    body["context"]["draftOrders"] = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": folic}, {"resource": other}]}
    body["context"]["selections"] = ["MedicationRequest/draft-folic"]
    response = client.post("/cds-services/b12-order-select", json=body)
    assert response.status_code == 200, response.text
    check_response(response.json())
    (card,) = response.json()["cards"]
    assert card["indicator"] == "warning" and "Folic acid" in card["summary"]
    assert "**`folic acid`**" in card["detail"]  # the drug named by its display text
    (action,) = response.json()["systemActions"]
    assert action["type"] == "update" and action["resource"]["id"] == "draft-folic"
    body["context"]["selections"] = ["MedicationRequest/not-a-draft"]
    assert client.post("/cds-services/b12-order-select", json=body).status_code == 400


def test_templates_stay_in_the_recommended_prefetch_subset(assessor):
    """CDS Hooks 2.0 recommends instance reads and searches by patient with token equality: no _include,
    no modifiers other than :in, and short URLs."""
    for key, template in templates(assessor.knowledge).items():
        path, _, query = template.partition("?")
        assert "_include" not in template and len(template) < 300, key
        assert set(parse_qs(query)) <= {"patient", "code"}, key
        assert urlsplit(path).path.count("/") <= 1
