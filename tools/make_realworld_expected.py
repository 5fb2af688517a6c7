"""Write tests/realworld/synthea/NAME.expected.json: what a clinician reading each Synthea
record would conclude on 2026-11-24 under contract version 3. Fact ids are looked up in the record
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
CHILD = {"in": False, "reason": "outside-age-range", "based_on": []}
OLD_RECORD = ("record-outdated",)  # every record's newest fact is from 2021 or before: more than 12 months before 2026-11-24
NO_NOISE = ("dose-unknown",)  # (v3) never on a parenteral cobalamin or a drug read by exposure alone


def stale(bundle: dict, code: str) -> tuple[tuple[str, str], ...]:
    """The one active order of a drug the guideline reads, never renewed: stale on 2026-11-24 (contract 6, v3)."""
    ids = medication_request_ids(bundle, code, "active")
    assert len(ids) == 1
    return tuple((i, "stale-record") for i in ids)


def lapsed_b12(bundle: dict) -> tuple[tuple[str, str], ...]:
    """A stale B12 injection order: its cover ended decades or years ago, the therapy has lapsed."""
    ((order, _),) = stale(bundle, B12_INJECTION)
    return ((order, "stale-record"), (order, "therapy-lapsed"))


def outside(reason: str):
    def spec(bundle: dict) -> dict:
        population = {"no-peripheral-neuropathy": NO_NEUROPATHY, "outside-age-range": CHILD}.get(reason) or deceased(bundle)
        return {"population": population, "data_quality_codes": OLD_RECORD}
    return spec


STALE = ("The record's newest fact is from 2021 or earlier, more than 12 months before 2026-11-24: record-outdated (contract 6, "
         "v3). ")

CASES = {
    "Dirk_Kuhlman": (
        "Man born 1971, alive. Neuropathy due to type 2 diabetes (SNOMED 368581000119106, a descendant of peripheral "
        "neuropathy 302226006) active since 2019-11-12: in the population. Metformin (RxNorm 860975) in one active "
        "MedicationRequest authored 2019-03-05 and never renewed: more than 12 months before the as-of date, so stale "
        "(contract 6, v3): not current, no metformin risk factor, reported. No serum B12 ever measured and no B12 therapy: "
        "status unknown, order a serum B12. " + STALE,
        lambda b: {"population": in_population(b), "must": ("order-serum-b12",), "data_quality": stale(b, METFORMIN_ER_500),
                   "data_quality_codes": OLD_RECORD},
    ),
    "Leonor_Trujillo": (
        "Woman born 1960, alive. Neuropathy due to type 2 diabetes active since 2004-01-26: in the population. Diabetes "
        "treated without metformin (no medication the guideline reads), no resection, no malabsorption. No serum B12: "
        "status unknown, order a serum B12; no risk factor. " + STALE,
        lambda b: {"population": in_population(b), "must": ("order-serum-b12",), "data_quality_codes": OLD_RECORD},
    ),
    "Twyla_Moen": (
        "Woman born 1945, alive. Neuropathy due to type 2 diabetes active since 1998-01-18: in the population. No "
        "metformin, PPI, folic acid or B12 in the record; a colon polyp and colonoscopies are not resections. No serum B12: "
        "status unknown, order a serum B12; no risk factor. " + STALE,
        lambda b: {"population": in_population(b), "must": ("order-serum-b12",), "data_quality_codes": OLD_RECORD},
    ),
    "Parker_Casper": (
        "Man born 1952, died 2021-02-21: deceased, outside the population although he had neuropathy due to type 2 "
        "diabetes. A deceased patient gets no recommendation, no risk factor and no follow-up (contract 5, v3); the status "
        "is still reported: unknown (no serum B12). His metformin order (RxNorm 860975, 'active' since 1987-07-23) is stale "
        "and reported. " + STALE,
        lambda b: {"population": deceased(b), "data_quality": stale(b, METFORMIN_ER_500), "data_quality_codes": OLD_RECORD},
    ),
    "Fabian_Murray": (
        "Man born 1981, alive, type 2 diabetes with metformin (RxNorm 860975) ordered 2020-12-05 and never renewed: stale "
        "on 2026-11-24, not current, so no metformin risk factor; reported. No neuropathy: outside the population, no "
        "recommendation. Status unknown. " + STALE,
        lambda b: {"population": NO_NEUROPATHY, "data_quality": stale(b, METFORMIN_ER_500), "data_quality_codes": OLD_RECORD},
    ),
    "Estrella_Daugherty": (
        "Woman born 1969, alive, diabetes with retinopathy, metformin (RxNorm 860975) ordered 2017-06-17 and never renewed: "
        "stale, no risk factor, reported. No neuropathy: outside the population. Status unknown. " + STALE,
        lambda b: {"population": NO_NEUROPATHY, "data_quality": stale(b, METFORMIN_ER_500), "data_quality_codes": OLD_RECORD},
    ),
    "Marcos_Delagarza": (
        "Man born 1992, alive, anaemia with one 'active' order for vitamin B12 injection (RxNorm 2001499, 'Vitamin B 12 5 "
        "MG/ML Injectable Solution', parenteral by its dose form) written 2010-12-26 with no dose: stale (contract 6, v3), "
        "read as ended in 2011 (the default supply and the 3-month cover of a parenteral dose): the therapy has lapsed "
        "(therapy-lapsed). A parenteral cobalamin needs no dose: no dose-unknown. No neuropathy: outside the population; "
        "status unknown, so no safety warning. " + STALE,
        lambda b: {"population": NO_NEUROPATHY, "data_quality": lapsed_b12(b), "data_quality_codes": OLD_RECORD,
                   "no_data_quality_codes": NO_NOISE},
    ),
    "Jill_Tillman": (
        "Woman born 1971, alive, 'active' vitamin B12 injection order (RxNorm 2001499) written 1999-03-17 with no dose: "
        "stale, lapsed therapy (reported); no dose-unknown for a parenteral cobalamin. Asthma, rhinitis, contraception. No "
        "neuropathy: outside the population. Status unknown. " + STALE,
        lambda b: {"population": NO_NEUROPATHY, "data_quality": lapsed_b12(b), "data_quality_codes": OLD_RECORD,
                   "no_data_quality_codes": NO_NOISE},
    ),
    "Twanda_Rippin": (
        "Woman born 1973, alive, anaemia with an 'active' vitamin B12 injection order (RxNorm 2001499) written 2017-02-13 "
        "with no dose: stale, lapsed (reported); no neuropathy: outside the population. Status unknown. " + STALE,
        lambda b: {"population": NO_NEUROPATHY, "data_quality": lapsed_b12(b), "data_quality_codes": OLD_RECORD,
                   "no_data_quality_codes": NO_NOISE},
    ),
    "Andy_Schaden": (
        "Man born 1932, alive (94 on the assessment date), anaemia with an 'active' vitamin B12 injection order (RxNorm "
        "2001499) written 1978-06-29 with no dose: stale, lapsed (reported); prostate carcinoma, stroke; no neuropathy: "
        "outside the population. Status unknown. " + STALE,
        lambda b: {"population": NO_NEUROPATHY, "data_quality": lapsed_b12(b), "data_quality_codes": OLD_RECORD,
                   "no_data_quality_codes": NO_NOISE},
    ),
    "Chet_Thompson": (
        "Man born 1939, died 1968-10-11 on the day of a coronary artery bypass graft: outside the population (deceased). "
        "A coronary bypass is not a gastric bypass: no resection risk factor. Status unknown. " + STALE,
        outside("deceased"),
    ),
    "Alejandro_Riojas": (
        "Man born 1963, died 2008-12-14 after a myocardial infarction and coronary artery bypass grafting: outside the "
        "population (deceased). The coronary bypass is not a gastric bypass: no risk factor. Status unknown. " + STALE,
        outside("deceased"),
    ),
    "Lavelle_Kuvalis": (
        "Woman born 1942, alive, colon cancer treated by partial resection of colon (2014): a colon resection is not a "
        "small-intestine or gastric resection, so no resection risk factor. No neuropathy: outside the population. "
        "Status unknown. " + STALE,
        outside("no-peripheral-neuropathy"),
    ),
    "Librada_Tromp": (
        "Woman born 1959, alive, partial resection of colon (2014) for colon cancer: not a small-intestine resection, no "
        "risk factor. No neuropathy: outside the population. Status unknown. " + STALE,
        outside("no-peripheral-neuropathy"),
    ),
    "Tony_Beer": (
        "Man born 1946, died 1989-01-08: outside the population (deceased). Emphysema; nothing the guideline reads. "
        "Status unknown. " + STALE,
        outside("deceased"),
    ),
    "Barney_Abbott": (
        "Man born 1964, died 1989-02-15 (cardiac arrest): outside the population (deceased). Status unknown. " + STALE,
        outside("deceased"),
    ),
    "Enda_Schaefer": (
        "Girl born 2020 (6 on the assessment date): younger than 18, outside the population (outside-age-range comes "
        "before no-peripheral-neuropathy, contract 5, v3). Status unknown. " + STALE,
        outside("outside-age-range"),
    ),
    "Dana_Feest": (
        "Boy born 2019 (7 on the assessment date): outside the population, outside-age-range. Status unknown. " + STALE,
        outside("outside-age-range"),
    ),
    "Lupe_Little": (
        "Man born 1982, alive, anaemia and prediabetes only, no B12 therapy and no neuropathy: outside the population. "
        "Anaemia alone is not the guideline's population. Status unknown. " + STALE,
        outside("no-peripheral-neuropathy"),
    ),
    "Clemente_Kreiger": (
        "Man born 1984, alive, obesity only: outside the population. Status unknown. " + STALE,
        outside("no-peripheral-neuropathy"),
    ),
    "Buster_Hoeger": (
        "Man born 1988, alive, chronic sinusitis only: outside the population. Status unknown. " + STALE,
        outside("no-peripheral-neuropathy"),
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
