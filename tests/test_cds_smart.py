"""The cards' `smart` link, end to end over real HTTP (issue 22): the CDS service live on
loopback, and a small SMART EHR on loopback (tests/smart_ehr.py: its FHIR server's
.well-known/smart-configuration, /auth/authorize, /auth/token checking the PKCE verifier
and returning the card link's appContext). httpx drives the browser's redirects, step by
step and with follow_redirects. Then the refusals: SMART off, an iss not allow-listed, bad,
reused and expired states, a verifier mismatch, a denied authorization, token endpoint
errors and timeouts, unusable SMART configurations, and launches beyond the rate."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

from cds_hooks_rules import check_response  # noqa: E402
from servers import Listener, LiveService, free_socket  # noqa: E402
from smart_ehr import SmartEhr, s256  # noqa: E402

from b12kg.api import Api  # noqa: E402
from b12kg.serve.cds import Config, create_app  # noqa: E402
from b12kg.serve.fhir_client import FhirClient  # noqa: E402
from b12kg.serve.web import Rate  # noqa: E402

REQUEST = Path(__file__).resolve().parent / "cds-hooks" / "request-b12-patient-view-in-confirmed-oral.json"
CLIENT_ID = "b12kg-test-client"
SECRETS = ("ehr-access-token", "code_verifier", "code or verifier")


@pytest.fixture(scope="module")
def ehr():
    server = SmartEhr(CLIENT_ID, slow_seconds=2.5)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live(assessor, ehr, tmp_path_factory):
    """The service registered with the EHR as a SMART app: the EHR's FHIR server allow-listed (loopback:
    the test-only option), FHIR reads timing out after 1 s."""
    sock = free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = Config(as_of=date(2026, 11, 24), feedback_db=tmp_path_factory.mktemp("smart") / "feedback.sqlite3",
                    fhir_servers=[ehr.fhir], allow_private_fhir=True, public_url=url, smart_client_id=CLIENT_ID)
    app = create_app(config, Api(assessor), fhir=FhirClient.from_urls([ehr.fhir], allow_private=True, timeout=1.0))
    ehr.redirect_uri = f"{url}/smart/callback"
    service = LiveService(app, sock=sock)
    service.smart = app.state.service.smart
    yield service
    service.stop()


@pytest.fixture
def browser(live, ehr):
    """A browser of the clinician (no redirects followed unless asked); the EHR and the app's caches reset."""
    ehr.reset()
    live.smart._configurations.clear()
    with httpx.Client(timeout=30) as client:
        yield client


def _card_links(base: str) -> list[list[dict]]:
    response = httpx.post(f"{base}/cds-services/b12-patient-view", json=json.loads(REQUEST.read_text()), timeout=60)
    assert response.status_code == 200, response.text
    check_response(response.json())
    return [card["links"] for card in response.json()["cards"]]


def _launch_id(ehr: SmartEhr, live, patient: str = "ex1") -> tuple[str, str]:
    """A card's smart link, launched by the EHR: (the launch URL the EHR opens, the explanation token)."""
    links = _card_links(live.url)[0]
    smart = next(link for link in links if link["type"] == "smart")
    launch = f"launch-{len(ehr.launches)}"
    ehr.launches[launch] = {"appContext": smart["appContext"], "patient": patient}
    return f"{smart['url']}?{urlencode({'iss': ehr.fhir, 'launch': launch})}", smart["appContext"]


def _to_callback(browser: httpx.Client, launch_url: str, tamper=None) -> str:
    """Launch, then authorize at the EHR: the callback URL the EHR sends the browser to."""
    launched = browser.get(launch_url)
    assert launched.status_code == 302, launched.text
    authorize = launched.headers["location"]
    if tamper:
        authorize = tamper(authorize)
    answer = browser.get(authorize)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def _refused(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store" and response.headers["referrer-policy"] == "no-referrer"
    assert words in response.text, response.text
    assert not any(secret in response.text for secret in SECRETS)
    assert "location" not in response.headers


# --- the link and the flow ------------------------------------------------------------------

def test_cards_carry_a_smart_link_beside_the_absolute_one(live):
    for absolute, smart in _card_links(live.url):
        assert absolute["type"] == "absolute" and "appContext" not in absolute
        assert smart == {"label": smart["label"], "url": f"{live.url}/smart/launch", "type": "smart",
                         "appContext": absolute["url"].rsplit("/", 1)[1]}
        assert smart["label"].startswith("Why?")


def test_a_launch_opens_the_cards_explanation_step_by_step(live, ehr, browser):
    launch_url, token = _launch_id(ehr, live)
    launched = browser.get(launch_url)
    assert launched.status_code == 302
    assert launched.headers["cache-control"] == "no-store" and launched.headers["referrer-policy"] == "no-referrer"
    location = urlsplit(launched.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{ehr.url}/auth/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query == {"tenant": "t1", "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": f"{live.url}/smart/callback",
                     "launch": "launch-0", "scope": "launch", "state": query["state"], "aud": ehr.fhir,
                     "code_challenge": query["code_challenge"], "code_challenge_method": "S256"}
    assert len(query["state"]) >= 43  # 256 random bits (SMART: at least 122)
    authorized = browser.get(launched.headers["location"])
    callback = authorized.headers["location"]
    assert callback.startswith(f"{live.url}/smart/callback?code=")
    shown = browser.get(callback)
    assert shown.status_code == 303 and shown.headers["location"] == f"{live.url}/explanations/{token}"
    assert shown.headers["cache-control"] == "no-store" and shown.headers["referrer-policy"] == "no-referrer"
    page = browser.get(shown.headers["location"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html") and "obs-2" in page.text
    (exchange,) = ehr.exchanges
    assert exchange["grant_type"] == "authorization_code" and exchange["client_id"] == CLIENT_ID
    assert exchange["redirect_uri"] == f"{live.url}/smart/callback" and s256(exchange["code_verifier"]) == query["code_challenge"]
    assert 43 <= len(exchange["code_verifier"]) <= 128


def test_a_launch_followed_by_the_browser(live, ehr, browser):
    launch_url, token = _launch_id(ehr, live)
    page = browser.get(launch_url, follow_redirects=True)
    assert page.status_code == 200 and str(page.url) == f"{live.url}/explanations/{token}"
    assert [r.status_code for r in page.history] == [302, 302, 303]
    browser.get(launch_url, follow_redirects=True)  # the SMART configuration is read once, then kept
    assert [p for _, p in ehr.requests].count("/fhir/.well-known/smart-configuration") == 1


def test_smart_is_off_without_a_client_id(assessor, ehr, tmp_path):
    config = Config(as_of=date(2026, 11, 24), feedback_db=tmp_path / "fb.sqlite3", fhir_servers=[ehr.fhir], allow_private_fhir=True)
    service = LiveService(create_app(config, Api(assessor)))
    try:
        assert all([link["type"] for link in links] == ["absolute"] for links in _card_links(service.url))
        ehr.reset()
        for path in (f"/smart/launch?iss={ehr.fhir}&launch=x", "/smart/callback?code=x&state=y", "/smart/other", "/smart"):
            _refused(httpx.get(service.url + path), 404, "--smart-client-id")
        assert ehr.requests == []
    finally:
        service.stop()


@pytest.mark.parametrize("change", [{"smart_client_id": "x", "fhir_servers": []},
                                    {"smart_client_id": "x", "public_url": "http://cds.example.org"},
                                    {"smart_client_id": "", "public_url": "https://cds.example.org"},
                                    {"smart_client_id": "x", "smart_scope": " "}])
def test_configurations_the_app_refuses(assessor, ehr, tmp_path, change):
    fields = {"fhir_servers": [ehr.fhir], "allow_private_fhir": True, **change}
    with pytest.raises(ValueError, match="smart"):
        create_app(Config(feedback_db=tmp_path / "fb.sqlite3", **fields), Api(assessor))


# --- refusals of the launch ---------------------------------------------------------------------

def test_an_iss_not_allow_listed_is_never_read(live, ehr, browser):
    other = Listener()
    try:
        for iss in (f"{other.url}/fhir", f"{ehr.url}/other-fhir", "https://evil.example/fhir", f"{ehr.fhir}/sub"):
            _refused(browser.get(f"{live.url}/smart/launch", params={"iss": iss, "launch": "x"}), 403, "allow-lists")
        assert other.requests == [] and ehr.requests == []
    finally:
        other.stop()


@pytest.mark.parametrize("query", ["launch=x", "iss={fhir}", "iss={fhir}&iss={fhir}&launch=x", "iss=&launch=x",
                                   "iss={fhir}&launch=" + "x" * 3000])
def test_a_launch_without_its_parameters_is_refused(live, ehr, browser, query):
    _refused(browser.get(f"{live.url}/smart/launch?{query.format(fhir=ehr.fhir)}"), 400, "parameter")
    assert ehr.requests == []


@pytest.mark.parametrize("iss", ["javascript:alert(1)", "http://user:pw@127.0.0.1/fhir", "http://127.0.0.1/fhir?x=1", "fhir"])
def test_an_iss_that_is_not_a_fhir_base_is_refused(live, ehr, browser, iss):
    _refused(browser.get(f"{live.url}/smart/launch", params={"iss": iss, "launch": "x"}), 400, "not a FHIR base URL")
    assert ehr.requests == []


@pytest.mark.parametrize("configuration, words", [
    ({"token_endpoint": "{url}/auth/token"}, "authorization_endpoint (missing)"),
    ({"authorization_endpoint": "https://evil.example:99999/a", "token_endpoint": "{url}/auth/token"}, "authorization_endpoint"),
    ({"authorization_endpoint": "http://evil.example/authorize", "token_endpoint": "{url}/auth/token"}, "(not https)"),
    ({"authorization_endpoint": "javascript:alert(1)", "token_endpoint": "{url}/auth/token"}, "authorization_endpoint"),
    ({"authorization_endpoint": "{url}/auth/authorize#x", "token_endpoint": "{url}/auth/token"}, "authorization_endpoint"),
    ({"authorization_endpoint": "{url}/auth/authorize", "token_endpoint": "http://admin:pw@127.0.0.1/t"}, "token_endpoint"),
    ({"authorization_endpoint": "{url}/auth/authorize", "token_endpoint": "{url}/auth/token?x=1"}, "token_endpoint"),
    ({"authorization_endpoint": "{url}/auth/authorize", "token_endpoint": "{url}/auth/token",
      "code_challenge_methods_supported": ["plain"]}, "PKCE"),
    (b"<html>not json</html>", "could not be read"),
    (b"[1, 2]", "could not be read"),
    (b'{"a": "' + b"x" * 70_000 + b'"}', "no usable answer"),
])
def test_unusable_smart_configurations_start_no_flow(live, ehr, browser, configuration, words):
    ehr.configuration = configuration if isinstance(configuration, bytes) else \
        {k: v.format(url=ehr.url) if isinstance(v, str) else v for k, v in configuration.items()}
    launch_url, _ = _launch_id(ehr, live)
    _refused(browser.get(launch_url), 502, words)
    assert ehr.authorizations == [] and ehr.exchanges == []


def test_a_smart_configuration_not_found_or_too_slow(live, ehr, browser):
    launch_url, _ = _launch_id(ehr, live)
    ehr.configuration_status = 404
    _refused(browser.get(launch_url), 502, "HTTP 404")
    ehr.configuration_status, ehr.configuration_delay = 200, 2.5
    started = time.monotonic()
    _refused(browser.get(launch_url), 504, "did not answer in time")
    assert time.monotonic() - started < 2.5 and ehr.authorizations == []


def test_launches_beyond_the_rate_get_429(live, ehr, browser):
    rate, live.smart.rate = live.smart.rate, Rate(0.001, 3)
    try:
        answers = [browser.get(f"{live.url}/smart/launch", params={"iss": "https://evil.example/fhir", "launch": "x"})
                   for _ in range(4)]
        assert [a.status_code for a in answers] == [403, 403, 403, 429] and answers[3].headers["retry-after"] == "1"
    finally:
        live.smart.rate = rate


# --- refusals of the callback ---------------------------------------------------------------------

def test_an_unknown_state_is_refused(live, ehr, browser):
    _refused(browser.get(f"{live.url}/smart/callback", params={"code": "c", "state": "made-up"}), 400, "did not start")
    _refused(browser.get(f"{live.url}/smart/callback", params={"code": "c"}), 400, "state parameter")
    assert ehr.exchanges == []


def test_a_state_is_used_once(live, ehr, browser):
    callback = _to_callback(browser, _launch_id(ehr, live)[0])
    assert browser.get(callback).status_code == 303
    _refused(browser.get(callback), 400, "already completed")
    assert len(ehr.exchanges) == 1


def test_an_expired_state_is_refused(live, ehr, browser):
    live.smart.states.seconds = 0.3
    try:
        callback = _to_callback(browser, _launch_id(ehr, live)[0])
        time.sleep(0.5)
        _refused(browser.get(callback), 400, "took longer than")
    finally:
        live.smart.states.seconds = 600.0
    assert ehr.exchanges == []


def test_a_verifier_mismatch_is_refused_by_the_token_endpoint(live, ehr, browser):
    """An authorization request altered on its way (another code_challenge): the EHR's token endpoint
    refuses the verifier, and the page says so without showing the code or the verifier."""
    def tamper(url: str) -> str:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query["code_challenge"] = s256("another-verifier-" + "x" * 40)
        return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}"

    callback = _to_callback(browser, _launch_id(ehr, live)[0], tamper)
    response = browser.get(callback)
    _refused(response, 403, "refused the authorization code (invalid_grant)")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert code not in response.text and ehr.exchanges[0]["code_verifier"] not in response.text


@pytest.mark.parametrize("error, shown", [("access_denied", "(access_denied)"), ("<script>alert(1)</script>", "did not authorize b12kg.")])
def test_a_denied_authorization_is_refused(live, ehr, browser, error, shown):
    ehr.deny = error
    response = browser.get(_to_callback(browser, _launch_id(ehr, live)[0]))
    _refused(response, 403, shown)
    assert "<script>" not in response.text and ehr.exchanges == []


@pytest.mark.parametrize("mode, status, words", [
    ("error-500", 502, "answered HTTP 500"),
    ("slow", 504, "did not answer in time"),
    ("huge", 502, "no usable answer"),
    ("not-json", 502, "no token response"),
    ("no-access-token", 502, "no token response"),
    ("no-app-context", 502, "appContext"),
])
def test_token_endpoint_failures(live, ehr, browser, mode, status, words):
    ehr.token_mode = mode
    started = time.monotonic()
    _refused(browser.get(_to_callback(browser, _launch_id(ehr, live)[0])), status, words)
    assert time.monotonic() - started < 10 and len(ehr.exchanges) == 1


def test_an_explanation_no_longer_kept_is_404(live, ehr, browser):
    launch_url, token = _launch_id(ehr, live)
    callback = _to_callback(browser, launch_url)
    live.smart.explanations._items.pop(token)
    _refused(browser.get(callback), 404, "no longer kept")


def test_a_launch_for_another_patient_is_refused(live, ehr, browser):
    launch_url, token = _launch_id(ehr, live, patient="another-patient")
    _refused(browser.get(_to_callback(browser, launch_url)), 409, "another patient")
    launch_url, token = _launch_id(ehr, live, patient="Patient/ex1")  # the same patient, as a reference
    assert browser.get(_to_callback(browser, launch_url)).headers["location"].endswith(token)
