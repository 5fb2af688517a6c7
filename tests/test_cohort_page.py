"""The cohort page (b12kg report DIR --html) in headless Chromium: the counts, the plots and
the cut-offs the reviewer sees are those of the store and the ontology."""

from __future__ import annotations

import re
import subprocess

import pyoxigraph as ox

from b12kg.cohort import named, svg

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
    assert set(charts) == {"bars", "histogram", "stacked-bars"}
    for chart in charts.values():
        assert chart.is_displayed() and chart.size["width"] > 300 and chart.size["height"] > 80
        assert chart.find_elements(By.CSS_SELECTOR, "text.tick"), "labelled axes"

    statuses = named.rows(store, "counts-by-status")
    bar_elements = charts["bars"].find_elements(By.CSS_SELECTOR, "rect.bar")
    bars = {b.get_attribute("data-label"): int(b.get_attribute("data-value")) for b in bar_elements}
    assert bars == {r["status"]: int(r["patients"]) for r in statuses}
    widths = {b.get_attribute("data-label"): b.size["width"] for b in bar_elements}
    largest = max(bars, key=bars.get)
    assert all(widths[label] <= widths[largest] for label in widths)
    fills = {b.get_attribute("data-label"): b.get_attribute("fill") for b in bar_elements}
    priority = {r["status"]: r["priority"] for r in statuses}  # from the ontology (gm:priority), not the row order
    assert priority["confirmed"] == "alert" and fills["confirmed"] in svg.PRIORITY_COLOURS["alert"]
    assert priority["unlikely"] == "reassuring" and fills["unlikely"] in svg.PRIORITY_COLOURS["reassuring"]
    assert priority["indeterminate"] == "caution" and fills["indeterminate"] in svg.PRIORITY_COLOURS["caution"]

    cut_offs = [float(c.get_attribute("data-value")) for c in charts["histogram"].find_elements(By.CSS_SELECTOR, "line.cut-off")]
    assert cut_offs == [float(r["value"]) for r in named.rows(store, "serum-b12-cut-offs")] == [180.0, 350.0]
    assert "180 ng/L" in charts["histogram"].text and "350 ng/L" in charts["histogram"].text
    assert "deciding serum B12 (ng/L)" in charts["histogram"].text and "patients" in charts["histogram"].text
    line_x = [c.location["x"] for c in charts["histogram"].find_elements(By.CSS_SELECTOR, "line.cut-off")]
    assert line_x[0] < line_x[1]
    bins = charts["histogram"].find_elements(By.CSS_SELECTOR, "g.bin")
    ranges = [b.get_attribute("data-range") for b in bins]
    assert any(r.startswith("180-") for r in ranges) and any(r.startswith("350-") for r in ranges)  # bins start at the cut-offs
    values = named.rows(store, "serum-b12-values")
    assert sum(int(b.get_attribute("data-value")) for b in bins) == len(values)
    parts: dict[str, int] = {}
    for part in charts["histogram"].find_elements(By.CSS_SELECTOR, "rect.part"):
        parts[part.get_attribute("data-category")] = parts.get(part.get_attribute("data-category"), 0) + int(part.get_attribute("data-value"))
    expected: dict[str, int] = {}
    for row in values:
        expected[row["status"]] = expected.get(row["status"], 0) + 1
    assert parts == expected  # each bar divided by the status each patient was given

    months = named.rows(store, "follow-ups-by-month", {"date": AS_OF})
    overdue = named.rows(store, "overdue-follow-ups", {"date": AS_OF})
    stacked = charts["stacked-bars"]
    overdue_bars = [int(b.get_attribute("data-value")) for b in stacked.find_elements(By.CSS_SELECTOR, 'rect[data-series="overdue"]')]
    rest = [int(b.get_attribute("data-value")) for b in stacked.find_elements(By.CSS_SELECTOR, 'rect[data-series="due, not overdue"]')]
    assert sum(overdue_bars) == len(overdue) > 0
    assert [a + b for a, b in zip(overdue_bars, rest, strict=True)] == [int(r["due"]) for r in months]  # overdue is part of due
    listed = browser.find_elements(By.CSS_SELECTOR, "#overdue tbody tr")
    assert len(listed) == len(overdue)
    assert listed[0].find_elements(By.TAG_NAME, "td")[1].text == overdue[0]["due"]

    untreated = named.rows(store, "untreated-deficiency")  # a section the B12 pack's query asks for (# page:)
    assert browser.find_element(By.ID, "untreated-deficiency").find_element(By.TAG_NAME, "caption").text.endswith(f"({len(untreated)})")
    title = next(g["title"] for g in named.rows(store, "guidelines") if g["primary"] == "true")
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Cohort: {title}"


def test_histogram_bins_start_at_the_cut_offs_and_respect_their_comparators():
    edges = svg.bin_edges([180.0, 350.0], 1050.0, 25.0)
    assert 180.0 in edges and 350.0 in edges and edges[0] == 0.0 and edges[-1] == 1050.0
    comparators = {180.0: "<", 350.0: "<="}  # < 180: confirmed; <= 350: indeterminate (the B12 table as recorded)
    at_180, at_350 = svg.bin_of(180.0, edges, comparators), svg.bin_of(350.0, edges, comparators)
    assert edges[at_180] == 180.0  # 180 is not below 180: the bin that starts there
    assert edges[at_350 + 1] == 350.0  # 350 is at most 350: the bin that ends there
    assert edges[svg.bin_of(179.9, edges, comparators) + 1] == 180.0
    assert svg.bin_of(5000.0, edges, comparators) == len(edges) - 2  # the last bin is open
    assert svg.bin_of(-1.0, edges, comparators) == 0
    html = svg.histogram("t", [(180.0, "indeterminate"), (179.0, "confirmed")], [(180.0, "<", "< 180")], "x",
                         {"confirmed": "#d92d20", "indeterminate": "#f5a524"}, upper=400.0)
    assert 'data-range="180-' in html and 'data-category="indeterminate" data-value="1"' in html


def test_axis_ticks_are_round_and_cover_the_top():
    assert svg.ticks(98) == [0, 20, 40, 60, 80, 100]
    assert svg.ticks(3) == [0, 1, 2, 3]
    assert svg.ticks(0) == [0.0, 1.0]
    assert svg.ticks(1050, 8)[-1] >= 1050
