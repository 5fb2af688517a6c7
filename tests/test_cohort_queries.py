"""The named population queries over a cohort store agree with the JSON assessments of
the same batch (computed here independently of the queries), and the `b12kg cohort` command."""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import pyoxigraph as ox
import pytest

from b12kg.cohort import named
from b12kg.errors import InputRejected


@pytest.fixture(scope="module")
def store(cohort):
    return ox.Store.read_only(str(cohort[0]))


def latest(documents: dict) -> dict[str, dict]:
    """Each patient's latest assessment document."""
    found: dict[str, dict] = {}
    for (patient, _as_of), doc in sorted(documents.items(), key=lambda item: item[0][1]):
        found[patient] = doc
    return found


def with_action(documents, action) -> set[str]:
    return {p for p, d in latest(documents).items() if any(r["action"] == action for r in d["recommendations"])}


def test_every_named_query_has_a_header_and_passes_the_user_query_check():
    from b12kg.query import prepare_user_query

    queries = named.named_queries()
    assert len(queries) >= 10
    for query in queries.values():
        assert query.answers and "rec" in query.header and "columns" in query.header, query.name
        assert "params" in query.header or query.params, query.name
        prepare_user_query(query.text, query.name)
        for param in query.params:  # a parameter is projected, so substitution can bind it
            assert f"?{param.name}" in query.text.split("WHERE", 1)[0], (query.name, param.name)


def test_counts(store, cohort):
    docs = latest(cohort[1])
    assert {r["status"]: int(r["patients"]) for r in named.rows(store, "counts-by-status")} == Counter(
        d["b12_status"]["value"] for d in docs.values())
    assert {r["action"]: int(r["patients"]) for r in named.rows(store, "counts-by-action")} == Counter(
        a for d in docs.values() for a in {r["action"] for r in d["recommendations"]}
        | {c["action"] for g in d.get("guidelines", []) for c in g.get("conclusions", []) if c.get("kind") == "action"})
    assert {r["riskFactor"]: int(r["patients"]) for r in named.rows(store, "counts-by-risk-factor")} == Counter(
        c for d in docs.values() for c in {r["code"] for r in d["risk_factors"]})


def test_latest_assessment_only(store, cohort):
    """The example patient was assessed twice: only the later assessment counts."""
    statuses = named.rows(store, "counts-by-status")
    assert sum(int(r["patients"]) for r in statuses) == len(latest(cohort[1])) == len(cohort[1]) - 1


def test_untreated_folic_acid_and_awaiting_mma(store, cohort):
    docs = cohort[1]
    untreated = named.rows(store, "untreated-deficiency")
    assert {r["patientId"] for r in untreated} == with_action(docs, "urgent-untreated-deficiency")
    assert all(r["status"] in ("confirmed", "functional") and r["deficientSince"] < r["asOf"] for r in untreated)
    folic = named.rows(store, "folic-acid-without-b12")
    assert {r["patientId"] for r in folic} == with_action(docs, "avoid-folic-acid-alone")
    assert all(float(r["dailyDoseMg"]) > 0.1 for r in folic if "dailyDoseMg" in r)  # no dose: the warning with dose-unknown (contract 3, v3)
    unknown_dose = {r["patientId"] for r in folic if "dailyDoseMg" not in r}
    assert unknown_dose and all(any(n["code"] == "dose-unknown" for n in latest(docs)[p]["data_quality"]) for p in unknown_dose)
    waiting = named.rows(store, "awaiting-mma")
    assert {r["patientId"] for r in waiting} == {p for p, d in latest(docs).items() if d["b12_status"]["value"] == "indeterminate"}
    assert all(180 <= float(r["serumB12"]) <= 350 for r in waiting if "serumB12" in r)


def test_metformin_without_recent_b12(store):
    assert [r["patientId"] for r in named.rows(store, "metformin-without-recent-b12")] == ["metformin-no-recent-b12"]
    row = named.rows(store, "metformin-without-recent-b12", {"window": "P12M"})[0]
    assert (row["window"], row["metforminSince"], row["lastSerumB12"]) == ("P1Y", "2020-05-01", "2025-06-01")
    assert named.rows(store, "metformin-without-recent-b12", {"window": "P24M"}) == []


def test_overdue_follow_ups(store, cohort):
    docs = latest(cohort[1])
    rows = named.rows(store, "overdue-follow-ups", {"date": "2027-03-01"})
    due_before = {p: d["follow_up"]["due"] for p, d in docs.items() if d["follow_up"] and d["follow_up"]["due"] < "2027-03-01"}
    assert rows and all(r["date"] == "2027-03-01" for r in rows)
    assert {r["patientId"]: r["due"] for r in rows}.items() <= due_before.items()
    # those left out have a serum B12 on or after the due date (then the follow-up was done)
    left_out = set(due_before) - {r["patientId"] for r in rows}
    for patient in left_out:
        assert list(store.query(
            "PREFIX pt: <https://w3id.org/b12kg/patient#> PREFIX b12: <https://w3id.org/b12kg/b12#> "
            "SELECT ?id ?due ?d { GRAPH ?g { ?p pt:fhirId ?id . ?b12 pt:subject ?p ; pt:measures b12:analyte-serum-b12 ; pt:effectiveDate ?d } "
            "FILTER(?d >= ?due) }",
            substitutions={ox.Variable("id"): ox.Literal(patient), ox.Variable("due"): ox.Literal(due_before[patient], datatype=ox.NamedNode(
                "http://www.w3.org/2001/XMLSchema#date"))})), patient
    months = named.rows(store, "follow-ups-by-month", {"date": "2027-03-01"})
    assert {r["month"]: int(r["due"]) for r in months} == Counter(d["follow_up"]["due"][:7] for d in docs.values() if d["follow_up"])
    assert sum(int(r["overdue"]) for r in months) == len(rows)
    assert named.rows(store, "overdue-follow-ups", {"date": "1990-01-01"}) == []
    # contract 2 (v3): the query asked on a patient's as-of date finds exactly the follow-ups the JSON marks overdue
    for as_of in {d["as_of"] for d in docs.values()}:
        patients = {p for p, d in docs.items() if d["as_of"] == as_of}
        flagged = {r["patientId"] for r in named.rows(store, "overdue-follow-ups", {"date": as_of})} & patients
        assert flagged == {p for p in patients if (docs[p]["follow_up"] or {}).get("overdue")}, as_of


def test_data_quality_and_serum_b12(store, cohort):
    issues = named.rows(store, "data-quality-issues")
    def fact_id(fact):  # the JSON names a fact Type/id where its id is shared by another resource type
        return fact.split("/", 1)[1] if fact and "/" in fact and ":" not in fact else fact

    expected = sorted((d["patient"], as_of, e["code"], fact_id(e["fact"]), e["detail"])
                      for (_, as_of), d in cohort[1].items() for e in d["data_quality"])
    assert len(expected) >= 5  # the cases hold censored results, values from text, unknown doses...
    assert sorted((r["patientId"], r["asOf"], r["code"], r.get("fact"), r.get("detail")) for r in issues) == expected
    per_code: dict[str, list] = {}
    for (patient, as_of), d in cohort[1].items():
        for entry in d["data_quality"]:
            per_code.setdefault(entry["code"], []).append((patient, as_of))
    assert {r["code"]: (int(r["assessments"]), int(r["entries"])) for r in named.rows(store, "counts-by-data-quality")} == {
        code: (len(set(found)), len(found)) for code, found in per_code.items()}
    values = sorted((r["status"], float(r["serumB12"])) for r in named.rows(store, "serum-b12-values"))
    assert values == sorted((d["b12_status"]["value"], d["b12_status"]["serum_b12_ng_per_l"]) for d in latest(cohort[1]).values()
                            if d["b12_status"]["serum_b12_ng_per_l"] is not None)
    assert [float(r["value"]) for r in named.rows(store, "serum-b12-cut-offs")] == [180.0, 350.0]


@pytest.mark.parametrize(("name", "params", "message"), [
    ("overdue-follow-ups", {"date": "2027-02-30"}, "not a calendar date"),
    ("overdue-follow-ups", {"date": '2027-01-01"^^<x> } #'}, "not an xsd:date"),
    ("overdue-follow-ups", {"when": "2027-01-01"}, "no parameter 'when'"),
    ("metformin-without-recent-b12", {"window": "12 months"}, "not an xsd:yearMonthDuration"),
    ("no-such-query", {}, "no named query"),
])
def test_bad_parameters_are_refused(store, name, params, message):
    with pytest.raises(InputRejected, match=message):
        named.rows(store, name, params)


def test_cohort_command(cohort, b12kg_command):
    done = subprocess.run([*b12kg_command, "cohort", str(cohort[0]), "counts-by-status", "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    counts = {b["status"]["value"]: int(b["patients"]["value"]) for b in json.loads(done.stdout)["results"]["bindings"]}
    assert counts == Counter(d["b12_status"]["value"] for d in latest(cohort[1]).values())
    done = subprocess.run([*b12kg_command, "cohort", str(cohort[0]), "overdue-follow-ups", "--param", "date=2027-3-1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "not an xsd:date" in done.stderr
    done = subprocess.run([*b12kg_command, "cohort", str(cohort[0])], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "overdue-follow-ups" in done.stdout and "--param date=" in done.stdout


def test_cohort_output_is_safe_for_terminals_and_spreadsheets():
    """Issue 18, defect 16: a value could write raw control characters to the terminal (and
    forge a line), and CSV passed =HYPERLINK(...) through to spreadsheets."""
    from b12kg.cli.cohort import render_rows

    store = ox.Store()
    hostile = '"x\\u001b[2J\\nSTATUS: no deficiency"'
    formula = '"=HYPERLINK(\\"https://evil.example\\",\\"open\\")"'
    query = f'SELECT ?v ?n WHERE {{ VALUES (?v ?n) {{ ({hostile} "-5") ({formula} "+1") ("@SUM(A1)" "ok") }} }}'
    table = render_rows(store.query(query), "table")
    assert "\x1b" not in table and "\\x1b" in table
    assert "\nSTATUS: no deficiency" not in table and len(table.splitlines()) == 2 + 3 + 1
    csv_text = render_rows(store.query(query), "csv")
    assert "'=HYPERLINK(" in csv_text and "'@SUM(A1)" in csv_text
    assert ",-5\r\n" in csv_text and ",+1\r\n" in csv_text  # numbers stay numbers
    assert "\n=" not in csv_text and ",=" not in csv_text
    tsv_text = render_rows(store.query(query), "tsv")
    assert "'=HYPERLINK(" in tsv_text and "\t=" not in tsv_text
