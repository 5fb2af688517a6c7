"""The loader's result: one patient's facts, ready for validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .facts import Facts


@dataclass(eq=False)
class LoadedPatient:
    """One patient's facts, ready for validation: `facts` are asserted, `ignored_facts` were
    set aside (load.facts terms; `graph` and `ignored_graph` give them as rdflib Graphs)."""

    file: str
    node: str
    """The patient's IRI."""
    patient_id: str
    facts: Facts
    ignored_facts: Facts = field(default_factory=Facts)
    ignored: list[dict[str, str]] = field(default_factory=list)
    source_sha256: str = ""
    set_aside: dict = field(default_factory=dict)
    """Fact node -> why the loader set it aside (moved to the ignored facts by scope)."""
    quality: list[tuple] = field(default_factory=list)
    """(fact node, code, detail) data quality notes found by the loader (contract section 6)."""
    record_dates: frozenset[str] = frozenset()
    """Dates (YYYY-MM-DD) on the record's clinical resources, read or not: record.newest_fact (contract section 6)."""
    validated: bool = False
    """Whether the input shapes were checked (b12kg.validate): the pipeline checks the others chunk by chunk."""

    @cached_property
    def patient(self):
        """The patient's node as an rdflib URIRef."""
        from rdflib import URIRef

        return URIRef(self.node)

    @property
    def graph(self):
        """The asserted facts as an rdflib Graph (built on each call: for pySHACL and tests)."""
        return self.facts.rdflib_graph()

    @property
    def ignored_graph(self):
        """The facts set aside as an rdflib Graph (built on each call)."""
        return self.ignored_facts.rdflib_graph()
