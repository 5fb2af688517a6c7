"""The loader's result: one patient's facts, ready for validation."""

from __future__ import annotations

from dataclasses import dataclass, field

import rdflib
from rdflib import URIRef


@dataclass
class LoadedPatient:
    """One patient's facts, ready for validation."""

    file: str
    patient: URIRef
    patient_id: str
    graph: rdflib.Graph
    ignored_graph: rdflib.Graph = field(default_factory=lambda: rdflib.Graph(bind_namespaces="none"))
    ignored: list[dict[str, str]] = field(default_factory=list)
    source_sha256: str = ""
    set_aside: dict = field(default_factory=dict)
    """Fact node -> why the loader set it aside (moved to the ignored graph by scope)."""
    quality: list[tuple] = field(default_factory=list)
    """(fact node, code, detail) data quality notes found by the loader (contract section 6)."""
    record_dates: frozenset[str] = frozenset()
    """Dates (YYYY-MM-DD) on the record's clinical resources, read or not: record.newest_fact (contract section 6)."""
