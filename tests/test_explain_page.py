"""The explanation as a reviewer reads it (issues 20 and 22): gathered from the assessment's view of
its chunk's store, so a patient explained in a chunk of several reads exactly as when assessed alone;
contract v3 in the page (follow-up results, overdue, record, safety warnings); the facts that place the
patient in the population marked as used; facts the guideline does not read summarised by type; every
section in the section links; every fact id a link; drugs and tests named by their display text."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import pytest

from b12kg.render.explain import explain, render

ROOT = Path(__file__).resolve().parent
CASES = ROOT / "cases"
AS_OF = date(2026, 11, 24)
SYNTHEA = next(p for p in (ROOT / "realworld" / "synthea").glob("Dirk_Kuhlman_*.json") if not p.name.endswith(".expected.json"))
UNTREATED = CASES / "b12" / "combo-untreated-since-june-vegan-metformin.json"
ON_THERAPY = CASES / "b12" / "escalate-to-parenteral-not-im-already-running.json"  # oral then IM B12, a worsened response
CONTRADICTION = CASES / "interactions" / "contradiction-fires-could-become-pregnant-folic-acid-0_4-mg.json"
STARTED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?")


class _Page(HTMLParser):
    """Ids, links and the open elements' ids around each text (to tell where a string stands)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.link_texts: dict[str, list[str]] = {}
        self._href: str | None = None
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append(tag)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "a":
            self._href = attributes.get("href") or ""
            self.links.append(self._href)

    def handle_endtag(self, tag):
        if tag == "a":
            self._href = None

    def handle_data(self, data):
        if self._href is not None:
            self.link_texts.setdefault(data.strip(), []).append(self._href)


def _page(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def _section(page: str, anchor: str) -> str:
    start = page.index(f'<section id="{anchor}"')
    return page[start:page.index("</section>", start)]


@pytest.fixture(scope="module")
def synthea(assessor):
    return assessor.assess(SYNTHEA, AS_OF)


@pytest.fixture(scope="module")
def synthea_page(synthea, assessor):
    return render(synthea, assessor.knowledge, "html")


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_a_patient_in_a_chunk_of_several_reads_as_when_assessed_alone(assessor, fmt):
    """The queries join on ?patient and ?assessment: the chunk's other patients leave no trace."""
    paths = [UNTREATED, ON_THERAPY, CONTRADICTION, SYNTHEA]
    chunked = dict(assessor.assess_many(paths, AS_OF, chunk_size=len(paths)))
    for path in paths:
        view = chunked[path]
        assert len(view.of.patients) == len(paths), "the patients were not assessed in one chunk"
        alone = assessor.assess(path, AS_OF)
        assert len(alone.of.patients) == 1
        in_chunk, by_itself = (STARTED.sub("T", render(v, assessor.knowledge, fmt)) for v in (view, alone))
        assert in_chunk == by_itself, f"{path.name}: the explanation differs in a chunk"


def test_the_chunk_explanation_names_only_the_patients_own_facts(assessor):
    paths = [UNTREATED, SYNTHEA]
    chunked = dict(assessor.assess_many(paths, AS_OF, chunk_size=2))
    untreated = explain(chunked[UNTREATED], assessor.knowledge)
    names = {f.name for f in untreated.facts}
    assert "obs-b12-1" in names and not any(re.fullmatch(r"[0-9a-f-]{36}", n) for n in names)
    assert untreated.header.patient == chunked[UNTREATED].document["patient"]


def test_follow_up_results_are_shown_under_the_follow_up_and_counted_as_used(assessor):
    view = assessor.assess(ON_THERAPY, AS_OF)
    follow_up = view.document["follow_up"]
    assert follow_up["results"] and follow_up["overdue"] is True
    x = explain(view, assessor.knowledge)
    [conclusion] = x.of_kind("follow-up")
    assert [(r.measure, r.date, r.fact.name) for r in conclusion.results] == [
        (r["measure"], r["date"], r["fact"]) for r in follow_up["results"]]
    result_fact = conclusion.results[0].fact
    assert result_fact in x.used_facts and result_fact not in x.unused_facts
    assert any("on-treatment result" in u.title and u.anchor == conclusion.anchor for u in result_fact.uses)
    page = render(view, assessor.knowledge, "html")
    article = page[page.index(f'id="{conclusion.anchor}"'):]
    article = article[:article.index("</article>")]
    assert "On-treatment results" in article and f'href="#{result_fact.anchor}"' in article
    assert "overdue: the due date is before the as-of date" in article
    text = render(view, assessor.knowledge, "text")
    assert "On-treatment results (read as the follow-up)" in text and result_fact.name in text


def test_the_record_summary_names_the_therapy_and_its_records(assessor):
    view = assessor.assess(ON_THERAPY, AS_OF)
    record = view.document["record"]
    therapy = next(v for k, v in record.items() if isinstance(v, dict))  # the contract's therapy summary
    x = explain(view, assessor.knowledge)
    assert x.record.newest == record["newest_fact"] and x.record.since == therapy["since"]
    assert x.record.current is therapy["current"]
    assert sorted(f.name for f, _ in x.record.records) == sorted(therapy["based_on"])
    assert any(parenteral for _, parenteral in x.record.records) is (therapy["route"] == "parenteral")
    section = _section(render(view, assessor.knowledge, "html"), "section-record")
    assert record["newest_fact"] in section and therapy["since"] in section and ": current" in section
    for fact_id in therapy["based_on"]:
        assert f'href="#fact-{fact_id}"' in section


def test_safety_warnings_are_marked_as_such(assessor):
    view = assessor.assess(UNTREATED, AS_OF)
    safety = [r["action"] for r in view.document["recommendations"] if r.get("safety")]
    assert safety == ["urgent-untreated-deficiency"]
    x = explain(view, assessor.knowledge)
    assert [c.code for c in x.safety] == safety
    assert not [c for c in x.conclusions if c.safety and c.code not in safety]
    page = render(view, assessor.knowledge, "html")
    summary = _section(page, "section-summary")
    assert 'class="callout safety"' in summary and 'href="#conclusion-urgent-untreated-deficiency"' in summary
    article = page[page.index('id="conclusion-urgent-untreated-deficiency"') - 200:]
    assert article[:article.index("</header>")].count('class="badge safety"') == 1
    assert page.count('class="badge safety"') == 2  # the conclusion and its summary row, no other
    text = render(view, assessor.knowledge, "text")
    assert "urgent-untreated-deficiency [safety warning]" in text and "Safety warning: yes" in text


def test_the_facts_placing_the_patient_in_the_population_are_used(synthea, synthea_page, assessor):
    """Issue 22: the Condition was listed as "used by no conclusion"."""
    population = synthea.document["population"]
    assert population["in"] and population["based_on"]
    x = explain(synthea, assessor.knowledge)
    by_name = {f.name: f for f in x.facts}
    for fact_id in population["based_on"]:
        fact = by_name[fact_id]
        assert fact in x.used_facts and any(u.anchor == "section-population" for u in fact.uses)
        row = synthea_page[synthea_page.index(f'<tr class="fact" id="{fact.anchor}"'):]
        row = row[:row.index("</tr>")]
        assert 'href="#section-population"' in row and "no conclusion" not in row
        assert f'href="#{fact.anchor}"' in _section(synthea_page, "section-population")


def test_facts_the_guideline_does_not_read_are_summarised_by_type(synthea, synthea_page, assessor):
    x = explain(synthea, assessor.knowledge)
    ignored = synthea.document["ignored_facts"]
    assert len(ignored) > 300 and x.not_read_count + len(x.set_aside) == len(ignored)
    section = _section(synthea_page, "section-not-read")
    assert section.count("<details>") == len(x.not_read) <= 20
    counts = {n.resource_type: len(n.ids) for n in x.not_read if n.resource_type == "Observation"}
    assert counts["Observation"] == sum(1 for i in ignored if i.get("resourceType") == "Observation"
                                        and i["id"] not in {s.id for s in x.set_aside})
    assert f'<td class="count">{counts["Observation"]}</td>' in section
    rest = synthea_page.replace(section, "")
    assert sum(rest.count(i["id"]) > 0 for i in ignored if i["id"] not in {s.id for s in x.set_aside}) == 0, \
        "a fact not read is listed outside its summary"
    assert "a Observation with no code" not in _section(synthea_page, "section-ignored")


def test_every_section_is_in_the_section_links(assessor):
    view = assessor.assess(CONTRADICTION, date(2026, 11, 24))
    page = render(view, assessor.knowledge, "html")
    nav = page[page.index('<nav class="toc">'):page.index("</nav>")]
    targets = re.findall(r'href="#([^"]+)"', nav)
    sections = re.findall(r'<section id="([^"]+)"', page)
    assert targets == sections, "the section links are not the page's sections, in order"
    assert {"other-guidelines", "section-interactions", "section-record", "section-not-read"} <= set(sections)
    x = explain(view, assessor.knowledge)
    companions = [g for g in x.companions if g.conclusions]
    assert companions and all(g.anchor in targets for g in companions)


def test_every_fact_id_is_a_link_to_its_fact(synthea, synthea_page):
    """Every id the JSON names (conclusions, population, data quality, companions, interactions) is a link
    to an element of the page holding that fact."""
    doc = synthea.document
    named = set(doc["population"]["based_on"]) | {q["fact"] for q in doc["data_quality"] if q.get("fact")}
    named |= {f for c in [doc["b12_status"], *doc["risk_factors"], *doc["recommendations"]] for f in c["based_on"]}
    named |= {f for g in doc["guidelines"] for c in g.get("conclusions", []) for f in c["based_on"]}
    named |= {f for i in doc["interactions"] for f in i["based_on"]}
    assert len(named) >= 3
    page = _page(synthea_page)
    for fact_id in named:
        hrefs = page.link_texts.get(fact_id)
        assert hrefs, f"{fact_id} is named but never a link"
        assert all(h.startswith("#") and h[1:] in page.ids for h in hrefs), f"{fact_id}: a link to nothing"
    assert all(link.startswith("#") and link[1:] in page.ids for link in page.links)


def test_drugs_and_tests_are_named_by_their_display_text(synthea, synthea_page):
    stale = next(q["fact"] for q in synthea.document["data_quality"] if q["code"] == "stale-record")
    row = synthea_page[synthea_page.index(f'<tr class="fact" id="fact-{stale}"'):]
    row = row[:row.index("</tr>")]
    assert "Metformin hydrochloride 500 MG Extended Release Oral Tablet" in row
    assert "MedicationRequest" in row


def test_templates_and_style_sheet_are_package_data():
    folder = files("b12kg.render.explain").joinpath("templates")
    names = {item.name for item in folder.iterdir()}
    assert {"page.html.j2", "explain.css"} <= names
    assert "@import" not in folder.joinpath("explain.css").read_text(encoding="utf-8")


def test_no_module_of_the_package_is_over_400_lines():
    package = Path(files("b12kg.render.explain"))
    for module in package.glob("*.py"):
        assert len(module.read_text(encoding="utf-8").splitlines()) <= 400, module.name
