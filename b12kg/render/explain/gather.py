"""Gathering the explanation model from one assessment: the rows of queries/report/explain-*.rq,
each run once over the chunk's store with the patient and the assessment bound (PatientView.select),
grouped into the dataclasses of model.py. No second store, no query over another patient's facts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import printable
from ...knowledge import Knowledge
from ...namespaces import GM, GRAPH, PT
from .guidelines import guidelines, interactions
from .model import (
    Check,
    Code,
    Conclusion,
    Explanation,
    Fact,
    Header,
    NotRead,
    Population,
    Quality,
    Record,
    Result,
    Rule,
    Section,
    SetAside,
    Statement,
    Threshold,
)
from .rows import Anchors, Reader, fact_order, local

if TYPE_CHECKING:
    from ...dataset import PatientView

KINDS = (("status", ""), ("risk", "Risk factor"), ("action", "Recommendation"), ("follow-up", "Follow-up"))
"""The primary guideline's conclusion kinds, in the page's order, with their labels (the status's is the
guideline's gm:statusLabel)."""
SECTION_TITLES = {"risk": "Risk factors", "action": "Recommendations", "follow-up": "Follow-up"}
_CODE_ROLES = {str(PT.code): "code", str(PT.valueCode): "value", str(PT.route): "route", str(PT.codeText): "coding"}
_LINKS = {str(GM.basedOn): "facts", str(GM.evidence): "statements", str(GM.comparedWith): "thresholds",
          str(GM.measure): "measures", str(GM.restsOnAbsenceOf): "rests_on", str(GM.wouldChangeWith): "would_change"}
_FACT_VALUES = ("value", "unit", "canonicalValue", "canonicalUnit", "effectiveDate", "startDate", "endDate",
                "status", "clinicalStatus", "verificationStatus", "dailyDose", "dailyDoseUnit")
_SOURCE_FIELDS = (("citation", "Bibliographic citation"), ("sourceDeveloper", "Developer of the source"),
                  ("interventionDeveloper", "Developer of the intervention"), ("funding", "Funding source"),
                  ("released", "Release date"), ("revised", "Revision date"))


def _header(found: list[dict[str, str]], fallback: str, short_title: str) -> Header:
    first = found[0] if found else {}
    return Header(
        patient=first.get("patientId") or first.get("patient") or fallback, as_of=first.get("asOf", ""),
        guideline=first.get("guideline", ""), guideline_title=first.get("guidelineTitle", ""),
        guideline_version=first.get("guidelineVersion", ""),
        ontology_versions=tuple(sorted({r["versionIri"] for r in found if "versionIri" in r})),
        software=first.get("software", ""), reasoner=first.get("reasoner", ""), input_file=first.get("inputFile", ""),
        input_sha256=first.get("inputSha256", ""), started=first.get("started", ""), short_title=short_title)


def _quantity(value: str | None, unit: str | None) -> str:
    if value is None:
        return ""
    return f"{value} {unit}" if unit else value


def _dose(row: dict[str, str]) -> str:
    dose = _quantity(row.get("doseValue"), row.get("doseUnit")) or "dose not recorded"
    if "frequency" in row or "period" in row:
        dose += f", {row.get('frequency', '1')} per {_quantity(row.get('period', '1'), row.get('periodUnit'))}"
    return dose


def _facts(read: Reader, anchors: Anchors) -> dict[str, Fact]:
    facts: dict[str, Fact] = {}
    for row in sorted(read("facts"), key=lambda r: (r["fact"], r["graph"])):
        fact = facts.get(row["fact"])
        if fact is None:
            fact = facts[row["fact"]] = Fact(
                iri=row["fact"], anchor=anchors("fact", row.get("fhirId") or local(row["fact"])),
                name=row.get("fhirId") or row["fact"], resource_type=row.get("resourceType", ""),
                ignored=row["graph"] == str(GRAPH["ignored"]), values={})
        for key in _FACT_VALUES:
            if key in row:
                fact.values.setdefault(key, row[key])
    for row in sorted(read("fact-codes"), key=lambda r: (r["property"], r["concept"])):
        if row["fact"] in facts:
            facts[row["fact"]].codes.append(Code(role=_CODE_ROLES[row["property"]], label=row.get("label"),
                                                 system=row.get("system"), code=row.get("code") or row["concept"]))
    for row in sorted(read("fact-doses"), key=lambda r: r["dosage"]):
        if row["fact"] in facts:
            facts[row["fact"]].doses.append(_dose(row))
    for row in sorted(read("fact-texts"), key=lambda r: (len(r["text"]), r["text"])):
        if row["fact"] in facts and row["text"] not in facts[row["fact"]].texts:
            facts[row["fact"]].texts.append(row["text"])
    return facts


def _rules(read: Reader, anchors: Anchors) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for row in sorted(read("rules"), key=lambda r: (r["rule"], r.get("window", ""))):
        rule = rules.get(row["rule"])
        if rule is None:
            rule = rules[row["rule"]] = Rule(
                iri=row["rule"], anchor=anchors("rule", local(row["rule"])), label=row.get("label") or local(row["rule"]),
                query=row.get("query"), stage=row.get("stage"), note=row.get("note"))
        if "window" in row:
            rule.windows.append(f"{row.get('windowLabel') or local(row['window'])} ({row.get('duration', '?')})")
    return rules


def _statements(read: Reader, anchors: Anchors) -> dict[str, Statement]:
    return {r["statement"]: Statement(
        iri=r["statement"], anchor=anchors("statement", local(r["statement"])),
        handle=f"[{r['citation']}] {local(r['statement']).removeprefix('stmt-')}", text=r["text"], citation=r["citation"],
        guideline=r.get("guideline"), section=r.get("section"), level=r.get("level"), level_label=r.get("levelLabel"),
        note=r.get("note")) for r in sorted(read("statements"), key=lambda r: r["statement"])}


def _thresholds(read: Reader) -> dict[str, Threshold]:
    return {r["threshold"]: Threshold(
        iri=r["threshold"], label=r.get("label") or local(r["threshold"]), comparator=r["comparator"], value=r["value"],
        unit=r["unit"], external=r.get("external") == "true", source=r.get("source"), citation=r.get("citation"),
        guideline=r.get("guideline"), note=r.get("note")) for r in read("thresholds")}


def _conclusions(read: Reader, anchors: Anchors, rules: dict[str, Rule], status_label: str) -> list[Conclusion]:
    """Every conclusion about the patient, the primary guideline's and the companions' (told apart by
    Conclusion.guidelines), with its links resolved later by `explain`."""
    found: dict[str, dict] = {}
    for row in read("conclusions"):
        entry = found.setdefault(row["conclusion"], {**row, "guidelines": set()})
        if entry["kind"] == "finding" and row["kind"] != "finding":  # the narrower kind is the one shown
            entry.update(row)
        if "guideline" in row:
            entry["guidelines"].add(row["guideline"])
    labels = dict(KINDS) | {"status": status_label}
    conclusions = []
    for iri in sorted(found):
        row = found[iri]
        kind = "follow-up" if row["followUp"] == "true" else row["kind"]
        conclusions.append(Conclusion(
            iri=iri, anchor=anchors("conclusion", local(iri)), kind=kind, kind_label=labels.get(kind, "Finding"),
            code=row["code"], label=row.get("label"), text=row.get("text"), safety=row.get("safety") == "true",
            rule=rules[row["rule"]], stage=int(row.get("stage", 99)), guidelines=frozenset(row["guidelines"]),
            reported=(row.get("comparator", "") + row["reported"]) if row.get("reported") else None,
            reported_label=row.get("reportedLabel", ""), priority=row.get("priority", ""), due=row.get("due"),
            overdue=row.get("overdue") == "true"))
    for conclusion, row in zip(conclusions, (found[c.iri] for c in conclusions), strict=True):
        if conclusion.reported and row.get("reportedUnit"):
            conclusion.reported = f"{conclusion.reported} {row['reportedUnit']}"
    return conclusions


def _link(conclusions: dict[str, Conclusion], facts: dict[str, Fact], statements: dict[str, Statement],
          thresholds: dict[str, Threshold], read: Reader, measure_order: dict[str, int]) -> None:
    """Resolve what each conclusion rests on, and mark the facts it uses."""
    for row in sorted(read("conclusion-links"), key=lambda r: r["target"]):
        conclusion = conclusions.get(row["conclusion"])
        if conclusion is None:
            continue
        attribute, target = _LINKS[row["link"]], row["target"]
        table = {"facts": facts, "statements": statements, "thresholds": thresholds}.get(attribute)
        if table is None:
            getattr(conclusion, attribute).append(target)
        elif target in table:
            getattr(conclusion, attribute).append(table[target])
    for row in read("threshold-checks"):
        conclusion = conclusions.get(row["conclusion"])
        if conclusion is not None and row["fact"] in facts and row["threshold"] in thresholds:
            conclusion.checks.append(Check(facts[row["fact"]], thresholds[row["threshold"]], row["meets"] == "true"))
    for conclusion in conclusions.values():
        conclusion.facts.sort(key=fact_order)
        conclusion.checks.sort(key=lambda c: (c.fact.name, c.threshold.iri))
        conclusion.measures.sort(key=lambda m: (measure_order.get(m, len(measure_order)), m))
        conclusion.rule.derived.append(conclusion)
        for statement in conclusion.statements:
            statement.cited_by.append(conclusion)
        for fact in conclusion.facts:
            fact.use(conclusion.title, conclusion.anchor)


def _results(read: Reader, conclusions: dict[str, Conclusion], facts: dict[str, Fact]) -> None:
    """The on-treatment results each follow-up reads (contract v3), each fact marked as used by it."""
    for row in read("follow-up-results"):
        conclusion = conclusions.get(row["conclusion"])
        if conclusion is None:
            continue
        fact = facts.get(row["result"])
        measured = f"{row.get('comparator', '')}{_quantity(row.get('value'), row.get('unit'))}"
        value = row.get("codedLabel") or (local(row["coded"]) if "coded" in row else measured)
        conclusion.results.append(Result(measure=row["measure"], label=row.get("measureLabel") or row["measure"],
                                         order=int(row.get("order", 99)), value=value, date=row["date"], fact=fact))
        if fact is not None:
            fact.use(f"{conclusion.title}: on-treatment result", conclusion.anchor)
    for conclusion in conclusions.values():
        conclusion.results.sort(key=lambda r: (r.order, r.date, r.fact.name if r.fact else ""))


def _population(read: Reader, facts: dict[str, Fact]) -> Population | None:
    found = read("population")
    if not found:
        return None
    used = tuple(sorted({facts[r["fact"]] for r in found if r.get("fact") in facts}, key=fact_order))
    for fact in used:
        fact.use("Population", "section-population")
    patient = read.view.patient.value
    if patient in facts:  # the patient's own node: its birth and death dates place it too
        facts[patient].use("Population (the patient's dates)", "section-population")
    first = found[0]
    return Population(member=first["member"] == "true", code=first["code"], label=first.get("label") or first["code"], facts=used)


def _record(read: Reader, facts: dict[str, Fact]) -> Record | None:
    found = read("record")
    if not found:
        return None
    first = found[0]
    records = {}
    for row in sorted((r for r in found if r.get("record") in facts), key=lambda r: (r["recordStart"], r["record"])):
        records[facts[row["record"]]] = row.get("parenteral") == "true"
    therapy = first.get("kindLabel") or local(first.get("kind", "")) or "therapy"
    for fact in records:
        fact.use(f"Record: {therapy}", "section-record")
    return Record(newest=first.get("newest"), therapy=therapy, since=first.get("since"),
                  current=any(r.get("current") == "true" for r in found), records=tuple(records.items()),
                  parenteral_label=first.get("parenteralLabel", ""))


def _quality(read: Reader, facts: dict[str, Fact]) -> list[Quality]:
    notes = [Quality(code=r["code"], detail=r["detail"], fact=facts.get(r.get("fact", "")),
                     name=local(r["fact"]) if "fact" in r else None) for r in read("data-quality")]
    return sorted(notes, key=lambda q: (q.fact is not None, q.fact.name if q.fact else "", q.code, q.detail))


def _ignored(document: dict, facts: dict[str, Fact], anchors: Anchors) -> tuple[list[SetAside], list[NotRead]]:
    """The facts the loader set aside (kept in the ignored graph, listed one by one) and those the guideline
    does not read at all (only named by the loader: summarised by type and reason)."""
    by_name = {f.name: f for f in facts.values() if f.ignored}
    set_aside, groups = [], {}
    for entry in document.get("ignored_facts", []):
        name, reason = printable(str(entry["id"]), None), printable(str(entry["reason"]), None)
        kind = printable(str(entry["resourceType"]), None) if entry.get("resourceType") else None
        fact = by_name.get(name)
        if fact is not None:
            set_aside.append(SetAside(id=name, anchor=fact.anchor, resource_type=kind or fact.resource_type, reason=reason, fact=fact))
        else:
            groups.setdefault((kind or "", reason), []).append((name, anchors("fact", name)))
    not_read = [NotRead(kind, reason, tuple(ids)) for (kind, reason), ids in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0]))]
    return set_aside, not_read


def _source(found: list[dict[str, str]]) -> list[tuple[str, str]]:
    """The guideline's source attributes, then the demographic inputs used and not used."""
    if not found:
        return []
    attributes = [(label, found[0][key]) for key, label in _SOURCE_FIELDS if key in found[0]]
    used = sorted({r["input"] for r in found if "input" in r and r.get("used") == "true"})
    unused = sorted({r["input"] for r in found if "input" in r and r.get("used") == "false"})
    return [*attributes, ("Demographic inputs used", ", ".join(used) or "none"),
            ("Demographic inputs not used", ", ".join(unused) or "none")]


def explain(view: PatientView, knowledge: Knowledge) -> Explanation:
    """The explanation of one assessment, from its view of the chunk's store."""
    anchors, read = Anchors(), Reader(view, knowledge)
    status_label = knowledge.guideline_value(GM.statusLabel, "Status")
    rules = _rules(read, anchors)
    every = _conclusions(read, anchors, rules, status_label)
    statements = _statements(read, anchors)
    facts = _facts(read, anchors)
    thresholds = _thresholds(read)
    measure_order = {r["measure"]: int(r.get("order", 99)) for r in read("measures")}
    applied = guidelines(read, anchors)
    primary = {g.iri for g in applied if g.primary}
    by_iri = {c.iri: c for c in every}
    for conclusion in every:
        if conclusion.guidelines and not conclusion.guidelines & primary:
            for g in applied:
                if g.iri in conclusion.guidelines:
                    g.conclusions.append(conclusion)
    _link(by_iri, facts, statements, thresholds, read, measure_order)
    _results(read, by_iri, facts)
    order = [kind for kind, _ in KINDS]
    mine = sorted((c for c in every if not c.guidelines or c.guidelines & primary),
                  key=lambda c: (order.index(c.kind) if c.kind in order else len(order), c.stage if c.kind == "action" else 0, c.code))
    population, record = _population(read, facts), _record(read, facts)
    found = interactions(read, facts, statements, thresholds, applied, by_iri)
    set_aside, not_read = _ignored(view.document, facts, anchors)
    kinds = tuple(Section(f"section-{kind}", status_label if kind == "status" else SECTION_TITLES[kind]) for kind, _ in KINDS)
    header = _header(read("assessment"), printable(str(view.document.get("patient", "")), None),
                     knowledge.guideline_value(GM.shortTitle, "Guideline"))
    return Explanation(
        header=header, status_label=status_label, kinds=kinds, conclusions=mine, facts=sorted(facts.values(), key=fact_order),
        statements=sorted(statements.values(), key=lambda s: (s.citation, s.iri)),
        thresholds=list(thresholds.values()), rules=sorted(rules.values(), key=lambda r: (int(r.stage or 99), r.iri)),
        population=population, record=record, quality=_quality(read, facts), set_aside=set_aside, not_read=not_read,
        guidelines=applied, interactions=found, source=_source(read("source-attributes")))
