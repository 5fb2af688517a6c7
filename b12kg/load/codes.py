"""The knowledge's code tables as the loader reads them, by IRI string (read once per Knowledge):
which concepts a guideline reads, which analyte a code measures, which namespace a FHIR code
system's concepts have. The same answers as Knowledge.reads_code, analyte_for_code and
code_system, without building rdflib terms per look-up."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..knowledge import Analyte, Knowledge
from .facts import lexical


@dataclass
class CodeTables:
    members: frozenset[str]
    hierarchies: tuple[tuple[str, tuple[int, ...]], ...]
    analytes: dict[str, Analyte]
    namespaces: dict[str, str]
    read: dict[str, bool] = field(default_factory=dict)
    """Concept IRI -> whether a guideline reads it (memo, bounded)."""

    def reads_code(self, concept: str) -> bool:
        found = self.read.get(concept)
        if found is None:
            found = self._reads(concept)
            if len(self.read) > 100_000:
                self.read.clear()
            self.read[concept] = found
        return found

    def _reads(self, concept: str) -> bool:
        if concept in self.members:
            return True
        for namespace, lengths in self.hierarchies:
            if concept.startswith(namespace):
                notation = concept[len(namespace):]
                return any(namespace + notation[:n] in self.members for n in lengths if len(notation) > n)
        return False

    def reads_any(self, concepts: Iterable) -> bool:
        """Whether a guideline reads any of these terms (a literal or blank node by its text, as str() read them)."""
        return any(self.reads_code(lexical(c)) for c in concepts)

    def analyte_for_code(self, concept) -> Analyte | None:
        return self.analytes.get(lexical(concept))


def code_tables(knowledge: Knowledge) -> CodeTables:
    """The tables of a Knowledge (knowledge.derived(code_tables) computes them once)."""
    analytes: dict[str, Analyte] = {}
    for analyte in knowledge.analytes:  # the first analyte of a code wins, as in Knowledge.analyte_for_code
        for code in analyte.codes:
            analytes.setdefault(code, analyte)
    namespaces: dict[str, str] = {}
    for system in knowledge.code_systems:
        namespaces.setdefault(system.system_uri, system.namespace)
    return CodeTables(members=frozenset(str(m) for m in knowledge.value_set_members),
                      hierarchies=knowledge._hierarchies, analytes=analytes, namespaces=namespaces)


def tables(knowledge: Knowledge) -> CodeTables:
    return knowledge.derived(code_tables)
