"""Build ontology/b12/b12-drug-codes.ttl: the drug value-set expansions, from cited sources.

Every code in the output comes from a source file kept under tools/sources/ (or the
real-record test data under tests/realworld/), each named with its repository, path,
commit and licence in tools/sources/README.md. Nothing here types a code: the script
reads the sources, parses the RxNorm normalized names into ingredients, strengths and
dose forms, and writes one Turtle module in the encoding style of b12-neuropathy.ttl.

    python3 tools/build_drug_codes.py            # rewrite ontology/b12/b12-drug-codes.ttl
    python3 tools/build_drug_codes.py --check    # exit 1 if the file is not what the sources give
    python3 tools/build_drug_codes.py --output PATH

Runs offline on the standard library only.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "tools" / "sources"
OUTPUT = ROOT / "ontology" / "b12" / "b12-drug-codes.ttl"
RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"


# --- The sources ---------------------------------------------------------------
# (id, IRI, label, licence IRI, origin). Codes seen in two sources of different
# origin are marked "verified"; in one origin only, "candidate" (terminology.md).

@dataclass(frozen=True)
class Source:
    key: str
    iri: str
    label: str
    licence: str
    origin: str


CPIC = Source(
    "cpic-drug", "https://github.com/cpicpgx/cpic-data/blob/25e700028fcd5bfe1f2905852b236a34ca824888/db/drug.sql",
    "CPIC database drug table (cpicpgx/cpic-data db/drug.sql, commit 25e7000): RxNorm ingredient and ATC codes per drug",
    "https://creativecommons.org/publicdomain/zero/1.0/", "cpic")
CONTRACT = Source(
    "b12kg-terminology", "https://w3id.org/b12kg/contract/terminology.md#medications",
    "b12kg terminology bindings (shared/contract/terminology.md, Medications table)",
    "https://www.apache.org/licenses/LICENSE-2.0", "b12kg-contract")
SYNTHEA_METFORMIN = Source(
    "synthea-metabolic-syndrome",
    "https://github.com/synthetichealth/synthea/blob/38f24e67362b6dfbc4b8b3950dc57d2dfaf38c4e/src/main/resources/modules/metabolic_syndrome/medications.json",
    "Synthea module metabolic_syndrome/medications.json (synthetichealth/synthea, commit 38f24e6), state Prescribe_Metformin",
    "https://www.apache.org/licenses/LICENSE-2.0", "synthea")
SYNTHEA_ANEMIA = Source(
    "synthea-anemia-sub",
    "https://github.com/synthetichealth/synthea/blob/033fe019a65158f6eb3d636db0f91841c58420f3/src/main/resources/modules/anemia/anemia_sub.json",
    "Synthea module anemia/anemia_sub.json (synthetichealth/synthea, commit 033fe01), state Vitamin B12 Booster",
    "https://www.apache.org/licenses/LICENSE-2.0", "synthea")
SYNTHEA_BUNDLES = Source(
    "smart-synthea-bundles",
    "https://github.com/smart-on-fhir/generated-sample-data/tree/25ac8089f0464b8673c7669509dc0bb8f4883773/R4/SYNTHEA",
    "Synthea R4 sample bundles (smart-on-fhir/generated-sample-data R4/SYNTHEA, commit 25ac808; "
    "copies in tests/realworld/synthea/), MedicationRequest codings",
    "https://www.apache.org/licenses/LICENSE-2.0", "synthea")
RXNORM_PRESCRIBE = Source(
    "rxnorm-prescribable",
    "https://github.com/davidanderson3/rxnorm-ingredients/tree/a8fcf13a679fa37073e8fa83e11d5e0d8cc07276/web/data",
    "NLM RxNorm Current Prescribable Content (ingredient -> clinical drug component -> clinical, branded drug and pack), "
    "as extracted by davidanderson3/rxnorm-ingredients web/data/*.json (commit a8fcf13); rows kept in "
    "tools/sources/rxnorm/",
    "https://www.nlm.nih.gov/research/umls/rxnorm/docs/termsofservice.html", "nlm-rxnorm")
SYNTHEA_COSTS = Source(
    "synthea-costs",
    "https://github.com/synthetichealth/synthea/blob/00f3c89a94f22ce7578c0646ef701597dd5b8650/src/main/resources/costs/medications.csv",
    "Synthea medication cost table (synthetichealth/synthea src/main/resources/costs/medications.csv, commit 00f3c89): RxNorm code and display",
    "https://www.apache.org/licenses/LICENSE-2.0", "synthea")
ALL_SOURCES = (CPIC, CONTRACT, RXNORM_PRESCRIBE, SYNTHEA_METFORMIN, SYNTHEA_ANEMIA, SYNTHEA_BUNDLES, SYNTHEA_COSTS)


# --- The guideline's ingredients -------------------------------------------------
# Which value set each ingredient belongs to, and the words its RxNorm names start
# with (base name, salts follow: "metformin hydrochloride", "esomeprazole strontium").
# Codes are not typed here: they are read from CPIC and terminology.md below.

@dataclass(frozen=True)
class Ingredient:
    name: str
    value_set: str
    names: tuple[str, ...]
    note: str = ""


INGREDIENTS = (
    Ingredient("metformin", "b12:MetforminDrug", ("metformin",)),
    Ingredient("omeprazole", "b12:ProtonPumpInhibitorDrug", ("omeprazole",)),
    Ingredient("esomeprazole", "b12:ProtonPumpInhibitorDrug", ("esomeprazole",)),
    Ingredient("lansoprazole", "b12:ProtonPumpInhibitorDrug", ("lansoprazole",)),
    Ingredient("dexlansoprazole", "b12:ProtonPumpInhibitorDrug", ("dexlansoprazole",)),
    Ingredient("pantoprazole", "b12:ProtonPumpInhibitorDrug", ("pantoprazole",)),
    Ingredient("rabeprazole", "b12:ProtonPumpInhibitorDrug", ("rabeprazole",)),
    Ingredient("folic acid", "b12:FolicAcidDrug", ("folic acid",)),
    Ingredient("leucovorin", "b12:FolateDrug", ("leucovorin", "folinic acid", "calcium folinate"),
               "leucovorin is folinic acid (contract v3: a folate that masks B12 deficiency like folic acid)."),
    Ingredient("levoleucovorin", "b12:FolateDrug", ("levoleucovorin", "levofolinic acid"),
               "levoleucovorin is the active L-isomer of folinic acid: typed as a folate (candidate)."),
    Ingredient("levomefolate", "b12:FolateDrug", ("levomefolate", "l-methylfolate", "methylfolate")),
    Ingredient("cyanocobalamin", "b12:VitaminB12Drug", ("cyanocobalamin", "vitamin b 12", "vitamin b12", "vitamin b-12"),
               "RxNorm names cyanocobalamin 'vitamin B 12'; a product named 'Vitamin B 12' is read as cyanocobalamin (candidate)."),
    Ingredient("hydroxocobalamin", "b12:VitaminB12Drug", ("hydroxocobalamin",)),
    Ingredient("mecobalamin", "b12:VitaminB12Drug", ("mecobalamin", "methylcobalamin")),
)
CONTRACT_NAMES = {"mecobalamin (methylcobalamin)": "mecobalamin"}

# RxNorm dose forms (the tail of a clinical drug name) -> the unit one dose is counted in.
DOSE_UNITS = (
    ("Tablet", "{tablet}"),
    ("Capsule", "{capsule}"),
    ("Injectable Solution", "mL"),
    ("Oral Solution", "mL"),
    ("Oral Suspension", "{packet}"),
    ("Granules", "{packet}"),
    ("Injection", "{vial}"),
    ("Lozenge", "{lozenge}"),
    ("Powder", "{packet}"),
)
UNITS = {"MG": "mg", "MCG": "ug"}
COMPONENT = re.compile(r"^(?P<name>.+?) (?P<value>\d+(?:\.\d+)?) (?P<unit>MG|MCG)(?P<per>/ML)?$", re.IGNORECASE)


# --- Reading the sources -----------------------------------------------------------

@dataclass
class Code:
    iri: str
    label: str | None = None
    value_sets: set[str] = field(default_factory=set)
    sources: dict[str, Source] = field(default_factory=dict)
    ingredients: set[str] = field(default_factory=set)
    other_ingredients: list[str] = field(default_factory=list)
    term_type: str | None = None
    dose_form: str | None = None
    strengths: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # ingredient, value, unit, per-value, per-unit
    exact_match: set[str] = field(default_factory=set)
    alt_labels: set[str] = field(default_factory=set)
    hidden_labels: set[str] = field(default_factory=set)
    comment: str | None = None

    def add_source(self, source: Source) -> None:
        self.sources[source.key] = source

    @property
    def verification(self) -> str:
        return "verified" if len({s.origin for s in self.sources.values()}) >= 2 else "candidate"


def ingredient_of(component_name: str) -> Ingredient | None:
    """The guideline ingredient an RxNorm ingredient name (with its salt) names, if any."""
    lowered = component_name.lower().strip()
    for ingredient in INGREDIENTS:
        for name in ingredient.names:
            if lowered == name or lowered.startswith(name + " "):
                return ingredient
    return None


def dose_unit(dose_form: str) -> str:
    for suffix, unit in DOSE_UNITS:
        if suffix.lower() in dose_form.lower():
            return unit
    raise ValueError(f"no dose unit known for the RxNorm dose form {dose_form!r}")


@dataclass
class Parsed:
    term_type: str
    dose_form: str | None
    components: list[tuple[str, str, str, str | None, str | None]]  # name, value, unit, per, dose form


def parse_clinical_drug(name: str) -> tuple[str, list[tuple[str, str, str, str | None]]]:
    """'24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet' -> dose form, components."""
    text = re.sub(r"\s*\[[^\]]+\]$", "", name.strip())
    text = re.sub(r"^(?:Modified |Osmotic )?\d+(?:\.\d+)? (?:HR|ML|DAY) ", "", text)
    parts = text.split(" / ")
    last = re.match(r"^(?P<head>.+? \d+(?:\.\d+)? (?:MG|MCG)(?:/ML)?) (?P<form>[A-Za-z].*)$", parts[-1], re.IGNORECASE)
    if not last:
        raise ValueError(f"not an RxNorm clinical drug name: {name!r}")
    parts[-1] = last.group("head")
    components = []
    for part in parts:
        match = COMPONENT.match(part)
        if not match:
            raise ValueError(f"cannot read the ingredient and strength {part!r} of {name!r}")
        components.append((match["name"], match["value"], UNITS[match["unit"].upper()], "mL" if match["per"] else None))
    return last.group("form"), components


def parse_rxnorm_name(name: str) -> Parsed:
    """Term type, dose form and ingredient strengths of an RxNorm SCD/SBD/GPCK/BPCK name."""
    branded = bool(re.search(r"\[[^\]]+\]$", name.strip()))
    if name.startswith("{"):
        inner = name[1:name.rindex("}")]
        components = []
        for item in re.findall(r"\d+ \((.+?)\)(?: / |\s*$)", inner.strip()):
            form, parts = parse_clinical_drug(item)
            components += [(n, v, u, p, form) for n, v, u, p in parts]
        if not components:
            raise ValueError(f"not an RxNorm pack name: {name!r}")
        return Parsed("BPCK" if branded else "GPCK", None, components)
    form, parts = parse_clinical_drug(name)
    return Parsed("SBD" if branded else "SCD", form, [(n, v, u, p, form) for n, v, u, p in parts])


def rx(code: str) -> str:
    return f"rx:{int(code)}"


def atc(code: str) -> str:
    if not re.fullmatch(r"[A-Z]\d\d[A-Z]{2}\d\d", code):
        raise ValueError(f"not an ATC substance code: {code!r}")
    return f"atc:{code}"


class Expansion:
    """All codes read so far, keyed by their IRI."""

    def __init__(self) -> None:
        self.codes: dict[str, Code] = {}
        self.ingredient_iri: dict[str, str] = {}

    def code(self, iri: str) -> Code:
        return self.codes.setdefault(iri, Code(iri))

    def add_ingredient_codes(self, ingredient: Ingredient, rxcui: str | None, atc_code: str | None, source: Source) -> None:
        iris = []
        if rxcui:
            iris.append(rx(rxcui))
        if atc_code:
            iris.append(atc(atc_code))
        for iri in iris:
            code = self.code(iri)
            code.value_sets.add(ingredient.value_set)
            code.add_source(source)
            code.label = code.label or ingredient.name
            code.exact_match |= {other for other in iris if other != iri}
            code.comment = code.comment or ("RxNorm ingredient" if iri.startswith("rx:") else "ATC chemical substance (level 5)")
        if iris:
            # the ingredient's own code: RxNorm where a source gives one, else ATC
            preferred = iris[0]
            current = self.ingredient_iri.get(ingredient.name)
            if current is None or (current.startswith("atc:") and preferred.startswith("rx:")):
                self.ingredient_iri[ingredient.name] = preferred

    def add_product(self, rxcui: str, name: str, source: Source) -> None:
        parsed = parse_rxnorm_name(name)
        guideline = [(ingredient_of(n), n, v, u, p, f) for n, v, u, p, f in parsed.components]
        if not any(g for g, *_ in guideline):
            return
        code = self.code(rx(rxcui))
        code.alt_labels.add(name)
        code.add_source(source)
        code.term_type = parsed.term_type
        code.dose_form = parsed.dose_form
        code.other_ingredients = sorted({n for g, n, *_ in guideline if g is None})
        strengths = []
        for ingredient, _, value, unit, per, form in guideline:
            if ingredient is None:
                continue
            code.value_sets.add(ingredient.value_set)
            code.ingredients.add(ingredient.name)
            per_unit, per_value = (per, "1") if per else (dose_unit(form), "1")
            strengths.append((ingredient.name, value, unit, per_value, per_unit))
        code.strengths = sorted(set(strengths))


def read_contract(expansion: Expansion) -> None:
    by_name = {i.name: i for i in INGREDIENTS}
    for line in (SOURCES / "contract" / "terminology-medications.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("concept", "---"):
            continue
        ingredient = by_name[CONTRACT_NAMES.get(cells[0], cells[0])]
        rxcui = cells[1] if cells[1].isdigit() else None
        expansion.add_ingredient_codes(ingredient, rxcui, cells[2] or None, CONTRACT)


def read_cpic(expansion: Expansion) -> None:
    by_name = {i.name: i for i in INGREDIENTS}
    with (SOURCES / "cpic" / "drug.tsv").open(newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            ingredient = by_name[row["name"]]
            atc_codes = [c for c in row["atcId"].split(",") if c]
            if len(atc_codes) > 1:
                raise ValueError(f"CPIC lists several ATC codes for {row['name']}: choose one source")
            expansion.add_ingredient_codes(ingredient, row["rxnormId"] or None, atc_codes[0] if atc_codes else None, CPIC)


def read_rxnorm_prescribable(expansion: Expansion) -> None:
    """Ingredient and product rows of the NLM RxNorm Current Prescribable Content (tools/sources/rxnorm/)."""
    by_name = {n: i for i in INGREDIENTS for n in (i.name, *i.names)}
    for rxcui, _tty, name in _tsv(SOURCES / "rxnorm" / "prescribable-ingredients.tsv"):
        ingredient = by_name.get(name.lower())
        if ingredient is None:
            raise ValueError(f"the RxNorm ingredient {name!r} ({rxcui}) names no guideline ingredient")
        expansion.add_ingredient_codes(ingredient, rxcui, None, RXNORM_PRESCRIBE)
    for rxcui, tty, name in _tsv(SOURCES / "rxnorm" / "prescribable-products.tsv"):
        expansion.add_product(rxcui, name, RXNORM_PRESCRIBE)
        if expansion.codes[rx(rxcui)].term_type != tty:
            raise ValueError(f"RxNorm {rxcui} {name!r}: the source says {tty}, the name reads as {expansion.codes[rx(rxcui)].term_type}")


def _tsv(path: Path) -> list[list[str]]:
    rows = [line.rstrip("\n").split("\t") for line in path.read_text().splitlines(keepends=True) if not line.startswith("#")]
    return [row for row in rows if row != [""]]


def read_synthea_costs(expansion: Expansion) -> None:
    """Synthea's cost table confirms a code already read when its display (before any ' -- ' or ' - ' note)
    is the same RxNorm name, letter case aside; it adds no code of its own."""
    with (SOURCES / "synthea" / "costs_medications.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            code = expansion.codes.get(rx(row["CODE"]))
            display = re.split(r" --? ", row["COMMENTS"])[0].strip()
            if code is not None and display.lower() in {a.lower() for a in code.alt_labels}:
                code.add_source(SYNTHEA_COSTS)


def read_synthea_module(expansion: Expansion, path: Path, source: Source) -> None:
    for state in json.loads(path.read_text()).values():
        for coding in state.get("codes", []):
            if coding["system"] == "RxNorm":
                expansion.add_product(str(coding["code"]), coding["display"], source)


def read_synthea_bundles(expansion: Expansion) -> None:
    for path in sorted((ROOT / "tests" / "realworld" / "synthea").glob("*.json")):
        bundle = json.loads(path.read_text())
        for entry in bundle.get("entry", []):
            resource = entry.get("resource", {})
            if not resource.get("resourceType", "").startswith("Medication"):
                continue
            for coding in resource.get("medicationCodeableConcept", {}).get("coding", []):
                if coding.get("system") != RXNORM_SYSTEM:
                    continue
                try:
                    expansion.add_product(coding["code"], coding["display"], SYNTHEA_BUNDLES)
                except ValueError:
                    continue  # a display that is not an RxNorm clinical drug name names no guideline drug here


def declared_in_guideline() -> set[str]:
    """Codes b12-neuropathy.ttl already labels and marks: this module adds to them, never restates."""
    text = (ROOT / "ontology" / "b12" / "b12-neuropathy.ttl").read_text()
    return set(re.findall(r"^((?:rx|atc):\w+) skos:prefLabel .*gm:verification", text, re.MULTILINE))


def build() -> Expansion:
    expansion = Expansion()
    read_contract(expansion)
    read_cpic(expansion)
    read_synthea_module(expansion, SOURCES / "synthea" / "metabolic_syndrome_medications.json", SYNTHEA_METFORMIN)
    read_synthea_module(expansion, SOURCES / "synthea" / "anemia_sub.json", SYNTHEA_ANEMIA)
    read_synthea_bundles(expansion)
    read_rxnorm_prescribable(expansion)
    read_synthea_costs(expansion)
    for code in expansion.codes.values():
        if code.alt_labels:  # a product: its label is the display its first source gives
            labels = sorted(code.alt_labels)  # several displays: the first in code-point order is the label
            code.label = labels[0]
            code.alt_labels = set(labels[1:])
        code.ingredients = {expansion.ingredient_iri[name] for name in code.ingredients}
    add_text_names(expansion)
    return expansion


def add_text_names(expansion: Expansion) -> None:
    """skos:hiddenLabel on each ingredient code: the words that name it in a medication's free text
    (its RxNorm name forms, and the brand names of the single-ingredient branded products read)."""
    by_iri = {iri: ingredient for ingredient in INGREDIENTS if (iri := expansion.ingredient_iri.get(ingredient.name))}
    for iri, ingredient in by_iri.items():
        expansion.codes[iri].hidden_labels |= set(ingredient.names)
    for code in expansion.codes.values():
        if code.term_type in ("SBD", "BPCK") and len(code.ingredients) == 1:
            (ingredient_iri,) = code.ingredients
            brands = re.findall(r"\[([^\]]+)\]", code.label or "")
            expansion.codes[ingredient_iri].hidden_labels |= {b.lower() for b in brands if len(brands) == 1 or not code.other_ingredients}


# --- Writing Turtle ------------------------------------------------------------------

def literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sort_key(iri: str) -> tuple[str, int, str]:
    prefix, _, local = iri.partition(":")
    return (prefix, int(local) if local.isdigit() else 0, local)


HEADER = """\
# Drug value-set expansions of the guideline's medications: RxNorm ingredient, clinical
# drug (SCD), branded drug (SBD) and pack (GPCK, BPCK) codes, and ATC codes, each with
# its source. GENERATED by tools/build_drug_codes.py from the files in tools/sources/
# (and tests/realworld/synthea/): do not edit by hand; edit the sources or the script and
# rerun it. tests/test_drug_codes.py checks that this file is what the script writes.
#
# Per product: skos:prefLabel (the display its source gives), its value set(s), gm:hasIngredient
# (the guideline ingredient code(s) it contains), gm:termType and gm:doseForm read from the
# RxNorm normalized name, gm:strength per ingredient (amount and UCUM unit per dose unit),
# gm:combinationProduct when it holds other ingredients too, dct:source, gm:verification
# ("verified": seen in sources of two independent origins; else "candidate").
# Per ingredient code: skos:hiddenLabel, the lower-case words that name it in a medication's
# free text (its RxNorm name forms and the brands of its single-ingredient branded products), for
# reporting a medication whose code is not recognised but whose text names a guideline drug.
# NDC codes: the NLM source maps 7,201 NDCs to these products, not shipped yet (tools/sources/README.md).
@prefix b12:  <https://w3id.org/b12kg/b12#> .
@prefix gm:   <https://w3id.org/b12kg/model#> .
@prefix owl:  <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix dct:  <http://purl.org/dc/terms/> .
@prefix rx:   <http://purl.bioontology.org/ontology/RXNORM/> .
@prefix atc:  <http://purl.bioontology.org/ontology/UATC/> .

<https://w3id.org/b12kg/drug-codes> a owl:Ontology ;
    owl:versionIRI <https://w3id.org/b12kg/drug-codes/1.0.0> ;
    owl:versionInfo "1.0.0" ;
    dct:title "B12 guideline drug codes (generated value-set expansions)" ;
    dct:description "RxNorm and ATC codes of metformin, the proton pump inhibitors, folic acid and vitamin B12, each with its source." ;
    rdfs:comment "Generated by tools/build_drug_codes.py; the value-set classes are defined in b12-neuropathy.ttl." .

# Folates (contract v3): folic acid, folinic acid (leucovorin, levoleucovorin) and levomefolate mask B12
# deficiency alike. Declared here too until b12-neuropathy.ttl defines b12:FolateDrug (a repeat is harmless).
b12:FolateDrug a owl:Class, gm:ValueSet ; rdfs:label "folates (folic acid, folinic acid, levomefolate)" .
b12:FolicAcidDrug rdfs:subClassOf b12:FolateDrug .
"""


def render(expansion: Expansion) -> str:
    out = [HEADER, "\n# --- Sources ------------------------------------------------------------------\n"]
    used = {s.key for c in expansion.codes.values() for s in c.sources.values()}
    for source in ALL_SOURCES:
        if source.key in used:
            out.append(f"<{source.iri}> a prov:Entity ;\n    rdfs:label {literal(source.label)} ;\n    dct:license <{source.licence}> .\n")
    out.append("\n# --- Codes --------------------------------------------------------------------\n")
    ingredient_iris = set(expansion.ingredient_iri.values())
    owned = declared_in_guideline()
    for iri in sorted(expansion.codes, key=sort_key):
        code = expansion.codes[iri]
        types = sorted(code.value_sets) + (["gm:DrugProduct"] if code.term_type else [])
        lines = [f"{iri} a {', '.join(types)}"]
        if code.label and iri not in owned:
            lines.append(f"skos:prefLabel {literal(code.label)}")
        for alt in sorted(code.alt_labels):
            lines.append(f"skos:altLabel {literal(alt)}")
        if code.hidden_labels:
            lines.append("skos:hiddenLabel " + ", ".join(literal(h) for h in sorted(code.hidden_labels)))
        if code.term_type:
            lines.append(f"gm:termType {literal(code.term_type)}")
        if code.dose_form:
            lines.append(f"gm:doseForm {literal(code.dose_form)}")
        if code.ingredients:
            lines.append("gm:hasIngredient " + ", ".join(sorted(code.ingredients, key=sort_key)))
        for name, value, unit, per_value, per_unit in code.strengths:
            lines.append(
                f"gm:strength [ a gm:Strength ; gm:ofIngredient {expansion.ingredient_iri[name]} ; gm:numeratorValue {value} ; "
                f"gm:numeratorUnit {literal(unit)} ; gm:denominatorValue {per_value} ; gm:denominatorUnit {literal(per_unit)} ]")
        if code.term_type:
            combination = bool(code.other_ingredients) or len(code.strengths) > 1
            lines.append(f"gm:combinationProduct {'true' if combination else 'false'}")
            if code.other_ingredients:
                lines.append(f"rdfs:comment {literal('also contains: ' + ', '.join(code.other_ingredients))}")
        elif iri in ingredient_iris:
            lines.append(f"rdfs:comment {literal(code.comment or '')}")
        if code.exact_match:
            lines.append("skos:exactMatch " + ", ".join(sorted(code.exact_match, key=sort_key)))
        lines.append("dct:source " + ", ".join(f"<{s.iri}>" for s in sorted(code.sources.values(), key=lambda s: s.key)))
        if iri not in owned:
            lines.append(f"gm:verification {literal(code.verification)}")
        out.append(" ;\n    ".join(lines) + " .\n")
    notes = [i for i in INGREDIENTS if i.note]
    if notes:
        out.append("\n# --- Reading rules ------------------------------------------------------------\n")
        for ingredient in notes:
            out.append(f"# {ingredient.name}: {ingredient.note}\n")
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        if not args.output.is_file() or args.output.read_text() != text:
            print(f"{args.output} is not what tools/build_drug_codes.py generates: rerun it", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
