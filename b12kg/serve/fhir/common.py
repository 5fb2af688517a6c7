"""What both FHIR surfaces share: FHIR JSON answers, errors as OperationOutcome, a searchset,
a CapabilityStatement, and a Parameters body read and checked."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from ...errors import HttpError
from ...version import __version__
from ..web import read_body

FHIR_JSON = "application/fhir+json"
MAX_PARAMETERS_BYTES = 12 * 1024 * 1024
ISSUE_CODE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported", 406: "not-supported",
              412: "incomplete", 413: "too-long", 415: "not-supported", 422: "processing", 503: "transient"}


def fhir_response(resource: dict, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(resource, ensure_ascii=False), status_code=status, media_type=f"{FHIR_JSON}; charset=utf-8",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **(headers or {})})


def outcome(status: int, message: str, severity: str = "error") -> dict:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": ISSUE_CODE.get(status, "exception"), "diagnostics": message[:2000]}]}


def fhir_errors(handler):
    """A FHIR route: its refusals (HttpError) answered as OperationOutcome with their status."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except HttpError as exc:
            return fhir_response(outcome(exc.status, exc.message), exc.status, exc.headers)

    return wrapped


def searchset(resources: list[dict], base: str) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"fullUrl": f"{base}/fhir/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                      for r in resources]}


def capability_statement(base: str, resources: dict[str, list[str]], description: str) -> dict:
    """A CapabilityStatement: each resource type with its operations (names without '$')."""
    return {"resourceType": "CapabilityStatement", "status": "active", "date": datetime.now(UTC).date().isoformat(),
            "kind": "instance", "fhirVersion": "4.0.1", "format": ["json"], "description": description,
            "software": {"name": "b12kg", "version": __version__},
            "implementation": {"description": description, "url": f"{base}/fhir"},
            "rest": [{"mode": "server", "resource": [
                {"type": kind, "interaction": [{"code": "read"}, {"code": "search-type"}],
                 **({"operation": [{"name": op, "definition": f"http://hl7.org/fhir/OperationDefinition/{kind}-{op}"}
                                   for op in operations]} if operations else {})}
                for kind, operations in resources.items()]}]}


async def read_parameters(request: Request, limit: int = MAX_PARAMETERS_BYTES) -> dict:
    """A POSTed FHIR Parameters resource (an empty body: no parameters)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await read_body(request, limit)
    if not body.strip():
        return {"resourceType": "Parameters"}
    if media not in ("application/json", FHIR_JSON):
        raise HttpError(415, f"expected Content-Type {FHIR_JSON}, found {media or 'none'!r}")
    try:
        found = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise HttpError(400, f"the request body is not JSON: {str(exc)[:200]}") from None
    if not isinstance(found, dict) or found.get("resourceType") != "Parameters" or not isinstance(found.get("parameter", []), list):
        raise HttpError(400, "expected a FHIR Parameters resource")
    return found


def parameter(parameters: dict, name: str, *kinds: str):
    """The value of the one parameter `name` (valueX for X in kinds, or resource), or None."""
    found = [p for p in parameters.get("parameter", []) if isinstance(p, dict) and p.get("name") == name]
    if len(found) > 1:
        raise HttpError(400, f"parameter {name!r}: given {len(found)} times, expected once")
    if not found:
        return None
    for kind in kinds:
        key = "resource" if kind == "resource" else f"value{kind}"
        if key in found[0]:
            return found[0][key]
    raise HttpError(400, f"parameter {name!r}: expected {' or '.join('a resource' if k == 'resource' else 'value' + k for k in kinds)}")
