"""The reviewer-facing explanation of one assessment: plain text, Markdown or one HTML page.

Conclusion by conclusion it shows what was concluded; the rule that derived it (label,
IRI, query file, editorial note); the guideline statements it rests on, quoted verbatim
with citation and evidence level; the patient facts used (values and units as recorded
and canonical, dates, FHIR ids); the thresholds compared; and what is missing, i.e. which
fact would change or resolve it. A header names the patient, the as-of date, the
guideline and software versions, the reasoner and the input's hash; the facts set aside
by the loader are listed with their reasons.

The data come from the SELECT queries queries/report/explain-*.rq, each run once over
the assessment's quads and the ontology; Python only groups the rows and formats them.
The HTML page is self-contained (inline CSS, no scripts, no external links) and every
patient-supplied string is escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import pyoxigraph as ox
from rdflib import RDF, URIRef

from . import explain_guidelines, resources
from .errors import printable
from .knowledge import Knowledge
from .namespaces import GM, GRAPH, PT
from .render.contract import CONCLUSION_KINDS
from .sparql import select

if TYPE_CHECKING:
    from .pipeline import Assessment

FORMATS = ("text", "markdown", "html")

_SECTIONS = (("status", "Status"), ("risk", "Risk factors"), ("action", "Recommendations"), ("follow-up", "Follow-up"))
_KIND_LABEL = {"status": "Status", "risk": "Risk factor", "action": "Recommendation", "follow-up": "Follow-up"}
"""Section titles and conclusion labels; the status's is the primary guideline's gm:statusLabel (Explanation.sections)."""
_CODE_ROLES = {str(PT.code): "code", str(PT.valueCode): "value", str(PT.route): "route", str(PT.codeText): "coding"}
_NONE = {"risk": "No risk factor was found.", "action": "No action is recommended.",
         "follow-up": "No follow-up is scheduled."}


# --- The explanation, grouped from the query rows -------------------------------------

@dataclass(frozen=True)
class Header:
    """What was assessed, as of when, with what."""

    patient: str
    as_of: str
    guideline: str
    guideline_title: str
    guideline_version: str
    ontology_versions: tuple[str, ...]
    software: str
    reasoner: str
    input_file: str
    input_sha256: str
    started: str
    short_title: str = "Guideline"


@dataclass(frozen=True)
class Code:
    """One coding of a fact: its role (code, value, route, coding), label and code system."""

    role: str
    label: str | None
    system: str | None
    code: str

    def __str__(self) -> str:
        coded = f"{self.system} {self.code}" if self.system else self.code
        return f"{self.label} ({coded})" if self.label else coded


@dataclass
class Fact:
    """A patient fact (FHIR resource or native RDF node) with what the explanation shows."""

    iri: str
    anchor: str
    name: str
    resource_type: str
    ignored: bool
    values: dict[str, str]
    codes: list[Code] = field(default_factory=list)
    doses: list[str] = field(default_factory=list)
    used_by: list[str] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        return self.values.get(key)


@dataclass
class Statement:
    """A guideline statement, verbatim."""

    iri: str
    anchor: str
    text: str
    citation: str
    section: str | None
    level: str | None
    level_label: str | None
    note: str | None
    cited_by: list[str] = field(default_factory=list)

    @property
    def handle(self) -> str:
        """A short name that tells statements of the same citation apart ("[1] rf-metformin")."""
        return f"[{self.citation}] {_local(self.iri).removeprefix('stmt-')}"


@dataclass
class Threshold:
    """A numeric cut-off a conclusion was compared with."""

    iri: str
    label: str
    comparator: str
    value: str
    unit: str
    external: bool
    source: str | None
    citation: str | None
    note: str | None


@dataclass
class Rule:
    """A rule of the guideline that derived at least one conclusion."""

    iri: str
    anchor: str
    label: str
    query: str | None
    stage: str | None
    note: str | None
    windows: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)


@dataclass
class Conclusion:
    """One conclusion and everything it rests on (IRIs into the Explanation's tables)."""

    iri: str
    anchor: str
    kind: str
    code: str
    label: str | None
    text: str | None
    rule: str
    stage: int
    reported: str | None
    due: str | None
    reported_label: str = ""
    reported_unit: str = ""
    priority: str = ""
    status_label: str = "Status"
    overdue: bool = False
    facts: list[str] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    thresholds: list[str] = field(default_factory=list)
    measures: list[str] = field(default_factory=list)
    rests_on: list[str] = field(default_factory=list)
    would_change: list[str] = field(default_factory=list)
    checks: dict[tuple[str, str], bool] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"{self.status_label}: {self.code}" if self.kind == "status" else self.code

    @property
    def reported_text(self) -> str:
        """The value the conclusion reports (a deciding measurement), with its unit."""
        return f"{self.reported} {self.reported_unit}".strip() if self.reported else ""

    @property
    def reported_title(self) -> str:
        return self.reported_label[:1].upper() + self.reported_label[1:]


@dataclass(frozen=True)
class Ignored:
    """A fact the loader set aside, with its reason and, when kept in the ignored graph, its details."""

    id: str
    anchor: str
    resource_type: str | None
    reason: str
    fact: Fact | None


@dataclass
class Explanation:
    """Everything the renderings show, keyed by IRI."""

    header: Header
    conclusions: list[Conclusion]
    facts: dict[str, Fact]
    statements: dict[str, Statement]
    thresholds: dict[str, Threshold]
    rules: dict[str, Rule]
    ignored: list[Ignored]
    source: list[tuple[str, str]] = field(default_factory=list)
    population: dict = field(default_factory=dict)
    """The contract's population object (section 5): in, reason, based_on."""
    quality: list[dict] = field(default_factory=list)
    """The contract's data_quality entries (section 6): fact, code, detail."""
    status_label: str = "Status"
    short_title: str = "Guideline"
    """The primary guideline's gm:statusLabel and gm:shortTitle."""
    population_reasons: dict[str, str] = field(default_factory=dict)

    @property
    def sections(self) -> tuple[tuple[str, str], ...]:
        return tuple((kind, self.status_label if kind == "status" else title) for kind, title in _SECTIONS)

    def kind_label(self, kind: str) -> str:
        return self.status_label if kind == "status" else _KIND_LABEL[kind]

    def of_kind(self, kind: str) -> list[Conclusion]:
        return [c for c in self.conclusions if c.kind == kind]

    def missing(self) -> dict[str, list[Conclusion]]:
        """Each fact that would change a conclusion, with the conclusions it would change."""
        found: dict[str, list[Conclusion]] = {}
        for conclusion in self.conclusions:
            for text in conclusion.would_change:
                found.setdefault(text, []).append(conclusion)
        return found

    def unused_facts(self) -> list[Fact]:
        return [f for f in _sorted_facts(self.facts.values()) if not f.used_by and not f.ignored]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "x"


def _local(iri: str) -> str:
    return re.split(r"[/#]", iri.rstrip("/#"))[-1]


class _Anchors:
    """Allocates unique, stable HTML ids ("fact-obs-2", "rule-order-mma")."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, prefix: str, name: str) -> str:
        base = anchor = f"{prefix}-{_slug(name)}"
        n = 2
        while anchor in self.used:
            anchor, n = f"{base}-{n}", n + 1
        self.used.add(anchor)
        return anchor


def _rows(store: ox.Store, name: str) -> list[dict[str, str]]:
    """The rows of queries/report/explain-NAME.rq as dicts of lexical values, each made safe for
    one line of any rendering (see `printable`): no value from the data, however hostile, can
    break a line, move the cursor, colour a terminal or reorder text (issue 14)."""
    return [{k: printable(v.value, None) for k, v in row.items()}
            for row in select(store, resources.query_text(f"report/explain-{name}.rq"))]


def _header(rows: list[dict[str, str]], patient_fallback: str) -> Header:
    first = rows[0] if rows else {}
    return Header(
        patient=first.get("patientId") or first.get("patient") or patient_fallback, as_of=first.get("asOf", ""),
        guideline=first.get("guideline", ""), guideline_title=first.get("guidelineTitle", ""),
        guideline_version=first.get("guidelineVersion", ""),
        ontology_versions=tuple(sorted({r["versionIri"] for r in rows if "versionIri" in r})),
        software=first.get("software", ""), reasoner=first.get("reasoner", ""), input_file=first.get("inputFile", ""),
        input_sha256=first.get("inputSha256", ""), started=first.get("started", ""))


_FACT_VALUES = ("value", "unit", "canonicalValue", "canonicalUnit", "effectiveDate", "startDate", "endDate",
                "status", "clinicalStatus", "verificationStatus", "dailyDose")


def _facts(store: ox.Store, anchors: _Anchors) -> dict[str, Fact]:
    facts: dict[str, Fact] = {}
    for row in sorted(_rows(store, "facts"), key=lambda r: (r["fact"], r["graph"])):
        fact = facts.get(row["fact"])
        if fact is None:
            fact = facts[row["fact"]] = Fact(
                iri=row["fact"], anchor=anchors("fact", row.get("fhirId") or _local(row["fact"])),
                name=row.get("fhirId") or row["fact"], resource_type=row.get("resourceType", ""),
                ignored=row["graph"] == str(GRAPH["ignored"]), values={})
        for key in _FACT_VALUES:
            if key in row:
                fact.values.setdefault(key, row[key])
    for row in sorted(_rows(store, "fact-codes"), key=lambda r: (r["property"], r["concept"])):
        if row["fact"] in facts:
            facts[row["fact"]].codes.append(Code(role=_CODE_ROLES[row["property"]], label=row.get("label"),
                                                 system=row.get("system"), code=row.get("code") or row["concept"]))
    for row in sorted(_rows(store, "fact-doses"), key=lambda r: r["dosage"]):
        if row["fact"] in facts:
            facts[row["fact"]].doses.append(_dose(row))
    return facts


def _dose(row: dict[str, str]) -> str:
    dose = _quantity(row.get("doseValue"), row.get("doseUnit")) or "dose not recorded"
    if "frequency" in row or "period" in row:
        dose += f", {row.get('frequency', '1')} per {_quantity(row.get('period', '1'), row.get('periodUnit'))}"
    return dose


def _statements(store: ox.Store, anchors: _Anchors) -> dict[str, Statement]:
    return {r["statement"]: Statement(
        iri=r["statement"], anchor=anchors("statement", _local(r["statement"])), text=r["text"], citation=r["citation"],
        section=r.get("section"), level=r.get("level"), level_label=r.get("levelLabel"), note=r.get("note"))
        for r in sorted(_rows(store, "statements"), key=lambda r: r["statement"])}


def _thresholds(store: ox.Store) -> dict[str, Threshold]:
    return {r["threshold"]: Threshold(
        iri=r["threshold"], label=r.get("label") or _local(r["threshold"]), comparator=r["comparator"], value=r["value"],
        unit=r["unit"], external=r.get("external") == "true", source=r.get("source"), citation=r.get("citation"),
        note=r.get("note")) for r in _rows(store, "thresholds")}


def _rules(store: ox.Store, anchors: _Anchors) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for row in sorted(_rows(store, "rules"), key=lambda r: (r["rule"], r.get("window", ""))):
        rule = rules.get(row["rule"])
        if rule is None:
            rule = rules[row["rule"]] = Rule(
                iri=row["rule"], anchor=anchors("rule", _local(row["rule"])), label=row.get("label") or _local(row["rule"]),
                query=row.get("query"), stage=row.get("stage"), note=row.get("note"))
        if "window" in row:
            rule.windows.append(f"{row.get('windowLabel') or _local(row['window'])} ({row.get('duration', '?')})")
    return rules


def _conclusions(store: ox.Store, anchors: _Anchors, measure_order: list[str]) -> list[Conclusion]:
    found: dict[str, Conclusion] = {}
    for row in sorted(_rows(store, "conclusions"), key=lambda r: r["conclusion"]):
        if row["conclusion"] in found:
            continue
        kind = "follow-up" if row["followUp"] == "true" else CONCLUSION_KINDS[row["kind"]]
        found[row["conclusion"]] = Conclusion(
            iri=row["conclusion"], anchor=anchors("conclusion", _local(row["conclusion"])), kind=kind, code=row["code"],
            label=row.get("label"), text=row.get("text"), rule=row["rule"], stage=int(row.get("stage", 99)),
            reported=(row.get("comparator", "") + row["reported"]) if row.get("reported") else None, due=row.get("due"),
            overdue=row.get("overdue") == "true",
            reported_label=row.get("reportedLabel", ""), reported_unit=row.get("reportedUnit", ""), priority=row.get("priority", ""))
    links = {str(GM.basedOn): "facts", str(GM.evidence): "statements", str(GM.comparedWith): "thresholds",
             str(GM.measure): "measures", str(GM.restsOnAbsenceOf): "rests_on", str(GM.wouldChangeWith): "would_change"}
    for row in sorted(_rows(store, "conclusion-links"), key=lambda r: r["target"]):
        if row["conclusion"] in found:
            getattr(found[row["conclusion"]], links[row["link"]]).append(row["target"])
    for row in _rows(store, "threshold-checks"):
        if row["conclusion"] in found:
            found[row["conclusion"]].checks[(row["fact"], row["threshold"])] = row["meets"] == "true"
    order = [kind for kind, _ in _SECTIONS]
    for conclusion in found.values():
        conclusion.measures.sort(key=lambda m: (measure_order.index(m) if m in measure_order else len(measure_order), m))
    return sorted(found.values(), key=lambda c: (order.index(c.kind), c.stage if c.kind == "action" else 0, c.code))


def _ignored(document: dict, facts: dict[str, Fact], anchors: _Anchors) -> list[Ignored]:
    by_name = {f.name: f for f in facts.values() if f.ignored}
    entries = []
    for entry in document.get("ignored_facts", []):
        name = printable(str(entry["id"]), None)
        fact = by_name.get(name)
        kind = entry.get("resourceType")
        entries.append(Ignored(id=name, anchor=fact.anchor if fact else anchors("fact", name),
                               resource_type=printable(kind, None) if kind else (fact.resource_type if fact else None),
                               reason=printable(str(entry["reason"]), None), fact=fact))
    return entries


_SOURCE_FIELDS = (("citation", "Bibliographic citation"), ("sourceDeveloper", "Developer of the source"),
                  ("interventionDeveloper", "Developer of the intervention"), ("funding", "Funding source"),
                  ("released", "Release date"), ("revised", "Revision date"))


def _source(rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    """The guideline's source attributes, then the demographic inputs used and not used."""
    if not rows:
        return []
    attributes = [(label, rows[0][key]) for key, label in _SOURCE_FIELDS if key in rows[0]]
    used = sorted({r["input"] for r in rows if "input" in r and r.get("used") == "true"})
    unused = sorted({r["input"] for r in rows if "input" in r and r.get("used") == "false"})
    return [*attributes, ("Demographic inputs used", ", ".join(used) or "none"),
            ("Demographic inputs not used", ", ".join(unused) or "none")]


def explain(assessment: Assessment, knowledge: Knowledge) -> Explanation:
    """Group the explain-*.rq rows over the assessment and the ontology into an Explanation."""
    store = ox.Store()
    store.extend(knowledge.quads)
    store.extend(assessment.quads)
    document = assessment.document
    anchors = _Anchors()
    conclusions = [c for c in _conclusions(store, anchors, list((document.get("follow_up") or {}).get("measure", [])))
                   if explain_guidelines.is_primary(c.rule, knowledge)]  # other guidelines: their own section
    status_label = knowledge.guideline_value(GM.statusLabel, "Status")
    for conclusion in conclusions:
        conclusion.status_label = status_label
    rules = _rules(store, anchors)
    statements = _statements(store, anchors)
    facts = _facts(store, anchors)
    thresholds = _thresholds(store)
    for conclusion in conclusions:
        conclusion.statements = [i for i in conclusion.statements if i in statements]
        conclusion.thresholds = [i for i in conclusion.thresholds if i in thresholds]
        rules[conclusion.rule].derived.append(conclusion.iri)
        for iri in conclusion.statements:
            statements[iri].cited_by.append(conclusion.iri)
        for iri in conclusion.facts:
            if iri in facts:
                facts[iri].used_by.append(conclusion.iri)
    header = replace(_header(_rows(store, "assessment"), printable(str(document.get("patient", "")), None)),
                     short_title=knowledge.guideline_value(GM.shortTitle, "Guideline"))
    return Explanation(header=header, status_label=status_label, population_reasons=_population_reasons(knowledge),
                       conclusions=conclusions, facts=facts, statements=statements, thresholds=thresholds,
                       rules=rules, ignored=_ignored(document, facts, anchors), source=_source(_rows(store, "source-attributes")),
                       population=document.get("population") or {}, quality=list(document.get("data_quality") or []))


# --- Formatting shared by the renderings --------------------------------------------------

def _quantity(value: str | None, unit: str | None) -> str:
    if value is None:
        return ""
    return f"{value} {unit}" if unit else value


def _sorted_facts(facts: Iterable[Fact]) -> list[Fact]:
    return sorted(facts, key=lambda f: (f.resource_type, _fact_date(f), f.name))


def _fact_date(fact: Fact) -> str:
    return fact.get("effectiveDate") or fact.get("startDate") or ""


def _fact_what(fact: Fact) -> str:
    """What the fact records: its codes, coded value and route."""
    parts = [str(c) for c in fact.codes if c.role in ("code", "coding")]
    what = "; ".join(parts) or "no recognised code"
    values = [str(c) for c in fact.codes if c.role == "value"]
    if values:
        what += f" = {'; '.join(values)}"
    routes = [str(c) for c in fact.codes if c.role == "route"]
    if routes:
        what += f", route {'; '.join(routes)}"
    return what


def _fact_recorded(fact: Fact) -> str:
    """The value or dose as recorded, in its recorded unit."""
    return _quantity(fact.get("value"), fact.get("unit")) or "; ".join(fact.doses)


def _fact_canonical(fact: Fact) -> str:
    """The value in the analyte's canonical unit, or the daily dose in mg."""
    if fact.get("canonicalValue") is not None:
        return _quantity(fact.get("canonicalValue"), fact.get("canonicalUnit"))
    return f"{fact.get('dailyDose')} mg per day" if fact.get("dailyDose") else ""


def _fact_date_parts(fact: Fact) -> list[str]:
    labels = (("effectiveDate", "effective"), ("startDate", "started"), ("endDate", "ended"))
    return [f"{label} {fact.get(key)}" for key, label in labels if fact.get(key)]


def _fact_dates(fact: Fact) -> str:
    return ", ".join(_fact_date_parts(fact))


def _fact_status(fact: Fact) -> str:
    labels = (("status", ""), ("clinicalStatus", "clinical "), ("verificationStatus", "verification "))
    return ", ".join(f"{label}{fact.get(key)}" for key, label in labels if fact.get(key))


def _fact_columns(fact: Fact) -> list[tuple[str, str]]:
    """(label, value) pairs describing a fact, the empty ones left out."""
    pairs = [("what", _fact_what(fact)), ("as recorded", _fact_recorded(fact)), ("canonical", _fact_canonical(fact)),
             ("dates", _fact_dates(fact)), ("status", _fact_status(fact))]
    return [(label, value) for label, value in pairs if value]


_SELF_LABELLED = ("what", "dates")


def _threshold_rule(t: Threshold) -> str:
    return f"{t.comparator} {t.value} {t.unit}"


def _threshold_source(t: Threshold) -> str:
    """Where the cut-off comes from: the guideline (with its reading, if noted) or an external default."""
    if t.external:
        return f"external default, not guideline text: {t.source or 'configurable'}"
    source = f"from the guideline (citation {t.citation})" if t.citation else "from the guideline"
    return f"{source}; {t.note}" if t.note else source


def _threshold_checks(conclusion: Conclusion, threshold: Threshold, facts: dict[str, Fact]) -> list[tuple[Fact, str, bool]]:
    """(fact, compared value, met?) for each fact of the conclusion compared with the threshold."""
    checks = []
    for (fact_iri, threshold_iri), meets in sorted(conclusion.checks.items()):
        if threshold_iri == threshold.iri and fact_iri in facts:
            fact = facts[fact_iri]
            checks.append((fact, _fact_canonical(fact), meets))
    return checks


def _level(statement: Statement) -> str:
    if statement.level_label or statement.level:
        return statement.level_label or f"level {statement.level} evidence"
    return "no evidence level given"


def _headline(conclusion: Conclusion) -> str:
    """The conclusion in words: the action text or the concept's label."""
    return conclusion.text or conclusion.label or conclusion.code


def _no_missing(conclusion: Conclusion) -> bool:
    return not conclusion.rests_on and not conclusion.would_change


# --- Text and Markdown --------------------------------------------------------------------

@dataclass(frozen=True)
class _Style:
    """How a line-oriented rendering marks headings, fields, lists and quotes."""

    esc: Callable[[str], str]
    code: Callable[[str], str]
    heading: Callable[[int, str], list[str]]
    field: Callable[[str, str], str]
    item: Callable[[str], str]
    quote: Callable[[str, str], list[str]]
    subheading: Callable[[str], list[str]]


def _text_heading(level: int, text: str) -> list[str]:
    return [text, {1: "=", 2: "-", 3: "~"}[level] * len(text)]


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>|#!])", r"\\\1", text)


TEXT = _Style(
    esc=str, code=str, heading=_text_heading,
    field=lambda label, value: f"  {label}: {value}",
    item=lambda text: f"    - {text}",
    quote=lambda text, source: [f'    "{text}"', f"      ({source})"],
    subheading=lambda text: [f"  {text}:"])

MARKDOWN = _Style(
    esc=_md_escape, code=lambda s: f"`{s}`", heading=lambda level, text: ["#" * level + " " + text, ""],
    field=lambda label, value: f"- **{label}:** {value}",
    item=lambda text: f"- {text}",
    quote=lambda text, source: [f"> {text}", ">", f"> — {source}", ""],
    subheading=lambda text: ["", f"**{text}**", ""])


def _header_lines(h: Header, s: _Style) -> list[str]:
    return [
        *s.heading(1, f"{s.esc(h.short_title)} assessment: explanation for patient {s.esc(h.patient)}"),
        s.field("Patient", s.esc(h.patient)),
        s.field("As of", h.as_of),
        s.field("Guideline", f"{h.guideline_title} ({s.code(h.guideline)}), version {h.guideline_version}"),
        s.field("Ontology versions", ", ".join(s.code(v) for v in h.ontology_versions)),
        s.field("Software", h.software),
        s.field("Reasoner", h.reasoner),
        s.field("Input file", s.esc(h.input_file)),
        s.field("Input SHA-256", s.code(h.input_sha256)),
        s.field("Assessed at", h.started),
        "",
    ]


_OVERDUE = ", overdue: the due date is before the as-of date"


def _summary_lines(x: Explanation, s: _Style) -> list[str]:
    lines = s.heading(2, "Summary")
    for kind, title in x.sections:
        found = x.of_kind(kind)
        described = [c.code + (f" ({c.reported_label} {c.reported_text})" if c.reported else "")
                     + (f", due {c.due}{' (overdue)' if c.overdue else ''}" if c.due else "") for c in found]
        lines.append(s.field(title, ", ".join(described) or "none"))
    missing = x.missing()
    lines.append(s.field("What is missing", "nothing recorded" if not missing else "; ".join(
        f"{text} (would change {', '.join(c.title for c in found)})" for text, found in missing.items())))
    return [*lines, ""]


def _conclusion_lines(c: Conclusion, x: Explanation, s: _Style) -> list[str]:
    rule = x.rules[c.rule]
    lines = [*s.heading(3, f"{x.kind_label(c.kind)}: {c.code}"), s.field("Concluded", _headline(c))]
    if c.label and c.text:
        lines.append(s.field("Concerns", c.label))
    if c.reported:
        lines.append(s.field(c.reported_title, c.reported_text))
    if c.due:
        lines.append(s.field("Due", f"{c.due}{_OVERDUE if c.overdue else ''} (measure: {', '.join(c.measures)})"))
    lines.append(s.field("Rule", f"{rule.label} ({s.code(rule.iri)}), query {s.code(rule.query or 'none')}"))
    if rule.note:
        lines.append(s.field("Rule note", rule.note))
    lines += s.subheading("Guideline evidence")
    for iri in c.statements:
        st = x.statements[iri]
        source = f"citation {st.citation}, {_level(st)}" + (f", section {st.section}" if st.section else "")
        lines += s.quote(st.text, source)
        if st.note:
            lines.append(s.item(f"Note: {st.note}"))
    lines += s.subheading("Patient facts used")
    facts = [x.facts[i] for i in c.facts if i in x.facts]
    lines += [s.item(_fact_line(f, s)) for f in _sorted_facts(facts)] or [s.item("none: the conclusion rests on an absence")]
    if c.thresholds:
        lines += s.subheading("Thresholds compared")
        for iri in c.thresholds:
            t = x.thresholds[iri]
            checks = "; ".join(f"{s.esc(f.name)} {s.esc(v)}: {'met' if met else 'not met'}"
                               for f, v, met in _threshold_checks(c, t, x.facts))
            lines.append(s.item(f"{t.label} — criterion {_threshold_rule(t)}, {_threshold_source(t)}"
                                + (f" — {checks}" if checks else "")))
    lines += s.subheading("What is missing")
    lines += [s.item(f"Rests on the absence of {t}") for t in c.rests_on]
    lines += [s.item(f"Would change or be resolved with {t}") for t in c.would_change]
    if _no_missing(c):
        lines.append(s.item("No missing fact is recorded for this conclusion."))
    return [*lines, ""]


def _fact_line(fact: Fact, s: _Style, named: bool = True) -> str:
    described = "; ".join(s.esc(value) if label in _SELF_LABELLED else f"{label} {s.esc(value)}"
                          for label, value in _fact_columns(fact))
    if not named:
        return described
    kind = f" ({s.esc(fact.resource_type)})" if fact.resource_type else ""
    return f"{s.esc(fact.name)}{kind}: {described}"


SKOS_LABEL = URIRef("http://www.w3.org/2004/02/skos/core#prefLabel")
_NO_QUALITY = "None: every fact the guideline reads was read as recorded."


def _population_reasons(knowledge: Knowledge) -> dict[str, str]:
    """Population reason code -> what it means, from the primary guideline's gm:PopulationReason labels."""
    reasons = {}
    for reason in knowledge.graph.subjects(RDF.type, GM.PopulationReason):
        code, label = knowledge.graph.value(reason, GM.code), knowledge.graph.value(reason, SKOS_LABEL)
        if code is not None and label is not None:
            reasons[str(code)] = str(label).split(": ", 1)[-1]
    return reasons


def _population_text(population: dict, reasons: dict[str, str]) -> str:
    """The population (contract section 5) in one sentence."""
    if not population:
        return "not assessed"
    reason = reasons.get(str(population.get("reason")), str(population.get("reason")))
    where = "in the guideline's population" if population.get("in") else \
        "OUTSIDE the guideline's population: no recommendation is made (status and risk factors are findings)"
    facts = ", ".join(population.get("based_on") or [])
    return f"{where}; {reason}" + (f" ({facts})" if facts else "")


def _lines(x: Explanation, s: _Style) -> list[str]:
    lines = [*_header_lines(x.header, s), s.field("Population", s.esc(_population_text(x.population, x.population_reasons))), ""]
    lines += _summary_lines(x, s)
    for kind, title in x.sections:
        lines += s.heading(2, title)
        found = x.of_kind(kind)
        for conclusion in found:
            lines += _conclusion_lines(conclusion, x, s)
        if not found:
            lines += [_NONE.get(kind, "None."), ""]
    unused = x.unused_facts()
    if unused:
        lines += s.heading(2, "Other facts on record (used by no conclusion)")
        lines += [s.item(_fact_line(f, s)) for f in unused] + [""]
    lines += s.heading(2, "Data quality")
    lines += [s.item(f"{s.esc(q['code'])}" + (f" ({s.esc(q['fact'])})" if q.get("fact") else "") + f": {s.esc(q['detail'])}")
              for q in x.quality]
    if not x.quality:
        lines.append(_NO_QUALITY)
    lines += s.heading(2, "Ignored facts")
    lines += [s.item(f"{s.esc(i.id)}" + (f" ({s.esc(i.resource_type)})" if i.resource_type else "")
                     + f": {s.esc(i.reason)}" + (f". Recorded: {_fact_line(i.fact, s, named=False)}" if i.fact else "")) for i in x.ignored]
    if not x.ignored:
        lines.append("None: every fact on record was considered.")
    if x.source:
        lines += ["", *s.heading(2, "Source attributes of the guideline")]
        lines += [s.field(label, s.esc(value)) for label, value in x.source]
    return lines


def _join(lines: list[str]) -> str:
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def to_text(x: Explanation) -> str:
    return _join(_lines(x, TEXT))


def to_markdown(x: Explanation) -> str:
    return _join(_lines(x, MARKDOWN))


# --- HTML -------------------------------------------------------------------------------

e = html.escape

CSS = """
:root { --ink:#1f2933; --muted:#52606d; --line:#d9e2ec; --bg:#f5f7fa; --card:#fff; --accent:#1f5f99;
        --red:#b42318; --red-bg:#fef3f2; --amber:#a15c07; --amber-bg:#fffaeb; --green:#067647; --green-bg:#ecfdf3;
        --grey-bg:#eef2f6; }
* { box-sizing: border-box; }
html { scroll-padding-top: 1rem; }
body { margin:0; background:var(--bg); color:var(--ink); font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,
       "Helvetica Neue",Arial,sans-serif; }
.page { max-width: 76rem; margin: 0 auto; padding: 1.5rem 1.25rem 4rem; }
header.page-header { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:1.25rem 1.5rem; }
.eyebrow { margin:0; color:var(--muted); font-size:.8rem; letter-spacing:.06em; text-transform:uppercase; }
h1 { margin:.2rem 0 .2rem; font-size:1.6rem; line-height:1.25; }
h2 { margin:2.2rem 0 .8rem; font-size:1.3rem; padding-bottom:.3rem; border-bottom:2px solid var(--line); }
h3 { margin:0; font-size:1.1rem; }
h4 { margin:1.1rem 0 .4rem; font-size:.8rem; text-transform:uppercase; letter-spacing:.05em; color:var(--muted); }
.subtitle { margin:.2rem 0 1rem; color:var(--muted); }
dl.meta { display:grid; grid-template-columns: max-content 1fr; gap:.25rem 1rem; margin:0; font-size:.9rem; }
dl.meta dt { color:var(--muted); }
dl.meta dd { margin:0; overflow-wrap:anywhere; }
code, .mono { font-family: ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:.85em; overflow-wrap:anywhere; }
nav.toc { margin:1rem 0 0; display:flex; flex-wrap:wrap; gap:.4rem; }
nav.toc a { background:var(--card); border:1px solid var(--line); border-radius:999px; padding:.2rem .75rem;
            font-size:.85rem; color:var(--accent); text-decoration:none; }
a { color:var(--accent); }
.banner { border-radius:10px; padding:1rem 1.25rem; margin:0 0 1rem; border:1px solid; }
.banner strong { font-size:1.15rem; }
.banner.priority-alert, .banner.priority-urgent { background:var(--red-bg); border-color:#fecdca; }
.banner.priority-caution { background:var(--amber-bg); border-color:#fedf89; }
.banner.priority-reassuring { background:var(--green-bg); border-color:#abefc6; }
.banner.priority-neutral { background:var(--grey-bg); border-color:var(--line); }
article.priority-alert, article.priority-urgent { border-left:6px solid var(--red); }
article.priority-caution { border-left:6px solid #f5a524; }
article.priority-reassuring { border-left:6px solid var(--green); }
article.priority-neutral { border-left:6px solid #9aa5b1; }
.badge { display:inline-block; border-radius:4px; padding:.05rem .45rem; font-size:.75rem; font-weight:600;
         text-transform:uppercase; letter-spacing:.04em; background:var(--grey-bg); color:var(--muted); white-space:nowrap; }
.badge.priority-alert, .badge.priority-urgent { color:var(--red); }
.badge.priority-caution { color:var(--amber); }
.badge.priority-reassuring { color:var(--green); }
.callout { border-left:4px solid var(--amber); background:var(--amber-bg); padding:.6rem 1rem; border-radius:0 8px 8px 0;
           margin:.8rem 0; }
.callout.ok { border-left-color:var(--line); background:var(--grey-bg); }
.callout h4 { margin:.1rem 0 .3rem; color:var(--amber); }
.callout.ok h4 { color:var(--muted); }
.callout ul { margin:.2rem 0; padding-left:1.2rem; }
.callout p { margin:.1rem 0; }
table { width:100%; border-collapse:collapse; background:var(--card); font-size:.9rem; }
th, td { text-align:left; vertical-align:top; padding:.45rem .6rem; border-bottom:1px solid var(--line); }
th { background:var(--grey-bg); font-size:.78rem; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
.table-wrap { border:1px solid var(--line); border-radius:8px; overflow-x:auto; }
.table-wrap tr:last-child td { border-bottom:0; }
article { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:1rem 1.25rem;
          margin:0 0 1rem; }
article > header { display:flex; align-items:baseline; gap:.6rem; flex-wrap:wrap; }
.lead { margin:.5rem 0 .3rem; font-size:1.02rem; }
dl.fields { display:grid; grid-template-columns: 9rem 1fr; gap:.2rem .8rem; margin:.4rem 0; font-size:.92rem; }
dl.fields dt { color:var(--muted); }
dl.fields dd { margin:0; }
blockquote { margin:.4rem 0; padding:.5rem .9rem; border-left:4px solid var(--accent); background:#f0f6fc;
             border-radius:0 6px 6px 0; font-family: Georgia,"Times New Roman",serif; font-size:1rem; }
blockquote footer { font-family: system-ui,sans-serif; font-size:.82rem; color:var(--muted); margin-top:.3rem; }
.note { font-size:.88rem; color:var(--muted); margin:.3rem 0; }
.nowrap, a.fact-link, td .mono { white-space:nowrap; }
.type { font-size:.78rem; color:var(--muted); }
.none { color:var(--muted); font-style:italic; }
.used-by { font-size:.85rem; color:var(--muted); }
:target { outline:3px solid #f5b400; outline-offset:2px; }
tr:target td { background:#fff8db; }
footer.page-footer { margin-top:3rem; color:var(--muted); font-size:.8rem; }
@media print { body { background:#fff; } nav.toc { display:none; } article, header.page-header { break-inside:avoid; } }
"""


def _link(anchor: str, text: str, cls: str) -> str:
    return f'<a class="{cls}" href="#{e(anchor)}">{text}</a>'


def _fact_link(fact: Fact) -> str:
    return _link(fact.anchor, f'<span class="mono">{e(fact.name)}</span>', "fact-link")


def _conclusion_link(c: Conclusion) -> str:
    return _link(c.anchor, e(c.title), "conclusion-link")


def _status_badge(c: Conclusion) -> str:
    return f'<span class="badge priority-{e(_slug(c.priority))}">{e(c.code)}</span>'


def _html_header(h: Header) -> str:
    rows = [("Patient", e(h.patient)), ("As of", e(h.as_of)),
            ("Guideline", f"{e(h.guideline_title)}<br><code>{e(h.guideline)}</code>"),
            ("Guideline version", e(h.guideline_version)),
            ("Ontology versions", "<br>".join(f"<code>{e(v)}</code>" for v in h.ontology_versions)),
            ("Software", e(h.software)), ("Reasoner", e(h.reasoner)), ("Input file", f"<code>{e(h.input_file)}</code>"),
            ("Input SHA-256", f"<code>{e(h.input_sha256)}</code>"), ("Assessed at", e(h.started))]
    meta = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return (f'<header class="page-header"><p class="eyebrow">Guideline assessment · explanation for clinical review</p>'
            f"<h1>Patient {e(h.patient)}</h1>"
            f'<p class="subtitle">Assessed as of <strong>{e(h.as_of)}</strong> against “{e(h.guideline_title)}”, '
            f"version {e(h.guideline_version)}</p><dl class=\"meta\">{meta}</dl></header>")


def _html_toc(x: Explanation) -> str:
    targets = [("summary", "Summary"), *[(kind, title) for kind, title in x.sections], ("statements", "Guideline statements"),
               ("rules", "Rules"), ("facts", "Patient facts"), ("quality", "Data quality"),
               ("ignored", "Ignored facts"), ("source", "Source attributes")]
    return '<nav class="toc">' + "".join(_link(f"section-{k}", e(t), "toc-link") for k, t in targets) + "</nav>"


def _html_missing(missing: dict[str, list[Conclusion]]) -> str:
    if not missing:
        return ('<div class="callout ok"><h4>What is missing</h4><p>No conclusion records a missing fact that would '
                "change it.</p></div>")
    items = "".join(f"<li>{e(text)}: would change {', '.join(_conclusion_link(c) for c in found)}</li>"
                    for text, found in missing.items())
    return f'<div class="callout"><h4>What is missing</h4><ul>{items}</ul></div>'


def _html_summary(x: Explanation) -> str:
    status = next(iter(x.of_kind("status")), None)
    banner = ""
    if status:
        value = f" · {e(status.reported_label)} <strong>{e(status.reported_text)}</strong>" if status.reported else ""
        banner = (f'<div class="banner priority-{e(_slug(status.priority))}">{e(x.status_label)}: <strong>{e(status.code)}</strong> — '
                  f"{e(status.label or '')}{value}</div>")
    rows = []
    for c in x.conclusions:
        facts = ", ".join(_fact_link(x.facts[i]) for i in c.facts if i in x.facts) or '<span class="none">absence of a result</span>'
        evidence = "<br>".join(_link(x.statements[i].anchor, f'<span class="nowrap">{e(x.statements[i].handle)}</span>',
                                     "evidence-link") for i in c.statements)
        detail = f"{_status_badge(c)} {e(c.label or '')}" if c.kind == "status" else e(_headline(c))
        rows.append(f"<tr><td>{e(x.kind_label(c.kind))}</td><td>{_conclusion_link(c)}</td><td>{detail}</td>"
                    f"<td>{facts}</td><td>{evidence}</td>"
                    f"<td>{_link(x.rules[c.rule].anchor, e(x.rules[c.rule].label), 'rule-link')}</td></tr>")
    table = ('<div class="table-wrap"><table class="summary"><thead><tr><th>Kind</th><th>Conclusion</th><th>Detail</th>'
             "<th>Based on</th><th>Evidence</th><th>Rule</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")
    return f'<section id="section-summary"><h2>Summary</h2>{banner}{_html_missing(x.missing())}{table}</section>'


def _html_facts_table(facts: list[Fact], with_anchor: bool, used_by: Callable[[Fact], str] | None = None) -> str:
    head = "<th>Fact</th><th>What</th><th>As recorded</th><th>Canonical</th><th>Dates</th><th>Status</th>"
    if used_by:
        head += "<th>Used by</th>"
    rows = []
    for f in facts:
        anchor = f' id="{e(f.anchor)}"' if with_anchor else ""
        name = f'<span class="mono">{e(f.name)}</span>' if with_anchor else _fact_link(f)
        cells = [f'{name}<div class="type">{e(f.resource_type)}</div>', e(_fact_what(f)), e(_fact_recorded(f)),
                 e(_fact_canonical(f)), _html_dates(f), e(_fact_status(f))]
        if used_by:
            cells.append(used_by(f))
        rows.append(f'<tr class="fact"{anchor}>' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<div class="table-wrap"><table class="facts"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _html_dates(fact: Fact) -> str:
    return "<br>".join(f'<span class="nowrap">{e(part)}</span>' for part in _fact_date_parts(fact))


def _html_thresholds(c: Conclusion, x: Explanation) -> str:
    rows = []
    for iri in c.thresholds:
        t = x.thresholds[iri]
        checks = "<br>".join(f"{_fact_link(f)} {e(v)}: <strong>{'met' if met else 'not met'}</strong>"
                             for f, v, met in _threshold_checks(c, t, x.facts)) or '<span class="none">no value compared</span>'
        rows.append(f"<tr><td>{e(t.label)}</td><td class=\"nowrap\"><code>{e(_threshold_rule(t))}</code></td>"
                    f"<td>{e(_threshold_source(t))}</td><td>{checks}</td></tr>")
    if not rows:
        return ""
    return ('<h4>Thresholds compared</h4><div class="table-wrap"><table class="thresholds"><thead><tr><th>Threshold</th>'
            "<th>Criterion</th><th>Source</th><th>Patient value</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table></div>")


def _html_evidence(c: Conclusion, x: Explanation) -> str:
    quotes = []
    for iri in c.statements:
        st = x.statements[iri]
        source = f"Citation {e(st.citation)} · {e(_level(st))}" + (f" · {e(st.section)}" if st.section else "")
        quotes.append(f"<blockquote>{e(st.text)}<footer>{_link(st.anchor, source, 'evidence-link')}</footer></blockquote>")
    return "<h4>Guideline evidence</h4>" + "".join(quotes)


def _html_conclusion_missing(c: Conclusion) -> str:
    if _no_missing(c):
        return '<div class="callout ok"><h4>What is missing</h4><p>No missing fact is recorded for this conclusion.</p></div>'
    items = [f"<li>Rests on the absence of {e(t)}.</li>" for t in c.rests_on]
    items += [f"<li>Would change or be resolved with {e(t)}.</li>" for t in c.would_change]
    return f'<div class="callout"><h4>What is missing</h4><ul>{"".join(items)}</ul></div>'


def _html_conclusion(c: Conclusion, x: Explanation) -> str:
    rule = x.rules[c.rule]
    fields = [("Rule", f"{_link(rule.anchor, e(rule.label), 'rule-link')} · <code>{e(rule.query or '')}</code>")]
    if c.label and c.text:
        fields.insert(0, ("Concerns", e(c.label)))
    if c.reported:
        fields.append((e(c.reported_title), f"<strong>{e(c.reported_text)}</strong>"))
    if c.due:
        overdue = f'<strong class="overdue">{e(_OVERDUE)}</strong>' if c.overdue else ""
        fields.append(("Due", f"<strong>{e(c.due)}</strong>{overdue}: {e(', '.join(c.measures))}"))
    if rule.note:
        fields.append(("Rule note", e(rule.note)))
    facts = _sorted_facts(x.facts[i] for i in c.facts if i in x.facts)
    facts_html = (_html_facts_table(facts, with_anchor=False) if facts
                  else '<p class="none">None: the conclusion rests on the absence of a result.</p>')
    tag = _status_badge(c) if c.kind == "status" else f'<span class="badge">{e(x.kind_label(c.kind))}</span>'
    return (f'<article class="conclusion kind-{e(c.kind)} {e(c.kind)}-{e(_slug(c.code))} priority-{e(_slug(c.priority))}" id="{e(c.anchor)}">'
            f"<header>{tag}<h3>{e(c.title)}</h3></header><p class=\"lead\">{e(_headline(c))}</p>"
            f'<dl class="fields">{"".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in fields)}</dl>'
            f"{_html_evidence(c, x)}<h4>Patient facts used</h4>{facts_html}{_html_thresholds(c, x)}"
            f"{_html_conclusion_missing(c)}</article>")


def _html_conclusions(x: Explanation) -> str:
    parts = []
    for kind, title in x.sections:
        found = x.of_kind(kind)
        body = "".join(_html_conclusion(c, x) for c in found) or f'<p class="none">{e(_NONE.get(kind, "None."))}</p>'
        parts.append(f'<section id="section-{kind}"><h2>{e(title)}</h2>{body}</section>')
    return "".join(parts)


def _backlinks(iris: list[str], x: Explanation) -> str:
    by_iri = {c.iri: c for c in x.conclusions}
    return ", ".join(_conclusion_link(by_iri[i]) for i in iris if i in by_iri)


def _html_statements(x: Explanation) -> str:
    items = []
    for st in sorted(x.statements.values(), key=lambda s: (s.citation, s.iri)):
        note = f'<p class="note">Editorial note: {e(st.note)}</p>' if st.note else ""
        items.append(
            f'<article class="statement" id="{e(st.anchor)}"><h3>{e(st.handle)}</h3><blockquote>{e(st.text)}<footer>Citation {e(st.citation)} · '
            f"{e(_level(st))}{f' · section {e(st.section)}' if st.section else ''}</footer></blockquote>{note}"
            f'<p class="used-by"><code>{e(st.iri)}</code> · cited by {_backlinks(st.cited_by, x)}</p></article>')
    return f'<section id="section-statements"><h2>Guideline statements cited (verbatim)</h2>{"".join(items)}</section>'


def _html_rules(x: Explanation) -> str:
    items = []
    for rule in sorted(x.rules.values(), key=lambda r: (int(r.stage or 99), r.iri)):
        fields = [("IRI", f"<code>{e(rule.iri)}</code>"), ("Query file", f"<code>{e(rule.query or '')}</code>"),
                  ("Stage", e(rule.stage or ""))]
        if rule.windows:
            fields.append(("Time windows", e("; ".join(rule.windows))))
        if rule.note:
            fields.append(("Editorial note", e(rule.note)))
        fields.append(("Derived", _backlinks(rule.derived, x)))
        items.append(f'<article class="rule" id="{e(rule.anchor)}"><h3>{e(rule.label)}</h3><dl class="fields">'
                     + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in fields) + "</dl></article>")
    return f'<section id="section-rules"><h2>Rules applied</h2>{"".join(items)}</section>'


def _html_facts(x: Explanation) -> str:
    facts = [f for f in _sorted_facts(x.facts.values()) if not f.ignored]
    used = [f for f in facts if f.used_by] + [f for f in facts if not f.used_by]
    body = (_html_facts_table(used, with_anchor=True, used_by=lambda f: _backlinks(f.used_by, x) or '<span class="none">no conclusion</span>')
            if used else '<p class="none">No fact is recorded for this patient.</p>')
    return (f'<section id="section-facts"><h2>Patient facts</h2><p class="note">Every fact the rules read, as recorded and '
            f"in the canonical unit they were compared in; facts used by no conclusion are listed last.</p>{body}</section>")


def _html_ignored(x: Explanation) -> str:
    if not x.ignored:
        return ('<section id="section-ignored"><h2>Ignored facts</h2><p class="none">None: every fact on record was '
                "considered.</p></section>")
    rows = []
    for i in x.ignored:
        f = i.fact
        cells = [f'<span class="mono">{e(i.id)}</span>', e(i.resource_type or ""), e(i.reason),
                 e(_fact_what(f)) if f else "", e(_fact_recorded(f)) if f else "", _html_dates(f) if f else ""]
        rows.append(f'<tr id="{e(i.anchor)}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return ('<section id="section-ignored"><h2>Ignored facts</h2><div class="table-wrap"><table><thead><tr><th>Fact</th>'
            "<th>Type</th><th>Why ignored</th><th>What</th><th>As recorded</th><th>Dates</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div></section>")


def _html_population(x: Explanation) -> str:
    cls = "callout ok" if x.population.get("in") else "callout"
    return (f'<section id="section-population"><div class="{cls}"><h4>Population</h4>'
            f"<p>{e(_population_text(x.population, x.population_reasons))}</p></div></section>")


def _html_quality(x: Explanation) -> str:
    if not x.quality:
        return f'<section id="section-quality"><h2>Data quality</h2><p class="none">{e(_NO_QUALITY)}</p></section>'
    rows = "".join(f'<tr><td class="mono">{e(q.get("fact") or "")}</td><td class="mono">{e(q["code"])}</td>'
                   f'<td>{e(q["detail"])}</td></tr>' for q in x.quality)
    return ('<section id="section-quality"><h2>Data quality</h2><p class="note">Facts the guideline reads that could not '
            'be read as recorded, or were read in a way you should know.</p><div class="table-wrap"><table><thead><tr>'
            "<th>Fact</th><th>Code</th><th>Detail</th></tr></thead><tbody>" + rows + "</tbody></table></div></section>")


def _html_source(x: Explanation) -> str:
    rows = "".join(f"<dt>{e(label)}</dt><dd>{e(value)}</dd>" for label, value in x.source)
    return f'<section id="section-source"><h2>Source attributes of the guideline</h2><dl class="meta">{rows}</dl></section>'


def to_html(x: Explanation) -> str:
    """One self-contained HTML page: inline CSS, no script, links only within the page."""
    h = x.header
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(h.short_title)} assessment of {e(h.patient)} as of {e(h.as_of)}</title><style>{CSS}</style></head>"
            f'<body><div class="page">{_html_header(h)}{_html_toc(x)}<main>{_html_population(x)}{_html_summary(x)}{_html_conclusions(x)}'
            f"{_html_statements(x)}{_html_rules(x)}{_html_facts(x)}{_html_quality(x)}{_html_ignored(x)}{_html_source(x)}</main>"
            f'<footer class="page-footer">Generated by {e(h.software)} with the {e(h.reasoner)} reasoner. '
            f"This page explains decision support; it does not replace clinical judgement.</footer></div></body></html>\n")


_RENDERERS: dict[str, Callable[[Explanation], str]] = {"text": to_text, "markdown": to_markdown, "html": to_html}


def render(assessment: Assessment, knowledge: Knowledge, fmt: str) -> str:
    """The explanation of an assessment as text, markdown or html."""
    if fmt not in _RENDERERS:
        raise ValueError(f"unknown explanation format {fmt!r}; expected one of {', '.join(FORMATS)}")
    page = _RENDERERS[fmt](explain(assessment, knowledge))
    return _only_safe_characters(explain_guidelines.add_section(page, assessment.document, fmt))


def _only_safe_characters(text: str) -> str:
    """A backstop over the whole rendering: every character that is neither printable nor a
    line break is shown as its escape, whatever part of the page it came from."""
    return "\n".join(printable(line, None) for line in text.split("\n"))
