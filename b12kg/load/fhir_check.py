"""A fast, conservative check of FHIR resources against the FHIR R4B models of fhir.resources.

`certainly_valid(resource)` is True only when the model would accept the resource: every key
is one of its elements (by its JSON name), every value of the element's type and cardinality
(a primitive by the same pattern and range the model applies, a complex type checked the same
way, recursively), required elements present and at most one type of a choice element. What
it cannot vouch for (primitive extensions '_x', nulls, empty lists, leap seconds, types not
listed in PRIMITIVES, ...) is answered False, and the loader then runs the full model
validation, which gives the located messages. So it changes how fast a resource is accepted,
never whether it is, nor what a rejection says (tests/test_fhir_check.py compares it with the
models on every resource of the test inputs and on mutations of them).

The element tables are read from the model classes once per process.
"""

from __future__ import annotations

import re
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

_MEMO_LIMIT = 50_000


def _memo(check):
    """A check of a text primitive memoised on the text: codes, systems and dates recur."""
    known: dict[str, bool] = {}

    def memoised(value) -> bool:
        if type(value) is not str:
            return False
        found = known.get(value)
        if found is None:
            if len(known) > _MEMO_LIMIT:
                known.clear()
            found = known[value] = check(value)
        return found

    return memoised


_STRING = re.compile(r"[ \r\n\t\S]+")
_CODE = re.compile(r"[^\s]+(?: [^\s]+)*")
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_NO_SPACE = re.compile(r"\S*")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_FULL_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)")
_DATETIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,6})?(Z|[+-]\d\d:\d\d)")


def _text(value: Any) -> bool:
    """FHIR string (and markdown, xhtml): characters that are not whitespace, or spaces, tabs and line ends."""
    return type(value) is str and _STRING.fullmatch(value) is not None


@_memo
def _code(value: Any) -> bool:
    return type(value) is str and _CODE.fullmatch(value) is not None


@_memo
def _id(value: Any) -> bool:
    return type(value) is str and _ID.fullmatch(value) is not None


@_memo
def _uri(value: Any) -> bool:
    return type(value) is str and _NO_SPACE.fullmatch(value) is not None


def _decimal(value: Any) -> bool:
    kind = type(value)
    if kind is int:
        return True
    return kind is Decimal and value.is_finite() and _DECIMAL.fullmatch(str(value)) is not None


def _integer(low: int, high: int):
    def check(value: Any) -> bool:
        return type(value) is int and low <= value <= high

    return check


def _boolean(value: Any) -> bool:
    return type(value) is bool


def _calendar(year: str, month: str, day: str) -> bool:
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def _date_kind(pattern: re.Pattern, time_allowed: bool, time_required: bool):
    """A FHIR date, dateTime or instant: the model's own pattern, then a real calendar date
    and, with a time, one Python reads (no leap second, at most microseconds, a zone)."""

    @_memo
    def check(value: Any) -> bool:
        if type(value) is not str or pattern.fullmatch(value) is None:
            return False
        if "T" not in value:
            if time_required:
                return False
            full = _FULL_DATE.fullmatch(value)
            return full is None or _calendar(*full.groups())
        if not time_allowed:
            return False
        parts = _DATETIME.fullmatch(value)
        if parts is None or parts.group(6) == "60" or not _calendar(*parts.groups()[:3]):
            return False
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        return True

    return check


PATTERNS = ("Date", "DateTime", "Instant")


def _patterns() -> dict[str, str]:
    """The models' own patterns of the date kinds (from the check tables when kept)."""
    kept = _kept()
    if kept is not None:
        return kept["patterns"]
    from fhir_core import types as fhir_types

    return {name: getattr(fhir_types, name).pattern.pattern for name in PATTERNS}


@cache
def _primitives() -> dict[str, Any]:
    patterns = {name: re.compile(text) for name, text in _patterns().items()}
    return {
        "String": _text, "Markdown": _text, "Xhtml": _text, "Code": _code, "Id": _id, "Uri": _uri, "Canonical": _uri,
        "Decimal": _decimal, "bool": _boolean,
        "Integer": _integer(-2147483648, 2147483647), "UnsignedInt": _integer(0, 2147483647),
        "PositiveInt": _integer(1, 2147483647),
        "Date": _date_kind(patterns["Date"], False, False),
        "DateTime": _date_kind(patterns["DateTime"], True, False),
        "Instant": _date_kind(patterns["Instant"], True, True),
    }


class _Model:
    """What certainly_valid needs of one model class: element name -> (check, is_list), the
    required elements, and the choice groups."""

    __slots__ = ("choices", "fields", "required", "resource_type")

    def __init__(self) -> None:
        self.fields: dict[str, tuple[Any, bool]] = {}
        self.required: tuple[str, ...] = ()
        self.choices: tuple[tuple[tuple[str, ...], bool], ...] = ()
        self.resource_type: str | None = None


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kept = [a for a in typing.get_args(annotation) if a is not type(None)]
        return kept[0] if len(kept) == 1 else None
    return annotation


def _field_kind(annotation: Any) -> list | None:
    """[kind, name] of an element's type: ["p", primitive], ["c", ""] (a contained resource) or
    ["m", model key]; None when it is not one certainly_valid reads."""
    from fhir_core.types import FhirBase, FhirElementOrResourceBase

    if annotation is bool:
        return ["p", "bool"]
    if typing.get_origin(annotation) is typing.Annotated:
        kinds = [type(meta).__name__ for meta in annotation.__metadata__]
        if len(kinds) == 1 and kinds[0] in _primitives():
            return ["p", kinds[0]]
        return None
    if isinstance(annotation, type) and issubclass(annotation, FhirElementOrResourceBase):
        return ["c", ""]
    if isinstance(annotation, type) and issubclass(annotation, FhirBase):
        return ["m", _key_of(annotation.get_model_klass())]
    return None


def _key_of(model_class: type) -> str:
    return f"{model_class.__module__}:{model_class.__qualname__}"


def _class_of(key: str) -> type:
    import importlib

    module, qualname = key.split(":")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def describe(model_class: type) -> dict:
    """What certainly_valid reads of one model class, as data: its elements (JSON name ->
    [kind, name, is_list]), the required ones, the choice groups and its resource type."""
    fields, required, choices = {}, [], {}
    for name, info in model_class.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        alias = info.alias or name
        if name == "fhir_comments" or name.endswith("__ext") or not extra.get("element_property"):
            continue
        annotation = _unwrap_optional(info.annotation)
        is_list = typing.get_origin(annotation) is list
        if is_list:
            annotation = _unwrap_optional(typing.get_args(annotation)[0])
        kind = _field_kind(annotation)
        if kind is not None:
            fields[alias] = [*kind, is_list]
        if info.is_required() or extra.get("element_required"):
            required.append(alias)
        if extra.get("one_of_many"):  # a choice [x]: required when any of its types says so (stricter, never looser)
            members = choices.setdefault(extra["one_of_many"], [])
            members.append((alias, bool(extra.get("one_of_many_required"))))
    return {"fields": fields, "required": required,
            "choices": [[[a for a, _ in members], any(n for _, n in members)] for members in choices.values()],
            "resource_type": model_class.get_resource_type() if model_class.has_resource_base() else None}


def _nested(key: str):
    return lambda value: _valid(value, _model(key))


@cache
def _model(key: str) -> _Model:
    """The _Model of a model class by its key: from the kept check tables, else read from the class."""
    kept = _kept()
    description = kept["models"].get(key) if kept is not None else None
    if description is None:
        description = describe(_class_of(key))
    primitives = _primitives()
    model = _Model()
    for alias, (kind, name, is_list) in description["fields"].items():
        check = primitives[name] if kind == "p" else _contained if kind == "c" else _nested(name)
        model.fields[alias] = (check, is_list)
    model.required = tuple(description["required"])
    model.choices = tuple((tuple(names), needed) for names, needed in description["choices"])
    model.resource_type = description["resource_type"]
    return model


def _valid(value: Any, model: _Model) -> bool:
    if type(value) is not dict:
        return False
    fields = model.fields
    for key, item in value.items():
        found = fields.get(key)
        if found is None:
            if key == "resourceType" and model.resource_type is not None and item == model.resource_type:
                continue
            return False
        check, is_list = found
        if is_list:
            if type(item) is not list or not item:
                return False
            for element in item:
                if element is None or not check(element):
                    return False
        elif item is None or type(item) is list or not check(item):
            return False
    for name in model.required:
        if name not in value:
            return False
    for members, needed in model.choices:
        present = sum(name in value for name in members)
        if present > 1 or (needed and present == 0):
            return False
    return True


def _contained(value: Any) -> bool:
    """A contained resource: a dict naming a FHIR resource type, valid as that resource."""
    if type(value) is not dict or type(value.get("resourceType")) is not str:
        return False
    key = _resource_key(value["resourceType"])
    return key is not None and _valid(value, _model(key))


@cache
def _resource_key(resource_type: str) -> str | None:
    kept = _kept()
    if kept is not None and resource_type in kept["resources"]:
        return kept["resources"][resource_type]
    model_class = _resource_class(resource_type)
    return _key_of(model_class) if model_class is not None else None


def _resource_class(resource_type: str) -> type | None:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        model_class = get_fhir_model_class(resource_type)
    except (KeyError, ValueError, TypeError):
        return None
    return model_class if model_class.has_resource_base() else None


def certainly_valid(resource: dict) -> bool:
    """True only when fhir.resources' R4B model of the resource's type would accept it (see the module)."""
    resource_type = resource.get("resourceType")
    if type(resource_type) is not str:
        return False
    key = _resource_key(resource_type)
    return key is not None and "resourceType" in resource and _valid(resource, _model(key))


# --- the check tables kept between runs (knowledge_image.read_private: private, checksummed) --------

KEPT_TYPES = ("Patient", "Observation", "Condition", "Procedure", "Medication", "MedicationStatement", "MedicationRequest",
              "MedicationDispense", "MedicationAdministration")
"""Resource types whose tables are kept (with every model they reach): those the loader validates
(load.bundle.VALIDATED; tests/test_knowledge_image.py checks they are the same). Others are read from
the models when met."""


def _kept_name() -> str:
    import hashlib
    from importlib.metadata import version
    from pathlib import Path

    digest = hashlib.sha256(Path(__file__).read_bytes())
    for package in ("fhir.resources", "fhir-core", "pydantic"):
        digest.update(f"{package} {version(package)}\n".encode())
    return f"fhir-check-{digest.hexdigest()}.json"


@cache
def _kept() -> dict | None:
    """The check tables of KEPT_TYPES from an earlier run, or None (then read from the models, and kept)."""
    import json

    from ..knowledge_image import read_private

    try:
        body = read_private(_kept_name())
        found = json.loads(body) if body is not None else None
        if found is not None and set(found) == {"patterns", "models", "resources"}:
            return found
    except Exception:  # any failure: the models are read instead
        pass
    return None


@cache
def keep_tables() -> None:
    """Read the tables of KEPT_TYPES from the models and keep them (once per process, when none
    are kept and the cache folder can hold them)."""
    import json

    from ..knowledge_image import writable, write_private

    if _kept() is not None or not writable():
        return
    try:
        resources = {name: _resource_key(name) for name in KEPT_TYPES}
        models: dict[str, dict] = {}
        pending = [key for key in resources.values() if key is not None]
        while pending:
            key = pending.pop()
            if key not in models:
                models[key] = describe(_class_of(key))
                pending.extend(name for kind, name, _ in models[key]["fields"].values() if kind == "m")
        write_private(_kept_name(), json.dumps({"patterns": _patterns(), "models": models, "resources": resources},
                                               sort_keys=True).encode("utf-8"))
    except Exception:  # a cache that cannot be written changes nothing
        return
