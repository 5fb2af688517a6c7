"""What a batch assesses: patient files (folders walked) and FHIR Bulk Data exports.

Each patient becomes an `Item` naming its `source` (the file; for NDJSON the file and
line of the Patient resource). Folders are walked recursively in sorted order; a folder
holding ``*.ndjson`` files is a Bulk Data export, whose resources are grouped by
patient (ndjson.py). Hidden files and folders, symbolic links to folders and the test
suite's ``*.expected.json`` files are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .items import Item
from .ndjson import BulkExport

PATIENT_SUFFIXES = {".json", ".ttl", ".jsonld", ".nt"}
NDJSON_SUFFIX = ".ndjson"


@dataclass
class Sources:
    """The patient files and Bulk exports found under the paths given."""

    files: list[Path] = field(default_factory=list)
    exports: list = field(default_factory=list)  # ndjson.BulkExport, in order of discovery
    order: list[tuple[str, int]] = field(default_factory=list)  # ("file", index) or ("export", index), input order

    def __len__(self) -> int:
        return len(self.files) + sum(len(export) for export in self.exports)

    def items(self) -> Iterator[Item]:
        """Every patient, in input order."""
        for kind, index in self.order:
            if kind == "file":
                path = self.files[index]
                try:
                    size = path.stat().st_size
                except OSError:
                    size = 0
                yield Item(source=str(path), path=str(path), size=size)
            else:
                yield from self.exports[index].items()

    def close(self) -> None:
        for export in self.exports:
            export.close()


def _is_patient_file(name: str) -> bool:
    return Path(name).suffix.lower() in PATIENT_SUFFIXES and not name.endswith(".expected.json") and not name.startswith(".")


def discover(paths: list[Path], index_dir: Path | None = None) -> Sources:
    """The patient files and exports under `paths` (files named explicitly are always taken)."""

    found = Sources()

    def add_file(path: Path) -> None:
        found.order.append(("file", len(found.files)))
        found.files.append(path)

    def add_export(files: list[Path]) -> None:
        found.order.append(("export", len(found.exports)))
        found.exports.append(BulkExport(files, index_dir=index_dir))

    loose_ndjson = [p for p in paths if not p.is_dir() and p.suffix.lower() == NDJSON_SUFFIX]
    for path in paths:
        if not path.is_dir():
            if path.suffix.lower() != NDJSON_SUFFIX:
                add_file(path)
            elif path == loose_ndjson[0]:  # NDJSON files named one by one form one export
                add_export(loose_ndjson)
            continue
        for folder, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(folder, d)))
            ndjson = sorted(n for n in names if n.lower().endswith(NDJSON_SUFFIX) and not n.startswith("."))
            if ndjson:
                add_export([Path(folder) / n for n in ndjson])
            else:
                for name in sorted(names):
                    if _is_patient_file(name):
                        add_file(Path(folder) / name)
    return found
