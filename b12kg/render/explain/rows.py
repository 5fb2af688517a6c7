"""What the gathering shares: the rows of the queries/report/explain-*.rq for one assessment, the page's
anchors, and the names and order of facts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import printable
from ...knowledge import Knowledge
from .model import Fact

if TYPE_CHECKING:
    from ...dataset import PatientView


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "x"


def local(iri: str) -> str:
    return re.split(r"[/#]", iri.rstrip("/#"))[-1]


class Anchors:
    """Allocates unique, stable HTML ids ("fact-obs-2", "rule-order-mma")."""

    def __init__(self) -> None:
        self.used: set[str] = {"section-summary", "section-population", "section-record", "section-interactions", "other-guidelines"}

    def __call__(self, prefix: str, name: str) -> str:
        base = anchor = f"{prefix}-{slug(name)}"
        n = 2
        while anchor in self.used:
            anchor, n = f"{base}-{n}", n + 1
        self.used.add(anchor)
        return anchor


@dataclass(frozen=True)
class Reader:
    """Runs the explanation's queries (the knowledge's queries/report/explain-*.rq) for one assessment."""

    view: PatientView
    knowledge: Knowledge

    def __call__(self, name: str) -> list[dict[str, str]]:
        """The rows of explain-NAME.rq, as lexical values each made safe for one line of any rendering
        (`printable`): no value from the data can break a line, move the cursor, colour a terminal or
        reorder text (issue 14)."""
        return [{k: printable(v.value, None) for k, v in row.items()}
                for row in self.view.select(self.knowledge.queries[f"report/explain-{name}"])]


def fact_order(fact: Fact) -> tuple[str, str, str]:
    return fact.resource_type, fact.get("effectiveDate") or fact.get("startDate") or "", fact.name
