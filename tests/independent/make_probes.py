#!/usr/bin/env python3
"""Write probes/: small records for the contract points no public example or case settles.

Each probe is NAME.json (a Bundle) and NAME.expected.json in check-contract's format, derived
by hand from CONTRACT.md v3 (the "why" says which sentence, and where the reading is a choice
the README's ambiguity number). Rerun to regenerate; compare.py reads them like the cases.
As-of date 2026-11-24 throughout (minus 3 months 2026-08-24, minus 12 months 2025-11-24).
"""
import json
from pathlib import Path

OUT = Path(__file__).resolve().parent / "probes"
ACTIONS = ["order-serum-b12", "order-mma", "oral-b12-high-dose", "im-b12-loading", "follow-up-3-months",
           "urgent-untreated-deficiency", "avoid-folic-acid-alone", "enhanced-monitoring", "lifelong-maintenance",
           "maintenance-may-stop", "escalate-to-parenteral", "b12-for-neuropathic-pain"]
ATC, RX = "http://www.whocc.no/atc", "http://www.nlm.nih.gov/research/umls/rxnorm"
ROUTE = {"oral": "26643006", "im": "78421000"}


def neuropathy(verification=None):
    c = {"resourceType": "Condition", "id": "cond-pn",
         "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                        "code": "active"}]},
         "code": {"coding": [{"system": "http://snomed.info/sct", "code": "302226006"}]},
         "onsetDateTime": "2025-06-01"}
    if verification:
        c["verificationStatus"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                               "code": verification}]}
    return c


def b12(id_, date, value, unit="pg/mL", comparator=None):
    q = {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
    if comparator:
        q["comparator"] = comparator
    return {"resourceType": "Observation", "id": id_, "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2132-9"}]},
            "effectiveDateTime": date, "valueQuantity": q}


def mma(id_, date, value, comparator=None):
    o = b12(id_, date, value, "umol/L", comparator)
    o["code"]["coding"][0]["code"] = "13964-2"
    return o


def statement(id_, atc, name, start, status="active", end=None, dose=None, unit="ug", route=None,
              period_unit="d", timing=True, effective_date=False):
    s = {"resourceType": "MedicationStatement", "id": id_, "status": status,
         "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc, "display": name}], "text": name}}
    if effective_date:
        s["effectiveDateTime"] = start
    else:
        s["effectivePeriod"] = {"start": start, **({"end": end} if end else {})}
    if dose is not None or route:
        d = {}
        if timing:
            d["timing"] = {"repeat": {"frequency": 1, "period": 1, "periodUnit": period_unit}}
        if dose is not None:
            d["doseAndRate"] = [{"doseQuantity": {"value": dose, "unit": unit, "system": "http://unitsofmeasure.org",
                                                  "code": unit}}]
        if route:
            d["route"] = {"coding": [{"system": "http://snomed.info/sct", "code": ROUTE[route]}]}
        s["dosage"] = [d]
    return s


def request(id_, rx, name, authored, status="active", bounds_end=None):
    r = {"resourceType": "MedicationRequest", "id": id_, "status": status, "intent": "order",
         "medicationCodeableConcept": {"coding": [{"system": RX, "code": rx, "display": name}], "text": name},
         "authoredOn": authored}
    if bounds_end:
        r["dosageInstruction"] = [{"timing": {"repeat": {"boundsPeriod": {"start": authored, "end": bounds_end}}}}]
    return r


PROBES = {
    # C3 "Censored results" + C6: only an interval giving one status decides; <200 with an elevated MMA
    # spans confirmed (<180) and functional (180-200): literally indeterminate, and no order-mma
    # (an MMA qualifies). Clinically both are deficiency (README, clinical point).
    "censored-below-200-elevated-mma-indeterminate": (
        [neuropathy(), b12("obs-b12", "2026-11-02", 200, comparator="<"), mma("obs-mma", "2026-11-02", 0.8)],
        {"b12_status": "indeterminate", "must": [], "data_quality_codes": ["censored-result"]}),
    # C3 urgent: ambiguity 6 (earliest of the unbroken deficient run): 150 in 2024, 400 in 2025,
    # 160 on 2026-11-01: the deficiency found now is 23 days old: not urgent.
    "urgent-not-earlier-deficiency-resolved-in-between": (
        [neuropathy(), b12("obs-1", "2024-01-10", 150), b12("obs-2", "2025-03-10", 400),
         b12("obs-3", "2026-11-01", 160)],
        {"b12_status": "confirmed", "must": ["oral-b12-high-dose", "follow-up-3-months"],
         "follow_up_due": "2027-02-24"}),
    # Same run, unbroken: 150 in 2024 and 160 now, nothing in between: untreated for 2+ years.
    "urgent-fires-unbroken-deficient-run": (
        [neuropathy(), b12("obs-1", "2024-01-10", 150), b12("obs-3", "2026-11-01", 160)],
        {"b12_status": "confirmed",
         "must": ["oral-b12-high-dose", "follow-up-3-months", "urgent-untreated-deficiency"],
         "safety_actions": ["urgent-untreated-deficiency"], "follow_up_due": "2027-02-24"}),
    # Ambiguity 8: PPIs as one class: omeprazole 2024-06-01..2026-05-31, pantoprazole since
    # 2026-06-01 (active): 29 months of PPI use (pantoprazole alone: under 6 months).
    "ppi-switch-omeprazole-to-pantoprazole-one-exposure": (
        [neuropathy(), b12("obs-b12", "2026-11-01", 600),
         statement("med-omep", "A02BC01", "omeprazole", "2024-06-01", "completed", end="2026-05-31", dose=20,
                   unit="mg", route="oral"),
         statement("med-panto", "A02BC02", "pantoprazole", "2026-06-01", dose=40, unit="mg", route="oral")],
        {"b12_status": "unlikely", "must": ["enhanced-monitoring"], "risk_factors": ["ppi-over-12-months"]}),
    # Ambiguity 9: cobalamins as one therapy: IM hydroxocobalamin 2026-05-01..2026-06-01, then oral
    # cyanocobalamin 1000 ug/day from 2026-08-15: one episode from 2026-05-01 (IM covers 3 months after
    # its end, C3), follow-up due 2026-08-01.
    "therapy-im-then-oral-one-episode": (
        [neuropathy(), b12("obs-b12", "2026-04-20", 150),
         statement("med-im", "B03BA03", "hydroxocobalamin", "2026-05-01", "completed", end="2026-06-01",
                   dose=1000, route="im", period_unit="wk"),
         statement("med-oral", "B03BA01", "cyanocobalamin", "2026-08-15", dose=1000, route="oral")],
        {"b12_status": "confirmed", "must": ["follow-up-3-months"], "follow_up_due": "2026-08-01",
         "follow_up_overdue": True, "b12_therapy_current": True}),
    # C6 stale: an active statement dated by effectiveDateTime (a point) in 2024: stale, no risk factor.
    "stale-statement-effective-datetime": (
        [neuropathy(), b12("obs-b12", "2026-11-01", 600),
         statement("med-met", "A10BA02", "metformin", "2024-03-01", effective_date=True)],
        {"b12_status": "unlikely", "must": [], "risk_factors": [], "data_quality_codes": ["stale-record"]}),
    # Ambiguity 2: an active order from 2024 whose boundsPeriod runs to 2027-06-30: the explicit end
    # says the course covers today: metformin since 2024-01-10, no stale-record.
    "active-order-explicit-end-covers-as-of": (
        [neuropathy(), b12("obs-b12", "2026-11-01", 600),
         request("med-met", "6809", "metformin", "2024-01-10", bounds_end="2027-06-30")],
        {"b12_status": "unlikely", "must": ["enhanced-monitoring"], "risk_factors": ["metformin-over-4-months"],
         "no_data_quality_codes": ["stale-record"]}),
    # C3 baseline: B12 150 taken during an IM course is on-treatment, never a baseline: unknown; lapsed.
    # (Clinically a low level on treatment proves deficiency: README clinical point.)
    "low-b12-on-treatment-is-not-baseline": (
        [neuropathy(), statement("med-im", "B03BA03", "hydroxocobalamin", "2026-01-10", "completed",
                                 end="2026-02-10", dose=1000, route="im", period_unit="wk"),
         b12("obs-b12", "2026-03-01", 150)],
        {"b12_status": "unknown", "must": ["order-serum-b12"],
         "data_quality_codes": ["therapy-lapsed"], "b12_therapy_current": False}),
    # Ambiguity 10: a dose with no timing read as once daily: folic acid 5 mg, no timing, status
    # indeterminate, in population: avoid-folic-acid-alone, no dose-unknown.
    "folic-acid-5-mg-no-timing-once-daily": (
        [neuropathy(), b12("obs-b12", "2026-11-01", 250),
         statement("med-fol", "B03BB01", "folic acid", "2026-09-01", dose=5, unit="mg", route="oral", timing=False)],
        {"b12_status": "indeterminate", "must": ["order-mma", "avoid-folic-acid-alone"],
         "no_data_quality_codes": ["dose-unknown"]}),
    # Ambiguity 11: maintenance-may-stop needs an identified reversible cause: none here.
    "maintenance-may-stop-not-without-identified-cause": (
        [neuropathy(), b12("obs-b12", "2026-11-01", 150)],
        {"b12_status": "confirmed", "must": ["oral-b12-high-dose", "follow-up-3-months"]}),
    # C3 maintenance-may-stop: metformin stopped 2026-01-31 (completed, explicit end): addressed.
    "maintenance-may-stop-metformin-stopped": (
        [neuropathy(), b12("obs-b12", "2026-11-01", 150),
         statement("med-met", "A10BA02", "metformin", "2023-01-01", "completed", end="2026-01-31")],
        {"b12_status": "confirmed", "must": ["oral-b12-high-dose", "follow-up-3-months", "maintenance-may-stop"],
         "risk_factors": []}),
    # Ambiguity 5: --in-population with a coded provisional diagnosis: the record codes it, so the
    # reason is suspected-peripheral-neuropathy with unconfirmed-diagnosis.
    "asserted-and-provisional-coded-is-suspected": (
        [neuropathy("provisional"), b12("obs-b12", "2026-11-01", 150)],
        {"b12_status": "confirmed", "must": ["oral-b12-high-dose", "follow-up-3-months"],
         "population_in": True, "population_reason": "suspected-peripheral-neuropathy",
         "data_quality_codes": ["unconfirmed-diagnosis"], "args": ["--in-population"]}),
    # Ambiguity 7: of two MMAs within 90 days of the B12 (250), the nearest (0.2, same day) counts,
    # not the older elevated one (0.6, 80 days before): unlikely.
    "two-mma-nearest-counts": (
        [neuropathy(), b12("obs-b12", "2026-11-01", 250), mma("obs-mma-old", "2026-08-13", 0.6),
         mma("obs-mma-new", "2026-11-01", 0.2)],
        {"b12_status": "unlikely", "must": []}),
    # C3 escalate: oral 2000 ug/day since 2026-03-01, response "unchanged" on 2026-09-01: escalate,
    # follow-up from the episode start (2026-06-01), overdue (no B12 since).
    "escalate-oral-unchanged": (
        [neuropathy(), b12("obs-b12", "2026-02-20", 150),
         statement("med-oral", "B03BA01", "cyanocobalamin", "2026-03-01", dose=2000, route="oral"),
         {"resourceType": "Observation", "id": "obs-resp", "status": "final",
          "code": {"coding": [{"system": "https://w3id.org/b12kg/fhir/CodeSystem/facts", "code": "neuropathy-response"}]},
          "effectiveDateTime": "2026-09-01",
          "valueCodeableConcept": {"coding": [{"system": "https://w3id.org/b12kg/fhir/CodeSystem/facts",
                                               "code": "unchanged"}]}}],
        {"b12_status": "confirmed", "must": ["escalate-to-parenteral", "follow-up-3-months"],
         "follow_up_due": "2026-06-01", "follow_up_overdue": True, "follow_up_results_facts": ["obs-resp"]}),
    # Ambiguity 3: an open effectivePeriod with a dateAsserted more than 12 months old is stale.
    "stale-statement-open-period-asserted-2024": (
        [neuropathy(), b12("obs-b12", "2026-11-01", 600),
         {**statement("med-met", "A10BA02", "metformin", "2024-03-01"), "dateAsserted": "2024-03-05"}],
        {"b12_status": "unlikely", "must": [], "risk_factors": [], "data_quality_codes": ["stale-record"]}),
    # C6: a dispense with no daysSupply covers quantity / daily dose: 60 tablets at 1 twice a day
    # = 30 days from 2026-11-01 (current); the metformin before it joins: since 2026-05-01.
    "dispense-quantity-over-daily-dose": (
        [neuropathy(), b12("obs-b12", "2026-11-01", 600),
         statement("med-met-old", "A10BA02", "metformin", "2026-05-01", "completed", end="2026-10-31"),
         {"resourceType": "MedicationDispense", "id": "disp-met", "status": "completed",
          "medicationCodeableConcept": {"coding": [{"system": RX, "code": "6809", "display": "metformin"}]},
          "whenHandedOver": "2026-11-01", "quantity": {"value": 60},
          "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                                 "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}]}]}],
        {"b12_status": "unlikely", "must": ["enhanced-monitoring"], "risk_factors": ["metformin-over-4-months"]}),
    # C3 units: 100 pmol/L = 135.5 ng/L: confirmed.
    "b12-in-pmol-per-l": (
        [neuropathy(), b12("obs-b12", "2026-11-01", 100, unit="pmol/L")],
        {"b12_status": "confirmed", "must": ["oral-b12-high-dose", "follow-up-3-months"]}),
    # Ambiguity 6b: two serum B12 on the latest date (150 and 400): the lower decides.
    "same-day-two-b12-lower-decides": (
        [neuropathy(), b12("obs-b12-a", "2026-11-01", 400), b12("obs-b12-b", "2026-11-01", 150)],
        {"b12_status": "confirmed", "must": ["oral-b12-high-dose", "follow-up-3-months"]}),
    # C3 table: B12 exactly 500 ng/L in the population, no metabolite: order-mma (<= 500).
    "b12-exactly-500-order-mma": (
        [neuropathy(), b12("obs-b12", "2026-11-01", 500)],
        {"b12_status": "unlikely", "must": ["order-mma"]}),
    # C3: severe manifestation (local code ataxia) with confirmed deficiency: IM loading.
    "severe-ataxia-im-loading": (
        [neuropathy(), b12("obs-b12", "2026-11-01", 150),
         {"resourceType": "Condition", "id": "cond-ataxia",
          "code": {"coding": [{"system": "https://w3id.org/b12kg/fhir/CodeSystem/facts", "code": "ataxia"}]},
          "onsetDateTime": "2026-10-01"}],
        {"b12_status": "confirmed", "must": ["im-b12-loading", "follow-up-3-months"]}),
    # C6: "a medication whose code is not recognised but whose text names a drug the guideline
    # reads is reported (medication-unrecognised-code)": a local formulary code, text "Metformin".
    "medication-local-code-metformin-text-reported": (
        [neuropathy(), b12("obs-b12", "2026-11-01", 600),
         {"resourceType": "MedicationRequest", "id": "med-local", "status": "active", "intent": "order",
          "medicationCodeableConcept": {"coding": [{"system": "http://example.org/formulary", "code": "MET500"}],
                                        "text": "Metformin 500 mg tablet"}, "authoredOn": "2026-01-10"}],
        {"b12_status": "unlikely", "must": [], "data_quality_codes": ["medication-unrecognised-code"],
         "data_quality_facts": ["med-local"]}),
}


def main():
    OUT.mkdir(exist_ok=True)
    for name, (resources, exp) in PROBES.items():
        patient = {"resourceType": "Patient", "id": name[:64], "birthDate": "1956-03-02"}
        entries = [{"fullUrl": f"urn:uuid:{name}-{i}", "resource": r} for i, r in enumerate([patient, *resources])]
        for e in entries[1:]:
            e["resource"]["subject"] = {"reference": f"Patient/{patient['id']}"}
        (OUT / f"{name}.json").write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                                      "entry": entries}, indent=1) + "\n")
        must = exp.pop("must")
        expected = {"as_of": "2026-11-24", "b12_status": exp.pop("b12_status"),
                    "actions": {"must": must, "must_not": [a for a in ACTIONS if a not in must]}, **exp}
        expected.setdefault("risk_factors", [])
        expected.setdefault("follow_up_due", "2027-02-24" if "follow-up-3-months" in must else None)
        (OUT / f"{name}.expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
