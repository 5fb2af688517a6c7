"""The HTML explanation in a real browser: headless Chromium driven by Selenium.

A reviewer reads a conclusion, clicks its evidence and lands on the guideline statement
quoted verbatim; clicks a fact and lands on the fact with its recorded value. Skipped,
with the reason printed, when Chromium, chromedriver or Selenium is not installed.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from b12kg.render.explain import render

CASES = Path(__file__).resolve().parent / "cases"
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
