"""Writing a user query's result: SPARQL results formats, an aligned table, RDF graphs sorted;
a byte-capped buffer for answers written in the sandbox."""

from __future__ import annotations

import io

import rdflib
from rdflib.query import Result

from ..errors import printable
from .prepare import GRAPH_FORMATS, RESULT_FORMATS


class AnswerTooLarge(Exception):
    """The serialised answer passed QueryLimits.max_answer_bytes."""


class _Capped:
    """A binary stream that refuses to grow past `cap` bytes."""

    def __init__(self, cap: int):
        self.cap, self.data = cap, bytearray()

    def write(self, data) -> int:
        if isinstance(data, str):
            data = data.encode("utf-8")
        if len(self.data) + len(data) > self.cap:
            raise AnswerTooLarge
        self.data += data
        return len(data)

    def flush(self) -> None:
        pass

    def getvalue(self) -> bytes:
        return bytes(self.data)



def write_result(result: Result, fmt: str, stream) -> None:
    """Write a result to a binary stream: SPARQL JSON/XML/CSV/TSV (SELECT, ASK) or an RDF
    format (CONSTRUCT, DESCRIBE); `table` is an aligned plain-text table for reading."""
    if result.type in ("SELECT", "ASK") and fmt == "table":
        stream.write(_table(result).encode("utf-8"))
    elif result.type == "ASK" and fmt in ("csv", "tsv"):
        stream.write(b"true\n" if result.askAnswer else b"false\n")
    elif result.type == "SELECT" and fmt == "tsv":
        _tsv(result, stream)
    elif result.type in ("SELECT", "ASK"):
        if fmt not in RESULT_FORMATS:
            raise ValueError(f"a {result.type} result is written as one of {', '.join([*RESULT_FORMATS, 'table'])}, not {fmt}")
        result.serialize(destination=stream, format=RESULT_FORMATS[fmt], encoding="utf-8")
    elif fmt not in GRAPH_FORMATS:
        raise ValueError(f"a {result.type} result is written as one of {', '.join(GRAPH_FORMATS)}, not {fmt}")
    elif fmt in ("nt", "nq"):  # sorted, so that the same graph gives the same text (N-Quads: in the default graph)
        unsorted = _Capped(stream.cap) if isinstance(stream, _Capped) else io.BytesIO()
        result.graph.serialize(destination=unsorted, format="nt", encoding="utf-8")
        stream.write(b"".join(sorted(unsorted.getvalue().splitlines(keepends=True))))
    else:
        result.graph.serialize(destination=stream, format=GRAPH_FORMATS[fmt], encoding="utf-8")


def serialize_result(result: Result, fmt: str) -> str:
    """A result as text (see write_result)."""
    out = io.BytesIO()
    write_result(result, fmt, out)
    return out.getvalue().decode("utf-8")


def _tsv(result: Result, stream) -> None:
    """SPARQL 1.1 TSV: a header of ?names, then each term in its Turtle form (rdflib has no TSV writer)."""
    stream.write(("\t".join(f"?{v}" for v in result.vars) + "\n").encode("utf-8"))
    for row in result.bindings:
        stream.write(("\t".join(row[v].n3() if row.get(v) is not None else "" for v in result.vars) + "\n").encode("utf-8"))


def _table(result: Result) -> str:
    if result.type == "ASK":
        return f"{str(bool(result.askAnswer)).lower()}\n"
    names = [str(v) for v in result.vars]
    rows = [[printable(str(row.get(rdflib.Variable(n), "") if isinstance(row, dict) else ""), 80) for n in names]
            for row in result.bindings]
    widths = [max([len(n), *(len(r[i]) for r in rows)]) for i, n in enumerate(names)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    out = [line(names), line(["-" * w for w in widths]), *(line(r) for r in rows), f"({len(rows)} row{'s' if len(rows) != 1 else ''})"]
    return "\n".join(out) + "\n"
