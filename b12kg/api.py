"""The Python API: assess a patient held in memory (a FHIR Bundle as a dict or JSON text).

One `Api` holds one prepared Assessor and is reused for every call (the CLI makes one
per process, the CDS Hooks service one per server). An Assessor is not thread-safe, so
calls are serialised by a lock; the service runs them in a worker thread.

    >>> from b12kg.api import Api
    >>> result = Api().assess(bundle, as_of=date(2026, 11, 24))
    >>> result.document["b12_status"]["value"]
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime

from .dates import calendar_date
from .errors import InputRejected
from .load import LoadedPatient, load_document
from .pipeline import Assessment, Assessor
from .validate import validate_input

DEFAULT_NAME = "<bundle>"
"""How a document held in memory is named in messages when the caller gives no name."""


@dataclass(frozen=True)
class Result:
    """An assessment: the contract's JSON document and the dataset behind it."""

    assessment: Assessment

    @property
    def document(self) -> dict:
        """The contract JSON object (assessment.schema.json)."""
        return self.assessment.document

    @property
    def quads(self) -> list:
        """The whole dataset: asserted, inferred, concluded, assessment, ignored and cited graphs."""
        return self.assessment.quads


class Api:
    """Assess FHIR Bundles (or native RDF text) held in memory, with one prepared Assessor.

    With `cache_size` > 0 the latest assessments are kept by the SHA-256 of the document
    (canonical JSON), the as-of date, the format and the name: an unchanged record assessed
    again on the same date (a chart opened again) is answered without re-running the
    pipeline. Rejections are never cached."""

    def __init__(self, assessor: Assessor | None = None, cache_size: int = 0):
        self.assessor = assessor or Assessor()
        self._lock = threading.Lock()
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, Result] = OrderedDict()

    @property
    def knowledge(self):
        return self.assessor.knowledge

    def load(self, document: dict | str, as_of: date, name: str = DEFAULT_NAME, fmt: str = "fhir") -> LoadedPatient:
        """Load and SHACL-validate one document (raises InputRejected naming `name`)."""
        if isinstance(document, bytes):
            raise InputRejected.one(name, "expected a JSON object or text, found bytes (decode them as UTF-8 first)")
        if not isinstance(document, dict | str):
            raise InputRejected.one(name, f"expected a FHIR Bundle as a JSON object or text, found {type(document).__name__}")
        loaded = load_document(document, name, self.knowledge, as_of, fmt)
        validate_input(loaded, self.knowledge)
        return loaded

    def assess(self, document: dict | str, as_of: date | str | None = None, name: str = DEFAULT_NAME,
               fmt: str = "fhir") -> Result:
        """Assess one patient as of a date (a date or an ISO text such as "2026-11-24"; default:
        today). Raises InputRejected for a record b12kg refuses, ValueError for a bad date."""
        as_of = _as_date(as_of)
        key = self._key(document, as_of, name, fmt) if self.cache_size else None
        with self._lock:
            if key is not None and key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            loaded = self.load(document, as_of, name, fmt)
            result = Result(self.assessor.assess_loaded(loaded, as_of))
            if key is not None:
                self._cache[key] = result
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            return result

    @staticmethod
    def _key(document, as_of: date, name: str, fmt: str) -> tuple | None:
        """The cache key of a document: SHA-256 of its canonical JSON (text as given), or None if it has none."""
        try:
            text = document if isinstance(document, str) else json.dumps(document, sort_keys=True, separators=(",", ":"),
                                                                         ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            return None
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), as_of, name, fmt

    def assess_file(self, path, as_of: date | None = None, input_format: str | None = None) -> Result:
        """Assess one patient file (FHIR Bundle or native RDF)."""
        with self._lock:
            return Result(self.assessor.assess(path, as_of or date.today(), input_format))

    def to_fhir(self, result: Result) -> dict:
        """The assessment as a FHIR R4 Bundle (GuidanceResponse, RequestGroup, orders, DetectedIssue, Provenance)."""
        from .render.fhir import to_bundle

        return to_bundle(result.assessment, self.knowledge)

    def assess_json(self, text: str, as_of: date | None = None, name: str = DEFAULT_NAME) -> str:
        """The contract JSON of one FHIR Bundle given as JSON text, as JSON text."""
        return json.dumps(self.assess(text, as_of, name).document, ensure_ascii=False)


def _as_date(as_of: date | str | None) -> date:
    """The as-of date: today when None, YYYY-MM-DD text read as the CLI reads --as-of (a datetime's time dropped)."""
    if as_of is None:
        return date.today()
    if isinstance(as_of, datetime):
        return as_of.date()
    if isinstance(as_of, date):
        return as_of
    if isinstance(as_of, str):
        try:
            return calendar_date(as_of.strip())
        except ValueError as exc:
            raise ValueError(f"as_of: {exc}") from None
    raise TypeError(f"as_of: expected a date or an ISO date text, found {type(as_of).__name__}")
