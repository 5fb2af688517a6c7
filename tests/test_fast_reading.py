"""The loader's fast paths agree with the slow checks they stand in for (issue 21).

- load.fhir_check.certainly_valid vouches only for resources fhir.resources' models accept:
  checked on every resource the loader validates in the test inputs and on mutations of them.
- load.strict_json.parse_json skips its walk for located problems only when the walk would
  find none: checked on generated documents (nesting, escapes, surrogates, markup).
"""

from __future__ import annotations

import copy
import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b12kg.errors import InputRejected
from b12kg.load import strict_json
from b12kg.load.bundle import VALIDATED
from b12kg.load.fhir_check import certainly_valid

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = [ROOT / "tests" / "cases", ROOT / "tests" / "bad_inputs", ROOT / "tests" / "realworld", ROOT / "examples"]


def _model_accepts(resource: dict) -> bool:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except Exception:
        return False
    return True


def _resources() -> list[dict]:
    found, seen = [], set()
    for path in sorted(p for folder in FOLDERS for p in folder.rglob("*.json")):
        try:
            bundle = strict_json.parse_json(path.read_text(encoding="utf-8"), str(path))
        except (InputRejected, UnicodeDecodeError):
            continue
        for entry in bundle.get("entry") or [] if isinstance(bundle, dict) else []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") in VALIDATED:
                key = json.dumps(resource, sort_keys=True, default=str)
                if key not in seen:
                    seen.add(key)
                    found.append(resource)
    return found


RESOURCES = _resources()


def test_the_fast_check_vouches_only_for_valid_resources():
    vouched = [r for r in RESOURCES if certainly_valid(r)]
    assert [r for r in vouched if not _model_accepts(r)] == []
    valid = sum(_model_accepts(r) for r in RESOURCES)
    assert len(RESOURCES) > 500 and len(vouched) >= 0.95 * valid  # and it vouches for nearly all: it is the fast path


TRICKY = ["", " ", "a\x0bb", "\x0bb", "a\u00a0b", "x  y", " x", "2025", "2025-13", "2025-02-30", "2025-08-02T10:00:00",
          "2025-08-02T10:00:00Z", "2025-08-02T10:00:60Z", "2025-08-02T24:00:00Z", "2025-08-02T10:00:00.1234567Z",
          "2025-08-02T10:00:00+15:00", "0000-01-01", "http://x y", "a" * 65, "abc_1", 0, -1, 2**31, True, None, [], {},
          Decimal("1E+2"), Decimal("-0"), 1.5, "1.5", ["x"], [None], [{}], {"a": 1}, "final", "mg", "http://loinc.org"]
KEYS = ["valueString", "valueQuantity", "effectiveDateTime", "effectivePeriod", "issued", "foo", "_status", "status", "code",
        "id", "extension", "text", "resourceType", "subject", "onsetDateTime", "medicationReference", "dosage", "contained"]


def _paths(node, prefix=()):
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield from _paths(value, (*prefix, key))


def _mutate(resource: dict, rnd: random.Random) -> dict:
    mutated = copy.deepcopy(resource)
    for _ in range(rnd.choice((1, 1, 2, 3))):
        paths = [p for p in _paths(mutated) if p]
        if not paths:
            break
        path = rnd.choice(paths)
        parent = mutated
        for step in path[:-1]:
            parent = parent[step]
        choice = rnd.random()
        if choice < 0.6:
            parent[path[-1]] = copy.deepcopy(rnd.choice(TRICKY))
        elif choice < 0.8:
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[rnd.choice(KEYS)] = copy.deepcopy(rnd.choice(TRICKY))
    return mutated


def test_the_fast_check_vouches_for_no_broken_mutation():
    rnd = random.Random(21)
    wrong = []
    for _ in range(3000):
        mutated = _mutate(rnd.choice(RESOURCES), rnd)
        if certainly_valid(mutated) and not _model_accepts(mutated):
            wrong.append(mutated)
    assert wrong == []


def _always_walked(text: str):
    """parse_json as it was: the located-problems walk on every document (its answer, or its messages)."""
    try:
        doc = json.loads(text, object_pairs_hook=strict_json._unique_keys, parse_constant=strict_json._not_a_number,
                         parse_int=strict_json._integer, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        return [f"f: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
    except RecursionError:
        return ["f: not valid JSON: nested more than 64 levels deep"]
    except ValueError as exc:
        return [f"f: not valid JSON: {exc}"]
    problems = strict_json.json_problems(doc, "f")
    return [str(p) for p in problems] if problems else doc


def _parsed(text: str):
    try:
        return strict_json.parse_json(text, "f")
    except InputRejected as exc:
        return [str(p) for p in exc.problems]


TEXTS = st.lists(st.sampled_from(["a", "<", "!", "<!DOCTYPE", "\\", "\ud800", "\udc00", "é", " ", "u"]), max_size=6).map("".join)
LEAVES = st.one_of(TEXTS, st.integers(), st.booleans(), st.none())
DOCUMENTS = st.recursive(LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXTS, inner, max_size=3)),
                         max_leaves=80)


@settings(max_examples=300, deadline=None)
@given(DOCUMENTS, st.integers(min_value=0, max_value=70), st.booleans())
def test_strict_json_skips_its_walk_only_when_it_would_find_nothing(document, depth, escaped):
    for _ in range(depth):
        document = [document]
    text = json.dumps(document, ensure_ascii=escaped)
    assert _parsed(text) == _always_walked(text)


@pytest.mark.parametrize("text", ['{"a": "\\u003c!DOCTYPE x"}', '{"\\ud800": 1}', '["<!ENTITY"]', "[" * 66 + "]" * 66,
                                  "[" * 65 + "1" + "]" * 65, "[" * 64 + "1" + "]" * 64, '{"a": "x\\\\u"}'])
def test_strict_json_edge_documents(text):
    assert _parsed(text) == _always_walked(text)


def _written(node, rnd: random.Random) -> str:
    """JSON text of a document whose objects are lists of pairs: keys may repeat, spacing varies."""
    space = rnd.choice(["", " ", "\n  "])
    if isinstance(node, tuple):  # an object, as its pairs
        return "{" + ",".join(f"{json.dumps(k)}{space}:{space}{_written(v, rnd)}" for k, v in node) + "}"
    if isinstance(node, list):
        return "[" + f",{space}".join(_written(v, rnd) for v in node) + "]"
    return json.dumps(node)


KEYS_TEXT = st.sampled_from(["a", "b", 'q"', "c:", '":', "\\", "é"])
PAIRS = st.recursive(st.one_of(TEXTS, st.integers(), st.none()),
                     lambda inner: st.one_of(st.lists(inner, max_size=3),
                                             st.lists(st.tuples(KEYS_TEXT, inner), max_size=4).map(tuple)), max_leaves=40)


@settings(max_examples=400, deadline=None)
@given(PAIRS, st.randoms(use_true_random=False))
def test_strict_json_finds_every_key_given_twice(document, rnd):
    """A key given twice is refused, with the same message, wherever it is."""
    text = _written(document, rnd)
    assert _parsed(text) == _always_walked(text)
