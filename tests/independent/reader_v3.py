#!/usr/bin/env python3
"""Independent reader of b12kg's output contract, version 3.

Written from ../shared/contract/CONTRACT.md (v3), terminology.md and the guideline text only,
never from b12kg's code. Standard library only. "C3" below means CONTRACT.md section 3, etc.

    reader_v3.py PATH... --as-of YYYY-MM-DD [--in-population]     (JSON Lines on stdout)

PATH is a FHIR R4 Bundle (.json) or a Bulk Data folder of .ndjson files. Each line holds the
fields this reader covers: population, b12_status (value, serum_b12_ng_per_l), risk_factors,
recommendations (action, safety), follow_up (due, overdue, results), record (newest_fact,
b12_therapy) and data_quality; or "rejected" with the reason (C1: exit 2).
"""
import argparse
import calendar
import datetime as dt
import json
import re
import sys
from pathlib import Path

# ---- parameters (C3, C6): values stated in the contract ------------------------------------
B12_LOW, B12_HIGH, B12_FUNCTIONAL_MAX = 180.0, 350.0, 500.0   # ng/L
MMA_ELEVATED, HCY_ELEVATED = 0.4, 15.0                          # umol/L, "> cut-off"
METABOLITE_WINDOW_DAYS = 90
DEFAULT_SUPPLY, GRACE_GAP, OPEN_ENDED_MONTHS = 30, 30, 12
PARENTERAL_INTERVAL_MONTHS = 3
THERAPY_MIN_ORAL_UG = 1000.0
FOLATE_MAX_MG = 0.1
ADULT_YEARS = 18

# ---- terminology (terminology.md). Only codes the documents name, plus two product codes. ---
LOINC_B12_MASS, LOINC_B12_MOLES, LOINC_MMA, LOINC_HCY = "2132-9", "14685-2", "13964-2", "13965-9"
FACTS = "https://w3id.org/b12kg/fhir/CodeSystem/facts"
SCT, LOINC = "http://snomed.info/sct", "http://loinc.org"
ICD10CM, ICD10 = "http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10"
RXNORM, ATC = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://www.whocc.no/atc"

# Neuropathy value set (C5). SNOMED: 302226006 and the one descendant the contract names; the
# reader has no SNOMED hierarchy, so other descendants fall to condition-unrecognised-code.
NEUROPATHY_SCT = {"302226006", "368581000119106"}
ICD10CM_DIABETIC = {f"E{n}.{s}" for n in ("08", "09", "10", "11", "13") for s in ("40", "42")}
SEVERE = {"subacute-combined-degeneration", "myelopathy", "ataxia", "cognitive-impairment-b12",
          "optic-neuropathy", "severe-case"}
PERNICIOUS, GASTRECTOMY, MALABSORPTION = {"84027009"}, {"53442002"}, {"32230006"}
DIET_SCT = {"765021002", "1255165006"}
DIET_LOCAL = {"vegan-diet", "strict-vegetarian-diet"}
MALABSORPTION_LOCAL = {"coeliac-disease", "crohns-disease"}
RESECTION_LOCAL = {"gastric-bypass", "ileal-resection", "small-intestine-resection"}
IRREVERSIBLE_LOCAL = {"ileal-resection"}   # C3 lifelong-maintenance: pernicious anaemia, gastrectomy, ileal resection

# Drug classes. RxNorm product codes: 860975 and 2001499 only (their RxNorm names are in the
# records and the shared README); no NDC table. Anything else is "unrecognised" (C6).
RXNORM_CLASS = {"6809": "metformin", "860975": "metformin", "7646": "ppi", "40790": "ppi",
                "17128": "ppi", "114979": "ppi", "283742": "ppi", "816346": "ppi",
                "4511": "folate", "6313": "folate", "2001499": "cobalamin"}
RXNORM_INJECTABLE = {"2001499"}            # "Vitamin B 12 5 MG/ML Injectable Solution"
ATC_PREFIX_CLASS = [("A10BA02", "metformin"), ("A02BC", "ppi"), ("B03BB01", "folate"),
                    ("V03AF03", "folate"), ("B03BA", "cobalamin")]
DRUG_WORDS = re.compile(r"metformin|omeprazole|pantoprazole|lansoprazole|rabeprazole|esomeprazole|"
                        r"folic|folinic|leucovorin|folate|cobalamin|vitamin b ?12", re.I)
NEUROPATHY_WORDS = re.compile(r"(peripheral|diabetic|sensory|sensorimotor|poly) ?neuropath|"
                              r"neuropathy due to .*diabetes", re.I)
PARENTERAL_ROUTES = {"78421000", "34206005", "47625008"}      # IM, SC, IV
COUNTED_STATUS = {"MedicationStatement": {"active", "completed", "stopped", "on-hold"},
                  "MedicationRequest": {"active", "completed", "stopped", "on-hold"},
                  "MedicationAdministration": {"completed", "in-progress"},
                  "MedicationDispense": {"completed"}}
ORDER_INTENTS = {"order", "original-order", "reflex-order", "filler-order", "instance-order"}
OBS_RESULT = {"final", "amended", "corrected", "preliminary"}
CLINICAL_ACTIVE = {"active", "recurrence", "relapse"}
SAFETY = {"urgent-untreated-deficiency", "avoid-folic-acid-alone"}
MEASURE = {"b12": "serum-b12", "mma": "mma", "hcy": "homocysteine", "response": "neurological-symptoms"}
UNIT_OUT = {"b12": "ng/L", "mma": "umol/L", "hcy": "umol/L", "response": None}
INF = float("inf")


class Rejected(Exception):
    pass


# ---- dates ---------------------------------------------------------------------------------
def day(value):
    """The calendar date of a FHIR date/dateTime ('1994', '1994-01', full); None when absent."""
    if not value or not isinstance(value, str):
        return None
    parts = ([*value[:10].split("-"), "01", "01"])[:3]
    try:
        return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def add_months(d, n):
    """Calendar months (C3: 2026-07-24 is exactly 4 months before 2026-11-24); day clamped."""
    y, m = divmod(d.month - 1 + n, 12)
    y, m = d.year + y, m + 1
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def days(d, n):
    return d + dt.timedelta(days=n)


def coded(concept):
    return [(c.get("system", ""), str(c.get("code", ""))) for c in (concept or {}).get("coding", [])]


def texts(concept):
    return " ".join([(concept or {}).get("text") or ""] +
                    [c.get("display") or "" for c in (concept or {}).get("coding", [])])


def status_code(concept):
    codes = [c for _, c in coded(concept)]
    return codes[0] if codes else None


# ---- loading -------------------------------------------------------------------------------
def load_bundle(path):
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise Rejected(f"unreadable: {exc}") from exc
    if doc.get("resourceType") != "Bundle":
        raise Rejected("not a FHIR Bundle")
    resources = []
    for entry in doc.get("entry") or []:
        r = entry.get("resource")
        if isinstance(r, dict) and r.get("resourceType"):
            r = dict(r)
            r.setdefault("id", entry.get("fullUrl"))      # C6: a resource with no id is its fullUrl
            r["_fullUrl"] = entry.get("fullUrl")
            resources.append(r)
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    if len(patients) != 1:                                # C6: exactly one Patient, else exit 2
        raise Rejected(f"{len(patients)} Patient resources")
    return resources


def load_bulk(folder):
    """A Bulk Data folder: every .ndjson line that is a FHIR resource, grouped by patient."""
    by_patient, shared = {}, []
    for f in sorted(Path(folder).glob("*.ndjson")):
        for line in f.read_text().splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if not isinstance(r, dict) or "resourceType" not in r:
                continue                                  # C6 (v3): log.ndjson lines are no patients
            if r["resourceType"] == "Patient":
                by_patient.setdefault(r["id"], []).append(r)
                continue
            ref = (r.get("subject") or r.get("patient") or {}).get("reference", "")
            if ref.startswith("Patient/"):
                by_patient.setdefault(ref[len("Patient/"):], []).append(r)
            else:
                shared.append(r)                          # Medication, Practitioner, ...
    return {pid: rs + shared for pid, rs in by_patient.items()}


# ---- laboratory results (C3, C6) ----------------------------------------------------------
UNITS = {"b12": {"pg/ml": 1.0, "ng/l": 1.0, "pmol/l": 1.355},
         "mma": {"umol/l": 1.0, "µmol/l": 1.0, "nmol/l": 0.001},
         "hcy": {"umol/l": 1.0, "µmol/l": 1.0, "nmol/l": 0.001}}
CUTS = {"b12": (B12_LOW, B12_HIGH), "mma": (MMA_ELEVATED,), "hcy": (HCY_ELEVATED,)}
TEXT_QUANTITY = re.compile(r"^\s*(<=|>=|<|>)?\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Zµ/]+)\s*$")


def analyte(obs):
    for system, code in coded(obs.get("code")):
        if system == LOINC and code in (LOINC_B12_MASS, LOINC_B12_MOLES):
            return "b12"
        if system == LOINC and code == LOINC_MMA:
            return "mma"
        if system == LOINC and code == LOINC_HCY:
            return "hcy"
        if system == FACTS and code == "neuropathy-response":
            return "response"
    return None


def interval(comparator, value):
    """C6: a censored result stands for the interval it states (lo, lo_closed, hi, hi_closed)."""
    return {None: (value, True, value, True), "<": (0.0, True, value, False),
            "<=": (0.0, True, value, True), ">": (value, False, INF, False),
            ">=": (value, True, INF, False)}[comparator]


def points(iv, cuts):
    """Values inside an interval that reach every band the cut-offs make (status is piecewise)."""
    lo, lo_c, hi, hi_c = iv
    eps = 1e-6
    cands = [lo if lo_c else lo + eps, hi if hi_c else (hi - eps if hi != INF else max(lo, *cuts) + 1000)]
    cands += [c + d for c in cuts for d in (-eps, 0.0, eps)]
    return {x for x in cands if (lo < x or (lo_c and x == lo)) and (x < hi or (hi_c and x == hi))}


def spans_cut(iv, cuts):
    lo, _, hi, _ = iv
    return lo != hi and any(lo < c < hi or (lo == c and hi > c) for c in cuts)


def read_labs(resources, as_of, dq, ignored):
    labs = []
    for obs in resources:
        if obs["resourceType"] != "Observation":
            continue
        kind = analyte(obs)
        if kind is None:
            continue
        oid = obs["id"]
        status = obs.get("status")
        if status not in OBS_RESULT:                      # C6 (v3): registered, cancelled, ... set aside
            dq.append((oid, "status-not-a-result"))
            continue
        when = obs.get("effectiveDateTime") or obs.get("effectiveInstant") or \
            (obs.get("effectivePeriod") or {}).get("start")
        from_issued = when is None and obs.get("issued")
        when = when or obs.get("issued")
        if day(when) is None:                             # C6: neither effective nor issued: set aside
            continue
        if day(when) > as_of:                             # C1: facts after the as-of date are ignored
            ignored.append(oid)
            continue
        notes = ["date-from-issued"] if from_issued else []
        if status == "preliminary":
            notes.append("preliminary-result")
        if kind == "response":
            codes = [c for s, c in coded(obs.get("valueCodeableConcept")) if s == FACTS]
            if codes:
                labs.append({"id": oid, "kind": kind, "date": day(when), "time": when, "value": codes[0],
                             "iv": None})
                dq.extend((oid, n) for n in notes)
            continue
        if obs.get("dataAbsentReason") or not (obs.get("valueQuantity") or obs.get("valueString")):
            dq.append((oid, "value-absent"))              # C6: never a result
            continue
        if obs.get("valueQuantity"):
            q = obs["valueQuantity"]
            if q.get("value") is None:
                dq.append((oid, "value-absent"))
                continue
            unit, value, comparator = q.get("code") or q.get("unit") or "", float(q["value"]), q.get("comparator")
        else:
            m = TEXT_QUANTITY.match(obs["valueString"])
            if not m:                                     # C6: text that is not a quantity is set aside
                dq.append((oid, "value-absent"))
                continue
            comparator, value, unit = m.group(1), float(m.group(2)), m.group(3)
            notes.append("value-from-text")
        factor = UNITS[kind].get(unit.lower().replace("mcmol", "umol"))
        if factor is None:                                # C3: any other unit is rejected (exit 2)
            raise Rejected(f"Observation {oid}: value: unknown unit {unit!r} for {kind}")
        if value < 0:
            raise Rejected(f"Observation {oid}: value: negative {kind}")
        lo, lo_c, hi, hi_c = interval(comparator, value * factor)
        labs.append({"id": oid, "kind": kind, "date": day(when), "time": when, "value": value * factor,
                     "iv": (lo, lo_c, hi, hi_c), "censored": comparator is not None,
                     "unit": unit})
        dq.extend((oid, n) for n in notes)
    return labs


def status_at(b12, mma, hcy):
    """C3's table at one value of each measurement (None: no such result)."""
    elevated = (mma is not None and mma > MMA_ELEVATED) or (hcy is not None and hcy > HCY_ELEVATED)
    if b12 < B12_LOW:
        return "confirmed"
    if elevated:
        return "functional"
    if b12 > B12_HIGH:
        return "unlikely"
    return "indeterminate" if mma is None else "unlikely"


def judge(b12, mma, hcy):
    """Status for (possibly censored) results: decided when every value gives one status (C3, v3)."""
    statuses = {status_at(b, m, h)
                for b in points(b12["iv"], CUTS["b12"])
                for m in (points(mma["iv"], CUTS["mma"]) if mma else [None])
                for h in (points(hcy["iv"], CUTS["hcy"]) if hcy else [None])}
    return statuses.pop() if len(statuses) == 1 else "indeterminate"


# ---- medications (C3 "B12 therapy", C6 "exposure episodes") -------------------------------
def find_medication(res, by_ref):
    """The CodeableConcepts naming a medication record's drug, its dose form text and strength."""
    if res.get("medicationCodeableConcept"):
        return [res["medicationCodeableConcept"]], "", None
    ref = (res.get("medicationReference") or {}).get("reference", "")
    med = None
    if ref.startswith("#"):
        med = next((c for c in res.get("contained", []) if c.get("id") == ref[1:]), None)
    else:
        med = by_ref.get(ref)
    if not med:
        return [], "", None
    concepts = [med["code"]] if med.get("code") else \
        [i.get("itemCodeableConcept") for i in med.get("ingredient", []) if i.get("itemCodeableConcept")]
    strength = next((i.get("strength") for i in med.get("ingredient", []) if i.get("strength")), None)
    return concepts, texts(med.get("form")), strength


def drug_class(concepts):
    for concept in concepts:
        for system, code in coded(concept):
            if system == RXNORM and code in RXNORM_CLASS:
                return RXNORM_CLASS[code], code in RXNORM_INJECTABLE
            if system == ATC:
                for prefix, cls in ATC_PREFIX_CLASS:
                    if code.startswith(prefix):
                        return cls, False
    return None, False


MASS_UG = {"ug": 1.0, "mcg": 1.0, "µg": 1.0, "mg": 1000.0, "g": 1e6}
PERIOD_DAYS = {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1, "wk": 7, "mo": 30, "a": 365}


def dosages(res):
    d = res.get("dosage") or res.get("dosageInstruction") or []
    return [d] if isinstance(d, dict) else d


def daily_dose_ug(res, strength):
    """Daily dose in micrograms (terminology.md: doseQuantity x timing.repeat), or None."""
    for dosage in dosages(res):
        q = dosage.get("dose")                                        # MedicationAdministration
        if q is None:
            q = next((r.get("doseQuantity") for r in dosage.get("doseAndRate", []) if r.get("doseQuantity")), None)
        if not q or q.get("value") is None:
            continue
        unit = (q.get("code") or q.get("unit") or "").lower()
        if unit in MASS_UG:
            per_dose = q["value"] * MASS_UG[unit]
        elif strength and strength.get("numerator"):                  # tablets/mL with the Medication's strength
            num, den = strength["numerator"], strength.get("denominator") or {"value": 1}
            n_unit = (num.get("code") or num.get("unit") or "").lower()
            if n_unit not in MASS_UG:
                continue
            per_dose = q["value"] * num["value"] * MASS_UG[n_unit] / (den.get("value") or 1)
        else:
            continue
        repeat = (dosage.get("timing") or {}).get("repeat") or {}
        # Reading: a dose with no timing is taken once a day (a clinician reads "folic acid 5 mg"
        # that way); an administration's dose is that day's dose.
        per_days = (repeat.get("period") or 1) * PERIOD_DAYS.get(repeat.get("periodUnit", "d"), 1)
        return per_dose * (repeat.get("frequency") or 1) / per_days
    return None


def is_parenteral(res, concepts, form_text, injectable_product):
    routes = {c for d in dosages(res) for _, c in coded(d.get("route"))}
    words = form_text + " " + " ".join(texts(c) for c in concepts)
    return bool(routes & PARENTERAL_ROUTES) or injectable_product or \
        bool(re.search(r"injectable|injection", words, re.I))


def duration_days(q):
    unit = (q.get("code") or q.get("unit") or "d").lower()
    return q["value"] * {"d": 1, "day": 1, "days": 1, "wk": 7, "mo": 30, "a": 365}.get(unit, 1)


def record_period(res, cls, parenteral, as_of, dispense_dates):
    """(start, latest date, end, stale) of one medication record (C6 table and "Exposure episodes")."""
    rt = res["resourceType"]
    if rt == "MedicationStatement":
        eff = res.get("effectivePeriod") or {}
        start, end = day(eff.get("start") or res.get("effectiveDateTime")), day(eff.get("end"))
        latest = max(filter(None, [start, day(res.get("dateAsserted"))]), default=None)
        if eff.get("start") and not eff.get("end") and not res.get("dateAsserted") and res.get("status") == "active":
            # Reading (contract conflict, see README): C6 lists "a statement with no end" under the
            # open-ended limit, yet public example ex4 (active statement, effectivePeriod.start
            # 2025-02-01, as-of 2026-11-24) expects metformin-over-4-months. The example is the
            # contract's own outcome and a medication-list entry "taking since ..." asserts ongoing
            # use until someone ends it: an open effectivePeriod is its own latest date (now),
            # unless dateAsserted dates the assertion; an effectiveDateTime is a point in time.
            latest = as_of
    elif rt == "MedicationRequest":
        bounds = next((d.get("timing", {}).get("repeat", {}).get("boundsPeriod") for d in dosages(res)
                       if d.get("timing", {}).get("repeat", {}).get("boundsPeriod")), None) or {}
        validity = (res.get("dispenseRequest") or {}).get("validityPeriod") or {}
        start = day(bounds.get("start")) or day(validity.get("start")) or day(res.get("authoredOn"))
        end = day(bounds.get("end")) or day(validity.get("end"))
        latest = max(filter(None, [start, day(res.get("authoredOn")), *dispense_dates.get(res["id"], [])]),
                     default=None)
    elif rt == "MedicationDispense":
        start = day(res.get("whenHandedOver") or res.get("whenPrepared"))
        if start is None:
            return None
        if res.get("daysSupply", {}).get("value"):
            return start, start, days(start, int(duration_days(res["daysSupply"])) - 1), False
        qty = (res.get("quantity") or {}).get("value")
        per_day = None
        for dosage in dosages(res):
            q = next((r.get("doseQuantity") for r in dosage.get("doseAndRate", []) if r.get("doseQuantity")), None)
            if q and q.get("value"):
                rep = (dosage.get("timing") or {}).get("repeat") or {}
                per_day = q["value"] * (rep.get("frequency") or 1) / ((rep.get("period") or 1) *
                                                                     PERIOD_DAYS.get(rep.get("periodUnit", "d"), 1))
                break
        n = int(qty / per_day) if qty and per_day else DEFAULT_SUPPLY
        return start, start, days(start, n - 1), False
    else:                                                 # MedicationAdministration
        start = day(res.get("effectiveDateTime") or (res.get("effectivePeriod") or {}).get("start"))
        if start is None:
            return None
        # Reading: "its date + the dosing interval" covers the as-of date on which the next dose
        # falls due (a dose exactly 3 months ago still covers; 3 months and 1 day does not).
        end = add_months(start, PARENTERAL_INTERVAL_MONTHS) if cls == "cobalamin" and parenteral else start
        return start, start, end, False
    if start is None:
        return None
    if end is not None:                                   # explicit end
        return start, latest, end, False
    supply = (res.get("dispenseRequest") or {}).get("expectedSupplyDuration")
    if rt == "MedicationRequest" and supply and supply.get("value"):
        repeats = (res.get("dispenseRequest") or {}).get("numberOfRepeatsAllowed") or 0
        return start, latest, days(start, int(duration_days(supply) * (1 + repeats)) - 1), False
    if res.get("status") == "active":
        # Reading: staleness applies to open-ended active records (no end, no supply); a record
        # with a recorded end says itself how long it runs.
        if latest >= add_months(as_of, -OPEN_ENDED_MONTHS):
            return start, latest, as_of, False
        return start, latest, days(latest, DEFAULT_SUPPLY - 1), True
    return start, latest, days(start, DEFAULT_SUPPLY - 1), False


def read_medications(resources, by_ref, as_of, dq, ignored):
    dispense_dates = {}
    for r in resources:
        if r["resourceType"] == "MedicationDispense" and day(r.get("whenHandedOver")):
            for ref in r.get("authorizingPrescription", []):
                rid = ref.get("reference", "").split("/")[-1]
                dispense_dates.setdefault(rid, []).append(day(r["whenHandedOver"]))
    records = []
    for res in resources:
        rt = res["resourceType"]
        if rt not in COUNTED_STATUS:
            continue
        concepts, form_text, strength = find_medication(res, by_ref)
        cls, injectable = drug_class(concepts)
        if cls is None:
            words = " ".join(texts(c) for c in concepts)
            if DRUG_WORDS.search(words):                  # C6: never used silently either way
                dq.append((res["id"], "medication-unrecognised-code"))
            continue
        if res.get("status") not in COUNTED_STATUS[rt] or \
                (rt == "MedicationRequest" and res.get("intent") not in ORDER_INTENTS):
            continue                                      # C6: set aside with their reason
        parenteral = cls == "cobalamin" and is_parenteral(res, concepts, form_text, injectable)
        dose = daily_dose_ug(res, strength) if cls in ("cobalamin", "folate") else None
        period = record_period(res, cls, parenteral, as_of, dispense_dates)
        if period is None:
            continue
        start, _latest, end, stale = period
        if parenteral and rt != "MedicationAdministration":
            # C3 (v3): "a parenteral episode covers its dosing interval after each dose": the
            # last dose of a statement or order falls at its end at the latest.
            end = add_months(end, PARENTERAL_INTERVAL_MONTHS)
        if start > as_of:                                 # C1: facts after the as-of date are ignored
            ignored.append(res["id"])
            continue
        if stale:                                         # C6 (v3)
            dq.append((res["id"], "stale-record"))
        records.append({"id": res["id"], "cls": cls, "start": start, "end": end, "parenteral": parenteral,
                        "dose_ug": dose, "type": rt, "time": res.get("effectiveDateTime") or res.get("authoredOn")})
    return records


def episodes(records):
    """C6 (v3): records whose periods overlap or leave at most the grace gap form one episode."""
    out = []
    for r in sorted(records, key=lambda r: (r["start"], r["end"])):
        if out and r["start"] <= days(out[-1]["end"], 1 + GRACE_GAP):
            out[-1]["end"] = max(out[-1]["end"], r["end"])
            out[-1]["records"].append(r)
        else:
            out.append({"start": r["start"], "end": r["end"], "records": [r]})
    return out


def current(eps, as_of):
    return next((e for e in eps if e["start"] <= as_of <= e["end"]), None)


# ---- conditions and procedures -------------------------------------------------------------
def condition_present(c, as_of):
    clinical = status_code(c.get("clinicalStatus"))
    verification = status_code(c.get("verificationStatus"))
    onset = day(c.get("onsetDateTime") or (c.get("onsetPeriod") or {}).get("start") or c.get("recordedDate"))
    return (clinical is None or clinical in CLINICAL_ACTIVE) and \
        verification not in ("refuted", "entered-in-error") and (onset is None or onset <= as_of)


def neuropathy_code(system, code):
    code_u = code.upper()
    if system == SCT:
        return code in NEUROPATHY_SCT
    if system == FACTS:
        return code == "painful-peripheral-neuropathy"
    if system == ICD10CM:
        return code_u[:3] in ("G60", "G61", "G62", "G63") or code_u in ICD10CM_DIABETIC
    if system == ICD10:
        return code_u[:3] in ("G60", "G61", "G62", "G63") or \
            any(code_u.startswith(f"E{n}.4") for n in range(10, 15))
    return False


def facts_present(resources, as_of):
    """Coded facts the guideline reads (current conditions, done procedures, observations)."""
    found = {}
    for r in resources:
        rt = r["resourceType"]
        if rt == "Condition" and not condition_present(r, as_of):
            continue
        if rt == "Procedure":
            if r.get("status") in ("not-done", "entered-in-error", "preparation"):
                continue
            when = day(r.get("performedDateTime") or (r.get("performedPeriod") or {}).get("start"))
            if when and when > as_of:
                continue
        if rt == "Observation" and analyte(r):
            continue
        if rt not in ("Condition", "Procedure", "Observation"):
            continue
        for system, code in coded(r.get("code")):
            found.setdefault((system, code), []).append(r["id"])
    return found


def has(found, sct=(), local=()):
    return [i for (s, c), ids in found.items() if (s == SCT and c in sct) or (s == FACTS and c in local)
            for i in ids]


# ---- the assessment ------------------------------------------------------------------------
def newest_fact(resources, as_of):
    """record.newest_fact (C6, v3): the newest date on a clinical resource, up to the as-of date."""
    dates = []
    for r in resources:
        if r["resourceType"] in ("Observation", "Condition", "Procedure", "Encounter") or \
                r["resourceType"] in COUNTED_STATUS:
            for key in ("effectiveDateTime", "effectiveInstant", "issued", "onsetDateTime", "recordedDate",
                        "abatementDateTime", "performedDateTime", "authoredOn", "whenHandedOver",
                        "whenPrepared", "dateAsserted"):
                dates.append(day(r.get(key)))
            for key in ("effectivePeriod", "performedPeriod", "period", "onsetPeriod"):
                dates += [day((r.get(key) or {}).get("start")), day((r.get(key) or {}).get("end"))]
    return max((d for d in dates if d and d <= as_of), default=None)


def population(resources, patient, as_of, in_population, dq):
    """C5: (population, deceased, confirmed painful-peripheral-neuropathy coded)."""
    birth = day(patient.get("birthDate"))
    deceased = patient.get("deceasedBoolean") is True or \
        (day(patient.get("deceasedDateTime")) is not None and day(patient["deceasedDateTime"]) <= as_of)
    adult = birth is None or add_months(birth, 12 * ADULT_YEARS) <= as_of
    confirmed_pn, suspected_pn, painful_confirmed = [], [], False
    for c in resources:
        if c["resourceType"] != "Condition":
            continue
        codes = coded(c.get("code"))
        matching = [(s, k) for s, k in codes if neuropathy_code(s, k)]
        read_any = any(s in (SCT, FACTS, ICD10, ICD10CM) and (neuropathy_code(s, k) or k in SEVERE)
                       for s, k in codes)
        if not read_any and NEUROPATHY_WORDS.search(texts(c.get("code"))):
            dq.append((c["id"], "condition-unrecognised-code"))
        if not matching or not condition_present(c, as_of):
            continue
        verification = status_code(c.get("verificationStatus"))
        if verification in ("provisional", "differential", "unconfirmed"):
            suspected_pn.append(c["id"])
        else:
            confirmed_pn.append(c["id"])
            painful_confirmed |= (FACTS, "painful-peripheral-neuropathy") in matching
    if birth is None and not deceased and (confirmed_pn or suspected_pn or in_population):
        # C5 "a missing birth date counts as adult, with age-unknown"; C6 (v3) "a note is given
        # where it changes, or could change, what a clinician concludes": only where the age
        # decides the population (safety warnings and risk factors do not depend on age).
        dq.append((patient["id"], "age-unknown"))
    if deceased:
        pop = {"in": False, "reason": "deceased"}
    elif not adult:
        pop = {"in": False, "reason": "outside-age-range"}
    elif confirmed_pn:
        pop = {"in": True, "reason": "peripheral-neuropathy", "based_on": confirmed_pn}
    elif suspected_pn:
        # Reading: a coded suspected diagnosis is coded, so --in-population ("when the record does
        # not code it") does not override it; the note is given only when it is the reason.
        pop = {"in": True, "reason": "suspected-peripheral-neuropathy", "based_on": suspected_pn}
        dq.extend((i, "unconfirmed-diagnosis") for i in suspected_pn)
    elif in_population:
        pop = {"in": True, "reason": "asserted"}
    else:
        pop = {"in": False, "reason": "no-peripheral-neuropathy"}
    return pop, deceased, painful_confirmed


def assess(resources, as_of, in_population=False):
    dq, ignored = [], []
    by_ref = {}
    for r in resources:
        by_ref[f"{r['resourceType']}/{r.get('id')}"] = r
        if r.get("_fullUrl"):
            by_ref[r["_fullUrl"]] = r
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    labs = read_labs(resources, as_of, dq, ignored)
    meds = read_medications(resources, by_ref, as_of, dq, ignored)

    newest = newest_fact(resources, as_of)
    if newest and newest < add_months(as_of, -OPEN_ENDED_MONTHS):
        dq.append((None, "record-outdated"))
    pop, deceased, painful_confirmed = population(resources, patient, as_of, in_population, dq)

    # B12 therapy (C3): parenteral at any dose, or oral/sublingual/nasal >= 1000 ug/day.
    cobalamin = [m for m in meds if m["cls"] == "cobalamin"]
    therapy_records = [m for m in cobalamin if m["parenteral"] or
                       (m["dose_ug"] is not None and m["dose_ug"] >= THERAPY_MIN_ORAL_UG)]
    for m in cobalamin:
        if m not in therapy_records:
            dq.append((m["id"], "dose-unknown" if m["dose_ug"] is None else "b12-dose-below-guideline"))
    # Reading: the four cobalamins are one therapy (a switch from oral cyanocobalamin to IM
    # hydroxocobalamin does not start a new course), so therapy records join across them.
    therapy_eps = episodes(therapy_records)
    therapy_now = current(therapy_eps, as_of)
    lapsed = therapy_now is None and any(e["end"] < as_of for e in therapy_eps)
    if lapsed:
        last = max((e for e in therapy_eps if e["end"] < as_of), key=lambda e: e["end"])
        dq.append((last["records"][-1]["id"], "therapy-lapsed"))

    def on_treatment(lab):
        for e in therapy_eps:
            if e["start"] <= lab["date"] <= e["end"]:
                first = min(e["records"], key=lambda r: r["start"])
                # Same day as the therapy start: compare clock times when both are recorded.
                if lab["date"] == e["start"] and len(lab["time"] or "") > 10 and len(first["time"] or "") > 10:
                    return lab["time"] >= first["time"]
                return True
        return False

    baseline = [lab for lab in labs if not on_treatment(lab)]
    treated = [lab for lab in labs if on_treatment(lab)]

    # Status (C3) from the latest baseline serum B12 and metabolites within 90 days of it.
    b12s = sorted((lab for lab in baseline if lab["kind"] == "b12"), key=lambda x: (x["date"], -x["value"]))
    deciding = b12s[-1] if b12s else None

    def nearest(kind):
        cands = [lab for lab in baseline if lab["kind"] == kind and deciding and
                 abs((lab["date"] - deciding["date"]).days) <= METABOLITE_WINDOW_DAYS]
        # Reading: of several, the one nearest the deciding B12 (later on a tie) counts.
        return min(cands, key=lambda x: (abs((x["date"] - deciding["date"]).days), -x["date"].toordinal()),
                   default=None)
    mma, hcy = nearest("mma"), nearest("hcy")
    status = judge(deciding, mma, hcy) if deciding else "unknown"
    for lab, kind in ((deciding, "b12"), (mma, "mma"), (hcy, "hcy")):
        if lab and spans_cut(lab["iv"], CUTS[kind]):
            dq.append((lab["id"], "censored-result"))
    deficient = status in ("confirmed", "functional")

    # Medication exposure for the risk factors and the folate warning (C3, C6).
    def class_eps(cls):
        # Reading: PPIs form one class (a switch from omeprazole to pantoprazole is still PPI use).
        return episodes([m for m in meds if m["cls"] == cls])
    metformin_now, ppi_now, folate_now = (current(class_eps(c), as_of) for c in ("metformin", "ppi", "folate"))

    found = facts_present(resources, as_of)
    alive = not deceased
    risks = []
    if alive:
        if metformin_now and metformin_now["start"] < add_months(as_of, -4):
            risks.append("metformin-over-4-months")
        if ppi_now and ppi_now["start"] < add_months(as_of, -12):
            risks.append("ppi-over-12-months")
        if has(found, DIET_SCT, DIET_LOCAL):
            risks.append("vegan-or-vegetarian-diet")
        if has(found, MALABSORPTION, MALABSORPTION_LOCAL):
            risks.append("malabsorption")
        if has(found, GASTRECTOMY, RESECTION_LOCAL):
            risks.append("gastric-or-intestinal-resection")

    recs = set()
    in_pop = pop["in"]
    # Safety warnings (C3, C5 v3): every living patient.
    if alive and deficient and therapy_now is None:
        run = [b for b in b12s if b["iv"][2] < B12_LOW or (b["iv"][2] == B12_LOW and not b["iv"][3])]
        # Reading: "the earliest measurement showing deficiency" is the earliest of the unbroken run
        # of deficient baseline results ending at the deciding one (a normal result in between
        # means the deficiency found now is a new one), or the elevated metabolite for functional.
        start_run = None
        for b in reversed(b12s):
            if b in run:
                start_run = b["date"]
            else:
                break
        raised = [m["date"] for m, cut in ((mma, MMA_ELEVATED), (hcy, HCY_ELEVATED))
                  if m and status == "functional" and all(x > cut for x in points(m["iv"], (cut,)))]
        shown = [d for d in [start_run, *raised] if d]
        earliest = min(shown) if shown else deciding["date"]
        treated_since = any(e["end"] >= earliest for e in therapy_eps)
        if earliest < add_months(as_of, -3) and not treated_since:
            recs.add("urgent-untreated-deficiency")
    if alive and folate_now and therapy_now is None:
        last = max(folate_now["records"], key=lambda r: r["start"])
        dose = last["dose_ug"]
        if dose is None:
            dq.append((last["id"], "dose-unknown"))
        if (dose is None or dose > FOLATE_MAX_MG * 1000) and (
                (in_pop and status != "unlikely") or status in ("confirmed", "functional", "indeterminate")):
            recs.add("avoid-folic-acid-alone")

    follow_up = None
    if in_pop:
        mma_any = mma is not None
        if status == "unknown" and therapy_now is None:
            recs.add("order-serum-b12")
        if status == "unknown" and therapy_now is not None:
            dq.append((therapy_now["records"][0]["id"], "no-baseline"))
        if status == "indeterminate" and not mma_any:
            recs.add("order-mma")
        if deciding and status == "unlikely" and not mma_any and not hcy and \
                deciding["iv"][0] >= B12_HIGH and deciding["iv"][2] <= B12_FUNCTIONAL_MAX and \
                not (deciding["iv"][0] == B12_HIGH and deciding["iv"][1]):
            recs.add("order-mma")
        severe = has(found, (), SEVERE)
        if deficient and therapy_now is None:
            recs.add("im-b12-loading" if severe else "oral-b12-high-dose")
        if risks:
            recs.add("enhanced-monitoring")
        irreversible = has(found, PERNICIOUS | GASTRECTOMY, IRREVERSIBLE_LOCAL)
        if deficient and irreversible:
            recs.add("lifelong-maintenance")
        # Reading: "every identified reversible cause addressed" needs one identified (metformin or
        # PPI on record) and none of them current; no cause identified is not "addressed".
        reversible = [m for m in meds if m["cls"] in ("metformin", "ppi")]
        if deficient and not irreversible and reversible and not (metformin_now or ppi_now):
            recs.add("maintenance-may-stop")
        oral_now = therapy_now and not any(r["parenteral"] for r in therapy_now["records"]
                                           if r["start"] <= as_of <= r["end"])
        if oral_now and therapy_now["start"] <= add_months(as_of, -3):
            responses = sorted((lab for lab in labs if lab["kind"] == "response" and
                                lab["date"] >= therapy_now["start"]), key=lambda x: x["date"])
            if responses and responses[-1]["value"] in ("unchanged", "worsened"):
                recs.add("escalate-to-parenteral")
        pain = painful_confirmed or bool(has(found, ("2177002",), ("post-herpetic-neuralgia",)))
        if pain:
            recs.add("b12-for-neuropathic-pain")
        if therapy_now is not None or recs & {"oral-b12-high-dose", "im-b12-loading"}:
            recs.add("follow-up-3-months")
            due = add_months(therapy_now["start"], 3) if therapy_now else add_months(as_of, 3)
            results = [lab for lab in treated if therapy_now and lab["date"] >= therapy_now["start"]]
            b12_since_due = any(lab["kind"] == "b12" and due <= lab["date"] <= as_of for lab in labs)
            follow_up = {"due": due.isoformat(), "overdue": due < as_of and not b12_since_due,
                         "results": [{"measure": MEASURE[lab["kind"]], "value": lab["value"],
                                      "unit": UNIT_OUT[lab["kind"]], "date": lab["date"].isoformat(),
                                      "fact": lab["id"]} for lab in sorted(results, key=lambda x: x["date"])]}
    # C6 (v3): an on-treatment result that no conclusion uses is never silent.
    shown = {r["fact"] for r in follow_up["results"]} if follow_up else set()
    for lab in treated:
        if lab["id"] not in shown:
            dq.append((lab["id"], "on-treatment-result"))   # code not fixed by the contract

    if deceased:                                            # C5: no recommendations, no risk factors
        recs, risks, follow_up = set(), [], None
    elif not in_pop:
        recs &= SAFETY
    therapy_route = None
    if therapy_now:
        covering = [r for r in therapy_now["records"] if r["start"] <= as_of <= r["end"]] or therapy_now["records"]
        therapy_route = "parenteral" if any(r["parenteral"] for r in covering) else "oral"
    return {
        "patient": patient.get("id"),
        "as_of": as_of.isoformat(),
        "population": pop,
        "b12_status": {"value": status, "serum_b12_ng_per_l": round(deciding["value"], 3) if deciding else None,
                       "based_on": [x["id"] for x in (deciding, mma, hcy) if x]},
        "risk_factors": [{"code": c} for c in sorted(risks)],
        "recommendations": [{"action": a, "safety": a in SAFETY} for a in sorted(recs)],
        "follow_up": follow_up,
        "record": {"newest_fact": newest.isoformat() if newest else None,
                   "b12_therapy": {"current": therapy_now is not None, "route": therapy_route,
                                   "since": therapy_now["start"].isoformat() if therapy_now else None,
                                   "based_on": [r["id"] for r in therapy_now["records"]] if therapy_now else []}},
        "data_quality": [{"fact": f, "code": c} for f, c in dict.fromkeys(dq)],
        "ignored_facts": ignored,
    }


def run(paths, as_of, in_population=False):
    """One result per patient: (source, assessment or {"rejected": reason})."""
    for path in paths:
        p = Path(path)
        if p.is_dir() and any(p.glob("*.ndjson")):
            for pid, resources in sorted(load_bulk(p).items()):
                if not any(r["resourceType"] == "Patient" for r in resources):
                    continue
                try:
                    yield str(p), assess(resources, as_of, in_population)
                except Rejected as exc:
                    yield str(p), {"patient": pid, "rejected": str(exc)}
            continue
        try:
            yield str(p), assess(load_bundle(p), as_of, in_population)
        except Rejected as exc:
            yield str(p), {"rejected": str(exc)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--as-of", required=True, type=dt.date.fromisoformat)
    ap.add_argument("--in-population", action="store_true")
    args = ap.parse_args(argv)
    for source, doc in run(args.paths, args.as_of, args.in_population):
        print(json.dumps({"source": source, **doc}))


if __name__ == "__main__":
    sys.exit(main())
