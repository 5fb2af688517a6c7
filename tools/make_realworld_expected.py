"""Write tests/realworld/synthea/NAME.expected.json: what a clinician reading each Synthea
record would conclude on 2026-11-24 under contract v2. Fact ids are looked up in the record
by code; the clinical reading of each record is the table below.

    python3 tools/make_realworld_expected.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from realworld_expected import (
    B12_INJECTION,
    METFORMIN_ER_500,
    NEUROPATHY_T2DM,
    condition_ids,
    expected,
    medication_request_ids,
    patient_id,
    write_json,
)

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "tests" / "realworld" / "synthea"
ORIGIN = "smart-on-fhir/generated-sample-data@25ac8089f0464b8673c7669509dc0bb8f4883773 R4/SYNTHEA/"


def in_population(bundle: dict) -> dict:
    ids = condition_ids(bundle, NEUROPATHY_T2DM)
    assert ids, "no neuropathy due to type 2 diabetes in the record"
    return {"in": True, "reason": "peripheral-neuropathy", "based_on": ids}


def deceased(bundle: dict) -> dict:
    return {"in": False, "reason": "deceased", "based_on": [patient_id(bundle)]}


NO_NEUROPATHY = {"in": False, "reason": "no-peripheral-neuropathy", "based_on": []}


def metformin(bundle: dict) -> dict:
    ids = medication_request_ids(bundle, METFORMIN_ER_500, "active")
    assert len(ids) == 1
    return {"metformin-over-4-months": ids}


def b12_orders(bundle: dict) -> tuple[tuple[str, str], ...]:
    ids = medication_request_ids(bundle, B12_INJECTION, "active")
    assert len(ids) == 1
    return tuple((i, "dose-unknown") for i in ids)


def unknown_outside(reason: str):
    def spec(bundle: dict) -> dict:
        return {"population": NO_NEUROPATHY if reason == "no-peripheral-neuropathy" else deceased(bundle)}
    return spec


CASES = {
    "Dirk_Kuhlman": (
        "Man born 1971, alive. Neuropathy due to type 2 diabetes (SNOMED 368581000119106, a descendant of peripheral "
        "neuropathy 302226006) active since 2019-11-12: in the population. Metformin as RxNorm 860975 (24 HR metformin "
        "hydrochloride 500 MG extended-release tablet, a product code) in an active MedicationRequest authored 2019-03-05: "
        "metformin for more than 4 months, enhanced monitoring. No serum B12 ever measured: status unknown, order a serum B12. "
        "No B12 therapy, so no follow-up.",
        lambda b: {"population": in_population(b), "must": ("order-serum-b12", "enhanced-monitoring"),
                   "risk_factors": ("metformin-over-4-months",), "based_on": metformin(b)},
    ),
    "Leonor_Trujillo": (
        "Woman born 1960, alive. Neuropathy due to type 2 diabetes active since 2004-01-26: in the population. Diabetes "
        "treated without metformin (no medication the guideline reads), no resection, no malabsorption. No serum B12: "
        "status unknown, order a serum B12; no risk factor.",
        lambda b: {"population": in_population(b), "must": ("order-serum-b12",)},
    ),
    "Twyla_Moen": (
        "Woman born 1945, alive. Neuropathy due to type 2 diabetes active since 1998-01-18: in the population. No "
        "metformin, PPI, folic acid or B12 in the record; a colon polyp and colonoscopies are not resections. No serum B12: "
        "status unknown, order a serum B12; no risk factor.",
        lambda b: {"population": in_population(b), "must": ("order-serum-b12",)},
    ),
    "Parker_Casper": (
        "Man born 1952, died 2021-02-21 (deceasedDateTime before 2026-11-24): outside the population although he had "
        "neuropathy due to type 2 diabetes, so no recommendation and no follow-up. Findings are still reported: status "
        "unknown (no serum B12); metformin (RxNorm 860975) in a MedicationRequest left 'active' since 1987-07-23, so the "
        "metformin risk factor stands as recorded (a death does not close the order in this export).",
        lambda b: {"population": deceased(b), "risk_factors": ("metformin-over-4-months",), "based_on": metformin(b)},
    ),
    "Fabian_Murray": (
        "Man born 1981, alive, type 2 diabetes on metformin (RxNorm 860975, active since 2020-12-05) but no neuropathy: "
        "outside the population, so no recommendation (not even a serum B12). The metformin risk factor is reported as a "
        "finding; status unknown.",
        lambda b: {"population": NO_NEUROPATHY, "risk_factors": ("metformin-over-4-months",), "based_on": metformin(b)},
    ),
    "Estrella_Daugherty": (
        "Woman born 1969, alive, diabetes with retinopathy, on metformin (RxNorm 860975, active since 2017-06-17); no "
        "neuropathy: outside the population, no recommendation. Metformin risk factor reported; status unknown.",
        lambda b: {"population": NO_NEUROPATHY, "risk_factors": ("metformin-over-4-months",), "based_on": metformin(b)},
    ),
    "Marcos_Delagarza": (
        "Man born 1992, alive, anaemia with an active order for vitamin B12 injection (RxNorm 2001499, 'Vitamin B 12 5 "
        "MG/ML Injectable Solution', since 2010-12-26) with no dose: B12 therapy under way, daily dose unknown (reported). "
        "No neuropathy: outside the population, no recommendation, no follow-up. No serum B12 before therapy: unknown.",
        lambda b: {"population": NO_NEUROPATHY, "data_quality": b12_orders(b)},
    ),
    "Jill_Tillman": (
        "Woman born 1971, alive, active vitamin B12 injection order (RxNorm 2001499, since 1999-03-17) with no dose "
        "(dose unknown, reported); asthma, rhinitis, contraception. No neuropathy: outside the population. Status unknown.",
        lambda b: {"population": NO_NEUROPATHY, "data_quality": b12_orders(b)},
    ),
    "Twanda_Rippin": (
        "Woman born 1973, alive, anaemia with an active vitamin B12 injection order (RxNorm 2001499, since 2017-02-13) "
        "with no dose (reported); no neuropathy: outside the population. Status unknown.",
        lambda b: {"population": NO_NEUROPATHY, "data_quality": b12_orders(b)},
    ),
    "Andy_Schaden": (
        "Man born 1932, alive (94 on the assessment date), anaemia with an active vitamin B12 injection order (RxNorm "
        "2001499, since 1978-06-29) with no dose (reported), prostate carcinoma, stroke; no neuropathy: outside the "
        "population. Status unknown.",
        lambda b: {"population": NO_NEUROPATHY, "data_quality": b12_orders(b)},
    ),
    "Chet_Thompson": (
        "Man born 1939, died 1968-10-11 on the day of a coronary artery bypass graft: outside the population (deceased). "
        "A coronary bypass is not a gastric bypass: no resection risk factor. Status unknown.",
        unknown_outside("deceased"),
    ),
    "Alejandro_Riojas": (
        "Man born 1963, died 2008-12-14 after a myocardial infarction and coronary artery bypass grafting: outside the "
        "population (deceased). The coronary bypass is not a gastric bypass: no risk factor. Status unknown.",
        unknown_outside("deceased"),
    ),
    "Lavelle_Kuvalis": (
        "Woman born 1942, alive, colon cancer treated by partial resection of colon (2014): a colon resection is not a "
        "small-intestine or gastric resection, so no resection risk factor. No neuropathy: outside the population. "
        "Status unknown.",
        unknown_outside("no-peripheral-neuropathy"),
    ),
    "Librada_Tromp": (
        "Woman born 1959, alive, partial resection of colon (2014) for colon cancer: not a small-intestine resection, no "
        "risk factor. No neuropathy: outside the population. Status unknown.",
        unknown_outside("no-peripheral-neuropathy"),
    ),
    "Tony_Beer": (
        "Man born 1946, died 1989-01-08: outside the population (deceased). Emphysema; nothing the guideline reads. "
        "Status unknown.",
        unknown_outside("deceased"),
    ),
    "Barney_Abbott": (
        "Man born 1964, died 1989-02-15 (cardiac arrest): outside the population (deceased). Status unknown.",
        unknown_outside("deceased"),
    ),
    "Enda_Schaefer": (
        "Girl born 2020 (6 on the assessment date), no neuropathy: outside the population, no serum B12 order for a "
        "healthy child. Status unknown.",
        unknown_outside("no-peripheral-neuropathy"),
    ),
    "Dana_Feest": (
        "Boy born 2019 (7 on the assessment date), no neuropathy: outside the population. Status unknown.",
        unknown_outside("no-peripheral-neuropathy"),
    ),
    "Lupe_Little": (
        "Man born 1982, alive, anaemia and prediabetes only, no B12 therapy and no neuropathy: outside the population. "
        "Anaemia alone is not the guideline's population. Status unknown.",
        unknown_outside("no-peripheral-neuropathy"),
    ),
    "Clemente_Kreiger": (
        "Man born 1984, alive, obesity only: outside the population. Status unknown.",
        unknown_outside("no-peripheral-neuropathy"),
    ),
    "Buster_Hoeger": (
        "Man born 1988, alive, chronic sinusitis only: outside the population. Status unknown.",
        unknown_outside("no-peripheral-neuropathy"),
    ),
}
NO_PATIENT = (
    "A Synthea practitioner file: a transaction Bundle of 102 Practitioner resources and no Patient. "
    "A Bundle must hold exactly one Patient: rejected (exit 2) with a message saying so."
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=FOLDER, help="where to write (default: beside the records)")
    out_dir = parser.parse_args(argv).output_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for path in sorted(FOLDER.glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        name = path.stem
        out = out_dir / f"{name}.expected.json"
        if name.startswith("practitionerInformation"):
            write_json(out, expected(NO_PATIENT, source=ORIGIN + path.name, exit_code=2))
            written += 1
            continue
        (key,) = [k for k in CASES if name.startswith(k + "_")]
        description, spec = CASES[key]
        bundle = json.loads(path.read_text())
        write_json(out, expected(description, source=ORIGIN + path.name, **spec(bundle)))
        written += 1
    print(f"{written} expected files written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
