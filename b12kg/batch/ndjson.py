"""FHIR Bulk Data exports (NDJSON) grouped by patient, without holding the export in memory.

An export is a set of ``<ResourceType>.ndjson`` files (or numbered parts such as
``Observation.000.ndjson``), one resource per line. The first pass reads each line
once and writes to an on-disk SQLite index where it lies (file, byte offset, length)
and which patient it belongs to (``subject`` or ``patient`` referring to a Patient,
or the Patient itself); Medication resources are indexed by their id so that a
``medicationReference`` can be resolved. The second pass builds, patient by patient,
a FHIR Bundle (type ``collection``) from the indexed lines: the Patient first, then
the other resources in file order, then the Medications they refer to. Memory holds
one patient at a time; the index lives in a temporary folder removed at the end.

A line that is not one JSON object (malformed, nested too deeply, over the 10 MiB
per-patient limit, which is never read whole) is one rejection naming its file and
line, and the others are still read; resources of a patient with no Patient resource are
reported together as one record. A file that is not a regular file (a FIFO) is one
rejection, never opened to wait. A file whose resources the guideline does not read, by
its name (`Encounter.ndjson`) or, when the name gives no FHIR type, by its first line
(an export client's `log.ndjson`), is skipped with one warning and counts no patient.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .items import Item

log = logging.getLogger("b12kg.batch")

_REFERENCE = re.compile(r"^(?:.*/)?(?P<type>[A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_URN_UUID = "urn:uuid:"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_BATCH_ROWS = 5000
_SKIP_CHUNK = 1 << 20


def _max_line() -> int:
    from ..load import MAX_INPUT_BYTES

    return MAX_INPUT_BYTES


def read_types() -> frozenset[str]:
    """The resource types the guideline reads (the loader's)."""
    from ..load.bundle import VALIDATED

    return frozenset(VALIDATED)


def _fhir_type(name: str) -> bool:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        get_fhir_model_class(name)
    except (KeyError, ValueError, TypeError):
        return False
    return True


def ndjson_lines(handle, limit: int) -> Iterator[tuple[int, int, bytes | None]]:
    """(offset, length, bytes) of each line of a binary file; bytes is None for a line over
    `limit`, which is skipped in chunks, never held whole."""
    offset = 0
    while raw := handle.readline(limit + 1):
        length = len(raw)
        if length > limit and not raw.endswith(b"\n"):
            while True:
                more = handle.readline(_SKIP_CHUNK)
                length += len(more)
                if not more or more.endswith(b"\n"):
                    break
            yield offset, length, None
        else:
            yield offset, length, raw
        offset += length


def _open_regular(path: Path):
    """The file opened for reading, or None when it is not a regular file (a FIFO is never waited on)."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        return None
    return os.fdopen(descriptor, "rb")


def _reference(value: object) -> tuple[str | None, str] | None:
    """(resource type or None, id) of a FHIR reference string, else None."""
    if not isinstance(value, str):
        return None
    if value.startswith(_URN_UUID):
        return None, value[len(_URN_UUID):]
    match = _REFERENCE.match(value)
    return (match["type"], match["id"]) if match else None


def patient_key(resource: dict) -> str | None:
    """The id of the patient a resource belongs to (its own id for a Patient)."""
    if resource.get("resourceType") == "Patient":
        return resource.get("id") if isinstance(resource.get("id"), str) else None
    for name in ("subject", "patient"):
        holder = resource.get(name)
        if isinstance(holder, dict):
            ref = _reference(holder.get("reference"))
            if ref and ref[0] in (None, "Patient"):
                return ref[1]
    return None


def medication_refs(resource: dict) -> list[str]:
    """Ids of the Medication resources a resource refers to (not contained ones)."""
    holder = resource.get("medicationReference")
    ref = _reference(holder.get("reference")) if isinstance(holder, dict) else None
    return [ref[1]] if ref and ref[0] in (None, "Medication") else []


class BulkExport:
    """One Bulk Data export: its NDJSON files and the patient index built over them."""

    def __init__(self, files: list[Path], index_dir: Path | None = None):
        self.files = sorted(files, key=lambda p: (p.name.split(".")[0] != "Patient", p.name))
        self.skipped: list[tuple[Path, str]] = []
        """Files not read, with the reason (each warned about once)."""
        self.unreadable: list[tuple[Path, str]] = []
        """Files that could not be read (each one rejection)."""
        self._index_dir = index_dir
        self._tmp: str | None = None
        self._db: sqlite3.Connection | None = None
        self._count = 0

    def __len__(self) -> int:
        self._index()
        return self._count

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _choose(self) -> None:
        """Keep in `files` the files to read; the others go to `skipped` (warned) or `unreadable`."""
        reads, chosen = read_types(), []
        for path in self.files:
            try:
                handle = _open_regular(path)
            except OSError as exc:
                self.unreadable.append((path, f"cannot read the file: {exc.strerror or exc}"))
                continue
            if handle is None:
                self.unreadable.append((path, "not a regular file (a FIFO, device or socket): only regular files are read"))
                continue
            with handle:
                reason = self._not_read(path, handle, reads)
            if reason:
                self.skipped.append((path, reason))
                log.warning("b12kg: warning: %s: skipped, %s", path, reason)
            else:
                chosen.append(path)
        self.files = chosen

    @staticmethod
    def _not_read(path: Path, handle, reads: frozenset[str]) -> str | None:
        """Why a file's resources are not read, or None: by the FHIR type its name gives
        (Bulk Data names files by type), else by its first line."""
        named = [part for part in path.name.split(".")[:-1] if _fhir_type(part)]
        if any(part in reads for part in named):
            return None
        if named:
            return f"{named[0]} is a resource type the guideline does not read"
        for _, _, raw in ndjson_lines(handle, _max_line()):
            if raw is None or not raw.strip():
                continue
            try:
                first = json.loads(raw)
            except (ValueError, RecursionError):
                first = None
            kind = first.get("resourceType") if isinstance(first, dict) else None
            if kind in reads:
                return None
            if isinstance(kind, str):
                return f"its resources ({kind[:40]}) are of a type the guideline does not read"
            break
        return "its lines are not FHIR resources (an export client's log?)"

    def _index(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        self._choose()
        self._tmp = tempfile.mkdtemp(prefix="b12kg-ndjson-", dir=self._index_dir)
        db = sqlite3.connect(str(Path(self._tmp) / "index.sqlite"))
        db.executescript("""
            PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
            CREATE TABLE line (file INTEGER, line INTEGER, offset INTEGER, length INTEGER,
                               patient TEXT, medication TEXT, is_patient INTEGER, problem TEXT, uuid TEXT);
        """)
        rows: list[tuple] = []
        limit = _max_line()
        for number, path in enumerate(self.files):
            with path.open("rb") as handle:
                for line_no, (offset, length, raw) in enumerate(ndjson_lines(handle, limit), start=1):
                    rows.append((number, line_no, offset, length, *self._classify(raw, limit)))
                    if len(rows) >= _BATCH_ROWS:
                        db.executemany("INSERT INTO line VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                        rows = []
        db.executemany("INSERT INTO line VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.executescript("""
            CREATE INDEX line_patient ON line (patient, file, offset);
            CREATE INDEX line_medication ON line (medication);
        """)
        self._count = db.execute("""
            SELECT (SELECT count(*) FROM line WHERE is_patient = 1)
                 + (SELECT count(DISTINCT patient) FROM line WHERE patient IS NOT NULL AND patient NOT IN
                      (SELECT patient FROM line WHERE is_patient = 1))
                 + (SELECT count(*) FROM line WHERE problem IS NOT NULL)""").fetchone()[0] + len(self.unreadable)
        self._db = db
        return db

    @staticmethod
    def _classify(raw: bytes | None, limit: int) -> tuple[str | None, str | None, int, str | None, str | None]:
        """(patient id, Medication id, 1 if a Patient, problem, id if a UUID) of one line."""
        if raw is None:
            return None, None, 0, f"the line is over the limit of {limit} bytes per patient", None
        raw = raw.strip()
        if not raw:
            return None, None, 0, None, None
        try:
            resource = json.loads(raw)
        except ValueError as exc:
            return None, None, 0, f"not valid JSON ({exc})", None
        except RecursionError:
            return None, None, 0, "not valid JSON (nested too deeply)", None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            return None, None, 0, "not a FHIR resource (a JSON object with resourceType)", None
        rid = resource.get("id") if isinstance(resource.get("id"), str) else None
        uuid = rid if rid and _UUID.match(rid) else None
        if resource["resourceType"] == "Medication":
            return None, rid, 0, None, uuid
        key = patient_key(resource)
        return key, None, int(resource["resourceType"] == "Patient" and key is not None), None, uuid

    def _where(self, file: int, line: int) -> str:
        return f"{self.files[file]}:{line}"

    def items(self) -> Iterator[Item]:
        """One Item per patient, in the order of the Patient lines, then orphans and broken lines."""
        db = self._index()
        handles = [path.open("rb") for path in self.files]
        try:
            def read(file: int, offset: int, length: int) -> bytes:
                handles[file].seek(offset)
                return handles[file].read(length).strip()

            patients = db.cursor().execute("SELECT patient, file, line FROM line WHERE is_patient = 1 ORDER BY file, offset")
            for key, file, line in patients:  # a cursor: the patient list is never held in memory
                yield self._bundle(db, read, key, self._where(file, line))
            orphans = db.execute("""
                SELECT patient, min(file), min(line) FROM line WHERE patient IS NOT NULL
                AND patient NOT IN (SELECT patient FROM line WHERE is_patient = 1) GROUP BY patient ORDER BY 2, 3""").fetchall()
            for key, file, line in orphans:
                yield self._bundle(db, read, key, f"{self._where(file, line)} (patient {key}, no Patient resource in the export)")
            for file, line, problem in db.execute("SELECT file, line, problem FROM line WHERE problem IS NOT NULL ORDER BY file, line"):
                yield Item(source=self._where(file, line), problem=f"line {line}: {problem}")
            for path, problem in self.unreadable:
                yield Item(source=str(path), problem=problem)
        finally:
            for handle in handles:
                handle.close()

    def _bundle(self, db: sqlite3.Connection, read, key: str, source: str) -> Item:
        rows = db.execute("SELECT file, offset, length, uuid FROM line WHERE patient = ? ORDER BY is_patient DESC, file, offset",
                          (key,)).fetchall()
        from ..load import MAX_INPUT_BYTES

        if sum(length for _, _, length, _ in rows) > MAX_INPUT_BYTES:
            return Item(source=source, problem=f"the patient's resources are over the limit of {MAX_INPUT_BYTES} bytes per patient")
        lines = [(read(file, offset, length), uuid) for file, offset, length, uuid in rows]
        wanted: list[str] = []
        for raw, _ in lines:
            if b'"medicationReference"' in raw:
                try:
                    wanted += medication_refs(json.loads(raw))
                except RecursionError:
                    continue  # the loader refuses the nesting, located
        for medication in dict.fromkeys(wanted):
            row = db.execute("SELECT file, offset, length, uuid FROM line WHERE medication = ? ORDER BY file, offset LIMIT 1",
                             (medication,)).fetchone()
            if row:
                lines.append((read(*row[:3]), row[3]))
        # Each line was checked to be one JSON object, so joining them gives one Bundle. A resource
        # whose id is a UUID gets the fullUrl urn:uuid:<id>, which references in exports may use.
        text = '{"resourceType": "Bundle", "type": "collection", "entry": [' + ", ".join(
            (f'{{"fullUrl": "urn:uuid:{uuid}", "resource": ' if uuid else '{"resource": ') + raw.decode("utf-8") + "}"
            for raw, uuid in lines) + "]}"
        return Item(source=source, text=text, size=len(text))


def write_export(bundles: Iterator[dict] | list[dict], folder: Path, parts: int = 1) -> list[Path]:
    """Write FHIR Bundles as a Bulk Data export (for tests and benchmarks): one
    ``<ResourceType>.ndjson`` per type, or numbered parts ``<ResourceType>.000.ndjson``
    when `parts` > 1 (resources dealt round-robin, so a patient spans parts)."""
    folder.mkdir(parents=True, exist_ok=True)
    handles: dict[str, object] = {}
    counters: dict[str, int] = {}
    try:
        for bundle in bundles:
            for entry in bundle.get("entry", []):
                resource = entry["resource"]
                kind = resource["resourceType"]
                part = counters.get(kind, 0) % parts
                counters[kind] = counters.get(kind, 0) + 1
                name = f"{kind}.ndjson" if parts == 1 else f"{kind}.{part:03d}.ndjson"
                if name not in handles:
                    handles[name] = (folder / name).open("w", encoding="utf-8")
                handles[name].write(json.dumps(resource, ensure_ascii=False) + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    return sorted(folder / name for name in handles)
