"""A CDS Hooks request, read and checked: the JSON body, the hook and its context, prefetch,
and where missing data may be fetched (fhirServer, fhirAuthorization)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from starlette.requests import Request

from ...errors import HttpError
from ..fhir_client import FhirClient
from ..web import read_body
from .orders import draft_medications, selections_of
from .prefetch import Source
from .services import Service

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
"""FHIR's id pattern; '.' and '..' are refused besides (they would be dot-segments in a URL)."""


async def read_json(request: Request, limit: int):
    """The request body as JSON, refusing wrong media types, oversized or slow bodies and bad JSON."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("application/json", "application/fhir+json"):
        raise HttpError(415, f"expected Content-Type application/json, found {media or 'none'!r}")
    body = await read_body(request, limit)
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise HttpError(400, f"the request body is not JSON: {str(exc)[:200]}") from None


def patient_id_of(value) -> str:
    if not isinstance(value, str) or not FHIR_ID.fullmatch(value) or value in (".", ".."):
        raise HttpError(400, "context.patientId: required, a FHIR id (letters, digits, '-' and '.', at most 64)")
    return value


def source_of(body: dict, fhir: FhirClient) -> Source:
    """Where missing data may be read: the allow-listed server the request names, with its token."""
    server = body.get("fhirServer")
    if server is not None and not isinstance(server, str):
        raise HttpError(400, "fhirServer: expected an http(s) URL")
    try:
        base = fhir.base_for(server)
    except ValueError as exc:
        raise HttpError(400, f"fhirServer: {exc}") from None
    token = None
    authorization = body.get("fhirAuthorization")
    if authorization is not None:
        if not isinstance(authorization, dict) or not isinstance(authorization.get("access_token"), str):
            raise HttpError(400, "fhirAuthorization.access_token: expected a string")
        token = authorization["access_token"]
    return Source(base, token)


@dataclass
class Call:
    """A validated service call."""

    service: Service
    hook_instance: str
    patient_id: str
    prefetch: dict | None
    source: Source
    draft_orders: list[dict]
    """The draft MedicationRequests (and Medications) an order hook checks: all of them for order-sign,
    the selected ones for order-select."""


def parse_call(body, service: Service, fhir: FhirClient) -> Call:
    hook = service.hook
    if not isinstance(body, dict):
        raise HttpError(400, "expected a CDS Hooks request object")
    if body.get("hook") != hook:
        raise HttpError(400, f"hook: the service {service.id} answers the {hook} hook, not {str(body.get('hook'))[:60]!r}")
    if not isinstance(body.get("hookInstance"), str) or not body["hookInstance"]:
        raise HttpError(400, "hookInstance: required (a UUID string)")
    context = body.get("context")
    if not isinstance(context, dict):
        raise HttpError(400, "context: required (an object)")
    patient_id = patient_id_of(context.get("patientId"))
    drafts = []
    if hook in ("order-sign", "order-select"):
        if "draftOrders" not in context:
            raise HttpError(400, f"context.draftOrders: required for {hook} (a Bundle of the draft orders)")
        drafts = draft_medications(context["draftOrders"], selections_of(context) if hook == "order-select" else None)
    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        raise HttpError(400, "prefetch: expected an object")
    return Call(service, body["hookInstance"], patient_id, prefetch, source_of(body, fhir), drafts)
