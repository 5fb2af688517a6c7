"""order-sign and order-select: what the draft orders of a CDS Hooks call would cause for this patient.

The draft MedicationRequests (context.draftOrders; for order-select, those of
context.selections) are proposed, not active: the patient is assessed without them (that
assessment gives the status and the cards' suggestions), and a second time with each draft
counted as if signed (a MedicationStatement started on the as-of date, with the draft's
medication and dosage). The service's issues query (a pack's data: gm:issuesQuery, e.g.
queries/b12/cds/order-sign.rq) then finds the issues (gm:OrderIssue) in that second
assessment's store, the drafts marked gm:proposedOrder and the actions recommended before
them gm:recommendedBefore, in a graph of their own that is removed afterwards.
"""

from __future__ import annotations

import pyoxigraph as ox

from ...errors import HttpError
from ...namespaces import GM, PT
from ...render.vocabulary import Vocabulary

MAX_DRAFT_ORDERS = 100

_RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_DRAFTS_GRAPH = ox.NamedNode("https://w3id.org/b12kg/graph/draft-orders")


class BadDraftOrders(HttpError):
    """context.draftOrders (or context.selections) is not what the hook needs (HTTP 400)."""

    def __init__(self, message: str):
        super().__init__(400, message)


def draft_medications(draft_orders, selections: list[str] | None = None) -> list[dict]:
    """The MedicationRequests of context.draftOrders (only the selected ones when `selections`
    is given), and the Medications they may reference (other orders do not concern the guideline)."""
    if not isinstance(draft_orders, dict) or draft_orders.get("resourceType") != "Bundle":
        raise BadDraftOrders("context.draftOrders: expected a FHIR Bundle")
    entries = draft_orders.get("entry", [])
    if not isinstance(entries, list) or len(entries) > MAX_DRAFT_ORDERS:
        raise BadDraftOrders(f"context.draftOrders.entry: expected a list of at most {MAX_DRAFT_ORDERS} entries")
    found = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise BadDraftOrders(f"context.draftOrders.entry[{index}]: no resource")
        if resource["resourceType"] in ("MedicationRequest", "Medication"):
            if not isinstance(resource.get("id"), str) or not resource["id"]:
                raise BadDraftOrders(f"context.draftOrders.entry[{index}]: a {resource['resourceType']} needs an id")
            found.append(resource)
    if selections is None:
        return found
    chosen = set(selections)
    known = {f"{r['resourceType']}/{r['id']}" for r in found} | {f"{r['resourceType']}/{r['id']}" for e in entries
                                                                  if isinstance(r := e.get("resource"), dict) and isinstance(r.get("id"), str)}
    unknown = sorted(chosen - known)
    if unknown:
        raise BadDraftOrders(f"context.selections: {', '.join(u[:80] for u in unknown[:5])} not in context.draftOrders")
    return [r for r in found if r["resourceType"] == "Medication" or f"MedicationRequest/{r['id']}" in chosen]


def selections_of(context: dict) -> list[str]:
    """context.selections of an order-select call: the ids (Type/id) of the orders just selected."""
    value = context.get("selections")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and "/" in v for v in value) or len(value) > MAX_DRAFT_ORDERS:
        raise BadDraftOrders("context.selections: required for order-select (a list of Type/id of the selected draft orders)")
    return value


def as_if_signed(drafts: list[dict], patient_id: str, as_of: str, taken: set[str]) -> tuple[list[dict], dict[str, str]]:
    """Each draft as a MedicationStatement active from the as-of date, and statement id -> draft reference."""
    statements, names = [], {}
    for draft in drafts:
        if draft["resourceType"] == "Medication":  # referenced by a draft: goes along unchanged
            if draft["id"] not in taken:
                statements.append(draft)
            continue
        sid = draft["id"]
        while sid in taken:
            sid = f"draft-{sid}"
        taken.add(sid)
        statement = {"resourceType": "MedicationStatement", "id": sid, "status": "active",
                     "subject": {"reference": f"Patient/{patient_id}"}, "effectiveDateTime": as_of}
        for key in ("medicationCodeableConcept", "medicationReference", "contained"):
            if key in draft:
                statement[key] = draft[key]
        if isinstance(draft.get("dosageInstruction"), list):
            statement["dosage"] = draft["dosageInstruction"]
        statements.append(statement)
        names[sid] = f"MedicationRequest/{draft['id']}"
    return statements, names


def issues(view, query: str, vocab: Vocabulary, drafts: dict[str, str], recommended_before: list[str]) -> dict[tuple[str, str], list[str]]:
    """(issue code, draft statement id) -> ids of the facts used, from the service's issues query run
    in the assessment's own store (with the drafts' marks in a graph removed afterwards)."""
    store = view.store
    fhir_id, patient_class = ox.NamedNode(str(PT.fhirId)), ox.NamedNode(str(PT.Patient))
    mine = [*store.quads_for_pattern(None, fhir_id, None), *store.quads_for_pattern(None, _RDF_TYPE, patient_class)]
    marks = []
    for quad in mine:
        if quad.predicate == fhir_id and quad.object.value in drafts:
            marks.append(ox.Quad(quad.subject, ox.NamedNode(str(GM.proposedOrder)), ox.Literal(True), _DRAFTS_GRAPH))
        if quad.predicate == _RDF_TYPE and quad.object == patient_class:
            marks += [ox.Quad(quad.subject, ox.NamedNode(str(GM.recommendedBefore)), ox.NamedNode(vocab.items[code].iri), _DRAFTS_GRAPH)
                      for code in recommended_before if code in vocab.items]
    ids = {q.subject: q.object.value for q in mine if q.predicate == fhir_id}
    codes = {item.iri: code for code, item in vocab.items.items()}
    store.extend(marks)
    try:
        rows = view.select(query)
    finally:
        store.remove_graph(_DRAFTS_GRAPH)
    found: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        key = (codes[row["issue"].value], ids.get(row["draft"], row["draft"].value))
        used = found.setdefault(key, [])
        fact = ids.get(row["fact"], row["fact"].value)
        if fact not in used:
            used.append(fact)
    return found
