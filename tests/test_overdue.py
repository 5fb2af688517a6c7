"""A follow-up already past its due date is marked overdue (JSON, text, HTML); the
comparison is made by the follow-up rule (queries/b12/derive/follow-up-3-months.rq)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from b12kg.render.explain import render

CASE = Path(__file__).resolve().parent / "cases" / "b12" / "follow-up-3-months-due-from-earliest-active-therapy.json"


@pytest.fixture(scope="module")
def due(assessor) -> date:
    return date.fromisoformat(assessor.assess(CASE, date(2026, 11, 24)).document["follow_up"]["due"])


@pytest.mark.parametrize("days_after_due,overdue", [(-1, False), (0, False), (1, True), (75, True)])
def test_overdue_in_json_around_the_due_date(assessor, due, days_after_due, overdue):
    follow_up = assessor.assess(CASE, due + timedelta(days=days_after_due)).document["follow_up"]
    assert follow_up["due"] == due.isoformat()
    assert follow_up["overdue"] is overdue


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_explanations_say_overdue_only_when_it_is(assessor, due, fmt):
    late = render(assessor.assess(CASE, due + timedelta(days=30)), assessor.knowledge, fmt)
    on_time = render(assessor.assess(CASE, due - timedelta(days=30)), assessor.knowledge, fmt)
    assert "overdue: the due date is before the as-of date" in late
    assert "overdue" not in on_time.lower()
