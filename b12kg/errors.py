"""Errors that name the place: the file, the resource, the field and the rule broken."""

from __future__ import annotations

from dataclasses import dataclass, fields

EXIT_INTERNAL = 1
EXIT_REJECTED = 2
"""Exit codes of every command: 2 input rejected (a message names the place), 1 internal error."""

MAX_PART_CHARS = 300
"""Longest file, resource, field or reason kept in a problem; longer text is cut."""


def printable(text: str, limit: int | None = MAX_PART_CHARS) -> str:
    """`text` safe for one line of a terminal or log: no control, format or surrogate
    characters (they are shown as escapes, so a hostile id cannot forge or hide a line),
    and at most `limit` characters."""
    safe = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    return safe if limit is None or len(safe) <= limit else f"{safe[:limit]}... ({len(safe) - limit} more characters)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file. Every part is stored printable (see `printable`);
    only the file name is never cut."""

    file: str
    reason: str
    resource: str | None = None
    field: str | None = None
    rule: str | None = None

    def __post_init__(self) -> None:
        for part in fields(self):
            value = getattr(self, part.name)
            if value is not None:
                limit = None if part.name == "file" else MAX_PART_CHARS
                object.__setattr__(self, part.name, printable(str(value), limit))

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


class EnvironmentProblem(B12kgError):
    """The machine cannot do what was asked (no Java, output not writable, a full disk):
    exit 1 with a message naming what is missing and what to do, never a traceback."""


class ClusterUnavailable(EnvironmentProblem):
    """A Dask scheduler that cannot be reached or used (batch --scheduler)."""


class InternalError(B12kgError):
    """A defect of b12kg itself, found by a check of its own (e.g. the rules concluded two statuses): exit 1."""


class HttpError(B12kgError):
    """A request a b12kg service refuses: the HTTP status and a message for the client (serve/web.py
    answers it as JSON or text). Raised by the services' parts (prefetch, auth, feedback, orders)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def exit_code(error: BaseException) -> int:
    """The command line's exit code for an error (cli/group.py): 2 for a rejected input, 1 otherwise."""
    return EXIT_REJECTED if isinstance(error, InputRejected) else EXIT_INTERNAL


def rejection_report(problems: list[Problem]) -> str:
    """What a command prints (on standard error) when it rejects an input."""
    lines = [f"b12kg: input rejected ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"]
    return "\n".join([*lines, *(f"  {problem}" for problem in problems)]) + "\n"
