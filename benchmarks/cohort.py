"""Seeded synthetic cohort of FHIR R4 patient Bundles for benchmarking b12kg.

Each patient is one ``Bundle`` (type ``collection``) in the style of the
contract examples: a Patient, usually a peripheral neuropathy Condition, serum
B12 / MMA / homocysteine Observations spread around the guideline thresholds,
MedicationStatements (metformin, PPIs, folic acid, oral cyanocobalamin), risk
factor Conditions and Procedures.  Only accepted codes and units are used and
every date is on or before ``as_of``.  The same seed gives byte-identical output.

Usage: ``python -m benchmarks.cohort N OUTDIR [--seed S] [--as-of YYYY-MM-DD]``
"""

from __future__ import annotations

import argparse
import calendar
import json
import math
import random
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
FACTS = "https://w3id.org/b12kg/fhir/CodeSystem/facts"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
URN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://w3id.org/b12kg/synthetic")

Resource = dict[str, Any]

# (name, RxNorm code, ATC code, dose choices in mg)
PPIS: list[tuple[str, str, str, tuple[int, ...]]] = [
    ("omeprazole", "7646", "A02BC01", (20, 40)),
    ("pantoprazole", "40790", "A02BC02", (20, 40)),
    ("lansoprazole", "17128", "A02BC03", (15, 30)),
    ("esomeprazole", "283742", "A02BC05", (20, 40)),
]
# (system, code) pairs for the optional risk-factor and manifestation facts.
DIETS = [
    (SNOMED, "1255165006"),
    (SNOMED, "765021002"),
    (FACTS, "vegan-diet"),
    (FACTS, "strict-vegetarian-diet"),
]
MALABSORPTION = [
    (SNOMED, "32230006"),
    (FACTS, "coeliac-disease"),
    (FACTS, "crohns-disease"),
]
RESECTIONS = [
    (SNOMED, "53442002"),
    (FACTS, "gastric-bypass"),
    (FACTS, "ileal-resection"),
    (FACTS, "small-intestine-resection"),
]
MANIFESTATIONS = [
    (FACTS, c)
    for c in (
        "subacute-combined-degeneration",
        "myelopathy",
        "ataxia",
        "cognitive-impairment-b12",
        "optic-neuropathy",
        "painful-peripheral-neuropathy",
        "post-herpetic-neuralgia",
        "severe-case",
    )
]
B12_THRESHOLDS = (180, 350, 500)  # ng/L


def add_months(d: date, months: int) -> date:
    """Shift ``d`` by calendar months, clamping the day to the month's end."""
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    return date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with one coding (display and text only when given)."""
    coding: dict[str, Any] = {"system": system, "code": code}
    if display is None:
        return {"coding": [coding]}
    coding["display"] = display
    return {"coding": [coding], "text": display}


def _quantity(value: float, unit: str) -> dict[str, Any]:
    """A UCUM valueQuantity / doseQuantity."""
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


class _Builder:
    """Accumulates the resources of one patient Bundle with unique ids."""

    def __init__(self, rng: random.Random, pid: str, as_of: date) -> None:
        self.rng, self.pid, self.as_of = rng, pid, as_of
        self.resources: list[Resource] = []

    def new_id(self, prefix: str) -> str:
        """A cohort-wide unique id such as ``syn-000001-obs-3``."""
        return f"{self.pid}-{prefix}-{len(self.resources) + 1}"

    def add(self, resource: Resource) -> Resource:
        """Append a resource and return it."""
        self.resources.append(resource)
        return resource

    def days_before(self, lo: int, hi: int) -> date:
        """A date between ``lo`` and ``hi`` days before as-of."""
        return self.as_of - timedelta(days=self.rng.randint(lo, hi))

    def clamp(self, d: date) -> date:
        """Never later than as-of."""
        return min(d, self.as_of)

    def condition(self, system: str, code: str, onset: date) -> Resource:
        """An active Condition."""
        return self.add(
            {
                "resourceType": "Condition",
                "id": self.new_id("cond"),
                "subject": {"reference": f"Patient/{self.pid}"},
                "clinicalStatus": _coding(CLINICAL, "active"),
                "code": _coding(system, code),
                "onsetDateTime": onset.isoformat(),
            }
        )

    def procedure(self, system: str, code: str, performed: date) -> Resource:
        """A completed Procedure."""
        return self.add(
            {
                "resourceType": "Procedure",
                "id": self.new_id("proc"),
                "status": "completed",
                "code": _coding(system, code),
                "subject": {"reference": f"Patient/{self.pid}"},
                "performedDateTime": performed.isoformat(),
            }
        )

    def observation(
        self, code: dict[str, Any], when: date, value: dict[str, Any]
    ) -> Resource:
        """A final Observation; ``value`` is ``{"valueQuantity": ...}`` or similar."""
        return self.add(
            {
                "resourceType": "Observation",
                "id": self.new_id("obs"),
                "status": "final",
                "code": code,
                "subject": {"reference": f"Patient/{self.pid}"},
                "effectiveDateTime": when.isoformat(),
                **value,
            }
        )

    def medication(
        self,
        concept: dict[str, Any],
        start: date,
        dose: float,
        unit: str,
        *,
        frequency: int = 1,
        period: int = 1,
        period_unit: str = "d",
        oral_route: bool = False,
        status: str | None = None,
    ) -> Resource:
        """A MedicationStatement; stopped/completed ones get an end date."""
        rng = self.rng
        status = (
            status or rng.choices(["active", "stopped", "completed"], [75, 15, 10])[0]
        )
        period_: dict[str, str] = {"start": start.isoformat()}
        if status != "active" and start < self.as_of:
            span = (self.as_of - start).days
            period_["end"] = (start + timedelta(days=rng.randint(1, span))).isoformat()
        dosage: dict[str, Any] = {
            "timing": {
                "repeat": {
                    "frequency": frequency,
                    "period": period,
                    "periodUnit": period_unit,
                }
            },
            "doseAndRate": [{"doseQuantity": _quantity(dose, unit)}],
        }
        if oral_route:
            dosage["route"] = _coding(SNOMED, "26643006")
        return self.add(
            {
                "resourceType": "MedicationStatement",
                "id": self.new_id("med"),
                "status": status,
                "medicationCodeableConcept": concept,
                "subject": {"reference": f"Patient/{self.pid}"},
                "effectivePeriod": period_,
                "dosage": [dosage],
            }
        )

    def bundle(self) -> dict[str, Any]:
        """The collection Bundle with deterministic ``urn:uuid`` fullUrls."""
        entries = [
            {
                "fullUrl": "urn:uuid:"
                + str(uuid.uuid5(URN_NAMESPACE, f"{r['resourceType']}/{r['id']}")),
                "resource": r,
            }
            for r in self.resources
        ]
        return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _b12_level(rng: random.Random) -> float:
    """A baseline serum B12 in ng/L: half near a threshold, half log-uniform 80-900."""
    if rng.random() < 0.5:
        level = rng.gauss(rng.choice(B12_THRESHOLDS), 35)
    else:
        level = 80 * (900 / 80) ** rng.random()
    return min(max(level, 80.0), 900.0)


def _start_before(b: _Builder, months: int) -> date:
    """A therapy start, sometimes right at the "more than N months" boundary."""
    r = b.rng.random()
    if r < 0.1:
        return add_months(b.as_of, -months)  # exactly N months: does not qualify
    if r < 0.2:
        return add_months(b.as_of, -months) - timedelta(days=1)  # just qualifies
    return b.days_before(14, 3650)


def _add_b12(b: _Builder, when: date, ng_per_l: float) -> None:
    """A serum B12 result in pg/mL, ng/L or (LOINC 14685-2) pmol/L."""
    ng = round(min(max(ng_per_l, 80.0), 900.0))
    unit = b.rng.choices(["pg/mL", "ng/L", "pmol/L"], [50, 20, 30])[0]
    if unit == "pmol/L":
        code, value = _coding(LOINC, "14685-2"), round(ng * 0.738)
    else:
        code, value = _coding(LOINC, "2132-9"), ng
    b.observation(code, when, {"valueQuantity": _quantity(value, unit)})


def _add_metabolites(b: _Builder, anchor: date, ng_per_l: float, latest: date) -> None:
    """Optional MMA and homocysteine near ``anchor`` (not after ``latest``).

    Values are inversely related to the pre-treatment B12 level.
    """
    rng = b.rng
    shift = 0.7 * math.log(250 / ng_per_l)  # log-scale: +0.8 at 80, -0.9 at 900 ng/L
    if rng.random() < 0.35:
        offset = rng.choice([0, 0, 3, 7, 14, 30, 60, 120])
        when = min(anchor + timedelta(days=offset), latest)
        mma = min(max(0.4 * math.exp(shift + rng.gauss(0, 0.35)), 0.08), 3.0)
        if rng.random() < 0.7:
            q = _quantity(round(mma, 2), "umol/L")
        else:
            q = _quantity(round(mma * 1000), "nmol/L")
        b.observation(_coding(LOINC, "13964-2"), when, {"valueQuantity": q})
    if rng.random() < 0.3:
        offset = rng.choice([0, 0, 7, 30, 100])
        when = min(anchor + timedelta(days=offset), latest)
        hcy = min(max(15 * math.exp(0.6 * shift + rng.gauss(0, 0.3)), 5.0), 60.0)
        b.observation(
            _coding(LOINC, "13965-9"),
            when,
            {"valueQuantity": _quantity(round(hcy, 1), "umol/L")},
        )


def _add_medications(
    b: _Builder, first_b12: date | None
) -> tuple[date | None, str | None]:
    """0-3 MedicationStatements; returns the oral B12 start and status if prescribed."""
    rng = b.rng
    kinds = [
        k
        for k, p in (("metformin", 0.3), ("ppi", 0.3), ("folic", 0.2), ("b12", 0.25))
        if rng.random() < p
    ]
    rng.shuffle(kinds)
    b12_start: date | None = None
    b12_status: str | None = None
    for kind in sorted(kinds[:3]):
        if kind == "metformin":
            concept = (
                _coding(RXNORM, "6809", "metformin")
                if rng.random() < 0.6
                else _coding(ATC, "A10BA02", "metformin")
            )
            b.medication(
                concept,
                _start_before(b, 4),
                rng.choice([500, 850, 1000]),
                "mg",
                frequency=rng.choice([1, 2, 2, 3]),
            )
        elif kind == "ppi":
            name, rx, atc, doses = rng.choice(PPIS)
            concept = (
                _coding(RXNORM, rx, name)
                if rng.random() < 0.5
                else _coding(ATC, atc, name)
            )
            b.medication(
                concept,
                _start_before(b, 12),
                rng.choice(doses),
                "mg",
                frequency=rng.choice([1, 1, 2]),
            )
        elif kind == "folic":
            dose, unit, period_unit = rng.choice(
                [
                    (400, "ug", "d"),
                    (100, "ug", "d"),
                    (5, "mg", "d"),
                    (5, "mg", "wk"),
                    (1, "mg", "d"),
                    (0.4, "mg", "d"),
                ]
            )
            b.medication(
                _coding(RXNORM, "4511", "folic acid"),
                b.days_before(7, 1500),
                dose,
                unit,
                period_unit=period_unit,
            )
        else:
            if first_b12 is not None:
                b12_start = b.clamp(first_b12 + timedelta(days=rng.randint(3, 45)))
            else:
                b12_start = b.days_before(0, 700)
            b12_status = rng.choices(["active", "stopped", "completed"], [80, 10, 10])[
                0
            ]
            b.medication(
                _coding(ATC, "B03BA01", "cyanocobalamin"),
                b12_start,
                2000,
                "ug",
                oral_route=True,
                status=b12_status,
            )
    return b12_start, b12_status


def make_patient(rng: random.Random, index: int, as_of: date) -> dict[str, Any]:
    """One synthetic patient Bundle with patient id ``syn-{index:06d}``."""
    pid = f"syn-{index:06d}"
    b = _Builder(rng, pid, as_of)
    age_days = rng.randint(25 * 365, 92 * 365)
    b.add(
        {
            "resourceType": "Patient",
            "id": pid,
            "gender": rng.choice(["female", "male"]),
            "birthDate": (as_of - timedelta(days=age_days)).isoformat(),
        }
    )

    neuropathy = rng.random() < 0.85
    if neuropathy:
        b.condition(SNOMED, "302226006", b.days_before(30, 1500))
    for pool, p in (
        (DIETS, 0.08),
        (MALABSORPTION, 0.08),
        ([(SNOMED, "84027009")], 0.05),
        (MANIFESTATIONS, 0.1),
    ):
        if rng.random() < p:
            b.condition(*rng.choice(pool), b.days_before(0, 3000))
    if rng.random() < 0.06:
        b.procedure(*rng.choice(RESECTIONS), b.days_before(60, 7000))

    n_b12 = rng.choices([0, 1, 2, 3], [10, 45, 30, 15])[0]
    b12_dates = sorted(b.days_before(0, 730) for _ in range(n_b12))
    b12_start, _ = _add_medications(b, b12_dates[0] if b12_dates else None)

    baseline = _b12_level(rng)
    for i, when in enumerate(b12_dates):
        level = baseline * rng.uniform(0.85, 1.15)
        if b12_start is not None and when > b12_start:
            level *= rng.uniform(1.3, 3.0)  # on therapy
        _add_b12(b, when, level)
        if i == 0:  # metabolites with the first result, before therapy starts
            pre = b12_start is not None and when < b12_start
            latest = b12_start - timedelta(days=1) if pre else as_of
            _add_metabolites(b, when, level, latest)

    if b12_start is not None and neuropathy and rng.random() < 0.7:
        earliest = b12_start + timedelta(days=30)
        if earliest <= as_of:
            when = b.clamp(b12_start + timedelta(days=rng.randint(30, 200)))
            response = rng.choices(["improved", "unchanged", "worsened"], [55, 30, 15])[
                0
            ]
            b.observation(
                _coding(FACTS, "neuropathy-response"),
                when,
                {"valueCodeableConcept": _coding(FACTS, response)},
            )
    return b.bundle()


def iter_cohort(n: int, seed: int = 42, as_of: date = date(2026, 11, 24)) -> Iterator[dict[str, Any]]:
    """``n`` Bundles ``syn-000001``..., one at a time (100k do not need to be held at once)."""
    for i in range(1, n + 1):
        yield make_patient(random.Random(f"b12kg-cohort:{seed}:{i}"), i, as_of)


def make_cohort(
    n: int, seed: int = 42, as_of: date = date(2026, 11, 24)
) -> list[dict[str, Any]]:
    """``n`` Bundles ``syn-000001``...; patient i depends only on (seed, i)."""
    return list(iter_cohort(n, seed, as_of))


def dumps(bundle: dict[str, Any]) -> str:
    """Serialise a Bundle the way the example files are written."""
    return json.dumps(bundle, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """CLI: write ``OUTDIR/syn-000001.json`` ... for ``N`` synthetic patients."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.cohort", description=__doc__
    )
    parser.add_argument("n", type=int, metavar="N", help="number of patients")
    parser.add_argument("outdir", type=Path, metavar="OUTDIR")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=date(2026, 11, 24),
        help="assessment date YYYY-MM-DD (default 2026-11-24)",
    )
    args = parser.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    for bundle in make_cohort(args.n, args.seed, args.as_of):
        pid = bundle["entry"][0]["resource"]["id"]
        (args.outdir / f"{pid}.json").write_text(dumps(bundle), encoding="utf-8")
    print(f"wrote {args.n} bundles to {args.outdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
