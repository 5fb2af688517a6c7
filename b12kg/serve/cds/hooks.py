"""What each hook does with a patient's record, outside the HTTP layer: assess it once and
turn the assessment into cards (patient-view), or assess it without and with the draft
orders and turn the issues found into cards and system actions (order-select, order-sign).
Each call reads the PatientView the pipeline returns: one store per assessment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from ...api import Api
from ...errors import InputRejected
from ...render.fhir import facts
from ...render.vocabulary import Vocabulary
from . import cards as card_set
from .orders import as_if_signed, issues
from .request import Call


@dataclass
class Answer:
    """The cards of a call, and the system actions the service proposes."""

    cards: list[dict]
    system_actions: list[dict]

    def body(self) -> dict:
        found = {"cards": card_set.public(self.cards)}
        if self.system_actions:
            found["systemActions"] = self.system_actions
        return found


def card_conclusions(cards: list[dict], view) -> list[dict]:
    """Each card with the conclusions it shows (`_conclusions`: IRI, code, rule, statements), read from the
    assessment by queries/cds/card-conclusions.rq: feedback on the card is linked to them (cohort/feedback.py)."""
    from ...resources import query_text

    by_code: dict[str, dict] = {}
    for row in view.select(query_text("cds/card-conclusions.rq")):
        found = by_code.setdefault(row["code"].value, {"iri": row["conclusion"].value, "code": row["code"].value,
                                                       "rule": row["rule"].value, "statements": []})
        if "statement" in row and row["statement"].value not in found["statements"]:
            found["statements"].append(row["statement"].value)
    for card in cards:
        card["_conclusions"] = [by_code[code] for code in card.get("_code", "").split("+") if code in by_code]
    return cards


class Hooks:
    """The hooks' logic over one prepared Api; `links(assessment)` gives a card's links to its explanation."""

    def __init__(self, api: Api, vocab: Vocabulary, links: Callable[[object], list[dict]]):
        self.api, self.vocab, self.links = api, vocab, links

    def run(self, call: Call, bundle: dict, as_of: date) -> Answer:
        if call.service.hook == "patient-view":
            return self.patient_view(call, bundle, as_of)
        return self.order_check(call, bundle, as_of)

    def _assess(self, bundle: dict, as_of: date, name: str):
        return self.api.assess(bundle, as_of, name).assessment

    def patient_view(self, call: Call, bundle: dict, as_of: date) -> Answer:
        try:
            view = self._assess(bundle, as_of, f"{call.service.id} request for Patient/{call.patient_id}")
        except InputRejected as exc:
            return Answer([card_set.rejection_card(exc, self.vocab)], [])
        document = view.document
        if not document["recommendations"] and not document.get("interactions") and not card_set.companion_conclusions(document):
            return Answer([], [])
        cards = card_set.patient_cards(document, facts(view, self.api.knowledge), self.vocab, self.links(view))
        return Answer(card_conclusions(cards, view), [])

    def order_check(self, call: Call, bundle: dict, as_of: date) -> Answer:
        name = f"{call.service.id} request for Patient/{call.patient_id}"
        try:
            before = self._assess(bundle, as_of, name)
        except InputRejected as exc:
            return Answer([card_set.rejection_card(exc, self.vocab)], [])
        if not any(d["resourceType"] == "MedicationRequest" for d in call.draft_orders) or call.service.issues_query is None:
            return Answer([], [])
        taken = {e["resource"].get("id") for e in bundle["entry"]}
        statements, names = as_if_signed(call.draft_orders, call.patient_id, as_of.isoformat(), taken)
        try:
            after = self._assess({**bundle, "entry": [*bundle["entry"], *({"resource": s} for s in statements)]}, as_of,
                                 f"{name} (draft orders as if signed)")
        except InputRejected as exc:
            return Answer([card_set.rejection_card(exc, self.vocab)], [])
        found = issues(after, call.service.issues_query, self.vocab, names, [r["action"] for r in before.document["recommendations"]])
        if not found:
            return Answer([], [])
        known = facts(after, self.api.knowledge)
        for sid in names:
            if sid in known:
                known[sid]["resourceType"] = "draft order"
                known[sid]["status"] = "proposed, counted as if signed"
        cards = card_set.issue_cards(found, names, before.document, known, self.vocab, self.links(before))
        drafts = {f"MedicationRequest/{d['id']}": d for d in call.draft_orders if d["resourceType"] == "MedicationRequest"}
        return Answer(cards, card_set.system_actions(cards, drafts, before.document, self.vocab))
