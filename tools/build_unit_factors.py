"""Write b12kg/ucum-factors.json: the UCUM factors of every unit the ontology accepts.

For each analyte of the ontology (gm:Analyte): each accepted unit to itself (the "is it
UCUM?" check) and to the canonical unit; and the UCUM units of time to days (dosing
periods). Computed by ucumvert; tests/test_units.py checks the shipped file is what this
script writes now. Run after changing units in the ontology:

    python tools/build_unit_factors.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from b12kg import units  # noqa: E402
from b12kg.knowledge import load_knowledge  # noqa: E402

TIME_UNITS = ("s", "min", "h", "d", "wk", "mo", "a")


def pairs() -> list[tuple[str, str, object]]:
    found = set()
    for analyte in load_knowledge().analytes:
        for unit in analyte.accepted_units:
            found.add((unit, unit, None))
            found.add((unit, analyte.canonical_unit, analyte.mass_per_substance))
    for unit in TIME_UNITS:
        found.update({(unit, unit, None), (unit, "d", None)})
    return sorted(found, key=str)


def table() -> dict[str, str]:
    return {units.table_key(a, b, m): str(units.compute(a, b, m)) for a, b, m in pairs()}


if __name__ == "__main__":
    out = ROOT / "b12kg" / units.TABLE
    out.write_text(json.dumps(table(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out}")
