"""The generated drug value-set expansions (ontology/b12/b12-drug-codes.ttl): complete, sourced,
consistent with the guideline's value sets, and exactly what tools/build_drug_codes.py writes."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import RDF, RDFS, SKOS

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "ontology" / "b12" / "b12-drug-codes.ttl"
SCRIPT = ROOT / "tools" / "build_drug_codes.py"
GM = rdflib.Namespace("https://w3id.org/b12kg/model#")
B12 = rdflib.Namespace("https://w3id.org/b12kg/b12#")
RX = rdflib.Namespace("http://purl.bioontology.org/ontology/RXNORM/")
ATC = rdflib.Namespace("http://purl.bioontology.org/ontology/UATC/")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")
VALUE_SETS = {B12.MetforminDrug, B12.ProtonPumpInhibitorDrug, B12.VitaminB12Drug, B12.FolicAcidDrug, B12.FolateDrug}
ATC_GROUP = {B12.MetforminDrug: "A10BA", B12.ProtonPumpInhibitorDrug: "A02BC", B12.VitaminB12Drug: "B03BA", B12.FolicAcidDrug: "B03BB",
             B12.FolateDrug: ("B03BB", "V03AF")}  # folic acid, and the folinates (calcium folinate V03AF03)


@pytest.fixture(scope="module")
def module() -> rdflib.Graph:
    return rdflib.Graph().parse(MODULE, format="turtle")


@pytest.fixture(scope="module")
def union(module) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph += module
    graph.parse(ROOT / "ontology" / "b12" / "b12-neuropathy.ttl", format="turtle")
    return graph


@pytest.fixture(scope="module")
def builder():
    spec = importlib.util.spec_from_file_location("build_drug_codes", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["build_drug_codes"] = mod
    spec.loader.exec_module(mod)
    return mod


def codes(graph: rdflib.Graph) -> set[rdflib.URIRef]:
    return {s for s in graph.subjects(RDF.type, None) if isinstance(s, rdflib.URIRef) and (s.startswith(RX) or s.startswith(ATC))}


def value_sets(graph: rdflib.Graph, code) -> set:
    return set(graph.objects(code, RDF.type)) & VALUE_SETS


def test_generated_file_is_what_the_script_writes_now(tmp_path):
    out = tmp_path / "b12-drug-codes.ttl"
    subprocess.run([sys.executable, str(SCRIPT), "--output", str(out)], check=True, timeout=60)
    assert out.read_text() == MODULE.read_text(), "rerun python3 tools/build_drug_codes.py"


def test_every_code_has_one_label_one_verification_a_value_set_and_a_source(module, union):
    found = codes(module)
    assert {RX["6809"], RX["860975"], RX["2001499"], RX["7646"], ATC.A02BC01, ATC.B03BA01} <= found
    for code in found:
        assert len(list(union.objects(code, SKOS.prefLabel))) == 1, code
        assert [str(v) for v in union.objects(code, GM.verification)] in (["verified"], ["candidate"]), code
        assert value_sets(union, code), code
        sources = list(module.objects(code, DCT.source))
        assert sources, code
        for source in sources:
            assert module.value(source, RDFS.label) is not None and module.value(source, DCT.license) is not None, source


def test_each_ingredient_is_in_exactly_one_value_set(module, union):
    ingredients = set(module.objects(None, GM.hasIngredient)) | {
        c for c in codes(module) if (c, RDF.type, GM.DrugProduct) not in module
    }
    assert {RX["6809"], RX["7646"], RX["283742"], ATC.B03BA01} <= ingredients
    for ingredient in ingredients:
        assert len(value_sets(union, ingredient)) == 1, ingredient


def test_atc_codes_sit_under_their_value_sets_group(union):
    atc_codes = [c for c in codes(union) if c.startswith(ATC)]
    assert len(atc_codes) >= 11
    for code in atc_codes:
        for value_set in value_sets(union, code):
            assert str(code)[len(ATC):].startswith(ATC_GROUP[value_set]), (code, value_set)


def test_products_are_in_the_value_sets_of_their_ingredients(module, union):
    products = set(module.subjects(RDF.type, GM.DrugProduct))
    assert {RX["860975"], RX["2001499"]} <= products
    for product in products:
        ingredients = set(module.objects(product, GM.hasIngredient))
        assert ingredients, product
        expected = set().union(*(value_sets(union, i) for i in ingredients))
        assert value_sets(union, product) == expected, product
        assert str(module.value(product, GM.termType)) in {"SCD", "SBD", "GPCK", "BPCK"}
        strengths = list(module.objects(product, GM.strength))
        assert {module.value(s, GM.ofIngredient) for s in strengths} == ingredients, product
        for strength in strengths:
            assert str(module.value(strength, GM.numeratorUnit)) in {"mg", "ug"}
            assert str(module.value(strength, GM.denominatorUnit)) in {"mL", "{tablet}", "{capsule}", "{packet}", "{vial}", "{lozenge}"}
            assert module.value(strength, GM.numeratorValue).toPython() > 0


def test_synthea_codes_are_mapped(module):
    metformin_er = RX["860975"]
    assert (metformin_er, RDF.type, B12.MetforminDrug) in module
    assert module.value(metformin_er, GM.hasIngredient) == RX["6809"]
    assert str(module.value(metformin_er, GM.doseForm)) == "Extended Release Oral Tablet"
    strength = module.value(metformin_er, GM.strength)
    assert (module.value(strength, GM.numeratorValue).toPython(), str(module.value(strength, GM.numeratorUnit))) == (500, "mg")
    assert str(module.value(strength, GM.denominatorUnit)) == "{tablet}"

    b12_injection = RX["2001499"]
    assert (b12_injection, RDF.type, B12.VitaminB12Drug) in module
    strength = module.value(b12_injection, GM.strength)
    assert (module.value(strength, GM.numeratorValue).toPython(), str(module.value(strength, GM.numeratorUnit))) == (5, "mg")
    assert str(module.value(strength, GM.denominatorUnit)) == "mL"


def test_single_ingredient_products_are_not_combinations(module):
    metformin = RX["860975"]  # 24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet
    assert (metformin, RDF.type, B12.MetforminDrug) in module
    assert module.value(metformin, GM.combinationProduct).toPython() is False


@pytest.mark.parametrize(
    ("name", "term_type", "components"),
    [
        ("24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", "SCD",
         [("Metformin hydrochloride", "500", "mg", None, "Extended Release Oral Tablet")]),
        ("sitagliptin 50 MG / metformin hydrochloride 1000 MG Oral Tablet [Janumet]", "SBD",
         [("sitagliptin", "50", "mg", None, "Oral Tablet"), ("metformin hydrochloride", "1000", "mg", None, "Oral Tablet")]),
        ("cyanocobalamin 1 MG/ML Injectable Solution", "SCD", [("cyanocobalamin", "1", "mg", "mL", "Injectable Solution")]),
        ("{7 (lansoprazole 15 MG Delayed Release Oral Capsule) / 14 (naproxen 375 MG Oral Tablet) } Pack", "GPCK",
         [("lansoprazole", "15", "mg", None, "Delayed Release Oral Capsule"), ("naproxen", "375", "mg", None, "Oral Tablet")]),
    ],
)
def test_rxnorm_names_are_read(builder, name, term_type, components):
    parsed = builder.parse_rxnorm_name(name)
    assert parsed.term_type == term_type
    assert parsed.components == components


def test_a_combination_with_metformin_is_metformin_exposure(builder):
    expansion = builder.Expansion()
    builder.read_cpic(expansion)
    expansion.add_product("861769", "sitagliptin 50 MG / metformin hydrochloride 500 MG Oral Tablet [Janumet]", builder.CPIC)
    product = expansion.codes["rx:861769"]
    assert product.value_sets == {"b12:MetforminDrug"} and product.other_ingredients == ["sitagliptin"]


def test_an_unreadable_name_is_an_error_not_a_guess(builder):
    with pytest.raises(ValueError):
        builder.parse_rxnorm_name("Metformin 500mg")
    assert builder.ingredient_of("esomeprazole magnesium").name == "esomeprazole"
    assert builder.ingredient_of("dexlansoprazole").name == "dexlansoprazole"
    assert builder.ingredient_of("sodium bicarbonate") is None


def test_ingredients_carry_the_words_that_name_them_in_free_text(module):
    def names(code):
        return {str(n) for n in module.objects(code, SKOS.hiddenLabel)}

    assert {"metformin"} <= names(RX["6809"])
    assert {"omeprazole"} <= names(RX["7646"])
    assert {"esomeprazole"} <= names(RX["283742"])
    assert {"dexlansoprazole"} <= names(RX["816346"])
    assert {"cyanocobalamin", "vitamin b12"} <= names(RX["11248"])
    assert {"folic acid"} <= names(RX["4511"])
    everywhere = [n for c in set(module.subjects(SKOS.hiddenLabel, None)) for n in names(c)]
    assert len(everywhere) == len(set(everywhere)), "a word names one ingredient only"
    assert "naprosyn" not in everywhere and all(n == n.lower() for n in everywhere)


@pytest.mark.parametrize(
    ("product", "value_set", "ingredient", "dose_form", "amount"),
    [
        ("310410", B12.FolicAcidDrug, "4511", "Oral Tablet", (1, "mg", "{tablet}")),
        ("861007", B12.MetforminDrug, "6809", "Oral Tablet", (500, "mg", "{tablet}")),
        ("198051", B12.ProtonPumpInhibitorDrug, "7646", "Delayed Release Oral Capsule", (20, "mg", "{capsule}")),
        ("309594", B12.VitaminB12Drug, "11248", "Injectable Solution", (1, "mg", "mL")),
        ("317106", B12.VitaminB12Drug, "5514", "Injectable Solution", (1, "mg", "mL")),
        ("1803932", B12.FolateDrug, "6313", "Injection", (100, "mg", "{vial}")),
        ("1013628", B12.FolateDrug, "1592257", "Oral Tablet", (0.451, "mg", "{tablet}")),
    ],
)
def test_issue_23_product_codes_map_to_their_ingredient(module, product, value_set, ingredient, dose_form, amount):
    """Issue 23: EHR drafts and records carry product codes (folic acid 1 MG tablet 310410, metformin
    500 MG tablet 861007, the HL7 example's omeprazole 198051); each maps to its ingredient, dose form
    (parenteral read from "Injectable Solution" / "Injection") and strength."""
    code = RX[product]
    assert (code, RDF.type, value_set) in module and (code, RDF.type, GM.DrugProduct) in module
    assert set(module.objects(code, GM.hasIngredient)) == {RX[ingredient]}
    assert str(module.value(code, GM.doseForm)) == dose_form
    strength = module.value(code, GM.strength)
    got = (module.value(strength, GM.numeratorValue).toPython(), str(module.value(strength, GM.numeratorUnit)),
           str(module.value(strength, GM.denominatorUnit)))
    assert (float(got[0]), got[1], got[2]) == (float(amount[0]), amount[1], amount[2])


def test_folinic_acid_and_levomefolate_are_folates_not_folic_acid(module):
    folates = set(module.subjects(RDF.type, B12.FolateDrug))
    assert {RX["6313"], RX["877015"], RX["1592257"]} <= folates
    assert not folates & set(module.subjects(RDF.type, B12.FolicAcidDrug))
    assert (B12.FolicAcidDrug, RDFS.subClassOf, B12.FolateDrug) in module


def test_every_product_source_row_is_read(builder):
    rows = [line.split("\t") for line in (ROOT / "tools" / "sources" / "rxnorm" / "prescribable-products.tsv").read_text().splitlines()
            if line and not line.startswith("#")]
    expansion = builder.build()
    for rxcui, tty, name in rows:
        code = expansion.codes[f"rx:{rxcui}"]
        assert code.term_type == tty and code.ingredients, (rxcui, name)
