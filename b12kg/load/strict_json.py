"""Strict JSON: one reading that every JSON parser would agree on, or a located refusal.

Malformed, absurdly nested or non-Unicode input, NaN/Infinity, duplicate keys and XML
markup declarations are refused. Numbers with a fraction or an exponent are read as
exact Decimals, never rounded through binary floats.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from ..errors import InputRejected, Problem
from .locate import json_place
from .reading import MAX_JSON_DEPTH, MAX_JSON_DIGITS

MARKUP_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
"""XML markup declarations: the carriers of external entities and entity expansion."""
MARKUP_REFUSED = "an XML markup declaration (<!DOCTYPE or <!ENTITY): refused, XML is never parsed"


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (parsers disagree on which one wins)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"the key {twice!r} appears twice in one object")
    return obj


def _not_a_number(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_DIGITS:
        raise ValueError(f"the number {text[:20]}... has {len(text)} digits")
    return int(text)


def _string_problem(text: str) -> str | None:
    """Why a JSON string cannot be accepted, if it cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"the text holds an unpaired UTF-16 surrogate ({text[exc.start]!a}), which is not Unicode"
    if "<!" in text and MARKUP_DECLARATION.search(text):
        return f"the text holds {MARKUP_REFUSED}"
    return None


def json_problems(doc: Any, file: str) -> list[Problem]:
    """Nesting beyond MAX_JSON_DEPTH, non-Unicode text and XML markup declarations, located."""
    problems = []
    stack: list[tuple[Any, tuple]] = [(doc, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_JSON_DEPTH:
            problems.append(Problem(file, f"nested more than {MAX_JSON_DEPTH} levels deep: not a patient record",
                                    **json_place(doc, path)))
            continue
        if isinstance(node, dict):
            for key, value in node.items():
                reason = _string_problem(key)
                if reason:
                    problems.append(Problem(file, f"a key: {reason}", **json_place(doc, path)))
                stack.append((value, (*path, key)))
        elif isinstance(node, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(node))
        elif isinstance(node, str):
            reason = _string_problem(node)
            if reason:
                problems.append(Problem(file, reason, **json_place(doc, path)))
    return problems


def _unicode_escape(text: str) -> bool:
    """Whether the text holds a \\u escape (found from its backslashes: one-character searches run at C speed)."""
    at = text.find("\\")
    for _ in range(1000):
        if at < 0:
            return False
        if text[at + 1:at + 2] == "u":
            return True
        at = text.find("\\", at + 2)  # past the escaped character
    return "\\u" in text


def _may_hold_problems(text: str, doc: Any) -> bool:
    """Whether json_problems could find anything, told from the text at C speed and the nesting of
    the containers: an unpaired surrogate needs a \\u escape (or a non-UTF-8 str), markup needs
    '<!' or a \\u escape, too deep a node needs MAX_JSON_DEPTH nested containers."""
    if ("!" in text and "<!" in text) or _unicode_escape(text):
        return True
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return True
    level, depth = [doc] if type(doc) is dict or type(doc) is list else [], 0
    while level:
        if depth >= MAX_JSON_DEPTH:
            return True
        level = [child for node in level for child in (node.values() if type(node) is dict else node)
                 if type(child) is dict or type(child) is list]
        depth += 1
    return False


def parse_json(text: str, file: str) -> Any:
    """Strict JSON (see the module), or InputRejected with every problem located."""
    try:
        doc = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_not_a_number, parse_int=_integer,
                         parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InputRejected.one(file, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InputRejected.one(file, f"not valid JSON: nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as exc:  # from the hooks
        raise InputRejected.one(file, f"not valid JSON: {exc}") from None
    if _may_hold_problems(text, doc):
        problems = json_problems(doc, file)
        if problems:
            raise InputRejected(problems)
    return doc
