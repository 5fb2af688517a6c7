"""The HTML explanation in a real browser: headless Chromium driven by Selenium.

A reviewer reads a conclusion, clicks its evidence and lands on the guideline statement
quoted verbatim; clicks a fact and lands on the fact with its recorded value. On a real
Synthea record the page is measured and photographed: its height, the status on the first
screen, every in-page link resolving (issue 22). Skipped, with the reason printed, when
Chromium, chromedriver or Selenium is not installed. Set B12KG_SCREENSHOTS=DIR to keep the
screenshots.
"""

from __future__ import annotations

import json
import os
import struct
from datetime import date
from pathlib import Path

import pytest

from b12kg.render.explain import render

CASES = Path(__file__).resolve().parent / "cases" / "b12"
REALWORLD = Path(__file__).resolve().parent / "realworld"
SYNTHEA_RECORDS = (  # a real Synthea record (status unknown, 408 resources not read) and a variant (confirmed, treated)
    next(p for p in (REALWORLD / "synthea").glob("Dirk_Kuhlman_*.json") if not p.name.endswith(".expected.json")),
    REALWORLD / "synthea-variants" / "dirk-kuhlman-b12-150-pg-per-ml-added-confirmed.json",
)
HEIGHT_BEFORE = 23_673
"""The page height in px of the first record at 1280 px wide before issue 22 (main 2419ecc: one row per
resource the guideline does not read; the issue measured 26,110 px on the version before)."""
AS_OF = date(2026, 11, 24)
# An indeterminate status (order MMA) and a confirmed, untreated one (oral B12, urgent, risk factors).
BROWSER_CASES = ("status-indeterminate-b12-258_3-pmol-per-l", "combo-untreated-since-june-vegan-metformin")


def _recorded_values(case: str) -> dict[str, str]:
    """The valueQuantity / dose values of the FHIR input, as the page should show them, by resource id."""
    bundle = json.loads((CASES / f"{case}.json").read_text())
    values = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        quantity = resource.get("valueQuantity") or next(
            (d.get("doseQuantity") for dosage in resource.get("dosage", []) for d in dosage.get("doseAndRate", [])), None)
        if quantity:
            values[resource["id"]] = f"{quantity['value']:g} {quantity['code']}"
    return values


def _conclusions(doc: dict) -> list[tuple[str, dict]]:
    """(html id, contract entry) for every conclusion of the JSON assessment."""
    found = [("conclusion-b12-status", doc["b12_status"])]
    found += [(f"conclusion-{r['code']}", r) for r in doc["risk_factors"]]
    found += [(f"conclusion-{r['action']}", r) for r in doc["recommendations"]]
    return found


def _follow(driver, link) -> object:
    """Click an in-page link; the element it targets, after checking the browser went there."""
    from selenium.webdriver.common.by import By

    target_id = link.get_attribute("href").split("#", 1)[1]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", link)
    link.click()
    assert driver.current_url.endswith(f"#{target_id}")
    target = driver.find_element(By.ID, target_id)
    assert target.is_displayed()
    top = driver.execute_script("return arguments[0].getBoundingClientRect().top;", target)
    assert 0 <= top < driver.execute_script("return window.innerHeight;"), f"#{target_id} was not scrolled into view"
    return target


@pytest.mark.parametrize("case", BROWSER_CASES)
def test_each_conclusion_links_to_its_statements_and_facts(browser, assessor, tmp_path, case):
    from selenium.webdriver.common.by import By

    assessment = assessor.assess(CASES / f"{case}.json", AS_OF)
    page = tmp_path / f"{case}.html"
    page.write_text(render(assessment, assessor.knowledge, "html"), encoding="utf-8")
    browser.get(page.as_uri())
    values = _recorded_values(case)
    conclusions = _conclusions(assessment.document)
    assert len(conclusions) >= 2
    for anchor, entry in conclusions:
        browser.get(page.as_uri())
        conclusion = browser.find_element(By.ID, anchor)
        assert conclusion.is_displayed()
        assert (entry.get("value") or entry.get("code") or entry.get("action")) in conclusion.text

        for evidence in entry["evidence"]:
            links = [a for a in conclusion.find_elements(By.CSS_SELECTOR, "a.evidence-link")
                     if evidence["statement"] in a.find_element(By.XPATH, "./ancestor::blockquote").text]
            assert links, f"{anchor}: no evidence link for {evidence['statement']!r}"
            statement = _follow(browser, links[0])
            assert evidence["statement"] in statement.text
            assert f"Citation {evidence['citation']}" in statement.text
            browser.get(page.as_uri())
            conclusion = browser.find_element(By.ID, anchor)

        for fact_id in entry["based_on"]:
            link = conclusion.find_element(By.CSS_SELECTOR, f'a.fact-link[href="#fact-{fact_id}"]')
            fact = _follow(browser, link)
            assert fact_id in fact.text
            if fact_id in values:
                assert values[fact_id] in fact.text, f"{fact_id}: {values[fact_id]!r} not in {fact.text!r}"
            browser.get(page.as_uri())
            conclusion = browser.find_element(By.ID, anchor)


def test_indeterminate_page_shows_value_and_what_is_missing(browser, assessor, tmp_path):
    from selenium.webdriver.common.by import By

    case = BROWSER_CASES[0]
    assessment = assessor.assess(CASES / f"{case}.json", AS_OF)
    page = tmp_path / "indeterminate.html"
    page.write_text(render(assessment, assessor.knowledge, "html"), encoding="utf-8")
    browser.get(page.as_uri())
    status = browser.find_element(By.ID, "conclusion-b12-status")
    assert "258.3 pmol/L" in status.text and "349.9965 ng/L" in status.text and "2026-11-02" in status.text
    assert "methylmalonic acid (MMA) result" in status.find_element(By.CSS_SELECTOR, ".callout").text
    link = status.find_element(By.CSS_SELECTOR, 'a.fact-link[href="#fact-obs-b12-1"]')
    fact = _follow(browser, link)
    assert "258.3" in fact.text and "obs-b12-1" in fact.text


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


@pytest.mark.parametrize("record", SYNTHEA_RECORDS, ids=lambda p: p.name[:40])
def test_a_synthea_page_is_short_its_status_first_and_every_link_resolves(browser, assessor, tmp_path, record):
    from selenium.webdriver.common.by import By

    assessment = assessor.assess(record, AS_OF)
    page = tmp_path / "synthea.html"
    page.write_text(render(assessment, assessor.knowledge, "html"), encoding="utf-8")
    browser.set_window_size(1280, 900)
    try:
        browser.get(page.as_uri())
        height = browser.execute_script("return document.documentElement.scrollHeight;")
        assert height < HEIGHT_BEFORE / 2.5, f"the page is {height} px tall"
        assert len(assessment.document["ignored_facts"]) > 300  # what made it tall: now one row per type

        status = browser.find_element(By.CSS_SELECTOR, "#section-summary .banner")
        assert assessment.document["b12_status"]["value"] in status.text
        assert status.rect["y"] + status.rect["height"] < 900, "the status is not on the first screen"
        not_read = browser.find_element(By.ID, "section-not-read")
        assert not_read.size["height"] < 900 and all(not d.get_attribute("open") for d in not_read.find_elements(By.TAG_NAME, "details"))

        targets = browser.execute_script(
            "return [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'));")
        assert targets and all(t.startswith("#") for t in targets), "a link leaves the page"
        dangling = browser.execute_script("return arguments[0].filter(t => !document.getElementById(t.slice(1)));", targets)
        assert not dangling, f"links to nothing: {dangling[:5]}"
        nav = [a.get_attribute("href").split("#", 1)[1] for a in browser.find_elements(By.CSS_SELECTOR, "nav.toc a")]
        sections = browser.execute_script("return [...document.querySelectorAll('main section[id]')].map(s => s.id);")
        assert nav == sections

        condition = assessment.document["population"]["based_on"][0]
        link = browser.find_element(By.CSS_SELECTOR, f'#section-population a.fact-link[href="#fact-{condition}"]')
        row = _follow(browser, link)
        assert condition in row.text and "Population" in row.text and "no conclusion" not in row.text

        browser.set_window_size(1280, height)
        png = browser.get_screenshot_as_png()
        width, shot_height = _png_size(png)
        ratio = browser.execute_script("return window.devicePixelRatio;")
        inner = browser.execute_script("return [window.innerWidth, window.innerHeight];")
        assert (width, shot_height) == (round(inner[0] * ratio), round(inner[1] * ratio))
        assert inner[1] >= height * 0.95, "the screenshot does not hold the whole page"
        assert len(png) > 50_000, "a blank screenshot"
        keep = os.environ.get("B12KG_SCREENSHOTS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            (Path(keep) / f"{record.stem}.png").write_bytes(png)
            print(f"{record.name}: {height} px tall, screenshot {Path(keep) / f'{record.stem}.png'}")
    finally:
        browser.set_window_size(1280, 900)
