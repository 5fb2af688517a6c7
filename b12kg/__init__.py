"""b12kg: clinical guidelines as an executable, explainable knowledge graph (OWL, SHACL,
SPARQL, PROV-O), with the B12 peripheral-neuropathy guideline and its companions built in.

The public API (imported on first use, so `b12kg --help` loads no RDF library):

    >>> from datetime import date
    >>> import b12kg
    >>> result = b12kg.Api().assess(bundle, as_of=date(2026, 11, 24))   # a FHIR Bundle (dict or JSON text)
    >>> result.document["b12_status"]["value"]                           # the output contract's JSON
    >>> view = b12kg.Assessor().assess(Path("patient.json"), date(2026, 11, 24))
    >>> view.select("SELECT * WHERE { ?c gm:aboutPatient ?patient }")    # the dataset, ?patient bound

Everything else (b12kg.load, b12kg.render, b12kg.batch, b12kg.cohort, b12kg.serve) is
importable and documented, but may change between minor versions.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from .version import __version__

_EXPORTS = {
    "Api": "api", "Result": "api",
    "Assessor": "pipeline", "Assessment": "pipeline",
    "AssessmentSet": "dataset", "PatientView": "dataset",
    "Knowledge": "knowledge", "load_knowledge": "knowledge",
    "B12kgError": "errors", "InputRejected": "errors", "Problem": "errors",
}
__all__ = ["Api", "Assessment", "AssessmentSet", "Assessor", "B12kgError", "InputRejected", "Knowledge", "PatientView",
           "Problem", "Result", "__version__", "load_knowledge"]

if TYPE_CHECKING:
    from .api import Api, Result
    from .dataset import AssessmentSet, PatientView
    from .errors import B12kgError, InputRejected, Problem
    from .knowledge import Knowledge, load_knowledge
    from .pipeline import Assessment, Assessor


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
