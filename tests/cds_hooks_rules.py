"""The CDS Hooks response rules, as a JSON schema (the CDSHooksResponse logical model of the
HL7 CDS Hooks 3.0 ballot, HL7/cds-hooks input/fsh/logicals/CDSHooksResponse.fsh) and the
model's invariants cds-resp-1..7 (input/fsh/invariants/), encoded as checks."""

from __future__ import annotations

from urllib.parse import urlsplit

import jsonschema

_CODING = {"type": "object", "required": ["code"], "properties": {"system": {"type": "string"}, "code": {"type": "string"},
                                                                    "display": {"type": "string"}}}
_ACTION = {
    "type": "object", "required": ["type"],
    "properties": {"type": {"enum": ["create", "update", "delete"]}, "description": {"type": "string"},
                   "resource": {"type": "object", "required": ["resourceType"]}, "resourceId": {"type": "string"}},
}
RESPONSE_SCHEMA = {
    "type": "object", "required": ["cards"],
    "properties": {
        "cards": {"type": "array", "items": {
            "type": "object", "required": ["summary", "indicator", "source"],
            "properties": {
                "uuid": {"type": "string", "format": "uuid"},
                "summary": {"type": "string", "minLength": 1, "maxLength": 139},
                "detail": {"type": "string"},
                "indicator": {"enum": ["info", "warning", "critical"]},
                "source": {"type": "object", "required": ["label"], "properties": {
                    "label": {"type": "string", "minLength": 1}, "url": {"type": "string", "format": "uri"},
                    "icon": {"type": "string", "format": "uri"}, "topic": _CODING}},
                "suggestions": {"type": "array", "items": {
                    "type": "object", "required": ["label"],
                    "properties": {"label": {"type": "string"}, "uuid": {"type": "string", "format": "uuid"},
                                   "isRecommended": {"type": "boolean"}, "actions": {"type": "array", "items": _ACTION},
                                   "actionSelectionBehavior": {"type": "string"}}}},
                "selectionBehavior": {"enum": ["at-most-one", "any"]},
                "overrideReasons": {"type": "array", "items": _CODING},
                "links": {"type": "array", "items": {
                    "type": "object", "required": ["label", "url", "type"],
                    "properties": {"label": {"type": "string"}, "url": {"type": "string", "format": "uri"},
                                   "type": {"enum": ["absolute", "smart"]}, "appContext": {"type": "string"},
                                   "autolaunchable": {"type": "boolean"}}}},
            }}},
        "systemActions": {"type": "array", "items": _ACTION},
    },
}


def invariant_problems(response: dict) -> list[str]:
    """Violations of cds-resp-1..7 (and the <140-character summary) in a response."""
    problems = []
    for index, card in enumerate(response.get("cards", [])):
        where = f"cards[{index}]"
        suggestions = card.get("suggestions", [])
        if card.get("selectionBehavior") == "at-most-one" and sum(bool(s.get("isRecommended")) for s in suggestions) > 1:
            problems.append(f"{where}: cds-resp-1 at most one recommended suggestion with selectionBehavior at-most-one")
        if suggestions and "selectionBehavior" not in card:
            problems.append(f"{where}: cds-resp-6 suggestions without selectionBehavior")
        for r, reason in enumerate(card.get("overrideReasons", [])):
            if not reason.get("display"):
                problems.append(f"{where}.overrideReasons[{r}]: cds-resp-4 a reason needs a display")
        for k, link in enumerate(card.get("links", [])):
            if link.get("type") != "smart" and "appContext" in link:
                problems.append(f"{where}.links[{k}]: cds-resp-3 appContext only for smart links")
        for s, suggestion in enumerate(suggestions):
            if suggestion.get("actionSelectionBehavior", "all") not in ("all", "any", "at-most-one"):
                problems.append(f"{where}.suggestions[{s}]: cds-resp-7 actionSelectionBehavior")
            for a, action in enumerate(suggestion.get("actions", [])):
                if not action.get("description"):
                    problems.append(f"{where}.suggestions[{s}].actions[{a}]: cds-resp-5 an action needs a description")
                if action.get("type") == "delete" and ("resourceId" not in action or "resource" in action):
                    problems.append(f"{where}.suggestions[{s}].actions[{a}]: cds-resp-2 delete names a resourceId, no resource")
        urls = [card.get("source", {}).get("url"), *(link.get("url") for link in card.get("links", []))]
        for url in filter(None, urls):
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
                problems.append(f"{where}: {url!r} is not an absolute URL")
        if len(card.get("summary", "")) >= 140:
            problems.append(f"{where}: summary of {len(card['summary'])} characters (< 140)")
    return problems


def check_response(response: dict) -> None:
    """Raise AssertionError unless `response` follows the schema and every invariant."""
    jsonschema.validate(response, RESPONSE_SCHEMA, format_checker=jsonschema.FormatChecker())
    problems = invariant_problems(response)
    assert not problems, problems
