"""FHIR Clinical Reasoning on the CDS service (`b12kg cds-hooks`), the engine as the reasoner:

    GET  /fhir/metadata                                   CapabilityStatement
    GET  /fhir/PlanDefinition[/{id}]                      the guideline, a CPG computable PlanDefinition
    GET  /fhir/Library[/{id}], /fhir/ActivityDefinition[/{id}]
    GET|POST /fhir/PlanDefinition/{id}/$data-requirements (and Library/{id}/$data-requirements)
    POST /fhir/PlanDefinition/{id}/$apply                 a CarePlan holding the RequestGroup

$apply takes a Parameters resource: `subject` (valueString Patient/<id>), and the record as
`data` (a Bundle holding that Patient), or, without it, read from `dataEndpoint` (an Endpoint
whose address is an allow-listed FHIR server, its header the `Authorization: Bearer` token)
with the CDS service's prefetch searches. b12kg's own `asOf` (valueDate) sets the date
assessed (default: the service's --as-of, else today). The CarePlan contains the resources
`assess --format fhir` gives (RequestGroup, proposed orders, DetectedIssues,
GuidanceResponse, Parameters; Provenance is left to the Bundle form), referenced locally.
A record b12kg refuses is answered 422 with an OperationOutcome naming each problem.
"""

from __future__ import annotations

import re
from datetime import date

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...errors import HttpError, InputRejected
from ...render.fhir import Ids, assessment_resources, plan_url
from ...render.plandefinition import artifacts, module_definition
from ..cds.prefetch import Source, assemble
from ..cds.request import patient_id_of
from .common import capability_statement, fhir_errors, fhir_response, parameter, read_parameters, searchset

KINDS = ("PlanDefinition", "ActivityDefinition", "Library")
_LOCAL = re.compile(r"urn:uuid:([0-9a-f-]{36})")


def _localise(value):
    """References between the contained resources: urn:uuid:<id> -> #<id>."""
    if isinstance(value, dict):
        return {k: (_LOCAL.sub(r"#\1", v) if k == "reference" and isinstance(v, str) else _localise(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_localise(v) for v in value]
    return value


def care_plan(view, knowledge) -> dict:
    """The assessment as $apply's CarePlan: the RequestGroup as its activity, the other resources contained."""
    found = [r for r in assessment_resources(view, knowledge) if r["resourceType"] != "Provenance"]
    document = view.document
    ids = Ids(document["patient"], document["as_of"], view.loaded.source_sha256)
    group = next(r for r in found if r["resourceType"] == "RequestGroup")
    support = [r for r in found if r["resourceType"] in ("GuidanceResponse", "DetectedIssue")]
    return {"resourceType": "CarePlan", "id": ids("CarePlan"), "status": "draft", "intent": "proposal",
            "instantiatesCanonical": group.get("instantiatesCanonical"), "subject": group["subject"], "created": document["as_of"],
            "contained": _localise(found), "supportingInfo": [{"reference": f"#{r['id']}"} for r in support],
            "activity": [{"reference": {"reference": f"#{group['id']}"}}]}


def _rejected(exc: InputRejected) -> dict:
    return {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "processing", "diagnostics": str(p)[:2000],
         **({"expression": [p.field]} if p.field and re.fullmatch(r"[A-Za-z][\w.\[\]]*", p.field) else {})}
        for p in exc.problems[:100]]}


def routes(service) -> list[Route]:
    """The FHIR routes of the CDS service (`service`: serve/cds/app.py's running Service)."""
    knowledge = service.api.knowledge
    found = {kind: [r for r in artifacts(knowledge) if r["resourceType"] == kind] for kind in KINDS}
    by_id = {(r["resourceType"], r["id"]): r for rs in found.values() for r in rs}
    plan_ids = {r["id"] for r in found["PlanDefinition"]}

    def artifact(kind: str, rid: str) -> dict:
        if (kind, rid) not in by_id:
            raise HttpError(404, f"no {kind}/{rid[:64]} here; GET /fhir/{kind} lists them")
        return by_id[(kind, rid)]

    @fhir_errors
    async def metadata(request: Request) -> Response:
        return fhir_response(capability_statement(service.base_url, {"PlanDefinition": ["apply", "data-requirements"],
                                                                     "Library": ["data-requirements"], "ActivityDefinition": []},
                                                  "b12kg CDS service: the guideline as FHIR Clinical Reasoning artifacts, "
                                                  "applied by b12kg's own engine (SPARQL conditions)."))

    @fhir_errors
    async def search(request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in KINDS:
            raise HttpError(404, f"no {kind[:40]} resources here: {', '.join(KINDS)}")
        url = request.query_params.get("url")
        return fhir_response(searchset([r for r in found[kind] if url in (None, r["url"])], service.base_url))

    @fhir_errors
    async def read(request: Request) -> Response:
        return fhir_response(artifact(request.path_params["kind"], request.path_params["id"]))

    @fhir_errors
    async def data_requirements(request: Request) -> Response:
        kind = "Library" if request.url.path.startswith("/fhir/Library/") else "PlanDefinition"
        return fhir_response(module_definition(knowledge, artifact(kind, request.path_params["id"])))

    @fhir_errors
    async def apply(request: Request) -> Response:
        if request.path_params["id"] not in plan_ids:
            raise HttpError(404, f"no PlanDefinition/{request.path_params['id'][:64]} here")
        service.authorize(request)
        parameters = await read_parameters(request)
        subject = parameter(parameters, "subject", "String", "Reference")
        subject = subject.get("reference") if isinstance(subject, dict) else subject
        if not isinstance(subject, str) or not subject.startswith("Patient/"):
            raise HttpError(400, "parameter 'subject': required, Patient/<id>")
        patient_id = patient_id_of(subject.split("/", 1)[1])
        as_of = parameter(parameters, "asOf", "Date")
        try:
            as_of = date.fromisoformat(as_of) if as_of else service.as_of()
        except ValueError:
            raise HttpError(400, f"parameter 'asOf': {str(as_of)[:20]!r} is not a date") from None
        data = parameter(parameters, "data", "resource")
        await service.slot()
        try:
            bundle = await service.within_time(_record(service, data, parameters, patient_id))
            try:
                view = await run_in_threadpool(lambda: service.api.assess(bundle, as_of, f"$apply for Patient/{patient_id}").assessment)
            except InputRejected as exc:
                return fhir_response(_rejected(exc), 422)
            plan = await run_in_threadpool(care_plan, view, knowledge)
        finally:
            service.calls.release()
        return fhir_response(plan)

    kinds = "{kind:str}"
    return [Route("/fhir/metadata", metadata, methods=["GET"]),
            Route("/fhir/PlanDefinition/{id}/$apply", apply, methods=["POST"]),
            Route("/fhir/PlanDefinition/{id}/$data-requirements", data_requirements, methods=["GET", "POST"]),
            Route("/fhir/Library/{id}/$data-requirements", data_requirements, methods=["GET", "POST"]),
            Route(f"/fhir/{kinds}", search, methods=["GET"]),
            Route(f"/fhir/{kinds}/{{id}}", read, methods=["GET"])]


async def _record(service, data, parameters: dict, patient_id: str) -> dict:
    """The subject's record: the `data` Bundle, or read from the allow-listed `dataEndpoint`."""
    if data is not None:
        if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
            raise HttpError(400, "parameter 'data': expected a Bundle holding the subject's record")
        patients = [e.get("resource", {}).get("id") for e in data.get("entry", []) if isinstance(e, dict)
                    and isinstance(e.get("resource"), dict) and e["resource"].get("resourceType") == "Patient"]
        if patients and patient_id not in patients:
            raise HttpError(400, f"parameter 'data': holds Patient/{str(patients[0])[:64]}, not the subject Patient/{patient_id}")
        return data
    endpoint = parameter(parameters, "dataEndpoint", "resource")
    if not isinstance(endpoint, dict) or not isinstance(endpoint.get("address"), str):
        raise HttpError(400, "give the record as parameter 'data' (a Bundle), or 'dataEndpoint' (an Endpoint with the address "
                             "of an allow-listed FHIR server)")
    try:
        base = service.fhir.base_for(endpoint["address"])
    except ValueError as exc:
        raise HttpError(400, f"dataEndpoint.address: {exc}") from None
    if base is None:
        raise HttpError(412, "no FHIR server may be read (the operator allow-lists them with --fhir-server): give 'data'")
    token = next((h.split(":", 1)[1].strip().removeprefix("Bearer ").strip() for h in endpoint.get("header", [])
                  if isinstance(h, str) and h.lower().startswith("authorization:")), None)
    return await assemble({}, patient_id, service.api.knowledge, Source(base, token), service.fhir)


__all__ = ["care_plan", "plan_url", "routes"]
