"""CDS Hooks prefetch: the templates (from the ontology) and the patient's record
assembled from prefetch, or fetched from the client's FHIR server when a key is missing.

A key present with a null value means the client has no such data; a key that is
missing is fetched from `fhirServer` with the access token given, when that server is
allow-listed (fhir_client.py); with neither, the caller answers 412.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from ..fhir_output import vocabulary
from ..knowledge import Knowledge
from .fhir_client import FAILED, Budget, FetchFailed, FetchRefused, FhirBase, FhirClient

MAX_PAGES = 20
"""Most pages of one search followed (Bundle.link next)."""

MEDICATION_RESOURCES = ("MedicationStatement", "MedicationRequest", "MedicationAdministration", "MedicationDispense")
"""The medication resources contract version 2 reads; searched for the patient with their Medication."""

_TOKEN = re.compile(r"\{\{\s*context\.patientId\s*\}\}")


class PrefetchMissing(Exception):
    """Data the service needs is neither prefetched nor fetchable (HTTP 412)."""


class BadPrefetch(Exception):
    """A prefetched value is not FHIR the service can read (HTTP 400)."""


def templates(knowledge: Knowledge) -> dict[str, str]:
    """The prefetch templates: the Patient, the coded facts the guideline reads, and the
    patient's medication resources (with the Medication they reference)."""
    codes = ",".join(f"{system}|{code}" for system, code in vocabulary(knowledge).prefetch_codes)
    found = {"patient": "Patient/{{context.patientId}}"}
    for key, kind in (("observations", "Observation"), ("conditions", "Condition"), ("procedures", "Procedure")):
        found[key] = f"{kind}?patient={{{{context.patientId}}}}&code={codes}"
    for kind in MEDICATION_RESOURCES:
        key = kind[0].lower() + kind[1:] + "s"
        found[key] = f"{kind}?patient={{{{context.patientId}}}}&_include={kind}:medication"
    return found


def render(template: str, patient_id: str) -> str:
    """A template with the patient id filled in (URL-encoded)."""
    return _TOKEN.sub(quote(patient_id, safe=""), template)


@dataclass
class Source:
    """Where a missing prefetch key may be fetched from: an allow-listed base, or None (prefetch only)."""

    server: FhirBase | None
    token: str | None


def _resources(value, key: str) -> list[dict]:
    """The resources of one prefetch value: a Bundle's entries, or one resource."""
    if value is None:
        return []
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise BadPrefetch(f"prefetch.{key}: expected a FHIR resource or Bundle (a JSON object with resourceType), "
                          f"found {type(value).__name__}")
    if value["resourceType"] == "OperationOutcome":
        return []
    if value["resourceType"] != "Bundle":
        return [value]
    entries = value.get("entry", [])
    if not isinstance(entries, list):
        raise BadPrefetch(f"prefetch.{key}: Bundle.entry is not a list")
    found = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict) \
                or not isinstance(entry["resource"].get("resourceType"), str):
            raise BadPrefetch(f"prefetch.{key}: Bundle.entry[{index}] has no resource (a JSON object with resourceType)")
        if entry["resource"].get("resourceType") != "OperationOutcome":
            found.append(entry["resource"])
    return found


async def _fetch(client: FhirClient, source: Source, path: str, key: str, budget: Budget) -> list[dict]:
    """The resources a FHIR search (or read) returns, following `next` pages under the same base."""
    url = source.server.join(path)
    found: list[dict] = []
    for _ in range(MAX_PAGES):
        try:
            body = await client.get_json(source.server, url, source.token, budget)
            found += _resources(body, key)
            following = client.next_page(url, body)
        except (FetchRefused, FetchFailed) as exc:
            raise PrefetchMissing(f"{key}: {exc}") from None
        except BadPrefetch:
            raise PrefetchMissing(f"{key}: {FAILED}") from None
        if following is None:
            return found
        url = following
    raise PrefetchMissing(f"{key}: more than {MAX_PAGES} pages")


async def assemble(prefetch: dict | None, patient_id: str, knowledge: Knowledge, source: Source, client: FhirClient) -> dict:
    """The patient's record as one FHIR Bundle (type collection), from prefetch and, for the
    missing keys, the FHIR server. Raises PrefetchMissing (412) or BadPrefetch (400)."""
    prefetch = prefetch or {}
    budget = Budget()
    if not isinstance(prefetch, dict):
        raise BadPrefetch("prefetch: expected a JSON object")
    found: list[dict] = []
    missing = []
    for key, template in templates(knowledge).items():
        if key in prefetch:
            found += _resources(prefetch[key], key)
        elif source.server:
            found += await _fetch(client, source, render(template, patient_id), key, budget)
        else:
            missing.append(key)
    if missing:
        raise PrefetchMissing(f"prefetch is missing {', '.join(missing)}, and no allow-listed FHIR server may be read for them "
                              "(the operator allow-lists servers with --fhir-server; without one the service is prefetch-only)")
    seen: dict[tuple[str, str], dict] = {}
    anonymous = []
    for resource in found:
        rid = resource.get("id")
        if isinstance(rid, str):
            seen.setdefault((resource["resourceType"], rid), resource)
        else:
            anonymous.append(resource)
    patients = [r for (kind, rid), r in seen.items() if kind == "Patient"]
    if not any(rid == patient_id for (kind, rid) in seen if kind == "Patient"):
        if prefetch.get("patient", "absent") is None:
            raise BadPrefetch("prefetch.patient is null: the Patient is needed")
        if patients:
            raise BadPrefetch(f"prefetch.patient is Patient/{patients[0].get('id')}, not the context's patient {patient_id}")
    entries = [{"resource": r} for r in (*seen.values(), *anonymous)]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}
