"""Shared by the real-record case writers: the expected-conclusions file format and the
look-ups that find a record's fact ids by code (so no id is typed by hand).

The format is that of tests/cases/b12/*.expected.json (shared/bin/check-contract), plus the
contract fields: `population` {in, reason, based_on} with `population_in` for check-contract,
`data_quality` [{fact, code}] with `data_quality_facts`, and the version 3 keys
`data_quality_codes` / `no_data_quality_codes`.
"""

from __future__ import annotations

import json
from pathlib import Path

AS_OF = "2026-11-24"
ACTIONS = (
    "order-serum-b12", "order-mma", "oral-b12-high-dose", "im-b12-loading", "follow-up-3-months",
    "urgent-untreated-deficiency", "avoid-folic-acid-alone", "enhanced-monitoring", "lifelong-maintenance",
    "maintenance-may-stop", "escalate-to-parenteral", "b12-for-neuropathic-pain",
)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
NEUROPATHY_T2DM = "368581000119106"  # neuropathy due to type 2 diabetes mellitus, a descendant of 302226006
METFORMIN_ER_500 = "860975"
B12_INJECTION = "2001499"


def resources(bundle: dict, resource_type: str) -> list[dict]:
    return [e["resource"] for e in bundle.get("entry", []) if e.get("resource", {}).get("resourceType") == resource_type]


def patient_id(bundle: dict) -> str:
    (patient,) = resources(bundle, "Patient")
    return patient["id"]


def codes_of(resource: dict, element: str) -> set[str]:
    return {c.get("code") for c in resource.get(element, {}).get("coding", [])}


def condition_ids(bundle: dict, code: str) -> list[str]:
    return sorted(r["id"] for r in resources(bundle, "Condition") if code in codes_of(r, "code"))


def medication_request_ids(bundle: dict, code: str, status: str | None = None) -> list[str]:
    return sorted(
        r["id"] for r in resources(bundle, "MedicationRequest")
        if code in codes_of(r, "medicationCodeableConcept") and (status is None or r.get("status") == status)
    )


def expected(
    description: str,
    *,
    source: str,
    b12_status: str | None = "unknown",
    must: tuple[str, ...] = (),
    risk_factors: tuple[str, ...] = (),
    follow_up_due: str | None = None,
    population: dict | None = None,
    data_quality: tuple[tuple[str | None, str], ...] = (),
    based_on: dict[str, list[str]] | None = None,
    exit_code: int = 0,
    data_quality_codes: tuple[str, ...] = (),
    no_data_quality_codes: tuple[str, ...] = (),
) -> dict:
    """One expected-conclusions document."""
    unknown = set(must) - set(ACTIONS)
    if unknown:
        raise ValueError(f"not contract actions: {sorted(unknown)}")
    doc: dict = {"description": description, "source": source, "as_of": AS_OF, "b12_status": b12_status}
    doc["actions"] = {"must": list(must), "must_not": [a for a in ACTIONS if a not in must] if exit_code == 0 else []}
    if exit_code:
        doc["exit_code"] = exit_code
        return doc
    doc["risk_factors"] = sorted(risk_factors)
    doc["follow_up_due"] = follow_up_due
    if population is not None:
        doc["population"] = population
        doc["population_in"] = population["in"]
    doc["data_quality"] = [{"fact": fact, "code": code} for fact, code in data_quality]
    doc["data_quality_facts"] = sorted({fact for fact, _ in data_quality if fact})
    doc["based_on"] = based_on or {}
    if data_quality_codes:
        doc["data_quality_codes"] = sorted(data_quality_codes)  # (v3) codes that must appear, about any fact or none
    if no_data_quality_codes:
        doc["no_data_quality_codes"] = sorted(no_data_quality_codes)  # (v3) codes that must not appear
    return doc


def write_json(path: Path, doc: dict, *, compact: bool = False) -> None:
    if compact:
        path.write_text(json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n")
    else:
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


def fresh_output_dir(argv: list[str] | None, default: Path, description: str) -> Path:
    """The --output-dir of a case generator, created and emptied of the JSON files it wrote before."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--output-dir", type=Path, default=default)
    out = parser.parse_args(argv).output_dir
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.json"):
        stale.unlink()
    return out
