"""Reading a patient file: its format, its text, and the per-patient limits.

Every limit is rejected explicitly, with a message naming it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import InputRejected

MAX_INPUT_BYTES = 10 * 1024 * 1024
"""Largest patient file accepted (10 MiB); larger ones are rejected before they are read."""

MAX_TRIPLES = 100_000
"""Most triples one patient's facts may hold (native RDF: counted while parsing). About
10,000 facts; measured: 8,000 observations load, validate and assess in about 10 s."""

MAX_RESULTS_PER_ANALYTE = 1000
"""Most results of one laboratory test (serum B12, MMA, homocysteine) per patient, far
beyond a real record. It also bounds the rules' cost, which grows with the number of
results of one test (measured: 200 serum B12 results assess in 0.5 s, 1,000 in 2.5 s)."""

MAX_JSON_DEPTH = 64
"""Deepest nesting of a JSON document (a FHIR Bundle needs about 10 levels)."""

MAX_JSON_DIGITS = 100
"""Most digits of a JSON integer (FHIR's largest, integer64, has 19)."""

MAX_BUNDLE_ENTRIES = 10_000
"""Most entries of one patient's Bundle, checked before any is validated (about MAX_TRIPLES
triples; measured: 31,000 entries take 6.6 s just to validate)."""

FORMATS = {".json": "fhir", ".ttl": "turtle", ".jsonld": "json-ld", ".nt": "nt"}
"""File extension -> input format. RDF/XML is not accepted (no XML parser ever runs)."""


def input_format(path: Path, override: str | None = None) -> str:
    """The input format, from the extension unless overridden."""
    if override:
        if override not in FORMATS.values():
            raise InputRejected.one(str(path), f"unknown input format {override!r} (choose from {', '.join(sorted(set(FORMATS.values())))})")
        return override
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise InputRejected.one(str(path), f"cannot tell the format from the extension {path.suffix!r}: "
                                "use .json (FHIR R4 Bundle), .ttl, .jsonld or .nt, or --input-format") from None


def read_text(path: Path) -> tuple[str, bytes]:
    """The file's text, refusing files that are not regular files (FIFOs, devices, sockets:
    never waited on), and empty, oversized and non-UTF-8 files. At most MAX_INPUT_BYTES are read."""
    file = str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses anything
        # that is not a regular file (FIFO, device, socket), checked on what was opened
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputRejected.one(file, f"cannot read the file: {exc.strerror or exc}") from None
    with os.fdopen(descriptor, "rb") as handle:
        kind = _file_kind(os.fstat(descriptor).st_mode)
        if kind is not None:
            raise InputRejected.one(file, f"{kind} is not a patient file: only regular files are read", rule="regular file")
        try:
            data = handle.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise InputRejected.one(file, f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise InputRejected.one(file, f"the file is over the limit of {MAX_INPUT_BYTES} bytes per patient", rule="limit")
    if not data.strip():
        raise InputRejected.one(file, "the file is empty")
    return decode(data, file), data


def _file_kind(mode: int) -> str | None:
    """What a non-regular file is ('a FIFO (named pipe)', ...), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kinds = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def decode(data: bytes, file: str) -> str:
    """UTF-8 text (a byte-order mark is dropped), else a located problem."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputRejected.one(file, f"the file is not UTF-8 text (byte {exc.start})") from None
