"""The CDS Hooks services the loaded packs offer, read from their data (queries/cds/services.rq,
ontology/model/cds.ttl): id, hook, title, description, and the query that finds the issues
draft orders raise (a file of the pack that describes the service)."""

from __future__ import annotations

from dataclasses import dataclass

from ...knowledge import Knowledge
from ...sparql import select

HOOKS = ("patient-view", "order-select", "order-sign")
"""The hooks b12kg answers."""


@dataclass(frozen=True)
class Service:
    iri: str
    id: str
    hook: str
    title: str
    description: str
    guideline: str | None
    issues_query: str | None
    """The text of the query finding order issues (order-select, order-sign)."""


def services(knowledge: Knowledge) -> dict[str, Service]:
    """Service id -> Service, for every service of a hook b12kg answers (computed once per Knowledge)."""
    return knowledge.derived(_services)


def _pack_query(knowledge: Knowledge, subject: str, relative: str) -> str:
    """The text of a query file named relative to the queries folder of the pack that defines `subject`."""
    pack = next((p for s, p in knowledge.defined_in if s == subject), None)
    name = relative.removesuffix(".rq")
    return knowledge.queries[f"{pack}/{name}" if pack else name]


def _services(knowledge: Knowledge) -> dict[str, Service]:
    found = {}
    for row in select(knowledge.store, knowledge.queries["cds/services"]):
        if row["hook"].value not in HOOKS:
            continue
        iri = row["cdsService"].value
        query = _pack_query(knowledge, iri, row["issuesQuery"].value) if "issuesQuery" in row else None
        found[row["id"].value] = Service(iri, row["id"].value, row["hook"].value, row["title"].value, row["description"].value,
                                         row["guideline"].value if "guideline" in row else None, query)
    return found
