"""The CDS Hooks service's bounds (issue 18): feedback bounded in size and rate and read
newest first a page at a time (defect 7); one byte budget per call and a bounded number
of calls at once (defect 9); record values in card Markdown as code spans (defect 18)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from servers import LiveService  # noqa: E402

from b12kg.api import Api  # noqa: E402
from b12kg.serve.cds import Config, create_app  # noqa: E402
from b12kg.serve.cds.feedback import MAX_FEEDBACK_PER_CARD, FeedbackError, FeedbackStore  # noqa: E402
from b12kg.serve.cds.prefetch import PrefetchMissing, Source, assemble  # noqa: E402
from b12kg.serve.fhir_client import MAX_CALL_BYTES, FhirBase, FhirClient  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "cds-hooks"
SERVICE = "b12-patient-view"


def _cards(store: FeedbackStore, count: int) -> list[str]:
    cards = [{"uuid": str(uuid.uuid4()), "summary": "s", "suggestions": []} for _ in range(count)]
    store.issued(SERVICE, "h", "p", cards)
    return [c["uuid"] for c in cards]


def _item(card: str, comment: str = "", stamp: str = "2026-11-24T10:00:00Z") -> dict:
    item = {"card": card, "outcome": "overridden", "outcomeTimestamp": stamp}
    if comment:
        item["overrideReason"] = {"userComment": comment}
    return item


def test_feedback_is_bounded_per_item_and_per_card(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    (card,) = _cards(store, 1)
    with pytest.raises(FeedbackError, match="longer than"):
        store.record(SERVICE, {"feedback": [_item(card, "x" * 1_000_001)]})
    with pytest.raises(FeedbackError, match="larger than"):
        store.record(SERVICE, {"feedback": [_item(card) | {"overrideReason": {"reason": {"code": "y" * 5000}}}]})
    for _ in range(MAX_FEEDBACK_PER_CARD):
        store.record(SERVICE, {"feedback": [_item(card, "seen")]})
    with pytest.raises(FeedbackError, match="already has") as refused:
        store.record(SERVICE, {"feedback": [_item(card, "again")]})
    assert refused.value.status == 409
    store.close()


def test_feedback_reads_newest_first_a_page_at_a_time(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    cards = _cards(store, 30)
    for index, card in enumerate(cards):
        store.record(SERVICE, {"feedback": [_item(card, f"comment {index}")]})
    first = store.read(SERVICE, limit=10)
    assert [f["overrideReason"]["userComment"] for f in first] == [f"comment {i}" for i in range(29, 19, -1)]
    second = store.read(SERVICE, limit=10, before=first[-1]["id"])
    assert second[0]["overrideReason"]["userComment"] == "comment 19"
    store.close()


@pytest.fixture(scope="module")
def api(assessor):
    return Api(assessor)


def test_feedback_over_http_is_rate_limited_small_and_paged(api, tmp_path):
    """Twelve large feedback requests added 13.7 MB in 1.7 s: now bodies are at most 64 KiB,
    bursts are refused with 429, and the newest items come first with a next page."""
    live = LiveService(create_app(Config(feedback_db=tmp_path / "fb.sqlite3"), api))
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    cards = _cards(store, 40)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as client:
            big = client.post(f"/cds-services/{SERVICE}/feedback", json={"feedback": [_item(cards[0], "x" * (1024 * 1024))]})
            assert big.status_code == 413
            statuses = [client.post(f"/cds-services/{SERVICE}/feedback", json={"feedback": [_item(card, "ok")]}).status_code
                        for card in cards]  # 40 at once: over the burst of 20
            assert statuses.count(200) >= 20 and 429 in statuses
            page = client.get(f"/cds-services/{SERVICE}/feedback", params={"limit": 5}).json()
            stored = [f["card"] for f in page["feedback"]]
            accepted = [card for card, status in zip(cards, statuses, strict=True) if status == 200]
            assert stored == accepted[::-1][:5]  # newest first
            following = client.get(page["next"]).json()["feedback"]
            assert [f["card"] for f in following] == accepted[::-1][5:10]
    finally:
        live.stop()
        store.close()
    assert (tmp_path / "fb.sqlite3").stat().st_size < 2 * 1024 * 1024


# --- prefetch: one byte budget per call, calls at once bounded (defect 9) ----------------------

def test_one_byte_budget_for_all_the_searches_of_a_call(assessor):
    """Each search answers 3 MiB (under the old 10 MiB per search): the call stops once all
    its searches together pass 10 MiB, instead of holding 70 MB."""
    served = []
    page = json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": [], "padding": "x" * (3 * 1024 * 1024)}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        served.append(len(page))
        return httpx.Response(200, content=page)

    async def resolve(host, port):
        return ["93.184.216.34"]

    client = FhirClient.from_urls(["https://fhir.example/r4"], resolve=resolve, transport=httpx.MockTransport(handler))

    async def go():
        try:
            await assemble({"patient": {"resourceType": "Patient", "id": "p1"}}, "p1", assessor.knowledge,
                           Source(FhirBase.parse("https://fhir.example/r4"), "token"), client)
        finally:
            await client.aclose()

    with pytest.raises(PrefetchMissing, match="over"):
        asyncio.run(go())
    assert sum(served) <= MAX_CALL_BYTES + len(page)


def test_calls_at_once_are_bounded(api, tmp_path):
    """With one call allowed at a time, a second call waiting past its limit gets 503 while
    the first is held up reading the FHIR server."""
    release = threading.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        for _ in range(100):  # at most 5 s
            if release.is_set():
                break
            await asyncio.sleep(0.05)
        return httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset", "entry": []})

    async def resolve(host, port):
        return ["93.184.216.34"]

    fhir = FhirClient.from_urls(["https://fhir.example/r4"], resolve=resolve, transport=httpx.MockTransport(handler))
    config = Config(as_of=date(2026, 11, 24), feedback_db=tmp_path / "fb.sqlite3", fhir_servers=["https://fhir.example/r4"],
                    max_calls=1, call_wait=0.3)
    live = LiveService(create_app(config, api, fhir=fhir))
    body = json.loads((FIXTURES / "request-b12-patient-view-in-confirmed-oral.json").read_text())
    body["prefetch"] = {"patient": body["prefetch"]["patient"]}
    body |= {"fhirServer": "https://fhir.example/r4", "fhirAuthorization": {"access_token": "t"}}
    first: list[int] = []
    worker = threading.Thread(target=lambda: first.append(httpx.post(f"{live.url}/cds-services/{SERVICE}", json=body,
                                                                     timeout=30).status_code))
    try:
        worker.start()
        time.sleep(0.5)
        second = httpx.post(f"{live.url}/cds-services/{SERVICE}", json=body, timeout=30)
        assert second.status_code == 503 and second.headers["retry-after"]
    finally:
        release.set()
        worker.join(30)
        live.stop()
    assert first == [200]


# --- Markdown (defect 18) ----------------------------------------------------------------------

def _outside_code_spans(markdown: str) -> str:
    return re.sub(r"(`+)(.+?)\1", "", markdown)


def _call_with_serum_b12(api, tmp_path: Path, quantity: dict, new_id: str | None = None) -> httpx.Response:
    """One patient-view call whose first quantity result is changed (`quantity` merged, the id replaced)."""
    body = json.loads((FIXTURES / "request-b12-patient-view-in-confirmed-oral.json").read_text())
    resource = next(e["resource"] for e in body["prefetch"]["observations"]["entry"] if "valueQuantity" in e["resource"])
    resource["valueQuantity"] |= quantity
    resource["id"] = new_id or resource["id"]
    live = LiveService(create_app(Config(as_of=date(2026, 11, 24), feedback_db=tmp_path / "fb.sqlite3"), api))
    try:
        return httpx.post(f"{live.url}/cds-services/{SERVICE}", json=body, timeout=60)
    finally:
        live.stop()


def test_record_values_are_code_spans_in_cards(api, tmp_path):
    """An invalid unit 'https://evil.example/phish' (and an id with Markdown) stays text:
    every record value is inside a code span, where no viewer makes a link of it."""
    response = _call_with_serum_b12(api, tmp_path, {"unit": "https://evil.example/phish", "code": "https://evil.example/phish"},
                                    "obs-[click](https://evil.example)")
    assert response.status_code == 200
    details = "\n".join(card["detail"] for card in response.json()["cards"])
    assert "evil.example" in details
    assert "evil.example" not in _outside_code_spans(details), details


@pytest.mark.parametrize("unit", ["Cel", "[degF]", "[degRe]"])
def test_offset_units_get_a_refusal_card_not_a_500(api, tmp_path, unit):
    """Issue 18, defect 11: temperature units made pint raise outside the unit check."""
    response = _call_with_serum_b12(api, tmp_path, {"unit": unit, "code": unit})
    assert response.status_code == 200
    (card,) = response.json()["cards"]
    assert "refused" in card["summary"] and unit in card["detail"]
