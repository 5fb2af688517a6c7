"""The reviewer-facing explanation (b12kg.render.explain): text, Markdown and the HTML page.

The explanations must name the exact facts used (values, units, dates, ids), quote the
guideline verbatim, say what is missing, list ignored facts, and the HTML page must be
self-contained (no script, no external link) with every patient string escaped.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from b12kg.render.explain import FORMATS, render

CASES = Path(__file__).resolve().parent / "cases" / "b12"
AS_OF = date(2026, 11, 24)
INDETERMINATE = "status-indeterminate-b12-258_3-pmol-per-l"
UNTREATED = "combo-untreated-since-june-vegan-metformin"
NO_BASELINE = "order-serum-b12-fires-only-b12-after-as-of"
FUNCTIONAL = "combo-functional-ataxia-crohns-ppi-folic-acid-neuralgia"
TABLE = ("B12 Level Interpretation <180 ng/L Confirmed deficiency 180-350 ng/L Indeterminate (requires MMA testing) "
         ">350 ng/L Unlikely deficiency")


@pytest.fixture(scope="module")
def explained(assessor):
    """explained(case, fmt) -> (explanation, contract JSON), each case assessed once."""
    assessed: dict[str, object] = {}

    def get(case: str, fmt: str) -> tuple[str, dict]:
        if case not in assessed:
            assessed[case] = assessor.assess(CASES / f"{case}.json", AS_OF)
        assessment = assessed[case]
        return render(assessment, assessor.knowledge, fmt), assessment.document

    return get


def _sections(out: str) -> dict[str, str]:
    """The explanation's sections by heading (a text line underlined with =, - or ~; a Markdown # line)."""
    sections: dict[str, str] = {}
    lines = out.splitlines()
    title = ""
    for i, line in enumerate(lines):
        underlined = i + 1 < len(lines) and re.fullmatch(r"[=~-]{3,}", lines[i + 1] or "x")
        if line.startswith("#") or underlined:
            title = line.lstrip("# ")
            sections[title] = ""
        elif not re.fullmatch(r"[=~-]{3,}", line):
            sections[title] = sections.get(title, "") + line + "\n"
    return sections


def _section(out: str, title: str) -> str:
    sections = _sections(out)
    assert title in sections, f"no section {title!r} in {list(sections)}"
    return sections[title]


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_indeterminate_names_the_value_used_and_the_missing_mma(explained, fmt):
    out, _ = explained(INDETERMINATE, fmt)
    status = _section(out, "B12 status: indeterminate")
    for expected in ("obs-b12-1", "258.3 pmol/L", "349.9965 ng/L", "effective 2026-11-02", "LOINC 14685-2",
                     TABLE, "citation table", "derive/status-indeterminate.rq",
                     "https://w3id.org/b12kg/rule/status-indeterminate",
                     "Rests on the absence of a methylmalonic acid (MMA) result within 90 days of the serum B12",
                     "Would change or be resolved with a methylmalonic acid (MMA) result (LOINC 13964-2)",
                     "< 180 ng/L", "<= 350 ng/L"):
        assert expected in status, f"{expected!r} missing from the status explanation:\n{status}"
    mma = _section(out, "Recommendation: order-mma")
    assert "methylmalonic acid (MMA) result (LOINC 13964-2)" in mma and "258.3 pmol/L" in mma


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_header_names_patient_date_guideline_software_reasoner_and_input_hash(explained, fmt):
    out, doc = explained(INDETERMINATE, fmt)
    header = next(iter(_sections(out).values()))
    digest = hashlib.sha256((CASES / f"{INDETERMINATE}.json").read_bytes()).hexdigest()
    for expected in (doc["patient"], "2026-11-24", "Treatment of Peripheral Neuropathy with Mildly Low Vitamin B12",
                     f"version {doc['guideline']['version']}", "b12kg ", "compiled", digest):
        assert expected in header, f"{expected!r} missing from the header:\n{header}"


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_treatment_conclusions_name_each_fact_with_its_value_and_date(explained, fmt):
    out, _ = explained(UNTREATED, fmt)
    urgent = _section(out, "Recommendation: urgent-untreated-deficiency")
    assert "obs-b12-1" in urgent and "165 pg/mL" in urgent and "effective 2026-06-01" in urgent
    assert "obs-b12-2" in urgent and "170 pg/mL" in urgent and "effective 2026-11-10" in urgent
    assert "left untreated for >3 months" in urgent and "citation 2" in urgent
    metformin = _section(out, "Risk factor: metformin-over-4-months")
    assert "med-metformin" in metformin and "started 2020-05-01" in metformin and "850 mg" in metformin
    assert "metformin use for more than 4 months" in metformin
    follow_up = _section(out, "Follow-up: follow-up-3-months")
    assert "2027-02-24" in follow_up and "serum-b12, mma, homocysteine, neurological-symptoms" in follow_up
    assert "No missing fact is recorded for this conclusion." in follow_up


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_no_baseline_says_a_serum_b12_is_missing_and_lists_the_ignored_fact(explained, fmt):
    out, _ = explained(NO_BASELINE, fmt)
    status = _section(out, "B12 status: unknown")
    assert "serum B12 result (LOINC 2132-9 or 14685-2) taken off B12 therapy" in status
    ignored = _section(out, "Ignored facts")
    assert "obs-b12-1" in ignored and "dated 2026-12-01, after the as-of date 2026-11-24" in ignored
    assert "150 pg/mL" in ignored


@pytest.mark.parametrize("case", [INDETERMINATE, UNTREATED, NO_BASELINE, FUNCTIONAL])
@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_every_conclusion_of_the_contract_is_explained(explained, case, fmt):
    out, doc = explained(case, fmt)
    assert f"B12 status: {doc['b12_status']['value']}" in out
    for risk in doc["risk_factors"]:
        assert f"Risk factor: {risk['code']}" in out
    for rec in doc["recommendations"]:
        assert f": {rec['action']}" in out
        for evidence in rec["evidence"]:
            assert evidence["statement"] in out


class _Page(HTMLParser):
    """The tags, ids and links of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.append(attributes["id"])
        self.links += [value or "" for name, value in attrs if name in ("href", "src", "action", "srcset")]


def _page(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


@pytest.mark.parametrize("case", [INDETERMINATE, UNTREATED, NO_BASELINE, FUNCTIONAL])
def test_html_is_self_contained_with_links_only_within_the_page(explained, case):
    out, _ = explained(case, "html")
    assert "<script" not in out.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:|//)""", out, re.IGNORECASE)
    assert "@import" not in out and "url(" not in out
    page = _page(out)
    assert not {"script", "link", "iframe", "img", "object", "embed"} & set(page.tags)
    assert len(page.ids) == len(set(page.ids)), "duplicate ids"
    assert page.links and all(link.startswith("#") for link in page.links), page.links
    assert {link[1:] for link in page.links} <= set(page.ids), "a link points to no element"


def test_html_has_stable_anchors_for_conclusions_rules_statements_and_facts(explained):
    out, _ = explained(INDETERMINATE, "html")
    ids = set(_page(out).ids)
    assert {"conclusion-b12-status", "conclusion-order-mma", "rule-status-indeterminate", "rule-order-mma",
            "statement-stmt-interpretation-table", "fact-obs-b12-1", "fact-cond-pn"} <= ids
    assert 'href="#statement-stmt-interpretation-table"' in out and 'href="#fact-obs-b12-1"' in out


def test_html_escapes_patient_supplied_strings(assessor, tmp_path):
    patient = tmp_path / "evil.ttl"
    patient.write_text("""
@prefix pt:  <https://w3id.org/b12kg/patient#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix loinc: <https://loinc.org/> .
@prefix p: <https://example.org/native/evil/> .
p:patient a pt:Patient ; pt:fhirId "<b onclick=x()>pat</b>" .
p:b12 a pt:Observation ; pt:subject p:patient ; pt:status "final" ; pt:fhirId "<script>alert(1)</script>" ;
    pt:code loinc:2132-9 ; pt:effectiveDate "2026-11-10"^^xsd:date ; pt:value 265.0 ; pt:unit "pg/mL" .
p:later a pt:Observation ; pt:subject p:patient ; pt:status "final" ; pt:fhirId "<img src=https://x.test/y.png>" ;
    pt:code loinc:2132-9 ; pt:effectiveDate "2026-12-10"^^xsd:date ; pt:value 100.0 ; pt:unit "pg/mL" .
""", encoding="utf-8")
    assessment = assessor.assess(patient, AS_OF)
    out = render(assessment, assessor.knowledge, "html")
    assert "<script" not in out and "<img" not in out and "<b " not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out and "&lt;img src=https://x.test/y.png&gt;" in out
    assert set(_page(out).tags) <= {"html", "head", "meta", "title", "style", "body", "div", "header", "p", "h1", "h2",
                                    "h3", "h4", "dl", "dt", "dd", "br", "code", "strong", "nav", "a", "main", "section",
                                    "blockquote", "footer", "table", "thead", "tbody", "tr", "th", "td", "span",
                                    "article", "ul", "li", "details", "summary"}
    markdown = render(assessment, assessor.knowledge, "markdown")
    assert not re.search(r"(?<!\\)<(?:script|img|b )", markdown), "an unescaped tag in the Markdown"
    assert "\\<script\\>alert(1)\\</script\\>" in markdown


def test_unknown_format_is_refused(explained, assessor):
    assessment = assessor.assess(CASES / f"{INDETERMINATE}.json", AS_OF)
    assert FORMATS == ("text", "markdown", "html")
    with pytest.raises(ValueError, match="unknown explanation format"):
        render(assessment, assessor.knowledge, "pdf")


def test_explanation_discloses_the_guideline_source_attributes(assessor):
    """HTI-1-style source attributes: stated, with unknowns said to be unknown."""
    from datetime import date as _date
    from pathlib import Path as _Path

    from b12kg.render.explain import render

    example = _Path(__file__).resolve().parent.parent / "examples" / "ex1-confirmed-oral.json"
    result = assessor.assess(example, _date(2026, 11, 24))
    text = render(result, assessor.knowledge, "text")
    assert "Funding source: unknown" in text
    # contract 5 (v3): the population is adults, so the birth date is read; sex is not
    assert "Demographic inputs used: date of birth / age" in text and "sex" in text.split("Demographic inputs not used:")[1]
    page = render(result, assessor.knowledge, "html")
    assert 'id="section-source"' in page and 'href="#section-source"' in page
