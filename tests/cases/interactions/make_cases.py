"""Writes the interaction cases of this folder: one FHIR R4 Bundle per row of the table in
../shared/guideline/companions.md, and their negatives, with the expected conclusions.

Run from the repository root: python tests/cases/interactions/make_cases.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = "2026-11-24"
SCT, LOINC, RX, ATC = "http://snomed.info/sct", "http://loinc.org", "http://www.nlm.nih.gov/research/umls/rxnorm", "http://www.whocc.no/atc"
G = "https://w3id.org/b12kg/guideline/"
B12, USPSTF, ADA, MHRA, AGA, AAN = (G + n for n in ("b12-neuropathy", "uspstf-folic-acid-2023", "ada-standards-2017",
                                                     "mhra-metformin-b12-2022", "aga-ppi-deprescribing-2022", "aan-polyneuropathy-2009"))


def patient(pid, gender, born):
    return {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": born}


def condition(pid, cid, code, onset="2024-01-01", system=SCT):
    return {"resourceType": "Condition", "id": cid, "subject": {"reference": f"Patient/{pid}"},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"coding": [{"system": system, "code": code}]}, "onsetDateTime": onset}


def procedure(pid, pid2, code, performed="2015-01-01"):
    return {"resourceType": "Procedure", "id": pid2, "status": "completed", "subject": {"reference": f"Patient/{pid}"},
            "code": {"coding": [{"system": SCT, "code": code}]}, "performedDateTime": performed}


def lab(pid, oid, loinc, value, unit, when="2026-11-01"):
    return {"resourceType": "Observation", "id": oid, "status": "final", "code": {"coding": [{"system": LOINC, "code": loinc}]},
            "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}


def med(pid, mid, system, code, start, dose_mg=None, status="active"):
    r = {"resourceType": "MedicationStatement", "id": mid, "status": status, "subject": {"reference": f"Patient/{pid}"},
         "medicationCodeableConcept": {"coding": [{"system": system, "code": code}]}, "effectivePeriod": {"start": start}}
    if dose_mg is not None:
        r["dosage"] = [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                        "doseAndRate": [{"doseQuantity": {"value": dose_mg, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}]}]
    return r


def b12_unlikely(pid):
    """A baseline that settles the B12 status (unlikely) and completes the AAN screening (MMA recorded)."""
    return [lab(pid, "obs-b12", "2132-9", 420, "pg/mL"), lab(pid, "obs-mma", "13964-2", 0.2, "umol/L")]


def b12_untested(pid):
    """No serum B12 yet (status unknown, the B12 guideline orders one) and an MMA recorded (the AAN
    screening complete): a status for which the folic acid warning applies in the population
    (contract 3, v3: not `unlikely`)."""
    return [lab(pid, "obs-mma", "13964-2", 0.2, "umol/L")]


def pn(pid):
    return condition(pid, "cond-pn", "302226006")


CASES = {
    "contradiction-fires-could-become-pregnant-folic-acid-0_4-mg": dict(
        description="Row 1. A woman of 30 with neuropathy takes folic acid 0.4 mg daily, no B12 therapy and no serum B12 yet: "
                    "USPSTF recommends 0.4-0.8 mg daily (she could become pregnant), the B12 guideline advises against folic acid "
                    "above 0.1 mg alone: contradiction, "
                    "repaired by adding B12 or knowing the B12 status.",
        patient=("female", "1996-05-01"), facts=lambda p: [pn(p), *b12_untested(p), med(p, "med-folic", RX, "4511", "2026-01-01", 0.4)],
        b12_status="unknown", actions={"must": ["avoid-folic-acid-alone"]},
        companions={"must": ["could-become-pregnant", "uspstf-folic-acid-0.4-0.8-mg-daily"]},
        interactions=[{"type": "contradiction", "guidelines": [B12, USPSTF], "based_on": ["med-folic", "p"]}]),
    "contradiction-not-man-on-folic-acid": dict(
        description="Negative of row 1: a man of 30 on folic acid 0.4 mg daily: the B12 guideline still warns against folic acid "
                    "alone, USPSTF does not apply (he cannot become pregnant): no contradiction.",
        patient=("male", "1996-05-01"), facts=lambda p: [pn(p), *b12_untested(p), med(p, "med-folic", RX, "4511", "2026-01-01", 0.4)],
        b12_status="unknown", actions={"must": ["avoid-folic-acid-alone"]},
        companions={"must_not": ["could-become-pregnant", "uspstf-folic-acid-0.4-0.8-mg-daily"]}, interactions=[]),
    "contradiction-not-folic-acid-with-b12-therapy": dict(
        description="Negative of row 1: a woman of 30 on folic acid 0.4 mg daily with active oral B12: USPSTF applies, the B12 "
                    "guideline's warning does not (folic acid is not alone): no contradiction.",
        patient=("female", "1996-05-01"),
        facts=lambda p: [pn(p), *b12_untested(p), med(p, "med-folic", RX, "4511", "2026-01-01", 0.4),
                         med(p, "med-b12", ATC, "B03BA01", "2026-11-10", 1.0)],
        b12_status="unknown", actions={"must_not": ["avoid-folic-acid-alone"]},
        companions={"must": ["uspstf-folic-acid-0.4-0.8-mg-daily"]}, interactions=[]),
    "contradiction-not-after-menopause-age": dict(
        description="Negative of row 1: a woman of 60 on folic acid 0.4 mg daily, no B12: the B12 warning fires, USPSTF does not "
                    "(age 51 or over is read as not able to become pregnant): no contradiction.",
        patient=("female", "1966-05-01"), facts=lambda p: [pn(p), *b12_untested(p), med(p, "med-folic", RX, "4511", "2026-01-01", 0.4)],
        b12_status="unknown", actions={"must": ["avoid-folic-acid-alone"]},
        companions={"must_not": ["could-become-pregnant"]}, interactions=[]),
    "contradiction-not-after-hysterectomy": dict(
        description="Negative of row 1: a woman of 35 after a hysterectomy, on folic acid 0.4 mg daily: she cannot become pregnant, "
                    "USPSTF does not apply: no contradiction.",
        patient=("female", "1991-05-01"),
        facts=lambda p: [pn(p), *b12_untested(p), med(p, "med-folic", RX, "4511", "2026-01-01", 0.4), procedure(p, "proc-hyst", "236886002")],
        b12_status="unknown", actions={"must": ["avoid-folic-acid-alone"]},
        companions={"must_not": ["could-become-pregnant"]}, interactions=[]),
    "repairable-transition-fires-type-2-diabetes-metformin-over-4-months": dict(
        description="Row 2 (and row 3). A woman of 60 with type 2 diabetes and neuropathy on metformin since 2024: ADA recommends "
                    "metformin first line, the B12 guideline names metformin over 4 months a risk factor and asks for closer monitoring: "
                    "a repairable transition (metformin lowers B12, monitoring and repletion repair it, metformin continues); and "
                    "ADA, MHRA and the B12 guideline all ask for a serum B12: one test (repetition).",
        patient=("female", "1966-05-01"),
        facts=lambda p: [pn(p), condition(p, "cond-t2d", "44054006", "2020-01-01"), *b12_unlikely(p),
                         med(p, "med-metformin", RX, "6809", "2024-01-01")],
        b12_status="unlikely", actions={"must": ["enhanced-monitoring"]}, risk_factors=["metformin-over-4-months"],
        companions={"must": ["ada-metformin-first-line", "ada-periodic-b12-measurement", "mhra-b12-testing"]},
        interactions=[{"type": "repairable-transition", "guidelines": [ADA, B12], "based_on": ["cond-t2d", "med-metformin"],
                       "resolution_has": "Continue metformin"},
                      {"type": "repetition", "guidelines": [ADA, B12, MHRA], "based_on": ["med-metformin"]}]),
    "repetition-fires-metformin-neuropathy": dict(
        description="Row 3. A man of 60 with neuropathy on metformin since 2024 (no diabetes recorded): ADA 2017 periodic B12 "
                    "measurement, MHRA testing and the B12 guideline's enhanced monitoring ask for the same serum B12: one order.",
        patient=("male", "1966-05-01"),
        facts=lambda p: [pn(p), *b12_unlikely(p), med(p, "med-metformin", RX, "6809", "2024-01-01")],
        b12_status="unlikely", actions={"must": ["enhanced-monitoring"]}, risk_factors=["metformin-over-4-months"],
        companions={"must": ["ada-periodic-b12-measurement", "mhra-b12-testing"], "must_not": ["ada-metformin-first-line"]},
        interactions=[{"type": "repetition", "guidelines": [ADA, B12, MHRA], "based_on": ["med-metformin", "cond-pn"]}]),
    "repetition-fires-metformin-under-4-months-without-b12-risk-factor": dict(
        description="Negative of rows 2-3: type 2 diabetes and neuropathy, metformin started 2026-09-01 (under 4 months): no B12 risk "
                    "factor and no enhanced monitoring, so no repairable transition; ADA and MHRA still both ask for a serum B12 "
                    "(the ADA repetition).",
        patient=("male", "1966-05-01"),
        facts=lambda p: [pn(p), condition(p, "cond-t2d", "44054006", "2026-08-01"), *b12_unlikely(p),
                         med(p, "med-metformin", RX, "6809", "2026-09-01")],
        b12_status="unlikely", actions={"must_not": ["enhanced-monitoring"]}, risk_factors=[],
        companions={"must": ["ada-metformin-first-line", "ada-periodic-b12-measurement", "mhra-b12-testing"]},
        interactions=[{"type": "repetition", "guidelines": [ADA, MHRA], "based_on": ["med-metformin"]}]),
    "alternative-actions-fires-ppi-over-12-months": dict(
        description="Row 4. A man of 60 with neuropathy on omeprazole since 2024: the B12 guideline monitors (PPI over 12 months), "
                    "AGA asks for the indication review and de-prescribing without a definitive indication, and forbids stopping "
                    "for adverse-event concern alone: alternative actions; the indication question, not a stop order.",
        patient=("male", "1966-05-01"),
        facts=lambda p: [pn(p), *b12_unlikely(p), med(p, "med-ppi", RX, "7646", "2024-01-01")],
        b12_status="unlikely", actions={"must": ["enhanced-monitoring"]}, risk_factors=["ppi-over-12-months"],
        companions={"must": ["aga-review-ppi-indication"]},
        interactions=[{"type": "alternative-actions", "guidelines": [AGA, B12], "based_on": ["med-ppi"],
                       "resolution_has": "never because of the B12 risk alone"}]),
    "alternative-actions-not-ppi-under-12-months": dict(
        description="Negative of row 4: omeprazole since 2026-06-01: AGA's indication review applies (every PPI user), the B12 "
                    "risk factor does not: no interaction.",
        patient=("male", "1966-05-01"),
        facts=lambda p: [pn(p), *b12_unlikely(p), med(p, "med-ppi", RX, "7646", "2026-06-01")],
        b12_status="unlikely", actions={"must_not": ["enhanced-monitoring"]}, risk_factors=[],
        companions={"must": ["aga-review-ppi-indication"]}, interactions=[]),
    "repetition-fires-indeterminate-b12-no-mma": dict(
        description="Row 5. A man of 60 with neuropathy, serum B12 250 pg/mL, no MMA: the B12 guideline orders MMA (indeterminate), "
                    "AAN 2009 asks for serum B12 with MMA: one MMA test serves both.",
        patient=("male", "1966-05-01"), facts=lambda p: [pn(p), lab(p, "obs-b12", "2132-9", 250, "pg/mL")],
        b12_status="indeterminate", actions={"must": ["order-mma"]},
        companions={"must": ["aan-b12-with-mma"]},
        interactions=[{"type": "repetition", "guidelines": [AAN, B12], "based_on": ["cond-pn", "obs-b12"],
                       "resolution_has": "one methylmalonic acid test"}]),
    "no-interaction-only-b12-guideline": dict(
        description="Only the B12 guideline applies: a man of 60 with neuropathy, serum B12 150 pg/mL and MMA 0.5 umol/L recorded, "
                    "no medication: no companion conclusion, no interaction.",
        patient=("male", "1966-05-01"),
        facts=lambda p: [pn(p), lab(p, "obs-b12", "2132-9", 150, "pg/mL"), lab(p, "obs-mma", "13964-2", 0.5, "umol/L")],
        b12_status="confirmed", actions={"must": ["oral-b12-high-dose"]}, risk_factors=[],
        companions={"none": True}, interactions=[]),
    "no-interaction-uspstf-only": dict(
        description="USPSTF alone: a woman of 25 with neuropathy and a settled B12 status, no folic acid: USPSTF recommends folic "
                    "acid, the B12 guideline has nothing against it: no interaction.",
        patient=("female", "2001-05-01"), facts=lambda p: [pn(p), *b12_unlikely(p)],
        b12_status="unlikely", actions={"must_not": ["avoid-folic-acid-alone"]},
        companions={"must": ["could-become-pregnant", "uspstf-folic-acid-0.4-0.8-mg-daily"]}, interactions=[]),
}

PACK_CASES = {
    "aan-polyneuropathy": {
        "aan-b12-with-mma-not-mma-recorded": dict(
            description="Polyneuropathy with serum B12 and MMA already recorded: the AAN screening is complete, it does not fire.",
            patient=("male", "1966-05-01"), facts=lambda p: [pn(p), *b12_unlikely(p)], b12_status="unlikely", actions={},
            companions={"must_not": ["aan-b12-with-mma"]}, interactions=[]),
    },
    "ada-diabetes": {
        "ada-metformin-first-line-fires-type-2-diabetes-without-metformin": dict(
            description="Type 2 diabetes, no metformin yet: ADA's first-line recommendation fires, its periodic B12 measurement "
                        "(for metformin-treated patients) does not.",
            patient=("male", "1966-05-01"), facts=lambda p: [pn(p), condition(p, "cond-t2d", "44054006"), *b12_unlikely(p)],
            b12_status="unlikely", actions={}, companions={"must": ["ada-metformin-first-line"], "must_not": ["ada-periodic-b12-measurement"]},
            interactions=[]),
        "ada-periodic-b12-not-metformin-stopped": dict(
            description="Metformin recorded as stopped: not a metformin-treated patient, ADA's periodic B12 measurement does not fire.",
            patient=("male", "1966-05-01"),
            facts=lambda p: [pn(p), *b12_unlikely(p), med(p, "med-metformin", RX, "6809", "2020-01-01", status="stopped")],
            b12_status="unlikely", actions={}, risk_factors=[],
            companions={"must_not": ["ada-periodic-b12-measurement", "mhra-b12-testing"]}, interactions=[]),
    },
    "aga-ppi-deprescribing": {
        "aga-review-ppi-indication-not-ppi-stopped": dict(
            description="A proton pump inhibitor recorded as stopped: nothing to review.",
            patient=("male", "1966-05-01"),
            facts=lambda p: [pn(p), *b12_unlikely(p), med(p, "med-ppi", RX, "7646", "2020-01-01", status="stopped")],
            b12_status="unlikely", actions={}, risk_factors=[], companions={"must_not": ["aga-review-ppi-indication"]}, interactions=[]),
    },
    "mhra-metformin-b12": {
        "mhra-b12-testing-not-metformin-without-risk-factor": dict(
            description="Metformin for two months, no neuropathy, anaemia or MHRA risk factor: MHRA's testing does not fire (ADA's "
                        "periodic measurement does, alone: no interaction).",
            patient=("male", "1966-05-01"),
            facts=lambda p: [*b12_unlikely(p), med(p, "med-metformin", RX, "6809", "2026-09-24")],
            b12_status="unlikely", actions={}, risk_factors=[],
            companions={"must": ["ada-periodic-b12-measurement"], "must_not": ["mhra-b12-testing"]}, interactions=[]),
    },
    "uspstf-folic-acid": {
        "could-become-pregnant-fires-pregnancy-recorded-sex-unknown": dict(
            description="A current pregnancy is recorded (sex not recorded): the person could become pregnant, USPSTF fires.",
            patient=("unknown", "1994-05-01"), facts=lambda p: [pn(p), *b12_unlikely(p), condition(p, "cond-pregnancy", "77386006", "2026-10-01")],
            b12_status="unlikely", actions={}, companions={"must": ["could-become-pregnant", "uspstf-folic-acid-0.4-0.8-mg-daily"]},
            interactions=[]),
        "could-become-pregnant-not-sex-unknown": dict(
            description="Sex unknown and no pregnancy recorded: whether the person could become pregnant is not decided from the "
                        "record, USPSTF does not fire.",
            patient=("unknown", "1994-05-01"), facts=lambda p: [pn(p), *b12_unlikely(p)],
            b12_status="unlikely", actions={}, companions={"must_not": ["could-become-pregnant", "uspstf-folic-acid-0.4-0.8-mg-daily"]},
            interactions=[]),
        "could-become-pregnant-not-age-11": dict(
            description="A girl of 11: under the youngest age counted (12 years), USPSTF does not fire.",
            patient=("female", "2015-06-01"), facts=lambda p: [pn(p), *b12_unlikely(p)],
            b12_status="unlikely", actions={}, companions={"must_not": ["could-become-pregnant"]}, interactions=[]),
    },
}


def _write(folder: Path, name: str, case: dict) -> None:
    pid = name.replace("_", "-")[:64]
    entries = [patient(pid, *case["patient"]), *case["facts"](pid)]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in entries]}
    expected = {"description": case["description"], "as_of": AS_OF, "b12_status": case["b12_status"], "actions": case["actions"],
                "companions": case["companions"],
                "interactions": [{**i, "based_on": [pid if f == "p" else f for f in i["based_on"]]} for i in case["interactions"]]}
    if "risk_factors" in case:
        expected["risk_factors"] = case["risk_factors"]
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(bundle, indent=1) + "\n")
    (folder / f"{name}.expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")


def main() -> None:
    for name, case in CASES.items():
        _write(HERE, name, case)
    for pack, cases in PACK_CASES.items():
        for name, case in cases.items():
            _write(HERE.parent / pack, name, case)


if __name__ == "__main__":
    main()
