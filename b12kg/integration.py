"""Several guidelines in one knowledge: which guideline each rule speaks for, the guidelines
applied, and the interactions between guidelines that hold whatever the patient (`b12kg
interactions`). An assessment's section-8 fields are rendered by render/guidelines.py.
"""

from __future__ import annotations

from .knowledge import Knowledge
from .namespaces import GM
from .sparql import select


def rule_guidelines(knowledge: Knowledge) -> dict[str, frozenset[str]]:
    """Rule IRI -> the guidelines whose statements it cites (computed once per knowledge)."""
    return knowledge.derived(_cited_guidelines)


def _cited_guidelines(knowledge: Knowledge) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    graph = knowledge.graph  # gm:cites/gm:partOf, walked (rdflib's SPARQL engine costs 0.15 s to import)
    for rule, statement in graph.subject_objects(GM.cites):
        for guideline in graph.objects(statement, GM.partOf):
            found.setdefault(str(rule), set()).add(str(guideline))
    return {rule: frozenset(gs) for rule, gs in found.items()}


def applied_guidelines(knowledge: Knowledge) -> list:
    """The guidelines that have rules (the primary first)."""
    with_rules = {g for gs in rule_guidelines(knowledge).values() for g in gs}
    return [g for g in knowledge.guidelines if g.primary or g.iri in with_rules]


def knowledge_interactions(knowledge: Knowledge) -> list[dict]:
    """Interactions between guidelines that hold whatever the patient, from each interaction
    rule's knowledge query (gm:knowledgeQuery): the `b12kg interactions` listing."""
    store = knowledge.store
    rules = select(store, """SELECT ?rule ?type ?path ?resolution WHERE {
        ?rule gm:findsInteraction ?class ; gm:knowledgeQuery ?path . ?class gm:code ?type ; gm:defaultResolution ?resolution }""")
    found = []
    for rule in sorted(rules, key=lambda r: r["type"].value):
        for row in select(store, knowledge.queries[rule["path"].value.removesuffix(".rq")]):
            found.append({"type": rule["type"].value, "on": row["on"].value, "detail": row["detail"].value,
                          "between": [{"guideline": row["oneGuideline"].value, "entity": row["one"].value},
                                      {"guideline": row["otherGuideline"].value, "entity": row["other"].value}],
                          "rule": rule["rule"].value})
    return sorted(found, key=lambda f: (f["type"], f["on"], f["between"][0]["entity"], f["between"][1]["entity"]))
