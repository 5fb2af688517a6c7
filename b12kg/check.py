"""Ontology QC of the merged knowledge (`b12kg check`), in the manner of ODK/OBO builds.

Four checks, each reported with the entity it names:

1. OWL 2 DL consistency and unsatisfiable classes, by HermiT (owlready2; needs Java).
2. The QC queries queries/qc/*-violation.rq: each returns ``?entity ?property ?value``
   rows, and any row is a failure. They run over the merged ontology plus facts about the
   packs themselves that are not in the ontology (graph ``graph:qc``): in which pack each
   IRI is defined (``gm:definedInPack``), and whether each rule's query file exists
   (``gm:queryFileMissing``).
3. The guideline-integrity SHACL shapes (shapes/guideline-integrity.ttl, and each pack's
   shapes/*-integrity.ttl).
4. The coverage check (b12kg.coverage): statement -> rule -> query -> cases, no gaps.
5. Sources: every code in a value set names its source (dct:source on the code, or on the
   owl:Ontology of the file that types it); a note until the hand-written files carry theirs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib import RDF, Literal, URIRef

from . import resources
from .knowledge import Knowledge
from .namespaces import GM, GRAPH
from .rdfterms import to_ox
from .sparql import select

QC_GRAPH = GRAPH["qc"]
OWL_NOTHING = "http://www.w3.org/2002/07/owl#Nothing"
OWL2_DATATYPE_GAPS = ("date", "yearMonthDuration", "dayTimeDuration", "duration", "gYear", "gYearMonth")
"""XSD datatypes outside the OWL 2 datatype map: HermiT refuses them, so their assertions
are left out of the DL check (they are data values, not axioms: nothing is lost)."""


@dataclass
class Finding:
    check: str
    entity: str
    property: str
    value: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.entity} {self.property}: {self.value}"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def text(self) -> str:
        lines = [f"b12kg check: {', '.join(self.checks)}"]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  FAIL {f}" for f in self.findings]
        lines.append(f"b12kg check: {'passed' if self.ok else f'{len(self.findings)} problem(s)'}")
        return "\n".join(lines)


def qc_facts(knowledge: Knowledge) -> list[tuple]:
    """Facts about the packs the QC queries read: where each IRI is defined, which query files are missing."""
    facts: list[tuple] = []
    for iri, pack in knowledge.defined_in:
        facts.append((URIRef(iri), GM.definedInPack, Literal(pack)))
    for rule in knowledge.rules:
        if not rule.query:
            facts.append((URIRef(rule.iri), GM.queryFileMissing, Literal(f"{rule.pack}: {rule.query_path}")))
    return facts


def qc_queries() -> list[Path]:
    return sorted((resources.data_dir("queries") / "qc").glob("*-violation.rq"))


def run_qc_queries(knowledge: Knowledge) -> list[Finding]:
    store = ox.Store()
    store.extend(knowledge.quads)
    graph = ox.NamedNode(str(QC_GRAPH))
    store.extend(ox.Quad(to_ox(s), to_ox(p), to_ox(o), graph) for s, p, o in qc_facts(knowledge))
    findings = []
    for path in qc_queries():
        for row in select(store, path.read_text(encoding="utf-8")):
            findings.append(Finding(path.stem, row["entity"].value, row.get("property", ox.Literal("")).value,
                                    row.get("value", ox.Literal("")).value))
    return findings


def run_shapes(knowledge: Knowledge) -> list[Finding]:
    import pyshacl

    shapes = rdflib.Graph().parse(resources.shapes_file("guideline-integrity"), format="turtle")
    for pack in knowledge.packs:
        for path in pack.shapes:
            if path.name.endswith("-integrity.ttl") and path != resources.shapes_file("guideline-integrity"):
                shapes.parse(path, format="turtle")
    _, report, _ = pyshacl.validate(knowledge.graph, shacl_graph=shapes, inference="none")
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    findings = []
    for result in report.subjects(RDF.type, sh.ValidationResult):
        findings.append(Finding("guideline-integrity", str(report.value(result, sh.focusNode)),
                                str(report.value(result, sh.resultPath) or ""), str(report.value(result, sh.resultMessage) or "")))
    return sorted(findings, key=lambda f: (f.entity, f.property))


def _dl_graph(knowledge: Knowledge) -> tuple[rdflib.Graph, int]:
    xsd = str(rdflib.XSD)
    gaps = {rdflib.URIRef(xsd + name) for name in OWL2_DATATYPE_GAPS}
    graph, left_out = rdflib.Graph(), 0
    for triple in knowledge.graph:
        o = triple[2]
        if (isinstance(o, Literal) and o.datatype in gaps) or o in gaps:
            left_out += 1
            continue
        graph.add(triple)
    return graph, left_out


def _hermit_command(java: str, ontology: Path) -> list[str]:
    import owlready2

    jar_dir = Path(owlready2.__file__).parent / "hermit"
    classpath = os.pathsep.join([str(jar_dir), str(jar_dir / "HermiT.jar")])
    return [java, "-Xmx2000M", "-cp", classpath, "org.semanticweb.HermiT.cli.CommandLine", "-U", ontology.as_uri()]


def _named(text: str) -> str:
    text = text.strip()
    return text[1:-1] if text.startswith("<") and text.endswith(">") else text


def run_hermit(knowledge: Knowledge, timeout: float = 600) -> tuple[list[Finding], list[str]]:
    """OWL 2 DL consistency and unsatisfiable classes: HermiT's command line (the jar
    owlready2 ships) asked only for the classes equivalent to owl:Nothing, which is far
    quicker than a full classification and realisation."""
    java = shutil.which("java")
    if java is None:
        return [Finding("owl-dl", "(the merged ontology)", "reasoner",
                        "HermiT needs Java, and no 'java' is on PATH: install a Java runtime (e.g. apt-get install default-jre-headless) "
                        "or run 'b12kg check --no-reasoner'")], []
    graph, left_out = _dl_graph(knowledge)
    notes = [f"OWL 2 DL check by HermiT over {len(graph)} triples ({left_out} data values or ranges with datatypes outside the "
             f"OWL 2 datatype map, e.g. xsd:date and durations, left out)"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "merged.owl"
        graph.serialize(path, format="xml")
        try:
            run = subprocess.run(_hermit_command(java, path), capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return [Finding("owl-dl", "(the merged ontology)", "reasoner", f"HermiT did not finish within {timeout:g} s")], notes
    if "InconsistentOntologyException" in run.stderr:
        return [Finding("owl-dl", "(the merged ontology)", "consistency", "inconsistent: no model satisfies every axiom")], notes
    if run.returncode != 0:
        message = next((line for line in run.stderr.splitlines() if "Exception" in line), run.stderr.strip()[-300:])
        return [Finding("owl-dl", "(the merged ontology)", "reasoner", f"HermiT failed: {message}")], notes
    lines = run.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Classes equivalent to")), len(lines))
    unsatisfiable = sorted({_named(line) for line in lines[start + 1:] if line.startswith("\t")} - {"owl:Nothing", str(OWL_NOTHING)})
    return [Finding("owl-dl", iri, "owl:equivalentClass", "owl:Nothing (unsatisfiable class)") for iri in unsatisfiable], notes


def codes_without_source(knowledge: Knowledge) -> list[Finding]:
    """Value-set codes with no source: neither a dct:source on the code (anywhere in the merged
    knowledge) nor a dct:source declared on the owl:Ontology of a file that types it in a value set."""
    from rdflib import OWL

    dct_source = URIRef("http://purl.org/dc/terms/source")
    value_sets = set(knowledge.graph.subjects(RDF.type, GM.ValueSet))
    sourced = set(knowledge.graph.subjects(dct_source, None))
    missing: dict[str, set[str]] = {}
    for pack in knowledge.packs:
        for path in pack.ontology:
            part = rdflib.Graph().parse(path, format="turtle")
            if any((ontology, dct_source, None) in part for ontology in part.subjects(RDF.type, OWL.Ontology)):
                continue  # the file declares its source for all it types
            for code, cls in part.subject_objects(RDF.type):
                if cls in value_sets and isinstance(code, URIRef) and code not in sourced:
                    missing.setdefault(str(code), set()).add(f"{pack.name}/{path.name}")
    return [Finding("value-set-source", code, "dct:source", f"no source (typed in a value set in {', '.join(sorted(files))})")
            for code, files in sorted(missing.items())]


def run_coverage(knowledge: Knowledge, cases: Path | None) -> list[Finding]:
    from .coverage import build

    return [Finding("coverage", "(coverage matrix)", "gap", gap) for gap in build(knowledge, cases).gaps]


def check(knowledge: Knowledge, cases: Path | None = None, reasoner: bool = True, coverage: bool = True,
          strict_sources: bool = False) -> Report:
    """Every check over the merged knowledge. A value-set code with no source is a failure with
    strict_sources, otherwise a note (codes of the hand-written pack files still lack sources)."""
    report = Report()
    report.checks.append(f"{len(knowledge.packs)} packs ({', '.join(p.name for p in knowledge.packs)})")
    if reasoner:
        findings, notes = run_hermit(knowledge)
        report.findings += findings
        report.notes += notes
    report.findings += run_qc_queries(knowledge)
    report.notes.append(f"{len(qc_queries())} QC queries (queries/qc/*-violation.rq)")
    report.findings += run_shapes(knowledge)
    unsourced = codes_without_source(knowledge)
    if strict_sources:
        report.findings += unsourced
    elif unsourced:
        report.notes.append(f"{len(unsourced)} value-set codes have no source yet (first: {unsourced[0].entity}); "
                            "b12kg.check.codes_without_source lists them")
    if coverage:
        report.findings += run_coverage(knowledge, cases)
    return report
