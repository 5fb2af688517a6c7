"""The knowledge's tables for FHIR output and CDS Hooks cards, read once per Knowledge with
the named queries of queries/fhir/ and queries/cds/ over the knowledge's own store: order
templates and their codings, card summaries, indicators and plan labels, statuses,
interaction types, statements, override reasons and the codes the guidelines read. Nothing
clinical is written in Python; the FHIR data types built from the tables live here too."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..knowledge import Knowledge
from ..sparql import select

UCUM = "http://unitsofmeasure.org"


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
    """An order template: what an action proposes (a pack's orders file)."""

    iri: str
    label: str
    resource_type: str
    coding: dict
    route: dict | None
    dosage_text: str | None
    phases: list[dict] = field(default_factory=list)
    codings: tuple[dict, ...] = ()
    """Every coding of the ordered drug or test, best first (a product in the order's dose form, exact
    matches such as an RxNorm ingredient, then the template's own code)."""


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
    plan_label: str | None = None
    safety: bool = False


@dataclass(frozen=True)
class Vocabulary:
    """The knowledge's tables for FHIR and CDS Hooks output (computed once per Knowledge)."""

    guideline: dict
    items: dict[str, Item]
    orders: dict[str, Order]
    statements: dict[str, dict]
    override_reasons: list[dict]
    prefetch_codes: list[tuple[str, str, str]]
    """(kind of fact: Observation, Condition, Procedure, MedicationUse or ClinicalFact; system; code)."""
    status_label: str = "Status"
    reported: tuple[tuple[str, str, str], ...] = ()
    """(contract key, label, unit) of the values a status reports: data of the primary guideline's pack."""
    statuses: dict[str, dict] = field(default_factory=dict)
    """Status code -> {label, cardLabel}."""
    interaction_types: dict[str, dict] = field(default_factory=dict)
    """Interaction type code -> {label, definition, indicator}."""
    guidelines: dict[str, dict] = field(default_factory=dict)
    """Guideline IRI -> {title, shortTitle} of every loaded guideline."""

    def item(self, code: str) -> Item:
        return self.items[code]

    def proposed(self, code: str) -> list[Order]:
        item = self.items.get(code)
        return [self.orders[o] for o in item.orders] if item else []

    def codes_for(self, *kinds: str) -> list[tuple[str, str]]:
        """(system, code) the guidelines read on facts of these kinds (ClinicalFact: any kind)."""
        return list(dict.fromkeys((s, c) for k, s, c in self.prefetch_codes if k in (*kinds, "ClinicalFact")))

    def guideline_name(self, iri: str) -> str:
        found = self.guidelines.get(iri) or {}
        return found.get("shortTitle") or found.get("title") or iri


def vocabulary(knowledge: Knowledge) -> Vocabulary:
    """The FHIR output tables of `knowledge` (computed once per Knowledge object)."""
    return knowledge.derived(_vocabulary)


def _vocabulary(knowledge: Knowledge) -> Vocabulary:
    def rows(name: str) -> list[dict]:
        return select(knowledge.store, knowledge.queries[name])

    row = rows("fhir/guideline")[0]
    guideline = {k: _text(row, k) for k in ("guideline", "title", "version", "topic", "topicLabel", "citation", "codeSystem",
                                            "developer", "shortTitle", "statusLabel", "artifactName", "libraryName")}
    items: dict[str, Item] = {}
    for r in rows("fhir/actions"):
        code = r["code"].value
        previous = items.get(code)
        orders = (*(previous.orders if previous else ()), *([r["order"].value] if "order" in r else []))
        cited = (*(previous.statements if previous else ()), *([r["statement"].value] if "statement" in r else []))
        items[code] = Item(iri=r["item"].value, code=code, text=r["text"].value, summary=_text(r, "summary"),
                           indicator=_text(r, "indicator") or "info", severity=_text(r, "severity"),
                           orders=tuple(dict.fromkeys(orders)), statements=tuple(dict.fromkeys(cited)),
                           plan_label=_text(r, "planLabel"), safety=_text(r, "safety") == "true")
    phases: dict[str, list[dict]] = {}
    for r in rows("fhir/dosage-phases"):
        phases.setdefault(r["order"].value, []).append({k: _text(r, k) for k in (
            "sequence", "text", "doseLow", "doseHigh", "doseUnit", "frequency", "period", "periodUnit", "boundsValue", "boundsUnit")})
    codings: dict[str, list[dict]] = {}
    for r in rows("fhir/order-codings"):
        codings.setdefault(r["order"].value, []).append(
            {"system": r["system"].value, "code": r["code"].value, "display": _text(r, "display")})
    orders = {}
    for r in rows("fhir/orders"):
        route = None
        if "routeCode" in r:
            route = {"system": r["routeSystem"].value, "code": r["routeCode"].value, "display": _text(r, "routeDisplay")}
        own = {"system": r["system"].value, "code": r["code"].value, "display": _text(r, "display")}
        orders[r["order"].value] = Order(
            iri=r["order"].value, label=r["label"].value, resource_type=r["resourceType"].value, coding=own,
            route=route, dosage_text=_text(r, "dosageText"), phases=phases.get(r["order"].value, []),
            codings=tuple(codings.get(r["order"].value) or [own]))
    statements = {r["statement"].value: {k: _text(r, k) for k in ("text", "citation", "section", "level", "levelLabel")}
                  for r in rows("fhir/statements")}
    reasons = [{"system": r["system"].value, "code": r["code"].value, "display": r["display"].value} for r in rows("fhir/override-reasons")]
    codes = [(r["base"].value.rsplit("#", 1)[-1], r["system"].value, r["code"].value) for r in rows("cds/prefetch-codes")]
    statuses = {r["code"].value: {"label": _text(r, "label"), "cardLabel": _text(r, "cardLabel")} for r in rows("fhir/statuses")}
    interactions = {r["code"].value: {"label": r["label"].value, "definition": _text(r, "definition"),
                                      "indicator": _text(r, "indicator") or "info"} for r in rows("fhir/interaction-types")}
    guidelines = {g.iri: {"title": g.title, "shortTitle": None} for g in knowledge.guidelines}
    guidelines[guideline["guideline"]] = {"title": guideline["title"], "shortTitle": guideline.get("shortTitle")}
    return Vocabulary(guideline=guideline, items=items, orders=orders, statements=statements, override_reasons=reasons,
                      prefetch_codes=codes, status_label=guideline.get("statusLabel") or "Status",
                      reported=knowledge.reported_values(), statuses=statuses, interaction_types=interactions,
                      guidelines=guidelines)


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


def concept(order: Order) -> dict:
    """The CodeableConcept of what an order template orders: every coding, best first."""
    return clean({"coding": [coding(c) for c in order.codings], "text": order.codings[0].get("display") or order.label})


def quantity(value, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def dosage(phase: dict, route: dict | None) -> dict:
    """A FHIR Dosage from one dosage phase of an order template."""
    low, high, unit = _number(phase["doseLow"]), _number(phase.get("doseHigh")), phase["doseUnit"]
    dose = {"doseRange": {"low": quantity(low, unit), "high": quantity(high, unit)}} if high is not None else {"doseQuantity": quantity(low, unit)}
    repeat = {"frequency": _number(phase["frequency"]), "period": _number(phase["period"]), "periodUnit": phase["periodUnit"]}
    if phase.get("boundsValue") is not None:
        repeat["boundsDuration"] = quantity(_number(phase["boundsValue"]), phase["boundsUnit"])
    return clean({"sequence": _number(phase["sequence"]), "text": phase["text"], "timing": {"repeat": repeat},
                   "route": {"coding": [coding(route)]} if route else None, "doseAndRate": [dose]})


def request_resource(order: Order, subject: dict, authored: str, resource_id: str, reason: str | None = None,
                     canonical: str | None = None) -> dict:
    """A proposed ServiceRequest or MedicationRequest (status draft, intent proposal) from an order template."""
    common = {"resourceType": order.resource_type, "id": resource_id, "status": "draft", "intent": "proposal",
              "subject": subject, "authoredOn": authored, "instantiatesCanonical": [canonical] if canonical else None,
              "reasonCode": [{"text": reason}] if reason else None, "note": [{"text": order.label}]}
    if order.resource_type == "MedicationRequest":
        common["medicationCodeableConcept"] = concept(order)
        common["dosageInstruction"] = [dosage(p, order.route) for p in order.phases] or (
            [{"text": order.dosage_text}] if order.dosage_text else None)
        common.pop("instantiatesCanonical")
    else:
        common["code"] = {**concept(order), "text": order.label}
    return clean(common)


def related_artifacts(statement_rows: list[dict]) -> list[dict]:
    """RelatedArtifact citations of guideline statements (contract evidence entries)."""
    return [clean({"type": "citation", "label": f"[{e['citation']}]", "display": e["statement"],
                    "citation": f"Guideline statement [{e['citation']}]" + (f", evidence level {e['level']}" if e.get("level") else "")})
            for e in statement_rows]
