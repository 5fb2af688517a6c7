"""An assessment's dataset as RDF: reproducible Turtle, TriG, JSON-LD or N-Triples (canonical.py)."""

from __future__ import annotations

import pyoxigraph as ox

from ..canonical import serialize
from ..knowledge import Knowledge


def to_rdf(quads: list[ox.Quad], fmt: str, knowledge: Knowledge | None = None) -> str:
    """The assessment's quads serialised reproducibly; Turtle, JSON-LD and N-Triples merge the named
    graphs. Prefixes: the model's and the packs' (of the loaded knowledge by default)."""
    if knowledge is None:
        from ..knowledge import load_knowledge

        knowledge = load_knowledge()
    return serialize(quads, fmt, dict(knowledge.prefixes))
