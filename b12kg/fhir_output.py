"""An assessment as FHIR R4: a Bundle of GuidanceResponse, RequestGroup, proposed orders,
DetectedIssues and Provenance (`b12kg assess --format fhir`; the CDS Hooks suggestions).

Built from the assessment (its contract JSON document and its quads) and the ontology:
codes, doses, texts, card summaries and warning severities are read with the queries in
queries/fhir/ (ontology/b12/b12-orders.ttl holds the order templates); nothing clinical is
written here.

- GuidanceResponse: the assessment (module = the guideline), its result the RequestGroup,
  its outputParameters a Parameters resource holding the B12 status and risk factors, its
  evaluationMessage an OperationOutcome of the data-quality notes (contract section 6).
- RequestGroup (intent proposal): one action per recommendation, its documentation the
  guideline statements cited, its resource the proposed ServiceRequest or MedicationRequest.
- DetectedIssue: each recommendation that is a warning (gm:issueSeverity), implicating the facts.
- Provenance: one per conclusion, target the resource that carries it, entities the patient
  facts it is based on (FHIR references), policy the rule and the guideline.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pyoxigraph as ox

from . import __version__, resources
from .knowledge import Knowledge
from .namespaces import GM
from .sparql import select

FHIR_VERSION = "4.0.1"


def _text(row: dict, key: str) -> str | None:
    term = row.get(key)
    return None if term is None else term.value


def _number(text: str | None) -> int | float | None:
    if text is None:
        return None
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True)
class Order:
    """An order template: what an action proposes (ontology/b12/b12-orders.ttl)."""

    iri: str
    label: str
    resource_type: str
    coding: dict
    route: dict | None
    dosage_text: str | None
    phases: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Item:
    """An action or order-sign issue, as FHIR and CDS Hooks present it."""

    iri: str
    code: str
    text: str
    summary: str | None
    indicator: str
    severity: str | None
    orders: tuple[str, ...]
    statements: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    """The ontology's tables for FHIR and CDS Hooks output, read once per Knowledge (queries/fhir/, queries/cds/)."""

    guideline: dict
    items: dict[str, Item]
    orders: dict[str, Order]
    statements: dict[str, dict]
    override_reasons: list[dict]
    prefetch_codes: list[tuple[str, str]]
    status_label: str = "Status"
    reported: tuple[tuple[str, str, str], ...] = ()
    """(contract key, label, unit) of the values a status reports: data of the primary guideline's pack."""

    def item(self, code: str) -> Item:
        return self.items[code]

    def proposed(self, code: str) -> list[Order]:
        item = self.items.get(code)
        return [self.orders[o] for o in item.orders] if item else []


def vocabulary(knowledge: Knowledge) -> Vocabulary:
    """The FHIR output tables of `knowledge` (computed once per Knowledge object)."""
    return knowledge.derived(_vocabulary)


def _vocabulary(knowledge: Knowledge) -> Vocabulary:
    store = ox.Store()
    store.extend(knowledge.quads)

    def rows(name: str) -> list[dict]:
        return select(store, resources.query_text(f"fhir/{name}.rq"))

    row = rows("guideline")[0]
    guideline = {k: _text(row, k) for k in ("guideline", "title", "version", "topic", "topicLabel", "citation", "codeSystem",
                                            "developer")}
    items: dict[str, Item] = {}
    for r in rows("actions"):
        code = r["code"].value
        previous = items.get(code)
        orders = (*(previous.orders if previous else ()), *([r["order"].value] if "order" in r else []))
        cited = (*(previous.statements if previous else ()), *([r["statement"].value] if "statement" in r else []))
        items[code] = Item(iri=r["item"].value, code=code, text=r["text"].value, summary=_text(r, "summary"),
                           indicator=_text(r, "indicator") or "info", severity=_text(r, "severity"),
                           orders=tuple(dict.fromkeys(orders)), statements=tuple(dict.fromkeys(cited)))
    phases: dict[str, list[dict]] = {}
    for r in rows("dosage-phases"):
        phases.setdefault(r["order"].value, []).append({k: _text(r, k) for k in (
            "sequence", "text", "doseLow", "doseHigh", "doseUnit", "frequency", "period", "periodUnit", "boundsValue", "boundsUnit")})
    orders = {}
    for r in rows("orders"):
        route = None
        if "routeCode" in r:
            route = {"system": r["routeSystem"].value, "code": r["routeCode"].value, "display": _text(r, "routeDisplay")}
        orders[r["order"].value] = Order(
            iri=r["order"].value, label=r["label"].value, resource_type=r["resourceType"].value,
            coding={"system": r["system"].value, "code": r["code"].value, "display": _text(r, "display")},
            route=route, dosage_text=_text(r, "dosageText"), phases=phases.get(r["order"].value, []))
    statements = {r["statement"].value: {k: _text(r, k) for k in ("text", "citation", "section", "level", "levelLabel")}
                  for r in rows("statements")}
    reasons = [{"system": r["system"].value, "code": r["code"].value, "display": r["display"].value} for r in rows("override-reasons")]
    codes = [(r["system"].value, r["code"].value) for r in select(store, resources.query_text("cds/prefetch-codes.rq"))]
    return Vocabulary(guideline=guideline, items=items, orders=orders, statements=statements, override_reasons=reasons,
                      prefetch_codes=codes, status_label=knowledge.guideline_value(GM.statusLabel, "Status"),
                      reported=knowledge.reported_values())


# --- FHIR data types built from the tables ---------------------------------------------

def clean(value):
    """Drop None values and empty lists/dicts (FHIR JSON has no nulls)."""
    if isinstance(value, dict):
        cleaned = {k: clean(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [clean(v) for v in value if v is not None]
    return value


def coding(c: dict) -> dict:
    return clean({"system": c["system"], "code": c["code"], "display": c.get("display")})


def dosage(phase: dict, route: dict | None) -> dict:
    """A FHIR Dosage from one dosage phase of an order template."""
    low, high, unit = _number(phase["doseLow"]), _number(phase.get("doseHigh")), phase["doseUnit"]
    quantity = lambda v: {"value": v, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}  # noqa: E731
    dose = {"doseRange": {"low": quantity(low), "high": quantity(high)}} if high is not None else {"doseQuantity": quantity(low)}
    repeat = {"frequency": _number(phase["frequency"]), "period": _number(phase["period"]), "periodUnit": phase["periodUnit"]}
    if phase.get("boundsValue") is not None:
        repeat["boundsDuration"] = {"value": _number(phase["boundsValue"]), "unit": phase["boundsUnit"],
                                    "system": "http://unitsofmeasure.org", "code": phase["boundsUnit"]}
    return clean({"sequence": _number(phase["sequence"]), "text": phase["text"], "timing": {"repeat": repeat},
                   "route": {"coding": [coding(route)]} if route else None, "doseAndRate": [dose]})


def request_resource(order: Order, subject: dict, authored: str, resource_id: str, reason: str | None = None,
                     canonical: str | None = None) -> dict:
    """A proposed ServiceRequest or MedicationRequest (status draft, intent proposal) from an order template."""
    common = {"resourceType": order.resource_type, "id": resource_id, "status": "draft", "intent": "proposal",
              "subject": subject, "authoredOn": authored, "instantiatesCanonical": [canonical] if canonical else None,
              "reasonCode": [{"text": reason}] if reason else None, "note": [{"text": order.label}]}
    if order.resource_type == "MedicationRequest":
        common["medicationCodeableConcept"] = {"coding": [coding(order.coding)], "text": order.coding.get("display")}
        common["dosageInstruction"] = [dosage(p, order.route) for p in order.phases] or (
            [{"text": order.dosage_text}] if order.dosage_text else None)
        common.pop("instantiatesCanonical")
    else:
        common["code"] = {"coding": [coding(order.coding)], "text": order.label}
    return clean(common)


def related_artifacts(statement_rows: list[dict]) -> list[dict]:
    """RelatedArtifact citations of guideline statements (contract evidence entries)."""
    return [clean({"type": "citation", "label": f"[{e['citation']}]", "display": e["statement"],
                    "citation": f"Guideline statement [{e['citation']}]" + (f", evidence level {e['level']}" if e.get("level") else "")})
            for e in statement_rows]


# --- The assessment as a Bundle ---------------------------------------------------------

def facts(quads: list[ox.Quad]) -> dict[str, dict[str, str]]:
    """The patient's facts by FHIR id (or IRI for native RDF), with type, values, dates and
    daily dose (queries/report/explain-facts.rq over the assessment's quads)."""
    store = ox.Store()
    store.extend(quads)
    found: dict[str, dict[str, str]] = {}
    for row in select(store, resources.query_text("report/explain-facts.rq")):
        values = {k: v.value for k, v in row.items()}
        found.setdefault(values.get("fhirId") or values["fact"], values)
    return found


def _fact_types(quads: list[ox.Quad]) -> dict[str, str]:
    """FHIR id -> resource type of the patient's facts, from the assessment's quads."""
    return {k: v["resourceType"] for k, v in facts(quads).items() if "fhirId" in v and "resourceType" in v}


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


def to_bundle(document: dict, quads: list[ox.Quad], knowledge: Knowledge, source_sha256: str = "",
              recorded: str | None = None) -> dict:
    """The assessment as a FHIR R4 Bundle (type collection), as a JSON-ready dict."""
    vocab = vocabulary(knowledge)
    g = vocab.guideline
    ids = Ids(document["patient"], document["as_of"], source_sha256)
    types = _fact_types(quads)
    subject = {"reference": f"Patient/{document['patient']}"}
    authored = document["as_of"]
    recorded = recorded or datetime.now(UTC).isoformat(timespec="seconds")
    plan = f"{g['guideline']}/PlanDefinition"
    entries: list[dict] = []

    def add(resource: dict, first: bool = False) -> dict:
        entries.insert(0 if first else len(entries), {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})
        return {"reference": f"urn:uuid:{resource['id']}"}

    def provenance(target: dict, conclusion: dict, activity: str) -> None:
        add(clean({
            "resourceType": "Provenance", "id": ids("Provenance", activity, target["reference"]), "target": [target], "recorded": recorded,
            "policy": [conclusion["rule"], g["guideline"]],
            "activity": {"text": activity},
            "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                            "code": "assembler"}]},
                       "who": {"display": f"b12kg {__version__}"}}],
            "entity": [{"role": "source", "what": fact_reference(f, types)} for f in conclusion["based_on"]],
        }))

    status = document["b12_status"]
    found = [{"name": "b12-status", "valueCoding": {"system": g["codeSystem"], "code": status["value"]}}]
    for key, _, unit in vocab.reported:
        if status.get(key) is not None:
            found.append({"name": key, "valueQuantity": {"value": status[key], "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}})
    found += [{"name": "risk-factor", "valueCoding": {"system": g["codeSystem"], "code": r["code"]}} for r in document["risk_factors"]]
    if document.get("population"):
        found.append({"name": "in-population", "valueBoolean": document["population"]["in"]})
    parameters = {"resourceType": "Parameters", "id": ids("Parameters"), "parameter": found}

    actions = []
    issues = []
    for rec in document["recommendations"]:
        item = vocab.items.get(rec["action"])
        code = {"coding": [{"system": g["codeSystem"], "code": rec["action"]}], "text": rec["text"]}
        action = {"id": rec["action"], "title": item.summary if item and item.summary else rec["action"], "description": rec["text"],
                  "code": [code], "documentation": related_artifacts(rec["evidence"]),
                  "priority": "urgent" if item and item.indicator == "critical" else None}
        targets = []
        for order in vocab.proposed(rec["action"]):
            resource = request_resource(order, subject, authored, ids(order.resource_type, rec["action"], order.iri), rec["text"],
                                        f"{g['guideline']}/ActivityDefinition/{order.iri.rsplit('#', 1)[-1]}")
            action["resource"] = add(resource)
            targets.append(action["resource"])
        if item and item.severity:
            issue = clean({"resourceType": "DetectedIssue", "id": ids("DetectedIssue", rec["action"]), "status": "preliminary",
                            "code": code, "severity": item.severity, "patient": subject, "identifiedDateTime": authored,
                            "implicated": [fact_reference(f, types) for f in rec["based_on"]], "detail": rec["text"],
                            "reference": g["guideline"]})
            targets.append(add(issue))
            issues.append(issue)
        actions.append(clean(action))
        for target in targets:
            provenance(target, rec, rec["action"])

    request_group = clean({"resourceType": "RequestGroup", "id": ids("RequestGroup"), "status": "draft", "intent": "proposal",
                            "instantiatesCanonical": [plan], "subject": subject, "authoredOn": authored,
                            "note": [{"text": f"{g['title']}, version {g['version']}"}], "action": actions})
    group_ref = add(request_group)
    for rec in document["recommendations"]:
        if not vocab.proposed(rec["action"]) and not (vocab.items.get(rec["action"]) and vocab.items[rec["action"]].severity):
            provenance(group_ref, rec, rec["action"])
    params_ref = add(parameters)
    messages = []
    if document.get("data_quality"):  # contract section 6: what could not be read as recorded
        messages.append(add({"resourceType": "OperationOutcome", "id": ids("OperationOutcome"), "issue": [clean({
            "severity": "warning", "code": "informational",
            "details": {"coding": [{"system": g["codeSystem"], "code": q["code"]}],
                        "text": f"{q['fact']}: {q['detail']}" if q.get("fact") else q.get("detail")},
            "diagnostics": q.get("detail")}) for q in document["data_quality"]]}))
    guidance = clean({
        "resourceType": "GuidanceResponse", "id": ids("GuidanceResponse"), "moduleUri": g["guideline"], "status": "success",
        "subject": subject, "occurrenceDateTime": authored, "outputParameters": params_ref, "result": group_ref,
        "evaluationMessage": messages,
        "note": [{"text": f"B12 status: {status['value']}"}],
        "reasonCode": [{"text": g["title"]}],
    })
    provenance(add(guidance, first=True), status, "b12-status")
    return {"resourceType": "Bundle", "id": ids("Bundle"), "type": "collection", "timestamp": recorded,
            "meta": {"tag": [{"system": g["codeSystem"], "code": "b12kg-assessment"}]}, "entry": entries}
