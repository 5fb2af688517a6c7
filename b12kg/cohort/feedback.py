"""Clinicians' feedback on CDS Hooks cards in the cohort store, as PROV-linked entities.

The CDS Hooks service keeps every card it issued, with the conclusions the card shows (their
IRIs, the rule that made each and the guideline statements it rests on), and the feedback
on it, in SQLite (serve/cds/feedback.py: the durable, concurrent record). `sync` copies the
feedback into a cohort store, one named graph per feedback item
(`https://w3id.org/b12kg/feedback/{uuid}`), in one transactional load: a graph already there
is not written again, so syncing twice adds nothing. Each item is a `gm:CardFeedback`
(a `prov:Entity`) with its outcome, override reason and comment, `gm:feedbackOn` (a
sub-property of `prov:wasDerivedFrom`) each conclusion of the card, by the same IRI the
assessment minted; the conclusion is described there by its rule (`prov:wasAttributedTo`)
and statements (`prov:wasDerivedFrom`), so queries/cohort/override-rate.rq answers "which
rules and statements do clinicians override" over the store alone.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from ..namespaces import GM, PROV

FEEDBACK_NS = "https://w3id.org/b12kg/feedback/"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def _n(term) -> ox.NamedNode:
    return ox.NamedNode(str(term))


def feedback_graph(item: dict) -> ox.NamedNode:
    return ox.NamedNode(f"{FEEDBACK_NS}{item['uuid'] or 'item-' + str(item['id'])}/graph")


def feedback_quads(item: dict) -> tuple[ox.NamedNode, list[ox.Quad]]:
    """One feedback item (FeedbackStore.for_graph) as its graph and quads."""
    graph = feedback_graph(item)
    node = ox.NamedNode(graph.value[: -len("/graph")])
    triples = [(node, RDF_TYPE, _n(GM.CardFeedback)), (node, RDF_TYPE, _n(PROV.Entity)),
               (node, _n(GM.outcome), ox.Literal(item["outcome"])),
               (node, _n(GM.cardUuid), ox.Literal(item["card"])), (node, _n(GM.cdsService), ox.Literal(item["service"])),
               (node, _n(PROV.generatedAtTime), ox.Literal(item["timestamp"].replace("Z", "+00:00"),
                                                           datatype=ox.NamedNode(XSD + "dateTime")))]
    reason = item.get("reason") or {}
    for key, prop in (("code", GM.overrideReasonCode), ("system", GM.overrideReasonSystem), ("display", GM.overrideReasonText)):
        if isinstance(reason.get(key), str):
            triples.append((node, _n(prop), ox.Literal(reason[key])))
    if item.get("comment"):
        triples.append((node, _n(GM.userComment), ox.Literal(item["comment"])))
    for conclusion in item["conclusions"]:
        iri = ox.NamedNode(conclusion["iri"])
        triples += [(node, _n(GM.feedbackOn), iri), (node, _n(PROV.wasDerivedFrom), iri),
                    (iri, RDF_TYPE, _n(GM.Conclusion)), (iri, _n(GM.code), ox.Literal(conclusion["code"])),
                    (iri, _n(PROV.wasAttributedTo), ox.NamedNode(conclusion["rule"])),
                    (iri, _n(GM.derivedBy), ox.NamedNode(conclusion["rule"]))]
        triples += [(iri, _n(PROV.wasDerivedFrom), ox.NamedNode(s)) for s in conclusion.get("statements", [])]
    return graph, [ox.Quad(s, p, o, graph) for s, p, o in triples]


def sync(feedback, directory: Path) -> tuple[int, int]:
    """Copy every feedback item of a FeedbackStore into the cohort store at `directory` (created if absent)
    in one transactional load; (added, already there)."""
    from .store import CohortStore

    items = feedback.for_graph()
    cohort = CohortStore(directory)
    try:
        with cohort.loading() as loader:
            for item in items:
                loader.add_graph(*feedback_quads(item))
    finally:
        cohort.close()
    return loader.graphs_added, loader.skipped
