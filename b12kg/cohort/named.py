"""The named population queries: their headers, parameters and results. The generic ones
live in queries/cohort/, a guideline pack's own in its queries/<pack>/cohort/ folder; a
query is named by its file's stem, unique across packs.

Each file opens with a header (``# answers:``, ``# rec:``, ``# param:``/``# params:``,
``# columns:``, ``# latest:``). A parameter is declared as
``# param:   NAME xsd:TYPE (default ...): description`` and is bound with pyoxigraph's
`substitutions` (the value is an RDF term, never text pasted into the query); its
variable is projected, so a result says what it was computed for. A query reads an
unbound parameter's default itself (COALESCE), so the same text runs on any SPARQL server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import pyoxigraph as ox

from .. import resources
from ..errors import InputRejected

XSD = "http://www.w3.org/2001/XMLSchema#"
_HEADER_FIELD = re.compile(r"^# (\w+):\s*(.*)$")
_PARAM = re.compile(r"^(\w+)\s+xsd:(\w+)\s*(?:\(default:?\s*([^)]*)\))?:?\s*(.*)$", re.S)
_LEXICAL = {
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "yearMonthDuration": re.compile(r"^P(?=\d)(\d{1,4}Y)?(\d{1,5}M)?$"),
    "integer": re.compile(r"^[+-]?\d{1,18}$"),
    "string": re.compile(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]{0,1000}$"),
}
FORMATS = ("table", "csv", "tsv", "json")
MAX_PARAMS = 20


@dataclass(frozen=True)
class Param:
    name: str
    datatype: str  # local name in xsd:
    default: str | None
    description: str


@dataclass(frozen=True)
class NamedQuery:
    name: str
    text: str
    header: dict[str, str] = field(hash=False)
    params: tuple[Param, ...] = ()

    @property
    def answers(self) -> str:
        return self.header.get("answers", "")


def _header(text: str) -> dict[str, str]:
    fields: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        match = _HEADER_FIELD.match(line)
        if match:
            current = match.group(1)
            fields.setdefault(current, []).append(match.group(2).strip())
        elif current:
            fields[current][-1] += " " + line.lstrip("#").strip()
    return {k: "\n".join(v) for k, v in fields.items()}


def parse(name: str, text: str) -> NamedQuery:
    header = _header(text)
    params = []
    for declared in header.get("param", "").split("\n") if header.get("param") else []:
        match = _PARAM.match(declared)
        if not match or match.group(2) not in _LEXICAL:
            raise ValueError(f"cohort query {name}.rq: cannot read the parameter declaration {declared!r}")
        params.append(Param(match.group(1), match.group(2), match.group(3), match.group(4).strip()))
    return NamedQuery(name, text, header, tuple(params))


@cache
def named_queries() -> dict[str, NamedQuery]:
    """Every population query of every pack (the generic ones first), by name (the file's stem)."""
    found: dict[str, NamedQuery] = {}
    where: dict[str, Path] = {}
    for pack in resources.packs():
        folder = pack.queries / "cohort" if pack.queries else None
        for path in sorted(folder.glob("*.rq")) if folder and folder.is_dir() else ():
            if path.stem in found:
                raise ValueError(f"two cohort queries are named {path.stem!r}: {where[path.stem]} and {path}")
            found[path.stem], where[path.stem] = parse(path.stem, path.read_text(encoding="utf-8")), path
    return found


def get(name: str) -> NamedQuery:
    queries = named_queries()
    if name not in queries:
        raise InputRejected.one("<query name>", f"no named query {name!r}; the queries are: {', '.join(queries)}", field="NAME")
    return queries[name]


def bindings(query: NamedQuery, given: dict[str, str]) -> dict[ox.Variable, ox.Literal]:
    """The parameters as typed RDF literals for `substitutions`; InputRejected for unknown
    names and values that are not of the declared type."""
    declared = {p.name: p for p in query.params}
    if len(given) > MAX_PARAMS:
        raise InputRejected.one("--param", f"{len(given)} parameters, at most {MAX_PARAMS}")
    out = {}
    for name, value in given.items():
        param = declared.get(name)
        if param is None:
            known = ", ".join(declared) or "none"
            raise InputRejected.one("--param", f"{query.name} has no parameter {name!r} (its parameters: {known})", field=name)
        if not _LEXICAL[param.datatype].match(value):
            raise InputRejected.one("--param", f"{value!r} is not an xsd:{param.datatype}", field=name)
        if param.datatype == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                raise InputRejected.one("--param", f"{value!r} is not a calendar date", field=name) from None
        out[ox.Variable(name)] = ox.Literal(value, datatype=ox.NamedNode(XSD + param.datatype))
    return out


def run(store: ox.Store, query: NamedQuery, given: dict[str, str] | None = None):
    """The query's solutions over a cohort store's committed loads (packaged, trusted text:
    pyoxigraph directly); what a pending load wrote is not read."""
    from .store import uncommitted

    hidden = uncommitted(store)
    if hidden is None:
        return store.query(query.text, substitutions=bindings(query, given or {}))
    return store.query(query.text, substitutions=bindings(query, given or {}), named_graphs=hidden.named_graphs(store))


_RESULT_FORMATS = {"csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV, "json": ox.QueryResultsFormat.JSON}


def render(solutions: ox.QuerySolutions, fmt: str) -> str:
    """SELECT solutions as CSV, TSV, SPARQL JSON results, or a plain text table."""
    if fmt in _RESULT_FORMATS:
        return solutions.serialize(format=_RESULT_FORMATS[fmt]).decode("utf-8")
    names = [v.value for v in solutions.variables]
    rows = [["" if row[n] is None else row[n].value for n in names] for row in solutions]
    return table(names, rows)


def table(names: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(n), *(len(r[i]) for r in rows)]) for i, n in enumerate(names)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"


def rows(store: ox.Store, name: str, given: dict[str, str] | None = None) -> list[dict[str, str]]:
    """A named query's rows as dicts of lexical values (unbound columns left out)."""
    solutions = run(store, get(name), given)
    names = [v.value for v in solutions.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in solutions]
