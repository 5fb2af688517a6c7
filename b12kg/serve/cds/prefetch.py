"""CDS Hooks prefetch: the templates (from the knowledge) and the patient's record assembled
from prefetch, or fetched from the client's FHIR server when a key is missing.

The templates keep to the subset CDS Hooks 2.0 recommends (an instance read, type searches by
`patient`, token searches by equality): the Patient; Observations by the codes the guidelines
read; every Condition, Procedure and medication resource of the patient (a medication is
read through its ingredients, which a code search cannot express). A `medicationReference`
to a Medication that prefetch does not hold is read from the FHIR server by id.

A key present with a null value means the client has no such data; a key that is missing is
fetched from `fhirServer` with the access token given, when that server is allow-listed
(fhir_client.py); with neither, the caller answers 412.

References: the assembled record keeps each entry's `fullUrl`, so a Bundle of `urn:uuid:`
references (Synthea, any transaction Bundle) resolves as a FHIR server's `Patient/<id>`
search answers do; a Patient given without a fullUrl whose id is a UUID is also named
`urn:uuid:<id>` (the name a transaction Bundle gives it).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from ...errors import HttpError
from ...knowledge import Knowledge
from ...render.plandefinition import FACT_KINDS, MEDICATION_KINDS
from ...render.vocabulary import vocabulary
from ..fhir_client import FAILED, Budget, FetchFailed, FetchRefused, FhirBase, FhirClient

MAX_PAGES = 20
"""Most pages of one search followed (Bundle.link next)."""

MAX_MEDICATION_READS = 50
"""Most referenced Medications read one by one for one call."""

_TOKEN = re.compile(r"\{\{\s*context\.patientId\s*\}\}")


class PrefetchMissing(HttpError):
    """Data the service needs is neither prefetched nor fetchable (HTTP 412)."""

    def __init__(self, message: str):
        super().__init__(412, message)


class BadPrefetch(HttpError):
    """A prefetched value is not FHIR the service can read (HTTP 400)."""

    def __init__(self, message: str):
        super().__init__(400, message)


def _key(kind: str) -> str:
    return kind[0].lower() + kind[1:] + "s"


def templates(knowledge: Knowledge) -> dict[str, str]:
    """The prefetch templates: the Patient, Observations by the codes read, and the patient's
    Conditions, Procedures and medication resources."""
    found = {"patient": "Patient/{{context.patientId}}"}
    codes = ",".join(f"{system}|{code}" for kind, system, code in vocabulary(knowledge).prefetch_codes if kind == "Observation")
    for kind in FACT_KINDS:
        found[_key(kind)] = f"{kind}?patient={{{{context.patientId}}}}" + (f"&code={codes}" if kind == "Observation" and codes else "")
    for kind in MEDICATION_KINDS:
        found[_key(kind)] = f"{kind}?patient={{{{context.patientId}}}}"
    return found


def render(template: str, patient_id: str) -> str:
    """A template with the patient id filled in (URL-encoded)."""
    return _TOKEN.sub(quote(patient_id, safe=""), template)


@dataclass
class Source:
    """Where a missing prefetch key may be fetched from: an allow-listed base, or None (prefetch only)."""

    server: FhirBase | None
    token: str | None


def _entries(value, key: str) -> list[tuple[dict, str | None]]:
    """(resource, fullUrl) of one prefetch value: a Bundle's entries, or one resource."""
    if value is None:
        return []
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise BadPrefetch(f"prefetch.{key}: expected a FHIR resource or Bundle (a JSON object with resourceType), "
                          f"found {type(value).__name__}")
    if value["resourceType"] == "OperationOutcome":
        return []
    if value["resourceType"] != "Bundle":
        return [(value, None)]
    entries = value.get("entry", [])
    if not isinstance(entries, list):
        raise BadPrefetch(f"prefetch.{key}: Bundle.entry is not a list")
    found = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict) \
                or not isinstance(entry["resource"].get("resourceType"), str):
            raise BadPrefetch(f"prefetch.{key}: Bundle.entry[{index}] has no resource (a JSON object with resourceType)")
        if entry["resource"].get("resourceType") != "OperationOutcome":
            full_url = entry.get("fullUrl")
            found.append((entry["resource"], full_url if isinstance(full_url, str) and full_url else None))
    return found


async def _fetch(client: FhirClient, source: Source, path: str, key: str, budget: Budget) -> list[tuple[dict, str | None]]:
    """The entries a FHIR search (or read) returns, following `next` pages under the same base."""
    url = source.server.join(path)
    found: list[tuple[dict, str | None]] = []
    for _ in range(MAX_PAGES):
        try:
            body = await client.get_json(source.server, url, source.token, budget)
            found += _entries(body, key)
            following = client.next_page(url, body)
        except (FetchRefused, FetchFailed) as exc:
            raise PrefetchMissing(f"{key}: {exc}") from None
        except BadPrefetch:
            raise PrefetchMissing(f"{key}: {FAILED}") from None
        if following is None:
            return found
        url = following
    raise PrefetchMissing(f"{key}: more than {MAX_PAGES} pages")


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def _referenced_medications(found: list[tuple[dict, str | None]]) -> list[str]:
    """Ids of the Medications the medication resources reference by Medication/<id> but no entry holds."""
    held = {r.get("id") for r, _ in found if r.get("resourceType") == "Medication"} | {u for _, u in found if u}
    wanted = []
    for resource, _ in found:
        reference = (resource.get("medicationReference") or {}).get("reference") if isinstance(resource.get("medicationReference"), dict) else None
        if isinstance(reference, str) and reference.startswith("Medication/") and reference.count("/") == 1:
            rid = reference.split("/", 1)[1]
            if rid not in held and rid not in wanted and re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", rid) and rid not in (".", ".."):
                wanted.append(rid)
    return wanted[:MAX_MEDICATION_READS]


async def assemble(prefetch: dict | None, patient_id: str, knowledge: Knowledge, source: Source, client: FhirClient) -> dict:
    """The patient's record as one FHIR Bundle (type collection), from prefetch and, for the
    missing keys, the FHIR server. Raises PrefetchMissing (412) or BadPrefetch (400)."""
    prefetch = prefetch or {}
    budget = Budget()
    if not isinstance(prefetch, dict):
        raise BadPrefetch("prefetch: expected a JSON object")
    found: list[tuple[dict, str | None]] = []
    missing = []
    for key, template in templates(knowledge).items():
        if key in prefetch:
            found += _entries(prefetch[key], key)
        elif source.server:
            found += await _fetch(client, source, render(template, patient_id), key, budget)
        else:
            missing.append(key)
    if missing:
        raise PrefetchMissing(f"prefetch is missing {', '.join(missing)}, and no allow-listed FHIR server may be read for them "
                              "(the operator allow-lists servers with --fhir-server; without one the service is prefetch-only)")
    if source.server:
        for rid in _referenced_medications(found):
            try:
                found += _entries(await client.get_json(source.server, source.server.join(f"Medication/{rid}"), source.token, budget),
                                  "medication")
            except (FetchRefused, FetchFailed, BadPrefetch):
                continue  # the loader reports a medication it cannot identify
    return _bundle(found, patient_id, prefetch)


def _bundle(found: list[tuple[dict, str | None]], patient_id: str, prefetch: dict) -> dict:
    """One collection Bundle of the resources found, each once (by type and id, else by fullUrl)."""
    seen: dict[tuple[str, str], tuple[dict, str | None]] = {}
    anonymous = []
    for resource, full_url in found:
        rid = resource.get("id")
        if isinstance(rid, str):
            kept = seen.setdefault((resource["resourceType"], rid), (resource, full_url))
            if kept[1] is None and full_url:
                seen[(resource["resourceType"], rid)] = (kept[0], full_url)
        elif full_url and all(full_url != u for _, u in anonymous):
            anonymous.append((resource, full_url))
        elif not full_url:
            anonymous.append((resource, None))
    patients = [r for (kind, _), (r, _) in seen.items() if kind == "Patient"]
    if not any(rid == patient_id for (kind, rid) in seen if kind == "Patient"):
        if prefetch.get("patient", "absent") is None:
            raise BadPrefetch("prefetch.patient is null: the Patient is needed")
        if patients:
            raise BadPrefetch(f"prefetch.patient is Patient/{patients[0].get('id')}, not the context's patient {patient_id}")
    entries = []
    for (kind, rid), (resource, full_url) in seen.items():
        if full_url is None and kind == "Patient" and _is_uuid(rid):
            full_url = f"urn:uuid:{rid}"  # how a transaction Bundle's references name it
        entries.append({"fullUrl": full_url, "resource": resource} if full_url else {"resource": resource})
    entries += [{"fullUrl": u, "resource": r} if u else {"resource": r} for r, u in anonymous]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}
