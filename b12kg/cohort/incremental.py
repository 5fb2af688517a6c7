"""Incremental batches: assess only the patients whose input changed or whose as-of date moved.

`b12kg batch ... --store DIR --incremental` reads, once, which inputs the store already holds
(queries/living/assessments.rq: each assessment's input SHA-256 and as-of date) and leaves out
every patient whose input (the same bytes, hence the same SHA-256 as in its assessment IRI)
was already assessed as of the same date. The store links each new assessment to the
patient's previous one (`prov:wasRevisionOf`, store.Loader), so a re-assessment is told
from a new patient.

With `--partial`, the Bulk exports given hold only the resources changed since the last
export (a `_since` export): each patient's resources are merged into the patient's latest
stored input (its Bundle, gm:inputDocument), a resource replacing the stored one of the same
type and id, and the patients the export does not name are taken from the store as they
were (assessed again only when the as-of date moved). Deletions are not carried by a
`_since` export and are not applied.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

from ..batch.items import Item
from ..batch.ndjson import patient_key
from ..errors import InputRejected
from ..resources import query_text


def item_sha256(item: Item) -> str | None:
    """The SHA-256 the loader will give the item's input (None when it cannot be read here)."""
    if item.text is not None:
        return hashlib.sha256(item.text.encode("utf-8")).hexdigest()
    try:
        return hashlib.sha256(Path(item.path).read_bytes()).hexdigest()
    except (OSError, TypeError):
        return None


@dataclass
class Stored:
    """What the store holds, read once before the batch."""

    inputs: set[tuple[str, str]] = field(default_factory=set)
    """(input SHA-256, as-of date) of every committed assessment."""
    knowledge: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """The knowledge versions each (input, as-of) was assessed with."""
    documents: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """Patient FHIR id -> (patient IRI, latest input document, its format), for --partial."""


def read_store(directory: Path, partial: bool) -> Stored:
    from .store import CohortStore

    found = Stored()
    if not (Path(directory) / "CURRENT").exists():
        return found  # a new store: everything is new
    cohort = CohortStore(directory, read_only=True)
    for row in cohort.select(query_text("living/assessments.rq")):
        key = (row["inputSha256"].value, row["asOf"].value)
        found.inputs.add(key)
        if "knowledge" in row:
            found.knowledge.setdefault(key, set()).add(row["knowledge"].value)
    if partial:
        for row in cohort.select(query_text("living/input-documents.rq")):
            fmt = row["format"].value if "format" in row else "fhir"
            if fmt != "fhir":
                continue
            document = row["document"].value
            try:
                key = _patient_of(json.loads(document))
            except ValueError:
                continue
            if key is not None:
                found.documents[key] = (row["patient"].value, document, fmt)
    return found


def _patient_of(bundle: dict) -> str | None:
    """The patient id a Bundle is about (its Patient's id, else the subject its resources name)."""
    keys = [patient_key(e.get("resource") or {}) for e in bundle.get("entry", []) if isinstance(e, dict)]
    return next((k for k in keys if k), None)


def merge(previous: str, changed: str) -> str:
    """A patient's stored Bundle with the resources of a partial export merged in: a resource
    replaces the stored one of the same type and id, a new one is added (Patient first). The
    stored text is returned unchanged when nothing differs (so its SHA-256 matches)."""
    old, new = json.loads(previous), json.loads(changed)
    entries = list(old.get("entry", []))
    where = {_key(e): i for i, e in enumerate(entries) if _key(e)}
    changed_any = False
    for entry in new.get("entry", []):
        key = _key(entry)
        if key in where:
            if entries[where[key]].get("resource") != entry.get("resource"):
                entries[where[key]] = entry
                changed_any = True
        else:
            where[key] = len(entries)
            entries.append(entry)
            changed_any = True
    if not changed_any:
        return previous
    entries.sort(key=lambda e: (e.get("resource") or {}).get("resourceType") != "Patient")
    return json.dumps({**old, "entry": entries}, ensure_ascii=False)


def _key(entry: dict) -> tuple[str, str] | None:
    resource = entry.get("resource") if isinstance(entry, dict) else None
    if not isinstance(resource, dict) or not isinstance(resource.get("id"), str):
        return None
    return resource.get("resourceType"), resource["id"]


class Incremental:
    """The filter an incremental batch applies to its items (and, with --partial, the merge)."""

    def __init__(self, directory: Path, as_of: date, partial: bool = False):
        self.as_of, self.partial = as_of.isoformat(), partial
        self.stored = read_store(directory, partial)
        self.unchanged = 0
        self.other_knowledge = 0
        self.merged = 0

    def wanted(self, item: Item) -> bool:
        """False when the store already holds this input assessed as of the same date."""
        if item.problem is not None:
            return True
        key = (item_sha256(item), self.as_of)
        if key in self.stored.inputs:
            self.unchanged += 1
            self.other_knowledge += bool(self.stored.knowledge.get(key, set()) - {self.current_knowledge})
            return False
        return True

    @cached_property
    def current_knowledge(self) -> str:
        """The knowledge version this batch assesses with (computed once: loading the knowledge
        scans the installed packs, 9 ms a call, and it was asked for every unchanged item)."""
        from ..knowledge import load_knowledge
        from ..knowledge_version import version_of

        return version_of(load_knowledge()).iri

    def items(self, found) -> tuple[Iterator[Item], int]:
        """The batch's items: as found, or (--partial) merged into the stored inputs, with the
        stored patients the export does not name."""
        if not self.partial:
            return found.items(), len(found)
        if found.files:
            raise InputRejected.one(str(found.files[0]), "--partial merges FHIR Bulk exports (folders of *.ndjson) into the "
                                                         "stored inputs; give the export folder only", field="PATHS")
        named: list[Item] = []
        for item in found.items():
            key = _patient_of(json.loads(item.text)) if item.text is not None else None
            stored = self.stored.documents.pop(key, None) if key is not None else None
            if stored is not None:
                self.merged += 1
                text = merge(stored[1], item.text)
                item = Item(source=f"{item.source} (merged into the stored input of {stored[0]})", text=text, size=len(text))
            named.append(item)
        rest = [Item(source=f"stored input of {iri}", text=text, size=len(text)) for iri, text, _ in self.stored.documents.values()]
        return iter(named + rest), len(named) + len(rest)
