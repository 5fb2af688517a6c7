"""An assessment as FHIR R4: a Bundle of GuidanceResponse, RequestGroup, proposed orders,
DetectedIssues and Provenance (`b12kg assess --format fhir`, `$apply`, the CDS Hooks suggestions).

Built from one assessment (a PatientView: its contract JSON and its place in the chunk's
store, queried with the patient bound) and the knowledge's tables (render/vocabulary.py):
codes, doses, texts and severities come from the packs; nothing clinical is written here.

- GuidanceResponse: the assessment (module = the guideline), its result the RequestGroup,
  its outputParameters a Parameters resource holding the status and risk factors, its
  evaluationMessage an OperationOutcome of the data-quality notes (contract section 6).
- RequestGroup (intent proposal): one action per recommendation, then one per conclusion of
  another guideline (contract section 8), each documented by the statements it cites, its
  resource the proposed ServiceRequest or MedicationRequest.
- DetectedIssue: each recommendation that is a warning (gm:issueSeverity), implicating the
  facts, and each interaction between guidelines (both statements, the resolution).
- Provenance: one per conclusion, target the resource that carries it, entities the patient
  facts it is based on (FHIR references), policy the rule and the guideline.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from ..knowledge import Knowledge
from ..version import __version__
from .vocabulary import Vocabulary, clean, related_artifacts, request_resource, vocabulary

FHIR_VERSION = "4.0.1"
INTERACTION_SYSTEM = "https://w3id.org/b12kg/fhir/CodeSystem/interaction-type"
"""b12kg's code system of the types of interaction between guidelines (contract section 8)."""
SEVERITY = {"critical": "high", "warning": "moderate", "info": "low"}
"""DetectedIssue.severity of an interaction, from the indicator of its type's card."""


def facts(view, knowledge: Knowledge) -> dict[str, dict[str, str]]:
    """The patient's facts by FHIR id (or IRI for native RDF), with type, values, dates, daily dose
    and `name`: the record's own text for its code (`recordName`), else its concept's label
    (`conceptName`), from queries/fhir/facts.rq in the assessment's own store."""
    found: dict[str, dict[str, str]] = {}
    for row in view.select(knowledge.queries["fhir/facts"]):
        values = {k: v.value for k, v in row.items() if k not in ("patient", "assessment")}
        fact = found.setdefault(values.get("fhirId") or values["fact"], values)
        if fact.get("recordName") or fact.get("conceptName"):
            fact["name"] = fact.get("recordName") or fact.get("conceptName")
    return found


# --- The assessment as FHIR resources ----------------------------------------------------

_TYPED_ID = re.compile(r"[A-Z][A-Za-z]{1,63}/[A-Za-z0-9\-.]{1,64}")
"""A fact named Type/id (the contract's name when resources of two types share an id)."""


def fact_reference(fact: str, types: dict[str, str]) -> dict:
    """A FHIR Reference to a patient fact: Type/id for FHIR input, an identifier for native RDF nodes."""
    if fact in types:
        return {"reference": f"{types[fact]}/{fact}"}
    if _TYPED_ID.fullmatch(fact):
        return {"reference": fact}
    return {"identifier": {"system": "urn:ietf:rfc:3986", "value": fact}, "display": fact}


class Ids:
    """Deterministic resource ids for one assessment (same input, date and patient: same ids)."""

    def __init__(self, *seed: str):
        self.seed = "|".join(seed)

    def __call__(self, *parts: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join((self.seed, *parts))))


def companion_conclusions(document: dict) -> list[tuple[str, dict]]:
    """(guideline IRI, conclusion) of every action another guideline concludes (contract section 8)."""
    return [(g["id"], c) for g in document.get("guidelines", []) if not g.get("primary")
            for c in g.get("conclusions", []) if c.get("kind", "action") == "action"]


def plan_url(vocab: Vocabulary) -> str:
    return f"{vocab.guideline['guideline']}/PlanDefinition"


class _Builder:
    """The resources of one assessment, in order, with the references between them (urn:uuid)."""

    def __init__(self, view, knowledge: Knowledge, recorded: str | None):
        self.vocab = vocabulary(knowledge)
        self.document = document = view.document
        self.ids = Ids(document["patient"], document["as_of"], view.loaded.source_sha256)
        self.types = {k: v["resourceType"] for k, v in facts(view, knowledge).items() if "fhirId" in v and "resourceType" in v}
        self.subject = {"reference": f"Patient/{document['patient']}"}
        self.recorded = recorded or datetime.now(UTC).isoformat(timespec="seconds")
        self.entries: list[dict] = []

    def add(self, resource: dict, first: bool = False) -> dict:
        self.entries.insert(0 if first else len(self.entries), resource)
        return {"reference": f"urn:uuid:{resource['id']}"}

    def provenance(self, target: dict, conclusion: dict, activity: str) -> None:
        g = self.vocab.guideline
        self.add(clean({
            "resourceType": "Provenance", "id": self.ids("Provenance", activity, target["reference"]), "target": [target],
            "recorded": self.recorded, "policy": [conclusion["rule"], g["guideline"]], "activity": {"text": activity},
            "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                            "code": "assembler"}]},
                       "who": {"display": f"b12kg {__version__}"}}],
            "entity": [{"role": "source", "what": fact_reference(f, self.types)} for f in conclusion["based_on"]],
        }))

    def parameters(self) -> dict:
        g, doc = self.vocab.guideline, self.document
        status = doc["b12_status"]
        found = [{"name": "b12-status", "valueCoding": {"system": g["codeSystem"], "code": status["value"]}}]
        for key, _, unit in self.vocab.reported:
            if status.get(key) is not None:
                found.append({"name": key, "valueQuantity": {"value": status[key], "unit": unit, "system": "http://unitsofmeasure.org",
                                                             "code": unit}})
        found += [{"name": "risk-factor", "valueCoding": {"system": g["codeSystem"], "code": r["code"]}} for r in doc["risk_factors"]]
        if doc.get("population"):
            found.append({"name": "in-population", "valueBoolean": doc["population"]["in"]})
        return {"resourceType": "Parameters", "id": self.ids("Parameters"), "parameter": found}

    def action(self, code: str, text: str, evidence: list[dict], conclusion: dict) -> tuple[dict, list[dict]]:
        """A RequestGroup action for a conclusion, and the resources that carry it (orders, a DetectedIssue)."""
        vocab, g = self.vocab, self.vocab.guideline
        item = vocab.items.get(code)
        concept = {"coding": [{"system": g["codeSystem"], "code": code}], "text": text}
        action = {"id": code, "title": item.summary if item and item.summary else code, "description": text, "code": [concept],
                  "documentation": related_artifacts(evidence),
                  "priority": "urgent" if item and (item.safety or item.indicator == "critical") else None}
        targets = []
        for order in vocab.proposed(code):
            resource = request_resource(order, self.subject, self.document["as_of"], self.ids(order.resource_type, code, order.iri), text,
                                        f"{g['guideline']}/ActivityDefinition/{order.iri.rsplit('#', 1)[-1]}")
            action["resource"] = self.add(resource)
            targets.append(action["resource"])
        if item and item.severity:
            targets.append(self.add(clean({
                "resourceType": "DetectedIssue", "id": self.ids("DetectedIssue", code), "status": "preliminary", "code": concept,
                "severity": item.severity, "patient": self.subject, "identifiedDateTime": self.document["as_of"],
                "implicated": [fact_reference(f, self.types) for f in conclusion["based_on"]], "detail": text,
                "reference": g["guideline"]})))
        return clean(action), targets

    def interaction(self, found: dict) -> None:
        """A DetectedIssue for an interaction between guidelines: both statements, the resolution."""
        kind = self.vocab.interaction_types.get(found["type"], {})
        statements = [f"{self.vocab.guideline_name(r['guideline'])} [{r['citation']}]: {r['statement']}" for r in found["recommendations"]]
        key = "|".join([found["type"], *sorted(r["statement"] for r in found["recommendations"])])
        issue = self.add(clean({
            "resourceType": "DetectedIssue", "id": self.ids("Interaction", key), "status": "preliminary",
            "code": {"coding": [{"system": INTERACTION_SYSTEM, "code": found["type"], "display": kind.get("label")}],
                     "text": kind.get("label") or found["type"]},
            "severity": SEVERITY.get(kind.get("indicator", "info"), "low"), "patient": self.subject,
            "identifiedDateTime": self.document["as_of"], "implicated": [fact_reference(f, self.types) for f in found["based_on"]],
            "evidence": [{"code": [{"text": s}]} for s in statements], "detail": found["resolution"],
            "mitigation": [{"action": {"text": found["resolution"]}}], "reference": found["recommendations"][0]["guideline"]}))
        self.provenance(issue, {"rule": found.get("rule") or self.vocab.guideline["guideline"], "based_on": found["based_on"]},
                        f"interaction-{found['type']}")

    def build(self) -> list[dict]:
        vocab, g, doc = self.vocab, self.vocab.guideline, self.document
        actions, later = [], []
        for rec in doc["recommendations"]:
            action, targets = self.action(rec["action"], rec["text"], rec["evidence"], rec)
            actions.append(action)
            later += [(t, rec, rec["action"]) for t in targets] or [(None, rec, rec["action"])]
        for guideline, conclusion in companion_conclusions(doc):
            code = conclusion.get("action") or conclusion["code"]
            action, targets = self.action(code, conclusion.get("text") or code, conclusion.get("evidence", []), conclusion)
            action["documentation"] = [*action.get("documentation", []),
                                       {"type": "documentation", "display": vocab.guideline_name(guideline), "url": guideline}]
            actions.append(clean(action))
            later += [(t, conclusion, code) for t in targets] or [(None, conclusion, code)]
        group = self.add(clean({"resourceType": "RequestGroup", "id": self.ids("RequestGroup"), "status": "draft", "intent": "proposal",
                                "instantiatesCanonical": [plan_url(vocab)], "subject": self.subject, "authoredOn": doc["as_of"],
                                "note": [{"text": f"{g['title']}, version {g['version']}"}], "action": actions}))
        for target, conclusion, activity in later:
            self.provenance(target or group, conclusion, activity)
        for found in doc.get("interactions", []):
            self.interaction(found)
        params = self.add(self.parameters())
        messages = []
        if doc.get("data_quality"):  # contract section 6: what could not be read as recorded
            messages.append(self.add({"resourceType": "OperationOutcome", "id": self.ids("OperationOutcome"), "issue": [clean({
                "severity": "warning", "code": "informational",
                "details": {"coding": [{"system": g["codeSystem"], "code": q["code"]}],
                            "text": f"{q['fact']}: {q['detail']}" if q.get("fact") else q.get("detail")},
                "diagnostics": q.get("detail")}) for q in doc["data_quality"]]}))
        status = doc["b12_status"]
        guidance = clean({
            "resourceType": "GuidanceResponse", "id": self.ids("GuidanceResponse"), "moduleUri": g["guideline"], "status": "success",
            "subject": self.subject, "occurrenceDateTime": doc["as_of"], "outputParameters": params, "result": group,
            "evaluationMessage": messages, "note": [{"text": f"{vocab.status_label}: {status['value']}"}],
            "reasonCode": [{"text": g["title"]}]})
        self.provenance(self.add(guidance, first=True), status, "b12-status")
        return self.entries


def assessment_resources(view, knowledge: Knowledge, recorded: str | None = None) -> list[dict]:
    """The assessment's FHIR resources, the GuidanceResponse first, referring to each other by urn:uuid."""
    return _Builder(view, knowledge, recorded).build()


def to_bundle(view, knowledge: Knowledge, recorded: str | None = None) -> dict:
    """The assessment as a FHIR R4 Bundle (type collection), as a JSON-ready dict."""
    vocab = vocabulary(knowledge)
    document = view.document
    found = assessment_resources(view, knowledge, recorded)
    ids = Ids(document["patient"], document["as_of"], view.loaded.source_sha256)
    timestamp = next(r["recorded"] for r in found if r["resourceType"] == "Provenance")
    return {"resourceType": "Bundle", "id": ids("Bundle"), "type": "collection", "timestamp": timestamp,
            "meta": {"tag": [{"system": vocab.guideline["codeSystem"], "code": "b12kg-assessment"}]},
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in found]}
