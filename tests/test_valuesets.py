"""b12kg export-valuesets: every value set of the merged knowledge as an R4 ValueSet, the local
fact codes as a CodeSystem (validated with fhir.resources' R4B models, the FHIR R4 technical
correction: ValueSet and CodeSystem are unchanged); and the source check of b12kg check."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.valueset import ValueSet

from b12kg.check import codes_without_source
from b12kg.cli import main
from b12kg.knowledge import load_knowledge
from b12kg.render.valuesets import FACTS_SYSTEM, export, value_sets

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@pytest.fixture(scope="module")
def exported():
    return export(load_knowledge(), timestamp="2026-11-24T00:00:00+00:00")


def by_url(resources, tail):
    return next(r for r in resources if r["url"].endswith(tail))


def test_every_resource_validates_against_the_fhir_models(exported):
    assert len([r for r in exported if r["resourceType"] == "ValueSet"]) == len(value_sets(load_knowledge()))
    for resource in exported:
        model = ValueSet if resource["resourceType"] == "ValueSet" else CodeSystem
        model.model_validate(resource)
        assert resource["version"]


def test_product_codes_are_in_the_expansion_with_their_source(exported):
    metformin = by_url(exported, "/b12/MetforminDrug")
    codes = {(c["system"], c["code"]) for c in metformin["expansion"]["contains"]}
    assert {(RXNORM, "6809"), (RXNORM, "861007"), (RXNORM, "860975")} <= codes
    assert metformin["expansion"]["total"] == len(codes)
    assert any(p["name"] == "source" for p in metformin["expansion"]["parameter"])
    folic = by_url(exported, "/b12/FolicAcidDrug")
    assert (RXNORM, "310410") in {(c["system"], c["code"]) for c in folic["expansion"]["contains"]}


def test_group_and_ingredient_restrictions_become_compose_and_expansion(exported):
    """AGA's PPI class takes every ATC code under A02BC and every product with a PPI ingredient."""
    ppi = by_url(exported, "/aga-ppi-deprescribing/ProtonPumpInhibitorDrug")
    filters = [f for i in ppi["compose"]["include"] for f in i.get("filter", [])]
    assert {"property": "concept", "op": "is-a", "value": "A02BC"} in filters
    assert (RXNORM, "198051") in {(c["system"], c["code"]) for c in ppi["expansion"]["contains"]}


def test_the_local_code_system_lists_the_fact_codes(exported):
    facts = next(r for r in exported if r["resourceType"] == "CodeSystem")
    assert facts["url"] == FACTS_SYSTEM and facts["count"] == len(facts["concept"])
    assert {"vegan-diet", "severe-case", "neuropathy-response"} <= {c["code"] for c in facts["concept"]}


def test_the_command_writes_a_bundle_or_one_file_per_resource(tmp_path):
    result = CliRunner().invoke(main, ["export-valuesets", "-o", str(tmp_path / "vs.json")])
    assert result.exit_code == 0, result.output
    bundle = json.loads((tmp_path / "vs.json").read_text())
    assert bundle["resourceType"] == "Bundle" and len(bundle["entry"]) > 20
    result = CliRunner().invoke(main, ["export-valuesets", "-o", str(tmp_path / "out") + "/"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "CodeSystem-b12kg-facts.json").is_file()


def test_generated_drug_codes_all_have_a_source():
    """b12kg check's source check: no code of the generated drug table lacks a source (the
    hand-written pack files' codes are reported as a note until they carry theirs)."""
    missing = codes_without_source(load_knowledge())
    assert not [f for f in missing if "b12-drug-codes.ttl" in f.value]
    assert all(f.property == "dct:source" for f in missing)
