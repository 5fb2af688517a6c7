"""b12kg: the B12 peripheral-neuropathy guideline as an executable, explainable knowledge graph."""

__version__ = "0.1.0"
