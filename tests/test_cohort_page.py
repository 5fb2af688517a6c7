"""The cohort page (b12kg report DIR --html) in headless Chromium: the counts, the plots and
the cut-offs the reviewer sees are those of the store and the ontology."""

from __future__ import annotations

import re
import subprocess

import pyoxigraph as ox

from b12kg.cohort import named

AS_OF = "2027-03-01"


def test_cohort_page_in_a_browser(browser, cohort, tmp_path, b12kg_command):
    from selenium.webdriver.common.by import By

    page = tmp_path / "cohort.html"
    done = subprocess.run([*b12kg_command, "report", str(cohort[0]), "--html", str(page), "--as-of", AS_OF],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//', html), "the page must be self-contained"
    store = ox.Store.read_only(str(cohort[0]))

    browser.get(page.as_uri())
    summary = named.rows(store, "summary")[0]
    assert f"{summary['assessments']} assessments of {summary['patients']} patients" in browser.find_element(By.ID, "summary").text

    for table_id, query, key, value in (("counts-status", "counts-by-status", "status", "patients"),
                                        ("counts-action", "counts-by-action", "action", "patients"),
                                        ("counts-risk", "counts-by-risk-factor", "riskFactor", "patients"),
                                        ("counts-data-quality", "counts-by-data-quality", "code", "assessments")):
        shown = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
                 for tr in browser.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")]
        assert [row[:2] for row in shown] == [[r[key], r[value]] for r in named.rows(store, query)], table_id

    charts = {c.get_attribute("data-chart"): c for c in browser.find_elements(By.CSS_SELECTOR, "svg[data-chart]")}
    assert set(charts) == {"bars", "histogram", "grouped-bars"}
    for chart in charts.values():
        assert chart.is_displayed() and chart.size["width"] > 300 and chart.size["height"] > 80

    bars = {b.get_attribute("data-label"): int(b.get_attribute("data-value")) for b in charts["bars"].find_elements(By.CSS_SELECTOR, "rect.bar")}
    assert bars == {r["status"]: int(r["patients"]) for r in named.rows(store, "counts-by-status")}
    widths = {b.get_attribute("data-label"): b.size["width"] for b in charts["bars"].find_elements(By.CSS_SELECTOR, "rect.bar")}
    largest = max(bars, key=bars.get)
    assert all(widths[label] <= widths[largest] for label in widths)

    cut_offs = [float(c.get_attribute("data-value")) for c in charts["histogram"].find_elements(By.CSS_SELECTOR, "line.cut-off")]
    assert cut_offs == [float(r["value"]) for r in named.rows(store, "serum-b12-cut-offs")] == [180.0, 350.0]
    assert "180 ng/L" in charts["histogram"].text and "350 ng/L" in charts["histogram"].text
    line_x = [c.location["x"] for c in charts["histogram"].find_elements(By.CSS_SELECTOR, "line.cut-off")]
    assert line_x[0] < line_x[1]
    binned = sum(int(b.get_attribute("data-value")) for b in charts["histogram"].find_elements(By.CSS_SELECTOR, "rect.bin"))
    assert binned == len(named.rows(store, "serum-b12-values"))

    overdue_bars = [int(b.get_attribute("data-value")) for b in charts["grouped-bars"].find_elements(By.CSS_SELECTOR, 'rect[data-series="overdue"]')]
    overdue = named.rows(store, "overdue-follow-ups", {"date": AS_OF})
    assert sum(overdue_bars) == len(overdue) > 0
    listed = browser.find_elements(By.CSS_SELECTOR, "#overdue tbody tr")
    assert len(listed) == len(overdue)
    assert listed[0].find_elements(By.TAG_NAME, "td")[1].text == overdue[0]["due"]
