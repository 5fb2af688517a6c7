"""Issue 23: a draft order coded with an RxNorm product code gets the same card as one coded
with the ingredient, through the shipped product table alone (folic acid 1 MG Oral Tablet
310410, metformin hydrochloride 500 MG Oral Tablet 861007)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from servers import LiveService, free_socket

from b12kg.api import Api
from b12kg.serve.cds import Config, create_app

CASES = Path(__file__).parent / "cds-hooks"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@pytest.fixture(scope="module")
def order_sign(assessor, tmp_path_factory):
    """The running service (uvicorn on loopback) called over HTTP, as an EHR calls it."""
    sock = free_socket()
    config = Config(as_of=date(2026, 11, 24), feedback_db=tmp_path_factory.mktemp("cds") / "f.sqlite3",
                    public_url=f"http://127.0.0.1:{sock.getsockname()[1]}")
    live = LiveService(create_app(config, Api(assessor)), sock=sock)
    with httpx.Client(base_url=live.url, timeout=60) as client:
        service = next(s["id"] for s in client.get("/cds-services").json()["services"] if s["hook"] == "order-sign")
        yield lambda request: [card["summary"] for card in client.post(f"/cds-services/{service}", json=request).json()["cards"]]
    live.stop()


def recoded(request: dict, old: str, new: str) -> dict:
    text = json.dumps(request)
    assert f'"{old}"' in text
    return json.loads(text.replace(f'"code": "{old}"', f'"code": "{new}"').replace('"http://www.whocc.no/atc"', f'"{RXNORM}"'))


@pytest.mark.parametrize(("case", "ingredient_code", "product"), [
    ("request-b12-order-sign-in-folic-acid-status-unknown.json", "B03BB01", "310410"),
    ("request-b12-order-sign-in-metformin-confirmed-deficiency.json", "6809", "861007"),
])
def test_issue_23_a_draft_coded_by_product_gets_the_ingredients_card(order_sign, case, ingredient_code, product):
    request = json.loads((CASES / case).read_text())
    cards = order_sign(request)
    assert cards
    assert order_sign(recoded(request, ingredient_code, product)) == cards
