"""The coverage matrix, generated from the ontology: guideline statement ->
ontology individual -> rule -> query file -> test cases, and the gaps in it.

A gap is: a normative line of the guideline text with no statement individual; a
statement no rule cites (unless a skos:scopeNote says why); a recommendation with no
rule; a rule whose query file is missing; a concluding rule no case expects to fire,
or (for actions and risk factors) none expects not to fire.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import RDF, Namespace, URIRef

from .knowledge import Knowledge

GM = Namespace("https://w3id.org/b12kg/model#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")



@dataclass
class RuleRow:
    rule: str
    concludes: str | None
    code: str | None
    query: str
    query_exists: bool
    statements: list[str]
    fires_in: list[str] = field(default_factory=list)
    excluded_in: list[str] = field(default_factory=list)


@dataclass
class Coverage:
    statements: list[dict]
    rules: list[RuleRow]
    gaps: list[str]

    def as_dict(self) -> dict:
        return {"statements": self.statements, "rules": [r.__dict__ for r in self.rules], "gaps": self.gaps}


def _norm(text: str) -> str:
    return " ".join(text.split())


def guideline_texts(knowledge: Knowledge | None = None) -> dict[str, str]:
    """Each guideline's text as received (its gm:sourceText file in its pack, the part in a
    ```text fence), by guideline IRI; guidelines whose source file holds no such fence (a
    README of quotations) are left out."""
    from .knowledge import load_knowledge

    knowledge = knowledge or load_knowledge()
    packs = {p.name: p for p in knowledge.packs}
    texts = {}
    for guideline in knowledge.guidelines:
        relative = knowledge.graph.value(URIRef(guideline.iri), GM.sourceText)
        pack = packs.get(guideline.pack)
        if relative is None or pack is None:
            continue
        source = pack.source_file(str(relative)).read_text(encoding="utf-8")
        if "```text" in source:
            texts[guideline.iri] = source.split("```text", 1)[1].split("```", 1)[0]
    return texts


def guideline_text() -> str:
    """The primary guideline's text as received."""
    from .knowledge import load_knowledge

    knowledge = load_knowledge()
    return guideline_texts(knowledge)[knowledge.guideline_iri]


def normative_fragments(text: str, pattern: str) -> list[str]:
    """The parts of guideline lines that carry a recommendation, threshold, warning or risk,
    without bullets and trailing citation numbers."""
    normative = re.compile(pattern, re.IGNORECASE)
    fragments = []
    for line in text.splitlines():
        body = re.sub(r"^- ", "", line.strip())
        body = re.sub(r"\s+\d+$", "", body)
        body = re.sub(r"(\S)\s\d+\.$", r"\1.", body)
        # split after a lead-in colon, and before a trailing sub-heading glued to the line
        for part in re.split(r"(?<=:)\s+(?=[A-Z<>0-9])|\s+(?=[A-Z][a-z]+[^:<>]*:$)", body):
            if part and normative.search(part):
                fragments.append(_norm(part))
    return fragments


def _cases(cases_dir: Path | None) -> dict[str, dict]:
    """Every case, the packs' folders (cases/<pack>/) included, by its path under cases_dir."""
    if cases_dir is None or not cases_dir.is_dir():
        return {}
    return {str(p.relative_to(cases_dir))[: -len(".expected.json")]: json.loads(p.read_text())
            for p in sorted(cases_dir.rglob("*.expected.json"))}


def build(knowledge: Knowledge, cases_dir: Path | None) -> Coverage:
    """The matrix and its gaps."""
    g = knowledge.graph
    cases = _cases(cases_dir)
    gaps: list[str] = []

    texts = {s: _norm(str(t)) for s, t in g.subject_objects(GM.statementText)}
    for guideline, text in guideline_texts(knowledge).items():
        own = [t for s, t in texts.items() if str(g.value(s, GM.partOf)) == guideline]
        pattern = g.value(URIRef(guideline), GM.normativePattern)
        if pattern is None:
            continue
        for fragment in normative_fragments(text, str(pattern)):
            if not any(fragment.rstrip(":") in t for t in own):
                gaps.append(f"guideline text of {guideline} has no statement individual: {fragment!r}")

    queries = {r.iri: r.query for r in knowledge.rules}
    risk_codes = {str(c) for rf in g.subjects(RDF.type, GM.RiskFactor) for c in g.objects(rf, GM.code)}
    cited_by: dict = {}
    rows = []
    for rule in sorted(g.subjects(RDF.type, GM.Rule)):
        query = str(g.value(rule, GM.implementedBy) or "")
        concludes = g.value(rule, GM.concludes)
        code = str(g.value(concludes, GM.code)) if concludes is not None else None
        statements = sorted(str(s) for s in g.objects(rule, GM.cites))
        for s in g.objects(rule, GM.cites):
            cited_by.setdefault(s, []).append(str(rule))
        exists = bool(query) and bool(queries.get(str(rule)))
        row = RuleRow(str(rule), str(concludes) if concludes is not None else None, code, query, exists, statements)
        for name, expected in cases.items():
            companions = expected.get("companions", {})
            positive = {expected.get("b12_status")} | set(expected.get("actions", {}).get("must", [])) | set(expected.get("risk_factors") or [])
            positive |= set(companions.get("must", []))
            negative = set(expected.get("actions", {}).get("must_not", [])) | set(companions.get("must_not", []))
            if "risk_factors" in expected:  # the exact set: every other risk factor must not fire
                negative |= {c for c in risk_codes if c not in expected["risk_factors"]}
            if code in positive:
                row.fires_in.append(name)
            if code in negative:
                row.excluded_in.append(name)
        rows.append(row)
        if not exists:
            gaps.append(f"rule {rule} has no query file ({query or 'no gm:implementedBy'})")
        if code and cases and not row.fires_in:
            gaps.append(f"rule {rule} ({code}): no test case expects it to fire")
        if code and cases and concludes is not None and (concludes, RDF.type, GM.DiagnosticStatus) not in g and not row.excluded_in:
            gaps.append(f"rule {rule} ({code}): no test case expects it not to fire")

    for rec in sorted(g.subjects(RDF.type, GM.Recommendation)):
        if g.value(rec, GM.hasRule) is None:
            gaps.append(f"recommendation {rec} has no rule")
    statements = []
    for s in sorted(g.subjects(RDF.type, GM.EvidenceStatement)):
        rules = sorted(cited_by.get(s, []))
        note = g.value(s, SKOS.scopeNote)
        if not rules and note is None:
            gaps.append(f"statement {s} is cited by no rule and has no skos:scopeNote saying why")
        statements.append({"statement": str(s), "citation": str(g.value(s, GM.citation)), "text": texts.get(s, ""),
                           "rules": rules, "note": str(note) if note is not None else None})
    if cases_dir is not None and not cases:
        gaps.append(f"no test cases found in {cases_dir}")
    return Coverage(statements, rows, gaps)


def _short(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def to_markdown(coverage: Coverage) -> str:
    """The matrix as Markdown tables."""
    lines = ["# Coverage: guideline statement -> individual -> rule -> query -> cases", "",
             "Generated by `b12kg coverage` from the ontology, queries/ and the test cases.", "",
             "## Statements", "", "| citation | statement | individual | rules |", "|---|---|---|---|"]
    for s in coverage.statements:
        rules = ", ".join(_short(r) for r in s["rules"]) or f"none: {s['note']}"
        text = s["text"] if len(s["text"]) <= 100 else s["text"][:97] + "..."
        lines.append(f"| {s['citation']} | {text} | `{_short(s['statement'])}` | {rules} |")
    lines += ["", "## Rules", "", "| rule | concludes | query | cases firing | cases not firing |", "|---|---|---|---|---|"]
    for r in coverage.rules:
        query = f"`{r.query}`" if r.query_exists else f"**missing** `{r.query}`"
        lines.append(f"| `{_short(r.rule)}` | {r.code or '(supporting)'} | {query} | {len(r.fires_in)} | {len(r.excluded_in)} |")
    lines += ["", "## Gaps", ""] + ([f"- {gap}" for gap in coverage.gaps] or ["None."])
    return "\n".join(lines) + "\n"
