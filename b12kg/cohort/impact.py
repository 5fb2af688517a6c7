"""Knowledge-change impact: assess a cohort's latest inputs under two knowledge versions and
list, per patient, the conclusions that appear, disappear or change value, each tied to the
knowledge edit that explains it.

Python orchestrates; the logic is SPARQL. The cohort's inputs are read from the store
(queries/living/input-documents.rq: each patient's latest input, as kept by batch --store,
with its as-of date and SHA-256, so each assessment keeps its IRI) and assessed under each
version in memory; each version's conclusions go to graphs named by the assessment and the
version's hash (`{assessment}/knowledge/{sha256}/graph/...`), so both live in one store.
queries/impact/knowledge-diff.rq lists the edits (a statement about a named thing one version
makes and the other does not), queries/living/conclusion-changes.rq the changed conclusions,
and queries/impact/conclusion-dependencies.rq the knowledge each conclusion depends on under
the version that made it (its rule and what the rule reads, its thresholds, statements,
concept and the codes of its facts). A change is explained by the edits among those
dependencies; one with none (an action that follows a changed status) is explained through
the patient's directly explained changes (`via`). The cohort store is only read.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date

import pyoxigraph as ox

from ..errors import InputRejected
from ..knowledge_version import version_of
from ..namespaces import ASSERTED_GRAPH, CONCLUDED_GRAPH, GM, PROVENANCE_GRAPH
from ..resources import query_text
from .history import conclusion_changes
from .store import CohortStore

ROLES = {str(CONCLUDED_GRAPH): "concluded", str(PROVENANCE_GRAPH): "provenance", str(ASSERTED_GRAPH): "asserted"}


class Scratch:
    """An in-memory store with the same `select` as CohortStore (nothing there is pending)."""

    def __init__(self):
        self.store = ox.Store()

    def select(self, query: str, bindings: dict | None = None) -> list[dict]:
        solutions = self.store.query(query, substitutions={ox.Variable(k): v for k, v in (bindings or {}).items()})
        names = [v.value for v in solutions.variables]
        return [{n: row[n] for n in names if row[n] is not None} for row in solutions]


def graph(assessment: str, sha: str, role: str) -> ox.NamedNode:
    """One assessment's graph under one knowledge version, in the impact store."""
    return ox.NamedNode(f"{assessment}/knowledge/{sha}/graph/{role}")


def knowledge_graph(sha: str) -> ox.NamedNode:
    return ox.NamedNode(f"https://w3id.org/b12kg/knowledge/{sha}/graph")


def knowledge_quads(knowledge, sha: str) -> list[ox.Quad]:
    """A version's ontology, and the SHA-256 of each rule's SPARQL (so an edited query is an edit of its rule)."""
    target = knowledge_graph(sha)
    quads = [ox.Quad(q.subject, q.predicate, q.object, target) for q in knowledge.quads]
    quads += [ox.Quad(ox.NamedNode(r.iri), ox.NamedNode(str(GM.querySha256)),
                      ox.Literal(hashlib.sha256(r.query.encode("utf-8")).hexdigest()), target) for r in knowledge.rules]
    return quads


def stored_inputs(cohort: CohortStore) -> list[dict]:
    rows = cohort.select(query_text("living/input-documents.rq"))
    return [{"patient": r["patient"].value, "assessment": r["assessment"].value, "as_of": r["asOf"].value,
             "sha256": r["inputSha256"].value, "format": r["format"].value if "format" in r else "fhir",
             "document": r["document"].value, "in_population": "populationAsserted" in r} for r in rows]


def assess_under(knowledge, inputs: list[dict], scratch: Scratch, sha: str, keep_facts: bool) -> dict[str, str]:
    """Assess every input under one knowledge version into the scratch store; {assessment: problem} of those refused."""
    from ..load import load_document
    from ..pipeline import Assessor
    from ..validate import validate_input

    refused: dict[str, str] = {}
    groups: dict[tuple[str, bool], list[dict]] = {}
    for item in inputs:
        groups.setdefault((item["as_of"], item["in_population"]), []).append(item)
    for (day, in_population), items in sorted(groups.items()):
        assessor = Assessor(knowledge=knowledge, in_population=in_population)
        as_of = date.fromisoformat(day)
        loaded, kept = [], []
        for item in items:
            try:
                patient = load_document(item["document"], f"stored input of {item['patient']}", knowledge, as_of,
                                        fmt=item["format"], source_sha256=item["sha256"])
                validate_input(patient, knowledge)
            except InputRejected as exc:
                refused[item["assessment"]] = "; ".join(p.reason for p in exc.problems[:3])
                continue
            loaded.append(patient)
            kept.append(item)
        for item, outcome in zip(kept, assessor.assess_loaded_many(loaded, as_of), strict=True):
            if isinstance(outcome, Exception):
                refused[item["assessment"]] = f"{type(outcome).__name__}: {outcome}"
                continue
            if outcome.assessment.value != item["assessment"]:  # same input, date and patient: the same IRI
                refused[item["assessment"]] = f"assessed as {outcome.assessment.value}"
                continue
            quads = []
            for q in outcome.quads:
                role = ROLES.get(q.graph_name.value) if isinstance(q.graph_name, ox.NamedNode) else None
                if role is not None and (role != "asserted" or keep_facts):
                    quads.append(ox.Quad(q.subject, q.predicate, q.object, graph(item["assessment"], sha, role)))
            scratch.store.extend(quads)
    return refused


def edits(scratch: Scratch, old: str, new: str) -> dict[str, dict]:
    found: dict[str, dict] = {}
    rows = scratch.select(query_text("impact/knowledge-diff.rq"),
                          {"oldKnowledge": knowledge_graph(old), "newKnowledge": knowledge_graph(new)})
    for r in rows:
        edit = found.setdefault(r["subject"].value, {"id": r["subject"].value, "label": None, "kind": None, "changes": [],
                                                     "conclusions": 0, "patients": 0})
        edit["label"] = edit["label"] or (r["label"].value if "label" in r else None)
        edit["kind"] = edit["kind"] or (r["kind"].value.rsplit("#", 1)[-1] if "kind" in r else None)
        change = {"property": r["property"].value, "old": r["oldValue"].value if "oldValue" in r else None,
                  "new": r["newValue"].value if "newValue" in r else None}
        if change not in edit["changes"]:
            edit["changes"].append(change)
    return found


def dependencies(scratch: Scratch, conclusion: str, assessment: str, sha: str, facts_sha: str) -> dict[str, str]:
    rows = scratch.select(query_text("impact/conclusion-dependencies.rq"), {
        "conclusion": ox.NamedNode(conclusion), "concluded": graph(assessment, sha, "concluded"),
        "provenance": graph(assessment, sha, "provenance"), "asserted": graph(assessment, facts_sha, "asserted"),
        "knowledge": knowledge_graph(sha)})
    return {r["entity"].value: r["via"].value for r in rows}


def impact(directory, old_spec: str, new_spec: str) -> dict:
    """The impact report (module docstring) of moving the cohort in `directory` from one knowledge version to another."""
    from ..knowledge_version import load_version

    cohort = CohortStore(directory, read_only=True)
    inputs = stored_inputs(cohort)
    total = len({a for a in cohort.assessments()})
    if not inputs:
        raise InputRejected.one(str(directory), "no assessment in the store keeps its input (gm:inputDocument): b12kg impact "
                                                "assesses the inputs that b12kg batch --store keeps", field="DIR")
    old_k, new_k = load_version(old_spec), load_version(new_spec)
    old, new = version_of(old_k), version_of(new_k)
    if old.sha256 == new.sha256:
        raise InputRejected.one(f"{old_spec} / {new_spec}", "the two knowledge versions are the same (same SHA-256 "
                                                            f"{old.sha256[:12]}): nothing could change", field="--knowledge")
    scratch = Scratch()
    scratch.store.extend(knowledge_quads(old_k, old.sha256) + knowledge_quads(new_k, new.sha256))
    scratch.store.extend(old_k.quads)  # graph:ontology, where conclusion-changes.rq reads a concept's code
    refused = assess_under(old_k, inputs, scratch, old.sha256, keep_facts=True)
    refused.update(assess_under(new_k, inputs, scratch, new.sha256, keep_facts=False))
    found = edits(scratch, old.sha256, new.sha256)
    patients = []
    for item in inputs:
        a = item["assessment"]
        if a in refused:
            continue
        changes = conclusion_changes(scratch, a, a, graph(a, old.sha256, "concluded"), graph(a, new.sha256, "concluded"))
        for change in changes:
            depends = {}
            for side, sha in (("old_conclusion", old.sha256), ("new_conclusion", new.sha256)):
                if change[side]:
                    depends.update(dependencies(scratch, change[side], a, sha, old.sha256))
            change["explained_by"] = sorted(e for e in depends if e in found)
            change.pop("old_conclusion"), change.pop("new_conclusion")
        direct = sorted({e for c in changes for e in c["explained_by"]})
        direct_keys = [c["key"] for c in changes if c["explained_by"]]
        for change in changes:
            if not change["explained_by"] and direct:
                change["via"], change["explained_by"] = direct_keys, direct
        if changes:
            patients.append({"patient": item["patient"], "assessment": a, "as_of": item["as_of"], "changes": changes})
    for edit in found.values():
        edit["conclusions"] = sum(1 for p in patients for c in p["changes"] if edit["id"] in c["explained_by"])
        edit["patients"] = sum(1 for p in patients if any(edit["id"] in c["explained_by"] for c in p["changes"]))
    kinds = Counter(c["change"] for p in patients for c in p["changes"])
    return {"store": str(directory),
            "old": {"spec": str(old_spec), "knowledge": old.iri, "packs": [vars(p) for p in old.packs]},
            "new": {"spec": str(new_spec), "knowledge": new.iri, "packs": [vars(p) for p in new.packs]},
            "counts": {"assessments": total, "assessed": len(inputs) - len(refused), "without_input": total - len(inputs),
                       "refused": len(refused), "patients_changed": len(patients),
                       "conclusions_changed": sum(kinds.values()), **{k: kinds.get(k, 0) for k in ("appears", "disappears", "changes")},
                       "unexplained": sum(1 for p in patients for c in p["changes"] if not c["explained_by"])},
            "edits": sorted(found.values(), key=lambda e: (-e["conclusions"], e["id"])),
            "patients": patients, "refused": [{"assessment": a, "reason": r} for a, r in sorted(refused.items())]}
