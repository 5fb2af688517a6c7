"""Errors that name the place: the file, the resource, the field and the rule broken."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    file: str
    reason: str
    resource: str | None = None
    field: str | None = None
    rule: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.resource:
            where.append(self.resource)
        if self.field:
            where.append(f"field {self.field}")
        text = ": ".join([", ".join(where), self.reason])
        return f"{text} [{self.rule}]" if self.rule else text

    def as_dict(self) -> dict[str, str | None]:
        return {"file": self.file, "resource": self.resource, "field": self.field,
                "reason": self.reason, "rule": self.rule}


class B12kgError(Exception):
    """Base class of b12kg's own errors."""


class InputRejected(B12kgError):
    """The input cannot be assessed (exit code 2). Holds every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    @classmethod
    def one(cls, file: str, reason: str, **where: str | None) -> InputRejected:
        return cls([Problem(file=file, reason=reason, **where)])
