#!/usr/bin/env python3
"""Generate the clinical test cases in this folder from one readable table.

Each case is ``NAME.json`` (a FHIR R4 Bundle, type collection, in the style of the
contract examples) and ``NAME.expected.json`` in the format read by
``/work/shared/bin/check-contract``, extended with two optional keys:

- ``description``: what the patient has and why the expected conclusion follows,
  citing the row of CONTRACT.md section 3 it tests;
- ``based_on``: for ``b12_status`` and for some action and risk-factor codes, the FHIR
  resource ids the conclusion must list among the facts it used (a subset, not the
  exact list; ``[]`` means no patient fact is required, e.g. for order-serum-b12).

``must_not`` is every contract action that is not expected, so a case checks the whole
set of contract actions (extra, non-contract actions stay allowed).

Run ``python3 tests/cases/b12/make_cases.py`` from anywhere; it rewrites every case file it
owns (standard library only). Case names follow ``<rule>-<expected>-<reason>``; ``_``
stands for a decimal point. Dates: the default assessment date is 2026-11-24, so
"3 months before" is 2026-08-24, "4 months before" 2026-07-24, "12 months before"
2025-11-24 and a new follow-up is due 2027-02-24.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent

LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
FACTS = "https://w3id.org/b12kg/fhir/CodeSystem/facts"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"

AS_OF = "2026-11-24"
NEW_DUE = "2027-02-24"  # AS_OF + 3 calendar months

# Contract action codes (CONTRACT.md section 3).
ORDER_B12 = "order-serum-b12"
ORDER_MMA = "order-mma"
ORAL = "oral-b12-high-dose"
IM = "im-b12-loading"
FOLLOW_UP = "follow-up-3-months"
URGENT = "urgent-untreated-deficiency"
FOLIC = "avoid-folic-acid-alone"
MONITOR = "enhanced-monitoring"
LIFELONG = "lifelong-maintenance"
MAY_STOP = "maintenance-may-stop"
ESCALATE = "escalate-to-parenteral"
PAIN = "b12-for-neuropathic-pain"
ALL_ACTIONS = [ORDER_B12, ORDER_MMA, ORAL, IM, FOLLOW_UP, URGENT, FOLIC, MONITOR,
               LIFELONG, MAY_STOP, ESCALATE, PAIN]

# Contract risk-factor codes.
METFORMIN_RF = "metformin-over-4-months"
PPI_RF = "ppi-over-12-months"
DIET_RF = "vegan-or-vegetarian-diet"
MALABS_RF = "malabsorption"
RESECTION_RF = "gastric-or-intestinal-resection"


# --------------------------------------------------------------------------- facts
# Each builder returns one FHIR resource without its subject; build_bundle adds it.

def _coding(system, code, display=None):
    c = {"system": system, "code": code}
    if display:
        c["display"] = display
    return c


def _quantity(value, unit):
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def lab(rid, loinc, date, value, unit):
    return {"resourceType": "Observation", "id": rid, "status": "final",
            "code": {"coding": [_coding(LOINC, loinc)]},
            "effectiveDateTime": date, "valueQuantity": _quantity(value, unit)}


def b12(rid, date, value, unit="pg/mL"):
    """Serum B12: LOINC 2132-9 for mass units, 14685-2 for pmol/L."""
    return lab(rid, "14685-2" if unit == "pmol/L" else "2132-9", date, value, unit)


def mma(rid, date, value, unit="umol/L"):
    return lab(rid, "13964-2", date, value, unit)


def hcy(rid, date, value, unit="umol/L"):
    return lab(rid, "13965-9", date, value, unit)


def condition(rid, code, system=SCT, status="active", onset="2025-06-01", display=None):
    return {"resourceType": "Condition", "id": rid,
            "clinicalStatus": {"coding": [_coding(CLINICAL, status)]},
            "code": {"coding": [_coding(system, code, display)]},
            "onsetDateTime": onset}


def local_condition(rid, code, status="active", onset="2025-06-01"):
    return condition(rid, code, FACTS, status, onset)


def neuropathy(rid="cond-pn", status="active"):
    return condition(rid, "302226006", status=status, display="peripheral neuropathy")


def procedure(rid, code, system, date, display=None):
    return {"resourceType": "Procedure", "id": rid, "status": "completed",
            "code": {"coding": [_coding(system, code, display)]},
            "performedDateTime": date}


def fact_observation(rid, code, date):
    """An Observation carrying a local fact code (e.g. a recorded diet), no value."""
    return {"resourceType": "Observation", "id": rid, "status": "final",
            "code": {"coding": [_coding(FACTS, code)]}, "effectiveDateTime": date}


def response(rid, date, value):
    """Observation neuropathy-response: improved / unchanged / worsened."""
    return {"resourceType": "Observation", "id": rid, "status": "final",
            "code": {"coding": [_coding(FACTS, "neuropathy-response")]},
            "effectiveDateTime": date,
            "valueCodeableConcept": {"coding": [_coding(FACTS, value)]}}


ROUTES = {"oral": "26643006", "im": "78421000"}


def med(rid, system, code, name, start, dose, unit, freq=1, period=1, period_unit="d",
        route=None, status="active", end=None):
    effective = {"start": start}
    if end:
        effective["end"] = end
    dosage = {"timing": {"repeat": {"frequency": freq, "period": period,
                                    "periodUnit": period_unit}},
              "doseAndRate": [{"doseQuantity": _quantity(dose, unit)}]}
    if route:
        dosage["route"] = {"coding": [_coding(SCT, ROUTES[route])]}
    return {"resourceType": "MedicationStatement", "id": rid, "status": status,
            "medicationCodeableConcept": {"coding": [_coding(system, code, name)], "text": name},
            "effectivePeriod": effective, "dosage": [dosage]}


def metformin(start, rid="med-metformin", status="active", end=None, atc=False):
    system, code = (ATC, "A10BA02") if atc else (RXNORM, "6809")
    return med(rid, system, code, "metformin", start, 850, "mg", freq=2, route="oral",
               status=status, end=end)


def ppi(start, rid="med-ppi", system=RXNORM, code="7646", name="omeprazole",
        status="active", end=None):
    return med(rid, system, code, name, start, 20, "mg", route="oral", status=status, end=end)


def folic(start, dose, unit="mg", freq=1, period=1, period_unit="d", rid="med-folic",
          status="active", atc=False):
    system, code = (ATC, "B03BB01") if atc else (RXNORM, "4511")
    return med(rid, system, code, "folic acid", start, dose, unit, freq, period, period_unit,
               route="oral", status=status)


B12_DRUGS = {"cyanocobalamin": "B03BA01", "hydroxocobalamin": "B03BA03",
             "mecobalamin": "B03BA05"}


def b12_oral(start, rid="med-b12", drug="cyanocobalamin", route="oral", status="active",
             end=None):
    """Oral B12 2000 ug daily (route None = no route recorded)."""
    return med(rid, ATC, B12_DRUGS[drug], drug, start, 2000, "ug", route=route,
               status=status, end=end)


def b12_im(start, rid="med-b12-im", status="active", end=None):
    """IM hydroxocobalamin 1000 ug weekly."""
    return med(rid, ATC, "B03BA03", "hydroxocobalamin", start, 1000, "ug", period_unit="wk",
               route="im", status=status, end=end)


def pernicious_anaemia(rid="cond-pa"):
    return condition(rid, "84027009", onset="2024-01-10", display="pernicious anaemia")


# --------------------------------------------------------------------------- cases

CASES = []


V3_KEYS = ("safety_actions", "population_reason", "b12_therapy_current", "follow_up_overdue", "follow_up_results_facts",
           "data_quality_codes", "no_data_quality_codes", "risk_factors_exclude")
"""The optional keys check-contract reads from version 3 of the contract (shared/bin/check-contract)."""


def case(name, description, facts, status, must=(), risk=(), due=None, as_of=AS_OF,
         based_on=None, population=None, quality=(), args=(), patient=None, bundle_type="collection", **v3):
    """population: expected population.in (contract 5), when the case checks it; quality: fact
    ids data_quality must name (contract 6); args: extra command-line arguments; patient:
    fields added to the Patient resource; bundle_type: Bundle.type; v3: any of V3_KEYS."""
    assert set(v3) <= set(V3_KEYS), f"{name}: unknown keys {set(v3) - set(V3_KEYS)}"
    CASES.append({"name": name, "description": description, "facts": facts,
                  "status": status, "must": list(must), "risk": list(risk), "due": due,
                  "as_of": as_of, "based_on": based_on or {}, "population": population,
                  "quality": list(quality), "args": list(args), "patient": patient or {},
                  "bundle_type": bundle_type, "v3": v3})


def rejected(name, description, facts=None):
    """An input b12kg must refuse (exit 2); facts=None writes truncated JSON instead."""
    CASES.append({"name": name, "description": description, "facts": facts,
                  "rejected": True, "as_of": AS_OF})


PN = neuropathy()
D = "2026-11-02"  # a recent result date: within 3 months of AS_OF
B = {"b12_status": ["obs-b12-1"]}


def bo(**extra):
    """based_on helper: keyword names use _ for -; always includes the B12 that decides."""
    out = dict(B)
    for k, v in extra.items():
        out[k.replace("_", "-")] = v
    return out


# ---- b12_status: serum B12 thresholds and units --------------------------------------

case("status-confirmed-b12-179_9-ng-per-l",
     "Serum B12 179.9 ng/L with peripheral neuropathy and no B12 therapy: below 180 is "
     "`confirmed` (status row confirmed), so oral high-dose B12 and a 3-month follow-up.",
     [PN, b12("obs-b12-1", D, 179.9, "ng/L")],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, based_on=bo(oral_b12_high_dose=["obs-b12-1"]))

case("status-indeterminate-b12-exactly-180-ng-per-l",
     "Serum B12 exactly 180 ng/L, no MMA or homocysteine: 180 is inside 180-350, so "
     "`indeterminate` (not confirmed) and MMA must be ordered (order-mma row).",
     [PN, b12("obs-b12-1", D, 180, "ng/L")],
     "indeterminate", [ORDER_MMA], based_on=bo(order_mma=["obs-b12-1"]))

case("status-indeterminate-b12-exactly-350-ng-per-l",
     "Serum B12 exactly 350 ng/L, no metabolites: 350 is still inside 180-350 inclusive, "
     "so `indeterminate` and order-mma.",
     [PN, b12("obs-b12-1", D, 350, "ng/L")],
     "indeterminate", [ORDER_MMA], based_on=bo(order_mma=["obs-b12-1"]))

case("status-unlikely-b12-350_5-ng-per-l",
     "Serum B12 350.5 ng/L (> 350) and no metabolite: `unlikely`; but the patient has "
     "peripheral neuropathy and 350 < B12 <= 500 with no MMA/homocysteine, so order-mma "
     "still fires (order-mma row, second clause).",
     [PN, b12("obs-b12-1", D, 350.5, "ng/L")],
     "unlikely", [ORDER_MMA], based_on=bo(order_mma=["obs-b12-1"]))

case("status-confirmed-b12-132_8-pmol-per-l",
     "Serum B12 132.8 pmol/L (LOINC 14685-2) = 132.8 x 1.355 = 179.94 ng/L, below 180: "
     "`confirmed`, oral high-dose B12 and follow-up.",
     [PN, b12("obs-b12-1", D, 132.8, "pmol/L")],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, based_on=bo(oral_b12_high_dose=["obs-b12-1"]))

case("status-indeterminate-b12-258_3-pmol-per-l",
     "Serum B12 258.3 pmol/L = 349.9965 ng/L, still <= 350: `indeterminate` and order-mma "
     "(not unlikely; no rounding up to 350.0 and beyond).",
     [PN, b12("obs-b12-1", D, 258.3, "pmol/L")],
     "indeterminate", [ORDER_MMA], based_on=bo(order_mma=["obs-b12-1"]))

case("status-unknown-no-b12",
     "Peripheral neuropathy and no serum B12 at all: status `unknown` and the only "
     "action is to order a serum B12 (order-serum-b12 row); no follow-up without treatment.",
     [PN],
     "unknown", [ORDER_B12], based_on={"b12_status": [], ORDER_B12: []})

case("status-unknown-elevated-mma-without-b12",
     "MMA 0.6 umol/L is elevated but there is no serum B12: the status table needs a "
     "baseline serum B12, so `unknown` (not functional) and order-serum-b12, no treatment.",
     [PN, mma("obs-mma-1", D, 0.6)],
     "unknown", [ORDER_B12], based_on={ORDER_B12: []})

case("status-unknown-b12-deficiency-diagnosis-without-lab",
     "A coded diagnosis of vitamin B12 deficiency (SNOMED 190634004) but no serum B12 result: "
     "the status is judged on measurements only, so `unknown` and order-serum-b12.",
     [PN, condition("cond-b12def", "190634004", display="vitamin B12 deficiency")],
     "unknown", [ORDER_B12], based_on={ORDER_B12: []})

# ---- b12_status: metabolites ---------------------------------------------------------

case("status-functional-mma-401-nmol-per-l-b12-300",
     "Serum B12 300 pg/mL with MMA 401 nmol/L (= 0.401 umol/L > 0.4, elevated): "
     "`functional` deficiency (status row functional), so oral B12 and follow-up.",
     [PN, b12("obs-b12-1", D, 300), mma("obs-mma-1", D, 401, "nmol/L")],
     "functional", [ORAL, FOLLOW_UP], due=NEW_DUE,
     based_on={"b12_status": ["obs-b12-1", "obs-mma-1"]})

case("status-unlikely-mma-400-nmol-per-l-b12-300",
     "Serum B12 300 pg/mL with MMA 400 nmol/L (= exactly 0.4 umol/L, not elevated): a normal "
     "MMA in the 180-350 band makes it `unlikely` (second clause); no MMA to order, no treatment.",
     [PN, b12("obs-b12-1", D, 300), mma("obs-mma-1", D, 400, "nmol/L")],
     "unlikely", [], based_on={"b12_status": ["obs-b12-1", "obs-mma-1"]})

case("status-functional-homocysteine-15_1-b12-300",
     "Serum B12 300 pg/mL with homocysteine 15.1 umol/L (> 15, elevated) and no MMA: "
     "`functional` deficiency, oral B12 and follow-up.",
     [PN, b12("obs-b12-1", D, 300), hcy("obs-hcy-1", D, 15.1)],
     "functional", [ORAL, FOLLOW_UP], due=NEW_DUE,
     based_on={"b12_status": ["obs-b12-1", "obs-hcy-1"]})

case("status-indeterminate-homocysteine-exactly-15-b12-300",
     "Serum B12 300 pg/mL with homocysteine exactly 15 umol/L (not elevated) and no MMA: "
     "a normal homocysteine alone does not settle it, so `indeterminate` and order-mma.",
     [PN, b12("obs-b12-1", D, 300), hcy("obs-hcy-1", D, 15)],
     "indeterminate", [ORDER_MMA], based_on=bo(order_mma=["obs-b12-1"]))

case("status-functional-b12-600-mma-0_6",
     "Serum B12 600 pg/mL looks normal, but MMA 0.6 umol/L is elevated: `functional` "
     "(B12 >= 180 and a metabolite elevated), so oral B12 despite the 'normal' level.",
     [PN, b12("obs-b12-1", D, 600), mma("obs-mma-1", D, 0.6)],
     "functional", [ORAL, FOLLOW_UP], due=NEW_DUE,
     based_on={"b12_status": ["obs-b12-1", "obs-mma-1"]})

case("status-functional-normal-mma-elevated-homocysteine-b12-300",
     "Serum B12 300 pg/mL, MMA 0.2 umol/L normal but homocysteine 20 umol/L elevated: any "
     "elevated metabolite makes it `functional` (a normal MMA gives unlikely only with no "
     "elevated metabolite).",
     [PN, b12("obs-b12-1", D, 300), mma("obs-mma-1", D, 0.2), hcy("obs-hcy-1", D, 20)],
     "functional", [ORAL, FOLLOW_UP], due=NEW_DUE,
     based_on={"b12_status": ["obs-b12-1", "obs-hcy-1"]})

# ---- b12_status: the 90-day metabolite window ----------------------------------------

case("status-functional-mma-90-days-before-b12",
     "Serum B12 300 pg/mL on 2026-11-24 and MMA 0.6 umol/L on 2026-08-26, exactly 90 days "
     "earlier (window inclusive): `functional`. Earliest deficient result 2026-08-26 is not "
     "before 2026-08-24, so no urgent flag.",
     [PN, b12("obs-b12-1", "2026-11-24", 300), mma("obs-mma-1", "2026-08-26", 0.6)],
     "functional", [ORAL, FOLLOW_UP], due=NEW_DUE,
     based_on={"b12_status": ["obs-b12-1", "obs-mma-1"]})

case("status-indeterminate-mma-91-days-before-b12",
     "Serum B12 300 pg/mL on 2026-11-24 and MMA 0.6 umol/L on 2026-08-25, 91 days earlier: "
     "outside the 90-day window, so the MMA does not count: `indeterminate`, order-mma.",
     [PN, b12("obs-b12-1", "2026-11-24", 300), mma("obs-mma-1", "2026-08-25", 0.6)],
     "indeterminate", [ORDER_MMA], based_on=bo(order_mma=["obs-b12-1"]))

case("status-functional-homocysteine-90-days-after-b12",
     "Serum B12 300 pg/mL on 2026-08-25 and homocysteine 20 umol/L on 2026-11-23, exactly "
     "90 days later (the window runs both ways): `functional`, oral B12 and follow-up.",
     [PN, b12("obs-b12-1", "2026-08-25", 300), hcy("obs-hcy-1", "2026-11-23", 20)],
     "functional", [ORAL, FOLLOW_UP], due=NEW_DUE,
     based_on={"b12_status": ["obs-b12-1", "obs-hcy-1"]})

# ---- b12_status: which B12 decides, and the pre-treatment baseline ------------------

case("status-unlikely-latest-b12-600-older-b12-150",
     "Serum B12 150 pg/mL on 2026-05-01, then 600 pg/mL on 2026-11-02, no B12 therapy: the "
     "latest result decides, so `unlikely`; no treatment and no urgent flag.",
     [PN, b12("obs-b12-1", "2026-05-01", 150), b12("obs-b12-2", D, 600)],
     "unlikely", [], based_on={"b12_status": ["obs-b12-2"]})

case("status-confirmed-latest-b12-150-older-b12-600",
     "Serum B12 600 pg/mL on 2026-05-01, then 150 pg/mL on 2026-11-02: the latest result "
     "decides, so `confirmed`, oral B12; first deficient result is recent, so not urgent.",
     [PN, b12("obs-b12-1", "2026-05-01", 600), b12("obs-b12-2", D, 150)],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE,
     based_on={"b12_status": ["obs-b12-2"], ORAL: ["obs-b12-2"]})

case("status-confirmed-on-therapy-baseline-low-latest-normal",
     "B12 150 pg/mL on 2026-05-20, oral cyanocobalamin since 2026-06-01, B12 600 on "
     "2026-10-01: status is judged on the pre-treatment baseline, so `confirmed`; therapy is "
     "under way, so no new treatment, follow-up due 2026-09-01 (start + 3 months).",
     [PN, b12("obs-b12-1", "2026-05-20", 150), b12_oral("2026-06-01"),
      b12("obs-b12-2", "2026-10-01", 600)],
     "confirmed", [FOLLOW_UP], due="2026-09-01",
     based_on={"b12_status": ["obs-b12-1"], FOLLOW_UP: ["med-b12"]})

case("status-unknown-b12-on-therapy-start-day",
     "The only B12 (150 pg/mL) was taken on 2026-06-01, the day oral B12 (2000 ug daily) started: "
     "with no times of day it is taken during therapy, not a baseline, so `unknown`. On therapy "
     "with no baseline (contract 3, v3): no order-serum-b12 (a level off treatment can no longer "
     "be obtained), follow-up due 2026-09-01 (episode start + 3 months) reading the 150 as its "
     "on-treatment result, and no-baseline reported.",
     [PN, b12("obs-b12-1", "2026-06-01", 150), b12_oral("2026-06-01")],
     "unknown", [FOLLOW_UP], due="2026-09-01",
     based_on={FOLLOW_UP: ["med-b12"]}, b12_therapy_current=True, follow_up_results_facts=["obs-b12-1"],
     data_quality_codes=["no-baseline"], follow_up_overdue=True)

case("status-indeterminate-mma-after-therapy-start-not-counted",
     "B12 300 pg/mL on 2026-05-20 (baseline), oral B12 from 2026-06-01, MMA 0.6 on 2026-06-15: "
     "the MMA is within 90 days but after therapy started, so it is not baseline: "
     "`indeterminate`, order-mma; follow-up of the running therapy due 2026-09-01.",
     [PN, b12("obs-b12-1", "2026-05-20", 300), b12_oral("2026-06-01"),
      mma("obs-mma-1", "2026-06-15", 0.6)],
     "indeterminate", [ORDER_MMA, FOLLOW_UP], due="2026-09-01",
     based_on=bo(order_mma=["obs-b12-1"]))

case("status-confirmed-baseline-parenteral-course-covers-3-months-after-its-end",
     "B12 150 on 2026-02-01; IM hydroxocobalamin 2026-03-01 to 04-01 (stopped); B12 600 on "
     "2026-05-01; oral cyanocobalamin 2000 ug daily since 2026-07-01. A parenteral dose covers 3 "
     "months after it (contract 3 and 6, v3): the IM course covers to 2026-07-01 and joins the oral "
     "therapy into one episode from 2026-03-01, so the 600 (taken a month after the last injection) "
     "is on treatment and the 150 decides: `confirmed`; follow-up due 2026-06-01 (the episode's "
     "start + 3 months), overdue (no serum B12 since), with the 600 as its result.",
     [PN, b12("obs-b12-1", "2026-02-01", 150),
      b12_im("2026-03-01", status="stopped", end="2026-04-01"),
      b12("obs-b12-2", "2026-05-01", 600), b12_oral("2026-07-01")],
     "confirmed", [FOLLOW_UP], due="2026-06-01",
     based_on={"b12_status": ["obs-b12-1"], FOLLOW_UP: ["med-b12", "med-b12-im"]},
     follow_up_overdue=True, follow_up_results_facts=["obs-b12-2"], b12_therapy_current=True)

# ---- order-mma: the > 350 and <= 500 clause ------------------------------------------

case("order-mma-fires-b12-420-neuropathy-no-metabolites",
     "Serum B12 420 pg/mL (`unlikely`) in a patient with peripheral neuropathy and no MMA or "
     "homocysteine: functional deficiency is possible at 'normal' levels, so order-mma.",
     [PN, b12("obs-b12-1", D, 420)],
     "unlikely", [ORDER_MMA], based_on=bo(order_mma=["obs-b12-1"]))

case("order-mma-fires-b12-exactly-500-neuropathy",
     "Serum B12 exactly 500 pg/mL with peripheral neuropathy and no metabolites: <= 500 is "
     "inside the order-mma band, so order-mma fires.",
     [PN, b12("obs-b12-1", D, 500)],
     "unlikely", [ORDER_MMA], based_on=bo(order_mma=["obs-b12-1"]))

case("order-mma-not-b12-500_1-neuropathy",
     "Serum B12 500.1 pg/mL with peripheral neuropathy: above 500, so no MMA is ordered; "
     "`unlikely`, no action.",
     [PN, b12("obs-b12-1", D, 500.1)],
     "unlikely", [])

case("order-mma-not-b12-420-no-neuropathy",
     "Serum B12 420 pg/mL without peripheral neuropathy: the 350-500 clause needs a "
     "neuropathy, so no order-mma; `unlikely`, no action.",
     [b12("obs-b12-1", D, 420)],
     "unlikely", [])

case("order-mma-not-b12-420-neuropathy-resolved",
     "Serum B12 420 pg/mL; the peripheral neuropathy is recorded as resolved (not active): "
     "no order-mma; `unlikely`, no action.",
     [neuropathy(status="resolved"), b12("obs-b12-1", D, 420)],
     "unlikely", [])

case("order-mma-not-b12-420-normal-homocysteine",
     "Serum B12 420 pg/mL with neuropathy, and a normal homocysteine (10 umol/L) the same "
     "day: there is a metabolite result, so the 350-500 clause does not fire; `unlikely`.",
     [PN, b12("obs-b12-1", D, 420), hcy("obs-hcy-1", D, 10)],
     "unlikely", [])

case("order-mma-fires-b12-420-mma-91-days-earlier",
     "Serum B12 420 pg/mL on 2026-11-24 with neuropathy; the only MMA (0.25, normal) is from "
     "2026-08-25, 91 days earlier, so it does not qualify: order-mma fires.",
     [PN, b12("obs-b12-1", "2026-11-24", 420), mma("obs-mma-1", "2026-08-25", 0.25)],
     "unlikely", [ORDER_MMA], based_on=bo(order_mma=["obs-b12-1"]))

# ---- order-serum-b12 -----------------------------------------------------------------

case("order-serum-b12-fires-only-b12-after-as-of",
     "The only serum B12 (150 pg/mL) is dated 2026-12-01, after the assessment date: facts "
     "after as-of are ignored, so `unknown` and order-serum-b12, no treatment.",
     [PN, b12("obs-b12-1", "2026-12-01", 150)],
     "unknown", [ORDER_B12], based_on={ORDER_B12: []})

# ---- oral-b12-high-dose / im-b12-loading ---------------------------------------------

case("oral-b12-high-dose-not-therapy-lapsed-after-course-b12-now-600",
     "Baseline B12 150 pg/mL (2026-01-10); IM hydroxocobalamin course 2026-02-01 to 05-01 "
     "completed (covering to 2026-08-01, 3 months after its last dose); B12 600 on 2026-10-01, "
     "after the episode: a baseline (contract 3, v3), the latest, so `unlikely`; no treatment, "
     "no follow-up; the therapy is reported as lapsed.",
     [PN, b12("obs-b12-1", "2026-01-10", 150),
      b12_im("2026-02-01", status="completed", end="2026-05-01"),
      b12("obs-b12-2", "2026-10-01", 600)],
     "unlikely", [], based_on={"b12_status": ["obs-b12-2"]}, b12_therapy_current=False,
     data_quality_codes=["therapy-lapsed"])

case("im-b12-loading-fires-subacute-combined-degeneration",
     "Serum B12 150 pg/mL with subacute combined degeneration, no B12 therapy: a severe "
     "manifestation, so IM loading (not oral) and follow-up (im-b12-loading row).",
     [PN, b12("obs-b12-1", D, 150),
      local_condition("cond-severe", "subacute-combined-degeneration")],
     "confirmed", [IM, FOLLOW_UP], due=NEW_DUE,
     based_on=bo(im_b12_loading=["obs-b12-1", "cond-severe"]))

case("im-b12-loading-fires-myelopathy",
     "Serum B12 150 pg/mL with myelopathy: severe manifestation, IM loading instead of oral.",
     [PN, b12("obs-b12-1", D, 150), local_condition("cond-severe", "myelopathy")],
     "confirmed", [IM, FOLLOW_UP], due=NEW_DUE,
     based_on=bo(im_b12_loading=["obs-b12-1", "cond-severe"]))

case("im-b12-loading-fires-cognitive-impairment-functional",
     "Serum B12 300 pg/mL with MMA 0.6 (`functional`) and cognitive impairment attributed to "
     "B12: functional deficiency with a severe manifestation also gets IM loading, not oral.",
     [PN, b12("obs-b12-1", D, 300), mma("obs-mma-1", D, 0.6),
      local_condition("cond-severe", "cognitive-impairment-b12")],
     "functional", [IM, FOLLOW_UP], due=NEW_DUE,
     based_on={"b12_status": ["obs-b12-1", "obs-mma-1"], IM: ["cond-severe"]})

case("im-b12-loading-fires-optic-neuropathy",
     "Serum B12 150 pg/mL with optic neuropathy: severe manifestation, IM loading, not oral.",
     [PN, b12("obs-b12-1", D, 150), local_condition("cond-severe", "optic-neuropathy")],
     "confirmed", [IM, FOLLOW_UP], due=NEW_DUE,
     based_on=bo(im_b12_loading=["obs-b12-1", "cond-severe"]))

case("im-b12-loading-fires-clinician-asserted-severe-case",
     "Serum B12 150 pg/mL and a clinician-asserted severe case (Condition severe-case): IM "
     "loading, not oral.",
     [PN, b12("obs-b12-1", D, 150), local_condition("cond-severe", "severe-case")],
     "confirmed", [IM, FOLLOW_UP], due=NEW_DUE,
     based_on=bo(im_b12_loading=["obs-b12-1", "cond-severe"]))

case("im-b12-loading-not-ataxia-but-b12-unlikely",
     "Ataxia with serum B12 600 pg/mL and no elevated metabolite: `unlikely`, so no B12 "
     "treatment of either route (a severe sign alone is not a deficiency).",
     [PN, b12("obs-b12-1", D, 600), local_condition("cond-severe", "ataxia")],
     "unlikely", [])

case("im-b12-loading-not-b12-therapy-already-under-way",
     "Baseline B12 150 pg/mL (2026-05-20), myelopathy, oral B12 running since 2026-06-01: "
     "therapy is under way, so no new IM or oral recommendation; follow-up due 2026-09-01 "
     "(no response recorded, so no escalation either).",
     [PN, b12("obs-b12-1", "2026-05-20", 150), local_condition("cond-severe", "myelopathy"),
      b12_oral("2026-06-01")],
     "confirmed", [FOLLOW_UP], due="2026-09-01", based_on={FOLLOW_UP: ["med-b12"]})

# ---- follow-up-3-months: due dates ---------------------------------------------------

case("follow-up-3-months-due-2027-02-28-as-of-month-end",
     "Assessed on 2026-11-30: B12 150 pg/mL, oral B12 recommended; 3 calendar months after "
     "2026-11-30 is 2027-02-28 (no 30 February; clamped to the month's last day).",
     [PN, b12("obs-b12-1", D, 150)],
     "confirmed", [ORAL, FOLLOW_UP], due="2027-02-28", as_of="2026-11-30")

case("follow-up-3-months-due-from-earliest-active-therapy",
     "Baseline B12 150 pg/mL (2026-04-01); oral B12 active since 2026-04-10 and IM "
     "hydroxocobalamin active since 2026-09-01: follow-up is due 3 months after the earliest "
     "active start, 2026-07-10.",
     [PN, b12("obs-b12-1", "2026-04-01", 150), b12_oral("2026-04-10"), b12_im("2026-09-01")],
     "confirmed", [FOLLOW_UP], due="2026-07-10", based_on={FOLLOW_UP: ["med-b12"]})

# ---- urgent-untreated-deficiency -----------------------------------------------------

case("urgent-untreated-deficiency-fires-b12-150-on-2026-08-23",
     "Serum B12 150 pg/mL on 2026-08-23, never treated: the deficiency was found more than "
     "3 months before 2026-11-24 (before 2026-08-24), so urgent flag plus oral and follow-up.",
     [PN, b12("obs-b12-1", "2026-08-23", 150)],
     "confirmed", [ORAL, FOLLOW_UP, URGENT], due=NEW_DUE,
     based_on=bo(urgent_untreated_deficiency=["obs-b12-1"]))

case("urgent-untreated-deficiency-not-b12-150-on-2026-08-24",
     "Serum B12 150 pg/mL on 2026-08-24, exactly 3 months before 2026-11-24: not *more* than "
     "3 months, so no urgent flag; oral and follow-up.",
     [PN, b12("obs-b12-1", "2026-08-24", 150)],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE)

case("urgent-untreated-deficiency-fires-functional-mma-2026-08-10",
     "B12 300 pg/mL on 2026-08-01 and MMA 0.6 on 2026-08-10 (`functional`), never treated: "
     "the elevated MMA is the first evidence of deficiency and is older than 3 months: urgent.",
     [PN, b12("obs-b12-1", "2026-08-01", 300), mma("obs-mma-1", "2026-08-10", 0.6)],
     "functional", [ORAL, FOLLOW_UP, URGENT], due=NEW_DUE,
     based_on={"b12_status": ["obs-b12-1", "obs-mma-1"], URGENT: ["obs-mma-1"]})

case("urgent-untreated-deficiency-not-functional-mma-2026-08-24",
     "B12 300 pg/mL on 2026-08-20 (not itself deficient) and MMA 0.6 on 2026-08-24: "
     "`functional`; the first evidence of deficiency is the MMA, exactly 3 months old, so "
     "not urgent (the older normal-range B12 date must not be used).",
     [PN, b12("obs-b12-1", "2026-08-20", 300), mma("obs-mma-1", "2026-08-24", 0.6)],
     "functional", [ORAL, FOLLOW_UP], due=NEW_DUE,
     based_on={"b12_status": ["obs-b12-1", "obs-mma-1"]})

case("urgent-untreated-deficiency-not-b12-2026-02-28-as-of-2026-05-31",
     "Assessed 2026-05-31; B12 150 pg/mL on 2026-02-28. 2026-05-31 minus 3 calendar months "
     "is 2026-02-28 (clamped), and the result is not strictly before it: not urgent. Oral, "
     "follow-up due 2026-08-31.",
     [PN, b12("obs-b12-1", "2026-02-28", 150)],
     "confirmed", [ORAL, FOLLOW_UP], due="2026-08-31", as_of="2026-05-31")

case("urgent-untreated-deficiency-fires-b12-2026-02-27-as-of-2026-05-31",
     "Assessed 2026-05-31; B12 150 pg/mL on 2026-02-27, before 2026-02-28: untreated for "
     "more than 3 months, urgent. Oral, follow-up due 2026-08-31.",
     [PN, b12("obs-b12-1", "2026-02-27", 150)],
     "confirmed", [ORAL, FOLLOW_UP, URGENT], due="2026-08-31", as_of="2026-05-31",
     based_on=bo(urgent_untreated_deficiency=["obs-b12-1"]))

# ---- avoid-folic-acid-alone ----------------------------------------------------------

NORMAL_B12 = b12("obs-b12-1", "2026-11-01", 600)
BORDERLINE_B12 = b12("obs-b12-1", "2026-11-01", 250)
"""Serum B12 250 pg/mL and no MMA: `indeterminate` and order-mma, a status for which the folate
warning applies (contract 3, v3: in the population and not unlikely)."""

case("avoid-folic-acid-alone-fires-0_4-mg-daily-rxnorm",
     "Folic acid (RxNorm 4511) 0.4 mg once daily, no B12 therapy, B12 250 pg/mL (indeterminate): "
     "0.4 mg/day > 0.1 mg/day, so warn against folic acid alone (a safety warning).",
     [PN, BORDERLINE_B12, folic("2026-09-01", 0.4)],
     "indeterminate", [ORDER_MMA, FOLIC], based_on=bo(avoid_folic_acid_alone=["med-folic"]))

case("avoid-folic-acid-alone-fires-1-mg-weekly-atc",
     "Folic acid (ATC B03BB01) 1 mg once a week = 0.143 mg/day > 0.1, no B12 therapy: warn.",
     [PN, BORDERLINE_B12, folic("2026-09-01", 1, period_unit="wk", atc=True)],
     "indeterminate", [ORDER_MMA, FOLIC], based_on=bo(avoid_folic_acid_alone=["med-folic"]))

case("avoid-folic-acid-alone-fires-50-ug-every-8-hours",
     "Folic acid 50 ug every 8 hours = 150 ug = 0.15 mg per day > 0.1: warn (dose in ug, "
     "period in hours).",
     [PN, BORDERLINE_B12, folic("2026-09-01", 50, "ug", period=8, period_unit="h")],
     "indeterminate", [ORDER_MMA, FOLIC], based_on=bo(avoid_folic_acid_alone=["med-folic"]))

case("avoid-folic-acid-alone-not-exactly-0_1-mg-daily",
     "Folic acid exactly 0.1 mg daily: not *more* than 0.1 mg/day, so no warning.",
     [PN, BORDERLINE_B12, folic("2026-09-01", 0.1)],
     "indeterminate", [ORDER_MMA])

case("avoid-folic-acid-alone-not-100-ug-daily",
     "Folic acid 100 ug daily = 0.1 mg/day, not more than 0.1: no warning (ug converted).",
     [PN, BORDERLINE_B12, folic("2026-09-01", 100, "ug")],
     "indeterminate", [ORDER_MMA])

case("avoid-folic-acid-alone-not-status-unlikely-in-population",
     "Folic acid 5 mg daily, no B12 therapy, serum B12 600 pg/mL: deficiency is unlikely, so "
     "folic acid masks nothing: no warning (contract 3: in the population, status not unlikely).",
     [PN, NORMAL_B12, folic("2026-09-01", 5)],
     "unlikely", [])

case("avoid-folic-acid-alone-not-with-active-b12-therapy",
     "Folic acid 5 mg daily while oral B12 is running (since 2026-06-01, baseline B12 150): "
     "folic acid is not 'alone', no warning; follow-up due 2026-09-01.",
     [PN, b12("obs-b12-1", "2026-05-20", 150), b12_oral("2026-06-01"),
      folic("2026-01-01", 5)],
     "confirmed", [FOLLOW_UP], due="2026-09-01", based_on={FOLLOW_UP: ["med-b12"]})

case("avoid-folic-acid-alone-fires-b12-course-completed",
     "Folic acid 5 mg daily active; the only B12 therapy (IM course Feb-May 2026, covering to "
     "2026-08-01) has lapsed, so no B12 now: warn. Baseline B12 150 (`confirmed`): the lapsed "
     "therapy is restarted (contract 3, v3: oral high-dose, follow-up from the as-of date); it "
     "was treated since the deficient result, so not urgent.",
     [PN, b12("obs-b12-1", "2026-01-10", 150),
      b12_im("2026-02-01", status="completed", end="2026-05-01"),
      folic("2026-06-01", 5)],
     "confirmed", [ORAL, FOLLOW_UP, FOLIC], due=NEW_DUE, based_on=bo(avoid_folic_acid_alone=["med-folic"]),
     data_quality_codes=["therapy-lapsed"], b12_therapy_current=False)

# ---- risk factors and enhanced-monitoring --------------------------------------------

case("risk-metformin-fires-start-2026-07-23",
     "Metformin (RxNorm 6809) active since 2026-07-23, more than 4 months before 2026-11-24: "
     "risk factor metformin-over-4-months and enhanced monitoring.",
     [PN, NORMAL_B12, metformin("2026-07-23")],
     "unlikely", [MONITOR], [METFORMIN_RF],
     based_on=bo(metformin_over_4_months=["med-metformin"], enhanced_monitoring=["med-metformin"]))

case("risk-metformin-not-start-exactly-4-months-2026-07-24",
     "Metformin active since 2026-07-24, exactly 4 months before 2026-11-24: not *more* "
     "than 4 months, so no risk factor and no enhanced monitoring.",
     [PN, NORMAL_B12, metformin("2026-07-24")],
     "unlikely", [])

case("risk-metformin-fires-atc-a10ba02",
     "Metformin coded only in ATC (A10BA02), active since 2025-01-15: risk factor.",
     [PN, NORMAL_B12, metformin("2025-01-15", atc=True)],
     "unlikely", [MONITOR], [METFORMIN_RF],
     based_on=bo(metformin_over_4_months=["med-metformin"]))

case("risk-metformin-not-exactly-4-months-as-of-month-end",
     "Assessed 2026-05-31, metformin since 2026-01-31: exactly 4 calendar months, not more: "
     "no risk factor.",
     [PN, b12("obs-b12-1", "2026-05-01", 600), metformin("2026-01-31")],
     "unlikely", [], as_of="2026-05-31")

case("risk-ppi-fires-omeprazole-start-2025-11-23",
     "Omeprazole (RxNorm 7646) active since 2025-11-23, more than 12 months before "
     "2026-11-24: risk factor ppi-over-12-months and enhanced monitoring.",
     [PN, NORMAL_B12, ppi("2025-11-23")],
     "unlikely", [MONITOR], [PPI_RF],
     based_on=bo(ppi_over_12_months=["med-ppi"], enhanced_monitoring=["med-ppi"]))

case("risk-ppi-not-start-exactly-12-months-2025-11-24",
     "Omeprazole active since 2025-11-24, exactly 12 months: not more, no risk factor.",
     [PN, NORMAL_B12, ppi("2025-11-24")],
     "unlikely", [])

case("risk-ppi-fires-atc-a02bc07",
     "A proton pump inhibitor coded ATC A02BC07 (under A02BC, not in the terminology table), "
     "active since 2024-05-01: the whole A02BC group counts, risk factor.",
     [PN, NORMAL_B12, ppi("2024-05-01", system=ATC, code="A02BC07", name="dexrabeprazole")],
     "unlikely", [MONITOR], [PPI_RF], based_on=bo(ppi_over_12_months=["med-ppi"]))

case("risk-diet-fires-vegetarian-snomed-765021002",
     "Vegetarian diet recorded as a Condition (SNOMED 765021002): risk factor "
     "vegan-or-vegetarian-diet and enhanced monitoring.",
     [PN, NORMAL_B12, condition("cond-diet", "765021002", display="vegetarian diet")],
     "unlikely", [MONITOR], [DIET_RF], based_on=bo(vegan_or_vegetarian_diet=["cond-diet"]))

case("risk-diet-fires-local-strict-vegetarian-diet-observation",
     "Strict vegetarian diet recorded as an Observation with the local code "
     "strict-vegetarian-diet (2026-03-01): risk factor and enhanced monitoring.",
     [PN, NORMAL_B12, fact_observation("obs-diet", "strict-vegetarian-diet", "2026-03-01")],
     "unlikely", [MONITOR], [DIET_RF], based_on=bo(vegan_or_vegetarian_diet=["obs-diet"]))

case("risk-diet-not-recorded-after-as-of",
     "A vegan diet Observation dated 2026-12-01, after the assessment date: ignored, so no "
     "risk factor.",
     [PN, NORMAL_B12, fact_observation("obs-diet", "vegan-diet", "2026-12-01")],
     "unlikely", [])

case("risk-malabsorption-fires-snomed-32230006",
     "Malabsorption syndrome (SNOMED 32230006) active: risk factor malabsorption.",
     [PN, NORMAL_B12, condition("cond-malabs", "32230006", display="malabsorption syndrome")],
     "unlikely", [MONITOR], [MALABS_RF], based_on=bo(malabsorption=["cond-malabs"]))

case("risk-malabsorption-fires-local-coeliac-disease",
     "Coeliac disease (local code coeliac-disease) active: risk factor malabsorption.",
     [PN, NORMAL_B12, local_condition("cond-malabs", "coeliac-disease")],
     "unlikely", [MONITOR], [MALABS_RF], based_on=bo(malabsorption=["cond-malabs"]))

case("risk-resection-fires-local-small-intestine-resection",
     "Small intestine resection (local Procedure code, 2019): risk factor "
     "gastric-or-intestinal-resection; B12 600 so no lifelong maintenance.",
     [PN, NORMAL_B12, procedure("proc-resection", "small-intestine-resection", FACTS,
                                "2019-04-02")],
     "unlikely", [MONITOR], [RESECTION_RF],
     based_on=bo(gastric_or_intestinal_resection=["proc-resection"]))

case("risk-resection-not-gastrectomy-after-as-of",
     "Gastrectomy (SNOMED 53442002) dated 2026-12-05, after the assessment date: ignored, "
     "no risk factor.",
     [PN, NORMAL_B12, procedure("proc-resection", "53442002", SCT, "2026-12-05", "gastrectomy")],
     "unlikely", [])

# ---- lifelong-maintenance ------------------------------------------------------------

case("lifelong-maintenance-fires-pernicious-anaemia-confirmed",
     "Serum B12 150 pg/mL and pernicious anaemia (SNOMED 84027009): irreversible cause, so "
     "lifelong maintenance, plus oral and follow-up. Pernicious anaemia is not one of the "
     "contract's listed risk factors.",
     [PN, b12("obs-b12-1", D, 150), pernicious_anaemia()],
     "confirmed", [ORAL, FOLLOW_UP, LIFELONG], due=NEW_DUE,
     based_on=bo(lifelong_maintenance=["cond-pa"]))

case("lifelong-maintenance-fires-gastrectomy-functional",
     "B12 300 pg/mL with MMA 0.6 (`functional`) after a gastrectomy (Procedure SNOMED "
     "53442002, 2015): lifelong maintenance, oral, follow-up, and the resection risk factor.",
     [PN, b12("obs-b12-1", D, 300), mma("obs-mma-1", D, 0.6),
      procedure("proc-gastrectomy", "53442002", SCT, "2015-03-10", "gastrectomy")],
     "functional", [ORAL, FOLLOW_UP, LIFELONG, MONITOR], [RESECTION_RF], due=NEW_DUE,
     based_on={"b12_status": ["obs-b12-1", "obs-mma-1"], LIFELONG: ["proc-gastrectomy"],
               RESECTION_RF: ["proc-gastrectomy"]})

case("lifelong-maintenance-fires-ileal-resection",
     "Serum B12 150 pg/mL after ileal resection (local Procedure code, 2018): irreversible "
     "cause, lifelong maintenance; also the resection risk factor.",
     [PN, b12("obs-b12-1", D, 150),
      procedure("proc-ileal", "ileal-resection", FACTS, "2018-06-01")],
     "confirmed", [ORAL, FOLLOW_UP, LIFELONG, MONITOR], [RESECTION_RF], due=NEW_DUE,
     based_on=bo(lifelong_maintenance=["proc-ileal"],
                 gastric_or_intestinal_resection=["proc-ileal"]))

case("lifelong-maintenance-not-pernicious-anaemia-status-indeterminate",
     "Pernicious anaemia recorded but serum B12 250 pg/mL and no MMA: `indeterminate`, so no "
     "lifelong maintenance yet (needs confirmed/functional); order-mma.",
     [PN, b12("obs-b12-1", D, 250), pernicious_anaemia()],
     "indeterminate", [ORDER_MMA], based_on=bo(order_mma=["obs-b12-1"]))

case("lifelong-maintenance-not-gastric-bypass",
     "Serum B12 150 pg/mL after gastric bypass (local Procedure code): a resection risk "
     "factor, but not one of the contract's irreversible causes (pernicious anaemia, "
     "gastrectomy, ileal resection), so no lifelong-maintenance; nor a reversible cause.",
     [PN, b12("obs-b12-1", D, 150),
      procedure("proc-bypass", "gastric-bypass", FACTS, "2017-09-12")],
     "confirmed", [ORAL, FOLLOW_UP, MONITOR], [RESECTION_RF], due=NEW_DUE,
     based_on=bo(gastric_or_intestinal_resection=["proc-bypass"]))

case("lifelong-maintenance-fires-pernicious-anaemia-on-therapy",
     "Pernicious anaemia, baseline B12 150 pg/mL (2026-05-20), oral B12 since 2026-06-01: "
     "lifelong maintenance; no new treatment; follow-up due 2026-09-01.",
     [PN, b12("obs-b12-1", "2026-05-20", 150), pernicious_anaemia(), b12_oral("2026-06-01")],
     "confirmed", [FOLLOW_UP, LIFELONG], due="2026-09-01",
     based_on=bo(lifelong_maintenance=["cond-pa"], follow_up_3_months=["med-b12"]))

# ---- maintenance-may-stop ------------------------------------------------------------

STOPPED_METFORMIN = metformin("2023-01-01", status="stopped", end="2026-10-15")

case("maintenance-may-stop-fires-metformin-stopped",
     "Serum B12 150 pg/mL; metformin (the reversible cause) was stopped on 2026-10-15: every "
     "identified cause addressed, so long-term maintenance may stop; oral and follow-up now. "
     "A stopped metformin is no longer a risk factor.",
     [PN, b12("obs-b12-1", D, 150), STOPPED_METFORMIN],
     "confirmed", [ORAL, FOLLOW_UP, MAY_STOP], due=NEW_DUE,
     based_on=bo(maintenance_may_stop=["med-metformin"]))

case("maintenance-may-stop-fires-metformin-stopped-ppi-completed",
     "Serum B12 150 pg/mL; two reversible causes, metformin stopped and omeprazole "
     "completed: both addressed, maintenance may stop. Neither counts as a risk factor.",
     [PN, b12("obs-b12-1", D, 150), STOPPED_METFORMIN,
      ppi("2022-03-01", status="completed", end="2026-09-30")],
     "confirmed", [ORAL, FOLLOW_UP, MAY_STOP], due=NEW_DUE,
     based_on=bo(maintenance_may_stop=["med-metformin", "med-ppi"]))

case("maintenance-may-stop-not-ppi-still-active",
     "Serum B12 150 pg/mL; metformin stopped but omeprazole still active since 2024-01-01: "
     "not every cause addressed, so no maintenance-may-stop; the PPI is a risk factor.",
     [PN, b12("obs-b12-1", D, 150), STOPPED_METFORMIN, ppi("2024-01-01")],
     "confirmed", [ORAL, FOLLOW_UP, MONITOR], [PPI_RF], due=NEW_DUE,
     based_on=bo(ppi_over_12_months=["med-ppi"]))

case("maintenance-may-stop-not-recent-metformin-still-active",
     "Serum B12 150 pg/mL; omeprazole completed, metformin started 2026-10-01 and active: too "
     "recent to be a risk factor, but it is an identified reversible cause not addressed, so "
     "no maintenance-may-stop.",
     [PN, b12("obs-b12-1", D, 150), ppi("2022-03-01", status="completed", end="2026-09-30"),
      metformin("2026-10-01")],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE)

case("maintenance-may-stop-not-irreversible-cause-present",
     "Serum B12 150 pg/mL, metformin stopped, but pernicious anaemia too: an irreversible "
     "cause means lifelong maintenance, never maintenance-may-stop.",
     [PN, b12("obs-b12-1", D, 150), STOPPED_METFORMIN, pernicious_anaemia()],
     "confirmed", [ORAL, FOLLOW_UP, LIFELONG], due=NEW_DUE,
     based_on=bo(lifelong_maintenance=["cond-pa"]))

case("maintenance-may-stop-fires-on-therapy-metformin-stopped",
     "Baseline B12 150 pg/mL (2026-05-20), metformin stopped 2026-05-15, oral B12 since "
     "2026-06-01: cause addressed, maintenance may stop after the course; follow-up due "
     "2026-09-01; no new treatment.",
     [PN, b12("obs-b12-1", "2026-05-20", 150),
      metformin("2023-01-01", status="stopped", end="2026-05-15"), b12_oral("2026-06-01")],
     "confirmed", [FOLLOW_UP, MAY_STOP], due="2026-09-01",
     based_on=bo(maintenance_may_stop=["med-metformin"], follow_up_3_months=["med-b12"]))

# ---- escalate-to-parenteral ----------------------------------------------------------

BASE_LOW = b12("obs-b12-1", "2026-05-01", 130)

case("escalate-to-parenteral-fires-oral-since-2026-08-24-unchanged",
     "Oral cyanocobalamin since 2026-08-24, exactly 3 months before 2026-11-24 (at least 3 "
     "months), neuropathy unchanged on 2026-11-20: escalate to parenteral; follow-up due "
     "2026-11-24.",
     [PN, BASE_LOW, b12_oral("2026-08-24"), response("obs-resp-1", "2026-11-20", "unchanged")],
     "confirmed", [ESCALATE, FOLLOW_UP], due="2026-11-24",
     based_on=bo(escalate_to_parenteral=["med-b12", "obs-resp-1"]))

case("escalate-to-parenteral-not-oral-since-2026-08-25",
     "Oral cyanocobalamin since 2026-08-25, one day short of 3 months, neuropathy unchanged: "
     "too early to escalate; follow-up due 2026-11-25.",
     [PN, BASE_LOW, b12_oral("2026-08-25"), response("obs-resp-1", "2026-11-20", "unchanged")],
     "confirmed", [FOLLOW_UP], due="2026-11-25", based_on={FOLLOW_UP: ["med-b12"]})

case("escalate-to-parenteral-fires-worsened-no-route-recorded",
     "Mecobalamin (ATC B03BA05) with no route recorded (counts as oral) since 2026-06-10, "
     "neuropathy worsened on 2026-10-01: escalate; follow-up due 2026-09-10.",
     [PN, BASE_LOW, b12_oral("2026-06-10", drug="mecobalamin", route=None),
      response("obs-resp-1", "2026-10-01", "worsened")],
     "confirmed", [ESCALATE, FOLLOW_UP], due="2026-09-10",
     based_on=bo(escalate_to_parenteral=["med-b12", "obs-resp-1"]))

case("escalate-to-parenteral-not-improved",
     "Oral B12 since 2026-06-10, neuropathy improved on 2026-10-01: keep the oral course, no "
     "escalation; follow-up due 2026-09-10.",
     [PN, BASE_LOW, b12_oral("2026-06-10"), response("obs-resp-1", "2026-10-01", "improved")],
     "confirmed", [FOLLOW_UP], due="2026-09-10")

case("escalate-to-parenteral-not-intramuscular-therapy",
     "IM hydroxocobalamin (route 78421000) since 2026-06-10, neuropathy unchanged: already "
     "parenteral, so no escalation; follow-up due 2026-09-10.",
     [PN, BASE_LOW, b12_im("2026-06-10"), response("obs-resp-1", "2026-10-01", "unchanged")],
     "confirmed", [FOLLOW_UP], due="2026-09-10", based_on={FOLLOW_UP: ["med-b12-im"]})

case("escalate-to-parenteral-not-response-before-therapy-start",
     "Oral B12 since 2026-06-10; the only neuropathy response ('worsened', 2026-05-15) predates "
     "the therapy, so it says nothing about the response to it: no escalation.",
     [PN, BASE_LOW, response("obs-resp-1", "2026-05-15", "worsened"), b12_oral("2026-06-10")],
     "confirmed", [FOLLOW_UP], due="2026-09-10")

case("escalate-to-parenteral-not-oral-stopped-im-running",
     "Oral B12 2026-06-10 to 08-10 (stopped), IM hydroxocobalamin since 2026-08-10, neuropathy "
     "worsened 2026-10-01: parenteral B12 is already under way, no escalation. The oral and IM "
     "records are one therapy episode from 2026-06-10 (contract 6, v3), so the follow-up is due "
     "2026-09-10 (the episode's start + 3 months, never the latest change), with the response as "
     "its result.",
     [PN, BASE_LOW, b12_oral("2026-06-10", status="stopped", end="2026-08-10"),
      b12_im("2026-08-10"), response("obs-resp-1", "2026-10-01", "worsened")],
     "confirmed", [FOLLOW_UP], due="2026-09-10", based_on={FOLLOW_UP: ["med-b12-im"]},
     follow_up_results_facts=["obs-resp-1"])

case("escalate-to-parenteral-fires-as-of-month-end-start-2026-02-28",
     "Assessed 2026-05-31: oral B12 since 2026-02-28 (on 2026-05-31 minus 3 months), "
     "neuropathy unchanged 2026-05-20: escalate; follow-up due 2026-05-28.",
     [PN, b12("obs-b12-1", "2026-02-10", 130), b12_oral("2026-02-28"),
      response("obs-resp-1", "2026-05-20", "unchanged")],
     "confirmed", [ESCALATE, FOLLOW_UP], due="2026-05-28", as_of="2026-05-31",
     based_on=bo(escalate_to_parenteral=["med-b12", "obs-resp-1"]))

# ---- b12-for-neuropathic-pain --------------------------------------------------------

case("b12-for-neuropathic-pain-fires-post-herpetic-neuralgia",
     "Peripheral neuropathy and post-herpetic neuralgia (local code), B12 600 pg/mL: information "
     "that B12 may alleviate neuropathic pain (level II), whatever the B12 status.",
     [PN, NORMAL_B12, local_condition("cond-pain", "post-herpetic-neuralgia")],
     "unlikely", [PAIN], based_on=bo(b12_for_neuropathic_pain=["cond-pain"]))

case("b12-for-neuropathic-pain-fires-painful-peripheral-neuropathy",
     "Painful peripheral neuropathy (local code) with B12 250 pg/mL (`indeterminate`): "
     "neuropathic-pain information (level III) and order-mma.",
     [b12("obs-b12-1", D, 250), local_condition("cond-pain", "painful-peripheral-neuropathy")],
     "indeterminate", [ORDER_MMA, PAIN], based_on=bo(b12_for_neuropathic_pain=["cond-pain"]))

case("b12-for-neuropathic-pain-not-peripheral-neuropathy-without-pain",
     "Peripheral neuropathy (SNOMED 302226006) not coded as painful, B12 700 ng/L: no "
     "neuropathic-pain recommendation; `unlikely`, no action.",
     [PN, b12("obs-b12-1", D, 700, "ng/L")],
     "unlikely", [])

# ---- contract v2: the population (section 5) ------------------------------------------

LOW_B12 = b12("obs-b12-1", D, 150)
NDC = "http://hl7.org/fhir/sid/ndc"


def pn_code(code, display, rid="cond-pn"):
    return condition(rid, code, display=display)


case("population-out-no-peripheral-neuropathy",
     "B12 150 pg/mL (`confirmed`) but no peripheral neuropathy recorded: outside the guideline's "
     "population (contract 5), so no recommendation; the status is still reported.",
     [LOW_B12], "confirmed", [], population=False)

case("population-in-asserted-no-neuropathy-coded",
     "No neuropathy coded, but the caller asserts the population (--in-population): B12 150 "
     "pg/mL gets oral B12 and follow-up (contract 5, reason asserted).",
     [LOW_B12], "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, population=True, args=["--in-population"])

case("population-out-deceased-boolean",
     "Peripheral neuropathy and B12 150 pg/mL, Patient.deceasedBoolean true: outside the "
     "population (contract 5, deceased), no recommendation.",
     [PN, LOW_B12], "confirmed", [], population=False, patient={"deceasedBoolean": True})

case("population-out-deceased-before-as-of",
     "Peripheral neuropathy and B12 150 pg/mL, died 2026-11-20 (before the as-of date): outside "
     "the population, even when the caller asserts it.",
     [PN, LOW_B12], "confirmed", [], population=False, patient={"deceasedDateTime": "2026-11-20T10:00:00Z"},
     args=["--in-population"])

case("population-in-deceased-after-as-of",
     "Peripheral neuropathy and B12 150 pg/mL, death recorded 2026-12-01 (after the as-of date "
     "2026-11-24): still in the population on the as-of date.",
     [PN, LOW_B12], "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, population=True,
     patient={"deceasedDateTime": "2026-12-01"})

case("population-in-neuropathy-due-to-type-2-diabetes",
     "Neuropathy due to type 2 diabetes mellitus (SNOMED 368581000119106, a descendant of "
     "302226006) with B12 150 pg/mL: in the population; oral B12 and follow-up.",
     [pn_code("368581000119106", "Neuropathy due to type 2 diabetes mellitus"), LOW_B12],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, population=True,
     based_on=bo(oral_b12_high_dose=["obs-b12-1"]))

case("population-out-neuropathy-resolved",
     "Peripheral neuropathy recorded as resolved, B12 150 pg/mL: no current neuropathy, outside "
     "the population (contract 5: clinicalStatus active, recurrence or relapse).",
     [neuropathy(status="resolved"), LOW_B12], "confirmed", [], population=False)

case("population-in-neuropathy-recurrence",
     "Peripheral neuropathy with clinicalStatus recurrence, B12 150 pg/mL: in the population.",
     [neuropathy(status="recurrence"), LOW_B12], "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, population=True)

case("population-out-post-herpetic-neuralgia-without-neuropathy",
     "Post-herpetic neuralgia alone (no peripheral neuropathy), B12 600 pg/mL: outside the "
     "population, so not even the neuropathic-pain information (contract 5).",
     [NORMAL_B12, local_condition("cond-pain", "post-herpetic-neuralgia")], "unlikely", [], population=False)

# ---- contract v2: every medication resource (section 6) ---------------------------------


def med_request(rid, system, code, text, authored, status="active", intent="order", dosage=None, **extra):
    resource = {"resourceType": "MedicationRequest", "id": rid, "status": status, "intent": intent,
                "medicationCodeableConcept": {"coding": [_coding(system, code, text)], "text": text},
                "authoredOn": authored}
    if dosage:
        resource["dosageInstruction"] = dosage
    resource.update(extra)
    return resource


METFORMIN_860975 = (RXNORM, "860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet")

case("risk-metformin-over-4-months-fires-medication-request-product-code",
     "Metformin as an active MedicationRequest (intent order) authored 2026-01-15 (within the "
     "12-month open-ended limit, so current up to the as-of date), coded by the RxNorm product "
     "860975 (an extended-release tablet): metformin for more than 4 months.",
     [PN, NORMAL_B12, med_request("med-metformin", *METFORMIN_860975, "2026-01-15")],
     "unlikely", [MONITOR], [METFORMIN_RF], based_on=bo(metformin_over_4_months=["med-metformin"]))

case("risk-metformin-over-4-months-fires-request-bounds-period-start",
     "Metformin MedicationRequest authored 2026-10-01 whose dosage timing boundsPeriod starts "
     "2025-02-01: the start is boundsPeriod.start (contract 6), more than 4 months.",
     [PN, NORMAL_B12, med_request("med-metformin", *METFORMIN_860975, "2026-10-01",
                                  dosage=[{"timing": {"repeat": {"boundsPeriod": {"start": "2025-02-01"}}}}])],
     "unlikely", [MONITOR], [METFORMIN_RF])

case("risk-metformin-over-4-months-not-request-intent-proposal",
     "Metformin MedicationRequest with intent proposal: not an order, set aside (contract 6).",
     [PN, NORMAL_B12, med_request("med-metformin", *METFORMIN_860975, "2025-01-15", intent="proposal")],
     "unlikely", [])

case("risk-metformin-over-4-months-not-request-status-draft",
     "Metformin MedicationRequest with status draft: set aside (contract 6).",
     [PN, NORMAL_B12, med_request("med-metformin", *METFORMIN_860975, "2025-01-15", status="draft")],
     "unlikely", [])

case("risk-metformin-over-4-months-not-request-on-hold",
     "Metformin MedicationRequest on hold since 2025: it counts, but is not current (contract 6).",
     [PN, NORMAL_B12, med_request("med-metformin", *METFORMIN_860975, "2025-01-15", status="on-hold")],
     "unlikely", [])

case("risk-metformin-over-4-months-fires-medication-reference-in-bundle",
     "MedicationRequest naming metformin through medicationReference to a Medication entry of "
     "the Bundle (code RxNorm 6809): the Medication's code is read.",
     [PN, NORMAL_B12,
      {"resourceType": "Medication", "id": "metformin-product",
       "code": {"coding": [_coding(RXNORM, "6809", "metformin")]}},
      {"resourceType": "MedicationRequest", "id": "med-metformin", "status": "active", "intent": "order",
       "medicationReference": {"reference": "Medication/metformin-product"}, "authoredOn": "2026-01-15"}],
     "unlikely", [MONITOR], [METFORMIN_RF])

case("risk-ppi-over-12-months-fires-contained-medication-ingredient",
     "MedicationStatement naming a contained Medication with no code but an omeprazole "
     "ingredient (RxNorm 7646), since 2024-06-01: the ingredient is read (contract 6).",
     [PN, NORMAL_B12,
      {"resourceType": "MedicationStatement", "id": "med-ppi", "status": "active",
       "contained": [{"resourceType": "Medication", "id": "m1",
                      "ingredient": [{"itemCodeableConcept": {"coding": [_coding(RXNORM, "7646", "omeprazole")]}}]}],
       "medicationReference": {"reference": "#m1"}, "effectivePeriod": {"start": "2024-06-01"}}],
     "unlikely", [MONITOR], [PPI_RF])


def administration(rid, start, status="completed"):
    return {"resourceType": "MedicationAdministration", "id": rid, "status": status,
            "medicationCodeableConcept": {"coding": [_coding(ATC, "B03BA03", "hydroxocobalamin")]},
            "effectiveDateTime": start,
            "dosage": {"route": {"coding": [_coding(SCT, ROUTES["im"])]}, "dose": _quantity(1000, "ug")}}


case("follow-up-3-months-due-from-recent-b12-administration",
     "Serum B12 150 pg/mL on 2026-11-02, then IM hydroxocobalamin administered 2026-11-10 "
     "(within 31 days of the as-of date: current, contract 6): B12 therapy under way, no new "
     "treatment; follow-up due 3 months after the administration.",
     [PN, LOW_B12, administration("med-b12-im", "2026-11-10")],
     "confirmed", [FOLLOW_UP], due="2027-02-10")

case("follow-up-3-months-fires-parenteral-dose-covers-3-months",
     "Serum B12 150 pg/mL on 2026-08-01, one IM hydroxocobalamin administered 2026-09-01 (84 days "
     "before the as-of date): a parenteral dose covers 3 months after it (contract 6, v3), so B12 "
     "therapy is under way: no new treatment, follow-up due 2026-12-01.",
     [PN, b12("obs-b12-1", "2026-08-01", 150), administration("med-b12-im", "2026-09-01")],
     "confirmed", [FOLLOW_UP], due="2026-12-01", b12_therapy_current=True)

case("follow-up-3-months-fires-parenteral-dose-exactly-3-months-ago",
     "Serum B12 150 pg/mL on 2026-08-01, one IM hydroxocobalamin administered 2026-08-24, exactly "
     "3 months before the as-of date: the dose covers up to the day the next one is due "
     "(2026-11-24), so therapy is current; follow-up due 2026-11-24 (not overdue: due on the as-of "
     "date).",
     [PN, b12("obs-b12-1", "2026-08-01", 150), administration("med-b12-im", "2026-08-24")],
     "confirmed", [FOLLOW_UP], due="2026-11-24", b12_therapy_current=True, follow_up_overdue=False)

case("oral-b12-high-dose-fires-parenteral-dose-3-months-and-1-day-ago",
     "Serum B12 150 pg/mL on 2026-08-01, one IM hydroxocobalamin administered 2026-08-23, 3 months "
     "and 1 day before the as-of date: its cover ended 2026-11-23, the therapy has lapsed (contract "
     "3, v3), so treatment is recommended again (oral high-dose, follow-up from the as-of date).",
     [PN, b12("obs-b12-1", "2026-08-01", 150), administration("med-b12-im", "2026-08-23")],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, b12_therapy_current=False,
     data_quality_codes=["therapy-lapsed"])

case("im-b12-loading-not-administration-not-done",
     "A B12 administration with status not-done is set aside: with ataxia and B12 150 pg/mL, IM "
     "loading is recommended as if no B12 had been given.",
     [PN, LOW_B12, local_condition("cond-severe", "ataxia"), administration("med-b12-im", "2026-11-10", status="not-done")],
     "confirmed", [IM, FOLLOW_UP], due=NEW_DUE)


def dispense(rid, handed, days, dose=5, unit="mg", medication=None):
    resource = {"resourceType": "MedicationDispense", "id": rid, "status": "completed",
                "medicationCodeableConcept": {"coding": [_coding(RXNORM, "4511", "folic acid")]},
                "whenHandedOver": handed, "daysSupply": {"value": days, "unit": "days", "system": UCUM, "code": "d"},
                "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                                       "doseAndRate": [{"doseQuantity": _quantity(dose, unit)}]}]}
    if medication:
        resource.update(medication)
    return resource


case("avoid-folic-acid-alone-fires-dispense-within-days-supply",
     "Folic acid 5 mg daily dispensed 2026-11-01 for 30 days: current on 2026-11-24 (contract 6), "
     "above 0.1 mg daily with no B12: avoid folic acid alone.",
     [PN, BORDERLINE_B12, dispense("med-folic", "2026-11-01", 30)], "indeterminate", [ORDER_MMA, FOLIC])

case("avoid-folic-acid-alone-not-dispense-supply-ended",
     "Folic acid 5 mg daily dispensed 2026-09-01 for 30 days (covering 09-01 to 09-30): the supply "
     "ended before the as-of date, not current: no warning.",
     [PN, BORDERLINE_B12, dispense("med-folic", "2026-09-01", 30)], "indeterminate", [ORDER_MMA])

case("avoid-folic-acid-alone-fires-tablets-with-medication-strength",
     "Folic acid 1 tablet daily, the contained Medication's strength 1 mg per tablet: 1 mg daily, "
     "above 0.1 mg (contract 6: tablets converted with the strength).",
     [PN, BORDERLINE_B12,
      {"resourceType": "MedicationRequest", "id": "med-folic", "status": "active", "intent": "order",
       "contained": [{"resourceType": "Medication", "id": "folic-1mg",
                      "code": {"coding": [_coding(RXNORM, "4511", "folic acid")]},
                      "ingredient": [{"itemCodeableConcept": {"coding": [_coding(RXNORM, "4511", "folic acid")]},
                                      "strength": {"numerator": _quantity(1, "mg"),
                                                   "denominator": {"value": 1, "unit": "tablet", "system": UCUM,
                                                                   "code": "{tbl}"}}}]}],
       "medicationReference": {"reference": "#folic-1mg"}, "authoredOn": "2026-10-01",
       "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                              "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "TAB"}}]}]}],
     "indeterminate", [ORDER_MMA, FOLIC])

case("avoid-folic-acid-alone-not-tablets-without-strength-dose-unknown",
     "Folic acid 1 tablet daily with no strength given: the daily dose is unknown (data_quality "
     "dose-unknown), so it cannot be shown to exceed 0.1 mg.",
     [PN, NORMAL_B12, med_request("med-folic", RXNORM, "4511", "folic acid", "2026-10-01",
                                  dosage=[{"doseAndRate": [{"doseQuantity": {"value": 1, "unit": "TAB"}}]}])],
     "unlikely", [], quality=["med-folic"])

# ---- contract v2: laboratory results as labs report them (section 6) ----------------------


def b12_quantity(rid, date, quantity, **extra):
    resource = {"resourceType": "Observation", "id": rid, "status": "final",
                "code": {"coding": [_coding(LOINC, "2132-9")]}, "effectiveDateTime": date}
    if quantity is not None:
        resource["valueQuantity"] = quantity
    resource.update(extra)
    return resource


def censored(comparator, value):
    return {"value": value, "comparator": comparator, "unit": "pg/mL", "system": UCUM, "code": "pg/mL"}


case("status-confirmed-fires-censored-below-150",
     "Serum B12 reported as <150 pg/mL (valueQuantity.comparator): the whole interval is below "
     "180 ng/L, so `confirmed` (contract 6).",
     [PN, b12_quantity("obs-b12-1", D, censored("<", 150))], "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE)

case("status-indeterminate-fires-censored-below-200-spans-180",
     "Serum B12 <200 pg/mL: the interval spans the 180 ng/L cut-off and decides nothing by itself: "
     "`indeterminate`, order MMA, and data_quality censored-result (contract 6).",
     [PN, b12_quantity("obs-b12-1", D, censored("<", 200))], "indeterminate", [ORDER_MMA], quality=["obs-b12-1"])

case("status-confirmed-fires-censored-below-or-equal-180-exclusive",
     "Serum B12 <180 pg/mL: every value of the interval is below 180: `confirmed`.",
     [PN, b12_quantity("obs-b12-1", D, censored("<", 180))], "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE)

case("status-indeterminate-fires-censored-at-most-180-spans",
     "Serum B12 <=180 pg/mL: 180 itself is not below 180, so the interval spans the cut-off: `indeterminate`.",
     [PN, b12_quantity("obs-b12-1", D, censored("<=", 180))], "indeterminate", [ORDER_MMA], quality=["obs-b12-1"])

case("status-unlikely-fires-censored-above-600",
     "Serum B12 >600 pg/mL: the whole interval is above 350 ng/L: `unlikely`.",
     [PN, b12_quantity("obs-b12-1", D, censored(">", 600))], "unlikely", [])

case("status-confirmed-fires-value-string-below-150",
     "Serum B12 given as valueString \"<150 pg/mL\": read as that quantity (data_quality "
     "value-from-text): `confirmed`.",
     [PN, b12_quantity("obs-b12-1", D, None, valueString="<150 pg/mL")], "confirmed", [ORAL, FOLLOW_UP],
     due=NEW_DUE, quality=["obs-b12-1"])

case("status-unknown-value-string-not-a-quantity",
     "Serum B12 given as valueString \"see report\": not a quantity, set aside (data_quality): `unknown`.",
     [PN, b12_quantity("obs-b12-1", D, None, valueString="see report")], "unknown", [ORDER_B12], quality=["obs-b12-1"])

case("status-unknown-data-absent-reason",
     "A serum B12 with dataAbsentReason (not performed): never a result, set aside (data_quality "
     "value-absent): `unknown`, order a serum B12.",
     [PN, b12_quantity("obs-b12-1", D, None, dataAbsentReason={"coding": [
         _coding("http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-performed")]})],
     "unknown", [ORDER_B12], quality=["obs-b12-1"])

case("status-confirmed-fires-date-from-issued",
     "Serum B12 150 pg/mL with no effective date but issued 2026-11-02: dated by issued "
     "(data_quality date-from-issued): `confirmed`.",
     [PN, {"resourceType": "Observation", "id": "obs-b12-1", "status": "final",
           "code": {"coding": [_coding(LOINC, "2132-9")]}, "issued": "2026-11-02T09:00:00Z",
           "valueQuantity": _quantity(150, "pg/mL")}],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, quality=["obs-b12-1"])

# ---- contract v2: what a real export carries that must not reject the record ------------

IGE = {"resourceType": "Observation", "id": "obs-ige", "status": "final",
       "code": {"coding": [_coding(LOINC, "6206-7", "Peanut IgE Ab in Serum")]}, "effectiveDateTime": "2026-10-01",
       "valueQuantity": {"value": 1.8e-18, "unit": "kU/L", "system": UCUM, "code": "k[IU]/L"}}

case("status-confirmed-not-rejected-unrelated-ige-19-decimals",
     "A peanut IgE value with 19 decimal places (as Synthea writes them) beside B12 150 pg/mL: "
     "a value the guideline does not read never rejects the record: `confirmed`.",
     [PN, LOW_B12, IGE], "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE)

case("status-confirmed-not-rejected-unread-drug-without-start-tablets-ndc",
     "Acetaminophen with no start and a dose in tablets, and a drug coded only by NDC, beside B12 "
     "150 pg/mL: drugs the guideline does not read never reject the record.",
     [PN, LOW_B12,
      {"resourceType": "MedicationStatement", "id": "med-apap", "status": "active",
       "medicationCodeableConcept": {"coding": [_coding(RXNORM, "313782", "Acetaminophen 325 MG Oral Tablet")]},
       "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 2, "unit": "tab"}}]}]},
      {"resourceType": "MedicationRequest", "id": "med-ndc", "status": "active", "intent": "order",
       "medicationCodeableConcept": {"coding": [_coding(NDC, "0573-0150-20", "ibuprofen 200 mg")]},
       "authoredOn": "2026-01"}],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE)

case("status-confirmed-not-rejected-partial-date-on-unread-observation",
     "A blood pressure reading dated only 2020-05 beside B12 150 pg/mL: a partial date on a fact "
     "the guideline does not read sets that fact aside, never the record.",
     [PN, LOW_B12, {"resourceType": "Observation", "id": "obs-bp", "status": "final",
                    "code": {"coding": [_coding(LOINC, "8480-6")]}, "effectiveDateTime": "2020-05",
                    "valueQuantity": _quantity(120, "mm[Hg]")}],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE)

case("risk-gastric-or-intestinal-resection-not-coronary-artery-bypass",
     "Coronary artery bypass grafting (SNOMED 232717009) is a bypass, but not a gastric bypass: "
     "no resection risk factor.",
     [PN, NORMAL_B12, procedure("proc-cabg", "232717009", SCT, "2015-03-01", "Coronary artery bypass grafting")],
     "unlikely", [])

case("risk-gastric-or-intestinal-resection-not-partial-colon-resection",
     "Partial resection of colon (SNOMED 43075005) is not a small-intestine resection: no "
     "resection risk factor.",
     [PN, NORMAL_B12, procedure("proc-colon", "43075005", SCT, "2015-03-01", "Partial resection of colon")],
     "unlikely", [])

# ---- contract v2: bundles as exports shape them -----------------------------------------

for kind in ("transaction", "batch", "document", "searchset", "history"):
    case(f"bundle-type-{kind}-read-confirmed",
         f"A Bundle of type {kind} holding one patient with peripheral neuropathy and B12 150 pg/mL: "
         "read like a collection (contract 6).",
         [PN, LOW_B12], "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, bundle_type=kind)

# ---- combinations ---------------------------------------------------------------------

case("combo-vegan-metformin-pernicious-anaemia-confirmed",
     "Vegan (local vegan-diet Condition) on metformin since 2025-01-15, with pernicious "
     "anaemia and B12 150 pg/mL: oral, follow-up, lifelong maintenance (irreversible cause, "
     "so not may-stop), enhanced monitoring for the diet and metformin risk factors.",
     [PN, b12("obs-b12-1", D, 150), local_condition("cond-diet", "vegan-diet"),
      metformin("2025-01-15"), pernicious_anaemia()],
     "confirmed", [ORAL, FOLLOW_UP, LIFELONG, MONITOR], [METFORMIN_RF, DIET_RF], due=NEW_DUE,
     based_on=bo(lifelong_maintenance=["cond-pa"], metformin_over_4_months=["med-metformin"],
                 vegan_or_vegetarian_diet=["cond-diet"]))

case("combo-functional-ataxia-crohns-ppi-folic-acid-neuralgia",
     "B12 320 pg/mL with homocysteine 22 (`functional`), ataxia, Crohn's disease, omeprazole "
     "since 2024-03-01, folic acid 5 mg daily, post-herpetic neuralgia: IM loading, "
     "follow-up, folic-acid warning, enhanced monitoring (PPI, malabsorption), pain info.",
     [PN, b12("obs-b12-1", D, 320), hcy("obs-hcy-1", D, 22),
      local_condition("cond-severe", "ataxia"), local_condition("cond-crohns", "crohns-disease"),
      ppi("2024-03-01"), folic("2026-09-01", 5),
      local_condition("cond-pain", "post-herpetic-neuralgia")],
     "functional", [IM, FOLLOW_UP, FOLIC, MONITOR, PAIN], [PPI_RF, MALABS_RF], due=NEW_DUE,
     based_on={"b12_status": ["obs-b12-1", "obs-hcy-1"], IM: ["cond-severe"],
               FOLIC: ["med-folic"], PPI_RF: ["med-ppi"], MALABS_RF: ["cond-crohns"],
               PAIN: ["cond-pain"]})

case("combo-pernicious-anaemia-oral-worsening-with-folic-acid",
     "Pernicious anaemia, baseline B12 120 pg/mL, oral B12 since 2026-03-15, folic acid 1 mg "
     "daily, neuropathy worsened 2026-10-01: escalate, lifelong maintenance, follow-up due "
     "2026-06-15; no folic-acid warning because B12 therapy is active.",
     [PN, pernicious_anaemia(), b12("obs-b12-1", "2026-03-01", 120), b12_oral("2026-03-15"),
      folic("2026-01-01", 1), response("obs-resp-1", "2026-10-01", "worsened")],
     "confirmed", [ESCALATE, FOLLOW_UP, LIFELONG], due="2026-06-15",
     based_on=bo(escalate_to_parenteral=["med-b12", "obs-resp-1"],
                 lifelong_maintenance=["cond-pa"]))

case("combo-untreated-since-june-vegan-metformin",
     "B12 165 pg/mL in June, 170 with MMA 0.7 on 2026-11-10, never treated; vegan (SNOMED "
     "1255165006) on metformin (ATC) since 2020: `confirmed`, oral, follow-up, urgent (first "
     "deficient result 2026-06-01), enhanced monitoring; causes not addressed, so not may-stop.",
     [PN, b12("obs-b12-1", "2026-06-01", 165), b12("obs-b12-2", "2026-11-10", 170),
      mma("obs-mma-1", "2026-11-10", 0.7),
      condition("cond-diet", "1255165006", display="vegan diet"),
      metformin("2020-05-01", atc=True)],
     "confirmed", [ORAL, FOLLOW_UP, URGENT, MONITOR], [METFORMIN_RF, DIET_RF], due=NEW_DUE,
     based_on={"b12_status": ["obs-b12-2"], URGENT: ["obs-b12-1"],
               METFORMIN_RF: ["med-metformin"], DIET_RF: ["cond-diet"]})

# ---- rejected input (exit code 2) ----------------------------------------------------

rejected("rejected-unknown-unit-mg-per-h",
         "Serum B12 given in mg/h, not a unit of concentration: the input must be rejected "
         "(exit 2) with a message naming obs-b12-1 and its unit.",
         [PN, b12("obs-b12-1", D, 150, "mg/h")])

rejected("rejected-non-numeric-value-abc",
         "Serum B12 valueQuantity.value is the string \"abc\": rejected (exit 2) with a "
         "message naming obs-b12-1 and the value field.",
         [PN, {**b12("obs-b12-1", D, 150, "ng/L"),
               "valueQuantity": {"value": "abc", "unit": "ng/L", "system": UCUM,
                                 "code": "ng/L"}}])

rejected("rejected-homocysteine-unit-mg-per-l",
         "Homocysteine in mg/L (only umol/L is accepted): rejected (exit 2), not silently "
         "converted or ignored.",
         [PN, b12("obs-b12-1", D, 300), hcy("obs-hcy-1", D, 2.1, "mg/L")])

rejected("rejected-malformed-json",
         "The file is truncated JSON (cut off mid-resource): rejected as unreadable (exit 2).")


# --------------------------------------------------------------------------- writing

# ----------------------------------------------------- added after the contract review

case("status-functional-homocysteine-16000-nmol-per-l",
     "Serum B12 300 pg/mL and homocysteine 16000 nmol/L (16 umol/L: the contract normalises "
     "homocysteine from nmol/L / 1000) the same day: above 15, elevated, so functional; oral "
     "treatment and follow-up.",
     [PN, b12("obs-b12-1", D, 300), hcy("obs-hcy-1", D, 16000, "nmol/L")],
     "functional", [ORAL, FOLLOW_UP], due=NEW_DUE,
     based_on={"b12_status": ["obs-b12-1", "obs-hcy-1"]})

case("oral-b12-high-dose-fires-b12-therapy-only-intended",
     "Serum B12 150 pg/mL on 2026-06-01 and a B12 prescription that is only intended (status "
     "intended: planned, never started): no B12 therapy yet, so oral treatment, follow-up, and "
     "the deficiency has been untreated for more than 3 months.",
     [PN, b12("obs-b12-1", "2026-06-01", 150), b12_oral("2026-07-01", status="intended")],
     "confirmed", [ORAL, FOLLOW_UP, URGENT], due=NEW_DUE,
     based_on=bo(oral_b12_high_dose=["obs-b12-1"]))

case("escalate-to-parenteral-fires-completed-3-month-course",
     "Serum B12 150 pg/mL on 2026-04-01; oral cyanocobalamin 2026-05-01 to 2026-08-01 "
     "(completed: 3 months of oral therapy); neuropathy unchanged on 2026-08-10: escalate to "
     "parenteral therapy. The oral therapy has lapsed, so the contract (3, v3) also restarts it "
     "(oral high-dose, follow-up from the as-of date): a contradiction a clinician resolves for "
     "parenteral therapy (see the issue note).",
     [PN, b12("obs-b12-1", "2026-04-01", 150),
      b12_oral("2026-05-01", status="completed", end="2026-08-01"),
      response("obs-resp-1", "2026-08-10", "unchanged")],
     "confirmed", [ESCALATE, ORAL, FOLLOW_UP], due=NEW_DUE,
     based_on=bo(escalate_to_parenteral=["med-b12", "obs-resp-1"]),
     data_quality_codes=["therapy-lapsed"], b12_therapy_current=False)

case("escalate-to-parenteral-not-completed-course-under-3-months",
     "Oral cyanocobalamin 2026-05-01 to 2026-07-31 (completed one day short of 3 months), "
     "neuropathy unchanged on 2026-08-10: not 3 months of oral therapy, no escalation. The "
     "therapy has lapsed: restarted (oral high-dose, follow-up from the as-of date).",
     [PN, b12("obs-b12-1", "2026-04-01", 150),
      b12_oral("2026-05-01", status="completed", end="2026-07-31"),
      response("obs-resp-1", "2026-08-10", "unchanged")],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, data_quality_codes=["therapy-lapsed"])

case("escalate-to-parenteral-not-im-already-running",
     "Oral B12 since 2026-05-01 and intramuscular B12 under way since 2026-10-01, neuropathy "
     "worsened on 2026-10-15: parenteral therapy is already given, no escalation; follow-up "
     "due 3 months after the earliest active therapy (2026-08-01).",
     [PN, b12("obs-b12-1", "2026-04-01", 150), b12_oral("2026-05-01"), b12_im("2026-10-01"),
      response("obs-resp-1", "2026-10-15", "worsened")],
     "confirmed", [FOLLOW_UP], due="2026-08-01")

case("status-unlikely-b12-400-pg-per-ml-lower-case-litre",
     "Serum B12 400 'pg/ml': UCUM writes the litre as l or L, so this is pg/mL; above 350 "
     "with no metabolites: unlikely.",
     [PN, b12("obs-b12-1", D, 400, "pg/ml")], "unlikely", [ORDER_MMA], based_on=B)

PLANNED_GASTRECTOMY = dict(procedure("proc-gastrectomy", "53442002", SCT, "2026-12-10",
                                     "gastrectomy"), status="preparation")
case("risk-gastric-or-intestinal-resection-not-planned-procedure",
     "A gastrectomy in preparation (status preparation: not done yet) is no history of "
     "resection: no risk factor, no lifelong maintenance; serum B12 600 ng/L: unlikely.",
     [PN, b12("obs-b12-1", D, 600, "ng/L"), PLANNED_GASTRECTOMY], "unlikely", [], based_on=B)

UNDATED_HEIGHT = {"resourceType": "Observation", "id": "obs-height", "status": "final",
                  "code": {"coding": [{"system": LOINC, "code": "8302-2"}]},
                  "valueQuantity": _quantity(165, "cm")}
case("status-confirmed-undated-unrelated-observation-ignored",
     "Serum B12 150 pg/mL and a body height with no date: the guideline does not read height, "
     "so the undated observation is set aside and reported, not a reason to reject the record.",
     [PN, b12("obs-b12-1", D, 150), UNDATED_HEIGHT], "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE,
     based_on=B)

case("status-unlikely-same-day-later-result-decides",
     "Two serum B12 results on 2026-11-01: 150 pg/mL at 08:00 and 400 pg/mL at 16:00. The latest "
     "result decides (same day: the later time), 400 is above 350: unlikely; with neuropathy and "
     "no metabolite result, MMA is ordered (functional deficiency possible up to 500).",
     [PN, b12("obs-b12-1", "2026-11-01T16:00:00Z", 400), b12("obs-b12-0", "2026-11-01T08:00:00Z", 150)],
     "unlikely", [ORDER_MMA], based_on=B)

case("baseline-confirmed-b12-drawn-hours-before-therapy",
     "Serum B12 150 pg/mL drawn 2026-10-15 08:30, oral B12 started 2026-10-15 14:00: the result "
     "came before the first therapy, so it is the baseline (confirmed); therapy is under way, so "
     "no new treatment, follow-up 3 months after the start.",
     [PN, b12("obs-b12-1", "2026-10-15T08:30:00Z", 150), b12_oral("2026-10-15T14:00:00Z")],
     "confirmed", [FOLLOW_UP], due="2027-01-15", based_on=B)

case("risk-malabsorption-fires-coeliac-onset-year-only",
     "Coeliac disease with an onset recorded only as the year 2015 (a partial FHIR date): it is a "
     "history, read as from 2015-01-01; malabsorption risk factor and enhanced monitoring; serum "
     "B12 600 ng/L: unlikely.",
     [PN, b12("obs-b12-1", D, 600, "ng/L"), local_condition("cond-coeliac", "coeliac-disease", onset="2015")],
     "unlikely", [MONITOR], risk=[MALABS_RF], based_on=B)

# ---- contract version 3: safety warnings outside the population -------------------------

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def verified(resource, status):
    """A Condition with a verificationStatus."""
    return {**resource, "verificationStatus": {"coding": [_coding(VERIFICATION, status)]}}


case("urgent-untreated-deficiency-fires-outside-population",
     "Serum B12 150 ng/L taken 2026-01-24 (10 months before), folic acid 5 mg daily, no neuropathy "
     "coded: outside the population (no-peripheral-neuropathy), but safety warnings reach every "
     "living patient with a deficiency (contract 5, v3): urgent-untreated-deficiency and "
     "avoid-folic-acid-alone, each \"safety\": true; no treatment, no follow-up.",
     [b12("obs-b12-1", "2026-01-24", 150, "ng/L"), folic("2026-03-01", 5)],
     "confirmed", [URGENT, FOLIC], population=False, population_reason="no-peripheral-neuropathy",
     based_on=bo(urgent_untreated_deficiency=["obs-b12-1"], avoid_folic_acid_alone=["med-folic"]))

case("avoid-folic-acid-alone-fires-outside-population-indeterminate",
     "Serum B12 250 pg/mL (indeterminate), folic acid 1 mg daily, no neuropathy: outside the "
     "population; the status is indeterminate, so the folate warning reaches the patient (contract "
     "3, v3); order-mma is not advice outside the population.",
     [b12("obs-b12-1", D, 250), folic("2026-09-01", 1)],
     "indeterminate", [FOLIC], population=False)

case("avoid-folic-acid-alone-not-outside-population-status-unknown",
     "Folic acid 5 mg daily (pregnancy planning, say), no serum B12 and no neuropathy: outside the "
     "population an untested patient on folic acid gets no warning (contract 3, v3).",
     [folic("2026-09-01", 5)],
     "unknown", [], population=False)

case("avoid-folic-acid-alone-fires-folinic-acid",
     "Folinic acid (leucovorin, RxNorm 6313) 15 mg daily, serum B12 250 pg/mL, neuropathy: every "
     "folate masks the haematological signs the same way (contract 3, v3): warn.",
     [PN, BORDERLINE_B12, med("med-folic", RXNORM, "6313", "leucovorin", "2026-09-01", 15, "mg", route="oral")],
     "indeterminate", [ORDER_MMA, FOLIC], based_on=bo(avoid_folic_acid_alone=["med-folic"]))

case("avoid-folic-acid-alone-fires-folate-dose-unknown",
     "Folic acid with no dose recorded, serum B12 250 pg/mL, neuropathy: a folate with no readable "
     "dose gives the warning, with dose-unknown (contract 3, v3).",
     [PN, BORDERLINE_B12,
      {"resourceType": "MedicationStatement", "id": "med-folic", "status": "active",
       "medicationCodeableConcept": {"coding": [_coding(RXNORM, "4511", "folic acid")], "text": "folic acid"},
       "effectivePeriod": {"start": "2026-09-01"}}],
     "indeterminate", [ORDER_MMA, FOLIC], quality=["med-folic"], data_quality_codes=["dose-unknown"])

case("urgent-untreated-deficiency-not-deceased",
     "Serum B12 150 pg/mL from 2026-01-10, folic acid 5 mg daily, died 2026-10-01: a deceased "
     "patient gets no recommendations and no risk factors, even safety warnings; the status is "
     "still reported (contract 5, v3).",
     [b12("obs-b12-1", "2026-01-10", 150), folic("2026-03-01", 5), metformin("2024-01-01")],
     "confirmed", [], population=False, population_reason="deceased", patient={"deceasedDateTime": "2026-10-01"},
     risk_factors_exclude=[METFORMIN_RF])

case("risk-metformin-fires-outside-population",
     "Metformin since 2024-01-01, serum B12 600 pg/mL, no neuropathy: risk factors are findings, "
     "reported for every living patient (contract 5, v3); enhanced monitoring is advice, not given "
     "outside the population.",
     [NORMAL_B12, metformin("2024-01-01")],
     "unlikely", [], [METFORMIN_RF], population=False)

# ---- contract version 3: the population (ICD-10, verification status, age) --------------

case("population-in-icd-10-cm-e11-42",
     "Type 2 diabetes with diabetic polyneuropathy coded in ICD-10-CM (E11.42) and serum B12 150 "
     "pg/mL: peripheral neuropathy in ICD-10-CM (contract 5, v3), in the population: oral B12.",
     [condition("cond-pn", "E11.42", ICD10CM, display="Type 2 diabetes mellitus with diabetic polyneuropathy"), LOW_B12],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, population=True, population_reason="peripheral-neuropathy",
     based_on=B)

case("population-in-icd-10-cm-g62-9",
     "Polyneuropathy, unspecified, coded in ICD-10-CM (G62.9, under G62): in the population.",
     [condition("cond-pn", "G62.9", ICD10CM, display="Polyneuropathy, unspecified"), LOW_B12],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, population=True, population_reason="peripheral-neuropathy")

case("population-in-icd-10-who-g63-2",
     "Diabetic polyneuropathy coded in ICD-10 (WHO) G63.2: in the population.",
     [condition("cond-pn", "G63.2", ICD10, display="Diabetic polyneuropathy"), LOW_B12],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, population=True, population_reason="peripheral-neuropathy")

case("population-in-icd-10-who-e11-4",
     "Type 2 diabetes with neurological complications coded in ICD-10 (WHO) E11.4: in the population.",
     [condition("cond-pn", "E11.4", ICD10, display="Type 2 diabetes mellitus with neurological complications"), LOW_B12],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, population=True)

case("population-out-icd-10-cm-e11-9-not-neuropathy",
     "Type 2 diabetes without complications (ICD-10-CM E11.9) is not a neuropathy: outside the "
     "population; serum B12 150 pg/mL recent: no safety warning yet (not 3 months untreated).",
     [condition("cond-dm", "E11.9", ICD10CM, display="Type 2 diabetes mellitus without complications"), LOW_B12],
     "confirmed", [], population=False, population_reason="no-peripheral-neuropathy")

case("population-out-condition-unrecognised-code-neuropathy-text",
     "A Condition coded in a local system (code 12345) whose text reads 'Peripheral neuropathy': "
     "not read, but reported (condition-unrecognised-code, contract 5, v3); outside the population.",
     [{"resourceType": "Condition", "id": "cond-local", "clinicalStatus": {"coding": [_coding(CLINICAL, "active")]},
       "code": {"coding": [_coding("http://example.org/local-codes", "12345", "Peripheral neuropathy")],
                "text": "Peripheral neuropathy"}, "onsetDateTime": "2025-06-01"}, LOW_B12],
     "confirmed", [], population=False, quality=["cond-local"], data_quality_codes=["condition-unrecognised-code"])

for status in ("provisional", "differential", "unconfirmed"):
    case(f"population-in-suspected-{status}-neuropathy",
         f"Peripheral neuropathy with verificationStatus {status}: in the population as suspected "
         "(contract 5, v3: the work-up and treatment of a measured deficiency do not wait for the "
         "neuropathy to be confirmed), with unconfirmed-diagnosis; serum B12 150: oral B12.",
         [verified(PN, status), LOW_B12],
         "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, population=True,
         population_reason="suspected-peripheral-neuropathy", quality=["cond-pn"],
         data_quality_codes=["unconfirmed-diagnosis"])

case("population-in-confirmed-decides-over-provisional",
     "Two neuropathy Conditions, one confirmed and one provisional: the confirmed one decides "
     "(reason peripheral-neuropathy), no unconfirmed-diagnosis note.",
     [verified(PN, "confirmed"), verified(condition("cond-pn-2", "302226006", display="peripheral neuropathy"), "provisional"),
      LOW_B12],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, population_reason="peripheral-neuropathy",
     no_data_quality_codes=["unconfirmed-diagnosis"])

case("population-out-refuted-neuropathy",
     "Peripheral neuropathy with verificationStatus refuted: set aside (contract 5); outside the "
     "population.",
     [verified(PN, "refuted"), LOW_B12],
     "confirmed", [], population=False, population_reason="no-peripheral-neuropathy")

case("b12-for-neuropathic-pain-not-provisional-painful-neuropathy",
     "Painful peripheral neuropathy recorded as provisional: in the population as suspected, but "
     "b12-for-neuropathic-pain needs a confirmed (or unstated) diagnosis (contract 5, v3).",
     [verified(local_condition("cond-pn", "painful-peripheral-neuropathy"), "provisional"), NORMAL_B12],
     "unlikely", [], population_reason="suspected-peripheral-neuropathy")

case("population-in-18th-birthday-on-as-of-date",
     "Born 2008-11-24, assessed 2026-11-24: 18 on the as-of date, an adult (contract 5, v3): in "
     "the population; serum B12 150: oral B12.",
     [PN, LOW_B12], "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, population=True,
     patient={"birthDate": "2008-11-24"})

case("population-out-outside-age-range-one-day-before-18th-birthday",
     "Born 2008-11-25, assessed 2026-11-24: 17 on the as-of date, outside the population "
     "(outside-age-range, contract 5, v3): no adult regimen; the status is reported, and folic acid "
     "5 mg gets the safety warning.",
     [PN, LOW_B12, folic("2026-09-01", 5)], "confirmed", [FOLIC], population=False,
     population_reason="outside-age-range", patient={"birthDate": "2008-11-25"})

case("population-out-child-10-years-asserted",
     "A 10-year-old asserted into the population (--in-population) with serum B12 150: the age "
     "limit applies to an asserted population too (outside-age-range).",
     [LOW_B12], "confirmed", [], population=False, population_reason="outside-age-range",
     patient={"birthDate": "2016-05-01"}, args=["--in-population"])

case("population-out-deceased-before-age",
     "A 10-year-old who died in 2026-06: deceased comes first among the reasons (contract 5, v3).",
     [PN, LOW_B12], "confirmed", [], population=False, population_reason="deceased",
     patient={"birthDate": "2016-05-01", "deceasedDateTime": "2026-06-01"})

case("population-in-age-unknown",
     "No birth date recorded: counted as an adult, with age-unknown (contract 5, v3).",
     [PN, LOW_B12], "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, population=True,
     patient={"birthDate": None}, data_quality_codes=["age-unknown"])

# ---- contract version 3: B12 therapy by route and dose -----------------------------------

case("oral-b12-high-dose-fires-multivitamin-10-ug-not-therapy",
     "Oral cyanocobalamin 10 ug daily (a multivitamin) since 2026-06-01 and serum B12 150 pg/mL on "
     "2026-05-20 with neuropathy: below 1000 ug daily is not guideline therapy (contract 3, v3), so "
     "it suppresses nothing: oral high-dose B12, follow-up from the as-of date, and "
     "b12-dose-below-guideline; the 150 is a baseline, and untreated for more than 3 months: urgent.",
     [PN, b12("obs-b12-1", "2026-05-20", 150),
      med("med-b12", ATC, "B03BA01", "cyanocobalamin", "2026-06-01", 10, "ug", route="oral")],
     "confirmed", [ORAL, FOLLOW_UP, URGENT], due=NEW_DUE, quality=["med-b12"],
     data_quality_codes=["b12-dose-below-guideline"], b12_therapy_current=False)

case("oral-b12-high-dose-fires-999-ug-daily-not-therapy",
     "Oral cyanocobalamin 999 ug daily since 2026-10-01, serum B12 150 pg/mL on 2026-09-20: one "
     "microgram below the guideline's 1000: not therapy, oral high-dose B12 recommended.",
     [PN, b12("obs-b12-1", "2026-09-20", 150),
      med("med-b12", ATC, "B03BA01", "cyanocobalamin", "2026-10-01", 999, "ug", route="oral")],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, data_quality_codes=["b12-dose-below-guideline"],
     b12_therapy_current=False)

case("follow-up-3-months-fires-1000-ug-daily-is-therapy",
     "Oral cyanocobalamin 1000 ug daily since 2026-10-01, serum B12 150 pg/mL on 2026-09-20: "
     "1000 ug daily is guideline therapy (the lowest maintenance dose): under way, follow-up due "
     "2027-01-01.",
     [PN, b12("obs-b12-1", "2026-09-20", 150),
      med("med-b12", ATC, "B03BA01", "cyanocobalamin", "2026-10-01", 1000, "ug", route="oral")],
     "confirmed", [FOLLOW_UP], due="2027-01-01", b12_therapy_current=True,
     no_data_quality_codes=["b12-dose-below-guideline"])

case("follow-up-3-months-fires-sublingual-1000-ug",
     "Sublingual cyanocobalamin 1000 ug daily since 2026-10-01: oral, sublingual or nasal at 1000 "
     "ug daily is therapy (contract 3, v3).",
     [PN, b12("obs-b12-1", "2026-09-20", 150),
      {**med("med-b12", ATC, "B03BA01", "cyanocobalamin", "2026-10-01", 1000, "ug"),
       "dosage": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                   "doseAndRate": [{"doseQuantity": _quantity(1000, "ug")}],
                   "route": {"coding": [_coding(SCT, "37839007", "Sublingual route")]}}]}],
     "confirmed", [FOLLOW_UP], due="2027-01-01", b12_therapy_current=True)

case("follow-up-3-months-fires-subcutaneous-b12-any-dose",
     "Subcutaneous cyanocobalamin 100 ug monthly since 2026-10-01: parenteral B12 at any dose is "
     "therapy (contract 3, v3).",
     [PN, b12("obs-b12-1", "2026-09-20", 150),
      {**med("med-b12", ATC, "B03BA01", "cyanocobalamin", "2026-10-01", 100, "ug", period_unit="mo"),
       "dosage": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "mo"}},
                   "doseAndRate": [{"doseQuantity": _quantity(100, "ug")}],
                   "route": {"coding": [_coding(SCT, "34206005", "Subcutaneous route")]}}]}],
     "confirmed", [FOLLOW_UP], due="2027-01-01", b12_therapy_current=True, no_data_quality_codes=["dose-unknown"])

case("follow-up-3-months-fires-injectable-product-no-route-no-dose",
     "A B12 injection product (RxNorm 2001499, 'Vitamin B 12 5 MG/ML Injectable Solution') ordered "
     "2026-10-01 with no route and no dose: its dose form is injectable, so parenteral therapy; a "
     "parenteral cobalamin needs no dose and gets no dose-unknown (contract 3 and 6, v3).",
     [PN, b12("obs-b12-1", "2026-09-20", 150),
      med_request("med-b12", RXNORM, "2001499", "Vitamin B 12 5 MG/ML Injectable Solution", "2026-10-01")],
     "confirmed", [FOLLOW_UP], due="2027-01-01", b12_therapy_current=True, no_data_quality_codes=["dose-unknown"])

case("oral-b12-high-dose-fires-oral-b12-dose-unknown",
     "Oral cyanocobalamin with no dose since 2026-10-01 and serum B12 150 on 2026-09-20: an oral "
     "cobalamin with no readable dose is not therapy (dose-unknown: check the dose before starting "
     "high-dose B12, contract 3, v3).",
     [PN, b12("obs-b12-1", "2026-09-20", 150),
      {"resourceType": "MedicationStatement", "id": "med-b12", "status": "active",
       "medicationCodeableConcept": {"coding": [_coding(ATC, "B03BA01", "cyanocobalamin")], "text": "cyanocobalamin"},
       "effectivePeriod": {"start": "2026-10-01"}}],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, quality=["med-b12"], data_quality_codes=["dose-unknown"],
     b12_therapy_current=False)

case("follow-up-3-months-due-from-episode-start-not-latest-dose",
     "Monthly IM hydroxocobalamin administered 2026-07-01, 08-01, 09-01, 10-01 and 11-10 (each "
     "covering 3 months): one episode from 2026-07-01; the follow-up is due 2026-10-01 (the "
     "episode's start + 3 months, never the latest dose); the B12 of 2026-10-20 was taken after "
     "the due date, so not overdue; it is the follow-up's result (contract 2 and 3, v3).",
     [PN, b12("obs-b12-1", "2026-06-20", 150)]
     + [administration(f"med-b12-im-{i}", day) for i, day in
        enumerate(["2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01", "2026-11-10"])]
     + [b12("obs-b12-2", "2026-10-20", 450)],
     "confirmed", [FOLLOW_UP], due="2026-10-01", follow_up_overdue=False, follow_up_results_facts=["obs-b12-2"],
     b12_therapy_current=True, based_on={"b12_status": ["obs-b12-1"]})

case("follow-up-3-months-overdue-no-b12-since-due",
     "Oral cyanocobalamin 2000 ug daily since 2026-06-01, baseline B12 150 on 2026-05-20, no "
     "serum B12 since: follow-up due 2026-09-01, overdue on 2026-11-24.",
     [PN, b12("obs-b12-1", "2026-05-20", 150), b12_oral("2026-06-01")],
     "confirmed", [FOLLOW_UP], due="2026-09-01", follow_up_overdue=True)

case("order-serum-b12-not-on-therapy-without-baseline",
     "IM hydroxocobalamin since 2026-07-01 (a MedicationStatement), no serum B12 before it, B12 410 "
     "ng/L on 2026-10-20 during it: status unknown, but no order-serum-b12 (a level off treatment "
     "can no longer be obtained); follow-up due 2026-10-01 reading the 410, not overdue (taken after "
     "the due date); no-baseline (contract 3, v3; the shape of public example ex10).",
     [PN, {**b12_im("2026-07-01"), "dosage": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "mo"}},
                                              "doseAndRate": [{"doseQuantity": _quantity(1000, "ug")}],
                                              "route": {"coding": [_coding(SCT, ROUTES["im"])]}}]},
      b12("obs-b12-3", "2026-10-20", 410, "ng/L")],
     "unknown", [FOLLOW_UP], due="2026-10-01", follow_up_overdue=False, follow_up_results_facts=["obs-b12-3"],
     b12_therapy_current=True, data_quality_codes=["no-baseline"])

case("urgent-untreated-deficiency-not-treated-since-then-lapsed",
     "Serum B12 150 on 2026-03-01; oral B12 2000 ug daily 2026-04-01 to 2026-06-01 (completed), "
     "nothing since: the deficiency was treated after it was found, so not 'untreated' (contract 3, "
     "v3); the therapy has lapsed: restarted (oral high-dose, follow-up from the as-of date).",
     [PN, b12("obs-b12-1", "2026-03-01", 150), b12_oral("2026-04-01", status="completed", end="2026-06-01")],
     "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE, data_quality_codes=["therapy-lapsed"], b12_therapy_current=False)

case("urgent-untreated-deficiency-fires-therapy-before-deficient-result",
     "Oral B12 2000 ug daily 2025-01-01 to 2025-03-01 (completed), then serum B12 150 on "
     "2026-03-01: no therapy since the deficient result, which is more than 3 months old: urgent; "
     "oral B12 restarted.",
     [PN, b12_oral("2025-01-01", status="completed", end="2025-03-01"), b12("obs-b12-1", "2026-03-01", 150)],
     "confirmed", [ORAL, FOLLOW_UP, URGENT], due=NEW_DUE)

case("status-unknown-lapsed-on-treatment-result-reported",
     "IM hydroxocobalamin administered 2026-03-01 (covering to 2026-06-01) and a serum B12 of 150 "
     "taken 2026-04-01 during it: an on-treatment result, never a baseline; the therapy has lapsed, "
     "so status unknown, order-serum-b12, and the 150 is reported (on-treatment-result), never "
     "silent (contract 6, v3).",
     [PN, administration("med-b12-im", "2026-03-01"), b12("obs-b12-1", "2026-04-01", 150)],
     "unknown", [ORDER_B12], quality=["obs-b12-1"], data_quality_codes=["on-treatment-result", "therapy-lapsed"])

# ---- contract version 3: exposure episodes --------------------------------------------------


def metformin_dispense(rid, handed, days=30):
    return {"resourceType": "MedicationDispense", "id": rid, "status": "completed",
            "medicationCodeableConcept": {"coding": [_coding(RXNORM, "6809", "metformin")]},
            "whenHandedOver": handed, "daysSupply": {"value": days, "unit": "days", "system": UCUM, "code": "d"}}


def every(first, count, days):
    """`count` dates `days` apart from `first` (YYYY-MM-DD)."""
    from datetime import date, timedelta
    start = date.fromisoformat(first)
    return [(start + timedelta(days=days * k)).isoformat() for k in range(count)]


case("risk-metformin-fires-18-monthly-dispenses-one-episode",
     "Eighteen metformin dispenses of 30 days, every 30 days from 2025-06-18 to 2026-11-10 (each "
     "covering 30 days counted inclusively): one episode (contract 6, v3: refills join), current on "
     "2026-11-24 (the last supply covers to 2026-12-09), started 2025-06-18: more than 4 months, so "
     "the risk factor, based on the episode's records.",
     [PN, NORMAL_B12] + [metformin_dispense(f"disp-{i}", day) for i, day in enumerate(every("2025-06-18", 18, 30))],
     "unlikely", [MONITOR], [METFORMIN_RF], based_on={METFORMIN_RF: ["disp-0", "disp-17"]})

case("risk-metformin-not-single-dispense-ended-2-days-before",
     "One metformin dispense of 30 days on 2026-10-24 (covering 10-24 to 11-22), a long course "
     "before it ended in 2025: on 2026-11-24 the as-of date falls outside the episode (contract 6, "
     "v3: an episode is current when the as-of date falls within it), so no risk factor.",
     [PN, NORMAL_B12, metformin("2024-01-01", status="completed", end="2025-06-30"),
      metformin_dispense("disp-1", "2026-10-24")],
     "unlikely", [])

case("risk-metformin-fires-refill-gap-30-days-joined",
     "Metformin dispensed 2026-06-01 for 30 days (covering to 06-30), again 2026-07-31 (30 uncovered "
     "days: 07-01 to 07-30, no more than the grace gap), then an active order authored 2026-08-01: "
     "one episode from 2026-06-01, more than 4 months before 2026-11-24: risk factor.",
     [PN, NORMAL_B12, metformin_dispense("disp-1", "2026-06-01"), metformin_dispense("disp-2", "2026-07-31"),
      med_request("med-metformin", RXNORM, "6809", "metformin", "2026-08-01")],
     "unlikely", [MONITOR], [METFORMIN_RF])

case("risk-metformin-not-refill-gap-31-days-new-episode",
     "Metformin dispensed 2026-06-01 for 30 days, again 2026-08-01 (31 uncovered days: more than the "
     "grace gap), then an active order authored 2026-08-01: the current episode starts 2026-08-01, "
     "less than 4 months before 2026-11-24: no risk factor.",
     [PN, NORMAL_B12, metformin_dispense("disp-1", "2026-06-01"), metformin_dispense("disp-2", "2026-08-01"),
      med_request("med-metformin", RXNORM, "6809", "metformin", "2026-08-01")],
     "unlikely", [])

case("risk-metformin-fires-17-completed-orders-and-one-active",
     "Seventeen completed monthly metformin orders (each covering the default 30-day supply) from "
     "2025-05-20 and an active one: one episode of 18 months (contract 6, v3), risk factor.",
     [PN, NORMAL_B12] + [med_request(f"med-{i}", RXNORM, "6809", "metformin", day, status="completed")
                         for i, day in enumerate(every("2025-05-20", 17, 30))]
     + [med_request("med-active", RXNORM, "6809", "metformin", "2026-10-12")],
     "unlikely", [MONITOR], [METFORMIN_RF])

case("risk-metformin-fires-completed-order-with-repeats",
     "A completed metformin order authored 2026-03-01 with an expected supply of 30 days and 11 "
     "repeats covers 360 days (to 2027-02-24, contract 6, v3): current, started more than 4 months "
     "before: risk factor.",
     [PN, NORMAL_B12, med_request("med-metformin", RXNORM, "6809", "metformin", "2026-03-01", status="completed",
                                  dispenseRequest={"numberOfRepeatsAllowed": 11,
                                                   "expectedSupplyDuration": {"value": 30, "unit": "days",
                                                                              "system": UCUM, "code": "d"}})],
     "unlikely", [MONITOR], [METFORMIN_RF])

case("risk-metformin-not-stale-active-order",
     "An active metformin order authored 2024-06-01 and never renewed: more than 12 months (the "
     "open-ended limit) before the as-of date, it no longer counts as current and is reported "
     "(stale-record, contract 6, v3): no risk factor.",
     [PN, NORMAL_B12, med_request("med-metformin", RXNORM, "6809", "metformin", "2024-06-01")],
     "unlikely", [], quality=["med-metformin"], data_quality_codes=["stale-record"],
     no_data_quality_codes=["dose-unknown"])

case("risk-ppi-fires-statement-open-period-not-stale",
     "Omeprazole recorded as an active MedicationStatement with effectivePeriod from 2024-01-01 and "
     "no end: an open period states use up to now, so it is current (not stale) and started more "
     "than 12 months before: risk factor (the reading of the contract's own example ex4).",
     [PN, NORMAL_B12, ppi("2024-01-01")],
     "unlikely", [MONITOR], [PPI_RF], no_data_quality_codes=["stale-record"])

case("urgent-untreated-deficiency-fires-record-outdated",
     "The newest fact of the record is a serum B12 of 150 pg/mL on 2025-01-10 (and a neuropathy "
     "since 2024): more than 12 months before 2026-11-24, so record-outdated (once, contract 6, v3); "
     "the deficiency is untreated for more than 3 months: urgent, and oral B12.",
     [condition("cond-pn", "302226006", onset="2024-05-01", display="peripheral neuropathy"),
      b12("obs-b12-1", "2025-01-10", 150)],
     "confirmed", [ORAL, FOLLOW_UP, URGENT], due=NEW_DUE, data_quality_codes=["record-outdated"])

# ---- contract version 3: laboratory reading ---------------------------------------------------


def with_status(resource, status):
    return {**resource, "status": status}


case("status-confirmed-preliminary-result",
     "A preliminary serum B12 of 150 pg/mL: a result, reported as preliminary-result (contract 6, v3).",
     [PN, with_status(LOW_B12, "preliminary")], "confirmed", [ORAL, FOLLOW_UP], due=NEW_DUE,
     quality=["obs-b12-1"], data_quality_codes=["preliminary-result"])

for status in ("registered", "cancelled", "unknown", "bogus"):
    case(f"status-unknown-observation-status-{status}-not-a-result",
         f"A serum B12 of 150 pg/mL with Observation.status {status!r}: not a result, set aside "
         "(status-not-a-result, contract 6, v3): status unknown, order-serum-b12.",
         [PN, with_status(LOW_B12, status)], "unknown", [ORDER_B12], quality=["obs-b12-1"],
         data_quality_codes=["status-not-a-result"])


def censored_b12(rid, date, comparator, value, unit="pg/mL"):
    resource = b12(rid, date, value, unit)
    resource["valueQuantity"]["comparator"] = comparator
    return resource


case("status-unlikely-censored-above-300-with-normal-mma",
     "Serum B12 '>300 pg/mL' with a normal MMA (0.2 umol/L) the same day: 300-350 with a normal MMA "
     "and >350 are both unlikely, so the censored result decides `unlikely` (contract 3, v3); no MMA "
     "ordered; censored-result reported.",
     [PN, censored_b12("obs-b12-1", D, ">", 300), mma("obs-mma-1", D, 0.2)],
     "unlikely", [], data_quality_codes=["censored-result"])

case("status-indeterminate-censored-above-300-no-mma",
     "Serum B12 '>300 pg/mL' and no MMA: the interval spans indeterminate and unlikely, so "
     "`indeterminate` and order-mma (contract 6).",
     [PN, censored_b12("obs-b12-1", D, ">", 300)], "indeterminate", [ORDER_MMA], data_quality_codes=["censored-result"])

case("order-mma-not-censored-below-200-normal-mma-qualifies",
     "Serum B12 '<200 pg/mL' with a normal MMA (0.2): below 180 is confirmed, 180-200 with a normal "
     "MMA unlikely: the interval decides nothing, `indeterminate`; but an MMA already qualifies, so "
     "no other MMA is ordered (contract 3, v3).",
     [PN, censored_b12("obs-b12-1", D, "<", 200), mma("obs-mma-1", D, 0.2)],
     "indeterminate", [], data_quality_codes=["censored-result"])

case("status-indeterminate-censored-below-200-elevated-mma",
     "Serum B12 '<200 pg/mL' with an elevated MMA (0.8 umol/L): below 180 is confirmed, 180-200 with an "
     "elevated MMA functional: two statuses, so `indeterminate` by the letter of contract 3 (v3, 'Censored "
     "results'), and no MMA is ordered since one qualifies. Clinically both readings are a deficiency "
     "(see the issue note: the contract should call this functional).",
     [PN, censored_b12("obs-b12-1", D, "<", 200), mma("obs-mma-1", D, 0.8)],
     "indeterminate", [], data_quality_codes=["censored-result"])

case("status-functional-censored-above-300-elevated-mma",
     "Serum B12 '>300 pg/mL' with an elevated MMA (0.8 umol/L): every value of the interval is at least "
     "180 with an elevated metabolite, so `functional` (contract 3, v3): oral B12.",
     [PN, censored_b12("obs-b12-1", D, ">", 300), mma("obs-mma-1", D, 0.8)],
     "functional", [ORAL, FOLLOW_UP], due=NEW_DUE, data_quality_codes=["censored-result"])

case("order-mma-not-censored-mma-spanning-cut-off-qualifies",
     "Serum B12 250 pg/mL with an MMA reported '<0.5 umol/L' (spanning the 0.4 cut-off): the MMA "
     "decides nothing, so `indeterminate`; but an MMA result qualifies, so none is ordered "
     "(contract 3, v3).",
     [PN, b12("obs-b12-1", D, 250),
      {**mma("obs-mma-1", D, 0.5), "valueQuantity": {**_quantity(0.5, "umol/L"), "comparator": "<"}}],
     "indeterminate", [])

case("order-mma-fires-b12-420-suspected-neuropathy",
     "Serum B12 420 pg/mL and a provisional peripheral neuropathy: the 350-500 clause applies in a "
     "suspected population too (contract 3, v3).",
     [verified(PN, "provisional"), b12("obs-b12-1", D, 420)], "unlikely", [ORDER_MMA],
     population_reason="suspected-peripheral-neuropathy")

case("order-mma-fires-b12-420-asserted-population",
     "Serum B12 420 pg/mL, no neuropathy coded, and the caller asserts the population "
     "(--in-population): the 350-500 clause applies (contract 3, v3).",
     [b12("obs-b12-1", D, 420)], "unlikely", [ORDER_MMA], population_reason="asserted", args=["--in-population"])

case("risk-metformin-no-dose-unknown-for-exposure-drug",
     "Metformin with no dose (read by exposure alone) since 2025-01-01 as an open statement: the "
     "risk factor, and no dose-unknown (contract 6, v3: only drugs whose dose a rule reads).",
     [PN, NORMAL_B12,
      {"resourceType": "MedicationStatement", "id": "med-metformin", "status": "active",
       "medicationCodeableConcept": {"coding": [_coding(RXNORM, "6809", "metformin")], "text": "metformin"},
       "effectivePeriod": {"start": "2025-01-01"}}],
     "unlikely", [MONITOR], [METFORMIN_RF], no_data_quality_codes=["dose-unknown"])

# ---- contract v3, section 6: a medication not recognised by code but named in its text -----------

LOCAL_FORMULARY = "http://example.org/formulary"

case("data-quality-medication-unrecognised-local-code-metformin-text",
     "An active metformin order (authored 2026-01-10) coded only in a local formulary (MET500) "
     "with text 'Metformin 500 mg tablet'; peripheral neuropathy, serum B12 600 pg/mL. The code is "
     "not recognised, so the order is not used (no metformin risk factor, no enhanced monitoring), "
     "and it is reported: medication-unrecognised-code naming the order (contract 6: 'a medication "
     "whose code is not recognised but whose text names a drug the guideline reads is reported in "
     "data_quality ... never used silently either way').",
     [PN, NORMAL_B12,
      {"resourceType": "MedicationRequest", "id": "med-local", "status": "active", "intent": "order",
       "medicationCodeableConcept": {"coding": [_coding(LOCAL_FORMULARY, "MET500")], "text": "Metformin 500 mg tablet"},
       "authoredOn": "2026-01-10"}],
     "unlikely", [], quality=["med-local"], data_quality_codes=["medication-unrecognised-code"],
     risk_factors_exclude=[METFORMIN_RF])

case("data-quality-medication-unrecognised-text-only-metformin",
     "An active metformin statement since 2025-01-01 with no coding at all, only the text "
     "'Metformin 850 mg twice daily'; peripheral neuropathy, serum B12 600 pg/mL: no code, so not "
     "used (no metformin risk factor), and reported as medication-unrecognised-code (contract 6).",
     [PN, NORMAL_B12,
      {"resourceType": "MedicationStatement", "id": "med-text", "status": "active",
       "medicationCodeableConcept": {"text": "Metformin 850 mg twice daily"}, "effectivePeriod": {"start": "2025-01-01"}}],
     "unlikely", [], quality=["med-text"], data_quality_codes=["medication-unrecognised-code"],
     risk_factors_exclude=[METFORMIN_RF])

case("data-quality-medication-unrecognised-local-code-brand-text",
     "An active order (authored 2026-01-10) coded only in a local formulary with text 'Glucophage "
     "500 mg tablet': Glucophage is a brand of metformin, so the text names a drug the guideline "
     "reads; the code is not recognised: not used (no metformin risk factor) and reported "
     "(medication-unrecognised-code, contract 6).",
     [PN, NORMAL_B12,
      {"resourceType": "MedicationRequest", "id": "med-brand", "status": "active", "intent": "order",
       "medicationCodeableConcept": {"coding": [_coding(LOCAL_FORMULARY, "GLU500", "Glucophage 500 mg tablet")],
                                     "text": "Glucophage 500 mg tablet"},
       "authoredOn": "2026-01-10"}],
     "unlikely", [], quality=["med-brand"], data_quality_codes=["medication-unrecognised-code"],
     risk_factors_exclude=[METFORMIN_RF])

case("data-quality-medication-unrecognised-not-for-other-drug-text",
     "An active order coded only in a local formulary with text 'Lisinopril 10 mg tablet' (a drug "
     "the guideline does not read): nothing to report about it (contract 6: what the guideline does "
     "not read never rejects a record, and a note is given where it could change a conclusion).",
     [PN, NORMAL_B12,
      {"resourceType": "MedicationRequest", "id": "med-other", "status": "active", "intent": "order",
       "medicationCodeableConcept": {"coding": [_coding(LOCAL_FORMULARY, "LIS10")], "text": "Lisinopril 10 mg tablet"},
       "authoredOn": "2026-01-10"}],
     "unlikely", [], no_data_quality_codes=["medication-unrecognised-code"])

# ---- issue 23, item 5: medication codes no table resolves, counted once per record ---------------

ATORVASTATIN = (RXNORM, "259255", "Atorvastatin 80 MG Oral Tablet")
AMLODIPINE = (RXNORM, "197361", "Amlodipine 5 MG Oral Tablet")

def bare_code(resource):
    """The resource with its medication coded by code alone: no display, no text (no name to read)."""
    concept = resource["medicationCodeableConcept"]
    concept.pop("text", None)
    for coding in concept["coding"]:
        coding.pop("display", None)
    return resource


case("data-quality-medication-code-unresolved-summary-once-per-record",
     "Metformin ordered by its RxNorm product 860975 (active, authored 2026-01-15: the risk factor and "
     "enhanced monitoring), two active atorvastatin orders (RxNorm 259255), an amlodipine statement "
     "(RxNorm 197361) and a cancelled simvastatin order (RxNorm 312961), all four coded by code alone "
     "(no display, no text), and an active lisinopril order (RxNorm 314076) with its display; serum "
     "B12 600 pg/mL. The three counting records coded by RxNorm codes no table resolves and carrying no "
     "name are summarised in one note about no fact (medication-code-unresolved: 3 records, 2 codes): "
     "they could be a drug the guideline reads; the lisinopril order is read by its name (which names "
     "no drug a guideline reads) and not counted; the cancelled order is set aside whatever its code "
     "and not counted; the metformin product is resolved and read.",
     [PN, NORMAL_B12, med_request("med-metformin", *METFORMIN_860975, "2026-01-15"),
      bare_code(med_request("med-statin-1", *ATORVASTATIN, "2026-01-15")),
      bare_code(med_request("med-statin-2", *ATORVASTATIN, "2026-06-15")),
      {"resourceType": "MedicationStatement", "id": "med-amlodipine", "status": "active",
       "medicationCodeableConcept": {"coding": [_coding(AMLODIPINE[0], AMLODIPINE[1])]},
       "effectivePeriod": {"start": "2024-03-01"}},
      med_request("med-lisinopril", RXNORM, "314076", "Lisinopril 10 MG Oral Tablet", "2026-03-01"),
      bare_code(med_request("med-simvastatin", RXNORM, "312961", "Simvastatin 20 MG Oral Tablet", "2026-02-01",
                            status="cancelled"))],
     "unlikely", [MONITOR], [METFORMIN_RF], based_on=bo(metformin_over_4_months=["med-metformin"]),
     data_quality_codes=["medication-code-unresolved"])

case("data-quality-medication-code-unresolved-not-when-another-coding-resolves",
     "An active order coded by an RxNorm code no table holds (99999999) and by ATC A10BA02 (metformin), "
     "authored 2026-01-15; serum B12 600 pg/mL: the ATC coding resolves the record (metformin for more "
     "than 4 months), so nothing is unresolved: no medication-code-unresolved.",
     [PN, NORMAL_B12,
      {"resourceType": "MedicationRequest", "id": "med-metformin", "status": "active", "intent": "order",
       "medicationCodeableConcept": {"coding": [_coding(RXNORM, "99999999"), _coding(ATC, "A10BA02")], "text": "metformin"},
       "authoredOn": "2026-01-15"}],
     "unlikely", [MONITOR], [METFORMIN_RF], based_on=bo(metformin_over_4_months=["med-metformin"]),
     no_data_quality_codes=["medication-code-unresolved", "medication-unrecognised-code"])

SUBJECT_AFTER = {"Observation": "code", "Condition": "id", "Procedure": "code",
                 "MedicationStatement": "medicationCodeableConcept"}


def patient_id(name):
    pid = name.replace("_", "-")
    return pid if len(pid) <= 64 else pid[:64].rstrip("-")


def with_subject(resource, pid):
    out = {}
    for key, value in resource.items():
        out[key] = value
        if key == SUBJECT_AFTER.get(resource["resourceType"], "id"):
            out["subject"] = {"reference": f"Patient/{pid}"}
    if "subject" not in out:
        out["subject"] = {"reference": f"Patient/{pid}"}
    if resource["resourceType"] == "Medication":
        out.pop("subject", None)  # a Medication is about a product, not a patient
    return out


def build_bundle(name, facts, patient=None, bundle_type="collection"):
    pid = patient_id(name)
    resources = [{key: value for key, value in {"resourceType": "Patient", "id": pid, "gender": "female",
                                                "birthDate": "1956-03-02", **(patient or {})}.items() if value is not None}]
    resources += [with_subject(f, pid) for f in facts]
    ids = [r["id"] for r in resources]
    assert len(ids) == len(set(ids)), f"{name}: duplicate resource id"
    def full_url(rid):
        return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL,
                                            f"https://w3id.org/b12kg/tests/{name}/{rid}"))

    entries = [{"fullUrl": full_url(r["id"]), "resource": r} for r in resources]
    return {"resourceType": "Bundle", "type": bundle_type, "entry": entries}


def expected(c):
    if c.get("rejected"):
        return {"description": c["description"], "as_of": c["as_of"], "b12_status": "unknown",
                "actions": {"must": [], "must_not": []}, "exit_code": 2}
    unknown = set(c["must"]) - set(ALL_ACTIONS)
    assert not unknown, f"{c['name']}: unknown action {unknown}"
    assert (FOLLOW_UP in c["must"]) == (c["due"] is not None), f"{c['name']}: due vs follow-up"
    in_population = c.get("population") is not False
    assert (MONITOR in c["must"]) == (bool(c["risk"]) and in_population), f"{c['name']}: monitoring vs risk"
    ids = {f["id"] for f in c["facts"]}
    for key, used in c["based_on"].items():
        assert set(used) <= ids, f"{c['name']}: based_on {key} names an unknown id"
    result = {"description": c["description"], "as_of": c["as_of"], "b12_status": c["status"],
              "actions": {"must": c["must"],
                          "must_not": [a for a in ALL_ACTIONS if a not in c["must"]]},
              "risk_factors": sorted(c["risk"]), "follow_up_due": c["due"],
              "based_on": c["based_on"]}
    if c.get("population") is not None:
        result["population_in"] = c["population"]
    if c.get("quality"):
        result["data_quality_facts"] = c["quality"]
    if c.get("args"):
        result["args"] = c["args"]
    safety = {URGENT, FOLIC} & set(c["must"])
    result["safety_actions"] = sorted(safety)  # (v3) the safety warnings present are marked "safety": true
    result.update(c.get("v3", {}))
    return result


def dump(obj):
    return json.dumps(obj, indent=1, ensure_ascii=False) + "\n"


def main():
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case name"
    for c in CASES:
        name = c["name"]
        assert name == name.lower() and " " not in name, name
        if c.get("rejected") and c["facts"] is None:
            text = dump(build_bundle(name, [PN, b12("obs-b12-1", D, 150)]))
            text = text[: len(text) * 2 // 3]  # truncated mid-document: not valid JSON
        else:
            text = dump(build_bundle(name, c["facts"], c.get("patient"), c.get("bundle_type", "collection")))
        (HERE / f"{name}.json").write_text(text)
        (HERE / f"{name}.expected.json").write_text(dump(expected(c)))
    (HERE.parent / "README.md").write_text(readme())  # the index of tests/cases/, every pack's folder
    stale = sorted(p.name[: -len(".expected.json")] for p in HERE.glob("*.expected.json")
                   if p.name[: -len(".expected.json")] not in names)
    for name in stale:
        print(f"warning: {name} is not in the table (renamed or hand-written?)")
    print(f"wrote {len(CASES)} cases to {HERE}")


def readme():
    lines = [
        "# Clinical test cases",
        "",
        "One folder per guideline pack, named as the pack is (`ontology/<pack>/`, `queries/<pack>/`):",
        "`tests/cases/<pack>/`. Each case is `NAME.json` (a FHIR R4 Bundle; or `NAME.ttl`, native RDF)",
        "and `NAME.expected.json`, the conclusions a clinician expects.",
        "",
        "| folder | cases | written by |",
        "|---|---|---|",
        "| `b12/` | the primary pack, B12 deficiency in peripheral neuropathy (below) | `b12/make_cases.py` |",
        "| `interactions/` | guidelines meeting for a patient (contract section 8) | `interactions/make_cases.py` |",
        "| `aan-polyneuropathy/`, `ada-diabetes/`, `aga-ppi-deprescribing/`, `mhra-metformin-b12/`, "
        "`uspstf-folic-acid/` | the companion packs | `interactions/make_cases.py` |",
        "",
        "This page is written by `b12/make_cases.py`: edit it there.",
        "",
        "## The B12 pack's cases (`b12/`)",
        "",
        "Generated by `b12/make_cases.py` from one table: edit the table there and rerun",
        "`python3 tests/cases/b12/make_cases.py`; do not edit the JSON files by hand (the",
        "`native-*.ttl` cases, native RDF, and their expectations are written by hand).",
        "",
        "Each case is `NAME.json` (a FHIR R4 Bundle) and `NAME.expected.json`: the format of",
        "`/work/shared/bin/check-contract` plus `description` (why, citing CONTRACT.md section 3)",
        "and `based_on` (resource ids each conclusion must list among its facts; a subset).",
        "`must_not` holds every contract action not expected. Run them with",
        "`B12KG=b12kg /work/shared/bin/check-contract tests/cases/b12`.",
        "",
        "Default assessment date 2026-11-24 (minus 3 months = 2026-08-24, minus 4 months =",
        "2026-07-24, minus 12 months = 2025-11-24; a new follow-up is due 2027-02-24).",
        "",
        "| case | as of | status | expected actions | risk factors | follow-up due |",
        "|---|---|---|---|---|---|",
    ]
    for c in sorted(CASES, key=lambda c: c["name"]):
        if c.get("rejected"):
            lines.append(f"| `{c['name']}` | {c['as_of']} | exit 2 | | | |")
            continue
        lines.append(f"| `{c['name']}` | {c['as_of']} | {c['status']} | "
                     f"{', '.join(c['must']) or '(none)'} | {', '.join(sorted(c['risk']))} | "
                     f"{c['due'] or ''} |")
    lines += ["", "### Why each case expects what it does", ""]
    for c in sorted(CASES, key=lambda c: c["name"]):
        lines.append(f"- `{c['name']}`: {c['description']}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
