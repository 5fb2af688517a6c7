"""The phrases every rendering shares: a fact's codes, value, dates and status; the population in
one sentence; the record's therapy. Plain strings (each rendering escapes them its own way)."""

from __future__ import annotations

from .model import Fact, Population, Record

NO_RISK, NO_ACTION, NO_FOLLOW_UP = "No risk factor was found.", "No action is recommended.", "No follow-up is scheduled."
NONE_OF_KIND = {"risk": NO_RISK, "action": NO_ACTION, "follow-up": NO_FOLLOW_UP}
NO_QUALITY = "None: every fact the guideline reads was read as recorded."
NO_SET_ASIDE = "None: every fact the guideline reads on record was considered."
NO_INTERACTION = "None found: no recommendations of different guidelines meet for this patient."
OVERDUE = "overdue: the due date is before the as-of date"
SAFETY = "Safety warning"


def quantity(value: str | None, unit: str | None) -> str:
    if value is None:
        return ""
    return f"{value} {unit}" if unit else value


def what(fact: Fact) -> str:
    """What the fact records: its codes, coded value and route."""
    parts = [str(c) for c in fact.codes if c.role in ("code", "coding")]
    described = "; ".join(parts) or "no recognised code"
    values = [str(c) for c in fact.codes if c.role == "value"]
    if values:
        described += f" = {'; '.join(values)}"
    routes = [str(c) for c in fact.codes if c.role == "route"]
    if routes:
        described += f", route {'; '.join(routes)}"
    return described


def named(fact: Fact) -> str:
    """The fact in words as the record names it, then its codes (when the text does not already say them)."""
    described = what(fact)
    return described if not fact.texts or fact.display in described else f"{fact.display}: {described}"


def recorded(fact: Fact) -> str:
    """The value or dose as recorded, in its recorded unit."""
    return quantity(fact.get("value"), fact.get("unit")) or "; ".join(fact.doses)


def canonical(fact: Fact) -> str:
    """The value in the analyte's canonical unit, or the daily dose in its unit."""
    if fact.get("canonicalValue") is not None:
        return quantity(fact.get("canonicalValue"), fact.get("canonicalUnit"))
    return quantity(fact.get("dailyDose"), fact.get("dailyDoseUnit")) if fact.get("dailyDose") else ""


def date_parts(fact: Fact) -> list[str]:
    labels = (("effectiveDate", "effective"), ("startDate", "started"), ("endDate", "ended"))
    return [f"{label} {fact.get(key)}" for key, label in labels if fact.get(key)]


def dates(fact: Fact) -> str:
    return ", ".join(date_parts(fact))


def status(fact: Fact) -> str:
    labels = (("status", ""), ("clinicalStatus", "clinical "), ("verificationStatus", "verification "))
    return ", ".join(f"{label}{fact.get(key)}" for key, label in labels if fact.get(key))


def columns(fact: Fact) -> list[tuple[str, str]]:
    """(label, value) pairs describing a fact, the empty ones left out."""
    pairs = [("what", named(fact)), ("as recorded", recorded(fact)), ("canonical", canonical(fact)),
             ("dates", dates(fact)), ("status", status(fact))]
    return [(label, value) for label, value in pairs if value]


SELF_LABELLED = ("what", "dates")


def population(found: Population | None) -> str:
    """The population (contract section 5) in one sentence."""
    if found is None:
        return "not assessed"
    where = "in the guideline's population" if found.member else \
        "OUTSIDE the guideline's population: no recommendation but the safety warnings (status and risk factors are findings)"
    label = found.label.split(": ", 1)[-1]
    return f"{where}; {label}"


def therapy(record: Record) -> str:
    """The therapy episode the conclusions assumed, in one sentence."""
    if not record.records:
        return f"no {record.therapy} on record"
    parenteral = record.records[-1][1]
    route = f"latest record {'a ' + record.parenteral_label if parenteral else 'not parenteral'}"
    state = "current" if record.current else "not current (ended before the as-of date)"
    return f"{record.therapy}: {state}, since {record.since or 'an unknown date'}; {route}"
