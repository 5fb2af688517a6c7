"""The CDS Hooks service cannot be made to carry the EHR's token anywhere (issue 18, defect 1
and its neighbours 3, 21): prefetch-only unless FHIR servers are allow-listed, addresses
checked after DNS on every page, https only, uniform errors, CORS and Chrome's
private-network preflight only for allow-listed origins, only its own Host names.

Live tests run the service and recording listeners on loopback; addresses that are not
loopback are only ever given to an httpx MockTransport behind a fake resolver, so no
test opens a connection to anything but 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

from servers import Listener, LiveService, fhir_json, slowloris  # noqa: E402

from b12kg.api import Api  # noqa: E402
from b12kg.serve.cds import Config, create_app  # noqa: E402
from b12kg.serve.cds.prefetch import PrefetchMissing, Source, assemble  # noqa: E402
from b12kg.serve.fhir_client import FhirBase, FhirClient, address_problem  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "cds-hooks"
TOKEN = "secret-ehr-token"
EVIL = "https://evil.example"
SANDBOX = "https://sandbox.cds-hooks.org"
ALL = ("patient", "observations", "conditions", "procedures", "medicationStatements", "medicationRequests",
       "medicationAdministrations", "medicationDispenses")


def _body(fhir_server: str | None = None, keys=("patient",), patient: str = "ex1") -> dict:
    body = json.loads((FIXTURES / "request-b12-patient-view-in-confirmed-oral.json").read_text())
    body["prefetch"] = {k: v for k, v in body["prefetch"].items() if k in keys}
    body["context"]["patientId"] = patient
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
        body["fhirAuthorization"] = {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300, "scope": "patient/*.read",
                                     "subject": "b12kg"}
    return body


@pytest.fixture(scope="module")
def api(assessor):
    return Api(assessor)


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.stop()


@pytest.fixture
def run(api, tmp_path):
    """run(config_fields, fhir=None) -> base URL of a live service; stopped after the test."""
    started = []

    def start(fhir: FhirClient | None = None, **fields) -> str:
        config = Config(as_of=date(2026, 11, 24), feedback_db=tmp_path / f"fb{len(started)}.sqlite3", **fields)
        live = LiveService(create_app(config, api, fhir=fhir))
        started.append(live)
        return live.url

    yield start
    for live in started:
        live.stop()


def _post(url: str, body: dict, **headers) -> httpx.Response:
    return httpx.post(f"{url}/cds-services/b12-patient-view", json=body, headers=headers, timeout=60)


# --- allow-list: prefetch-only by default ---------------------------------------------------

def test_without_an_allow_list_nothing_is_fetched(run, listener):
    """The default is prefetch-only: a request's fhirServer is never read, even on loopback
    with the test-only option on; missing data is 412."""
    url = run(allow_private_fhir=True)
    response = _post(url, _body(f"{listener.url}/fhir"))
    assert response.status_code == 412 and "prefetch-only" in response.json()["error"]
    assert listener.requests == []


def test_a_server_not_allow_listed_is_refused(run, listener):
    other = Listener(lambda path: fhir_json({"resourceType": "Bundle", "type": "searchset", "entry": []}))
    try:
        url = run(fhir_servers=[f"{other.url}/fhir"], allow_private_fhir=True)
        response = _post(url, _body(f"{listener.url}/fhir"))
        assert response.status_code == 403 and "fetches only from" in response.json()["error"]
        assert listener.requests == [] and other.requests == []
    finally:
        other.stop()


def test_loopback_is_refused_without_the_test_option(run, listener):
    """An allow-listed name that is (or resolves to) a loopback address is not read unless
    the test-only option says so, and plain http is refused outright."""
    with pytest.raises(ValueError, match="plain http"):
        run(fhir_servers=[f"{listener.url}/fhir"])
    https = f"https://127.0.0.1:{listener.port}/fhir"
    url = run(fhir_servers=[https])
    response = _post(url, _body(https))
    assert response.status_code == 412 and "loopback, private" in response.json()["error"]
    assert listener.requests == []


def test_userinfo_and_dot_segment_ids_are_refused(run, listener):
    url = run(fhir_servers=[f"{listener.url}/fhir"], allow_private_fhir=True)
    response = _post(url, _body(f"http://admin:pw@127.0.0.1:{listener.port}/fhir"))
    assert response.status_code == 400 and "userinfo" in response.json()["error"]
    for patient in (".", ".."):  # defect 21: {base}/Patient/. would read every patient, or the base
        assert _post(url, _body(f"{listener.url}/fhir", keys=(), patient=patient)).status_code == 400
    assert listener.requests == []


def test_errors_do_not_tell_a_closed_port_from_an_open_one(run, listener):
    closed = Listener()
    closed.stop()  # nothing listens on its port any more
    unauthorised = Listener(lambda path: fhir_json({"resourceType": "OperationOutcome"}, status=401))
    try:
        servers = [f"{closed.url}/fhir", f"{listener.url}/fhir", f"{unauthorised.url}/fhir"]
        url = run(fhir_servers=servers, allow_private_fhir=True)
        errors = {server: _post(url, _body(server)).json() for server in servers}
        assert {e["status"] for e in errors.values()} == {412}
        assert len({e["error"] for e in errors.values()}) == 1, errors
        assert listener.requests and all(h.get("Authorization") == f"Bearer {TOKEN}" for _, h in listener.requests)
    finally:
        unauthorised.stop()


# --- addresses checked after DNS, pages, schemes: in process, behind a mock transport ------------

NAMES = {"fhir.example": ["93.184.216.34"], "metadata.example": ["169.254.169.254"], "intranet.example": ["10.1.2.3"],
         "v6-link-local.example": ["fe80::1"], "mapped.example": ["::ffff:10.0.0.1"], "ula.example": ["fd00::1"],
         "mixed.example": ["93.184.216.34", "10.0.0.1"], "loopback.example": ["127.0.0.1"]}


class Upstream:
    """A mock FHIR server behind a fake resolver: records requests; `pages` maps a path to its answer."""

    def __init__(self, pages: dict[str, dict] | None = None, names: dict[str, list[str]] | None = None):
        self.requests: list[httpx.Request] = []
        self.resolved: list[str] = []
        self.pages = pages or {}
        self.names = dict(NAMES if names is None else names)

    async def resolve(self, host: str, port: int) -> list[str]:
        self.resolved.append(host)
        return self.names.get(host, [])

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        raw = request.url.raw_path.decode()
        page = self.pages.get(raw) or self.pages.get(raw.split("?")[0]) or {"resourceType": "Bundle", "type": "searchset", "entry": []}
        return httpx.Response(200, content=page) if isinstance(page, bytes) else httpx.Response(200, json=page)

    def client(self, *urls: str, allow_private: bool = False) -> FhirClient:
        return FhirClient.from_urls(list(urls), allow_private=allow_private, resolve=self.resolve,
                                    transport=httpx.MockTransport(self.handler))


def _assemble(client: FhirClient, base: str, knowledge, patient: str = "p1") -> dict:
    async def go():
        try:
            return await assemble({}, patient, knowledge, Source(FhirBase.parse(base), TOKEN), client)
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("name", ["metadata.example", "intranet.example", "v6-link-local.example", "mapped.example",
                                  "ula.example", "mixed.example", "loopback.example"])
def test_internal_addresses_are_refused_after_resolution(assessor, name):
    upstream = Upstream()
    with pytest.raises(PrefetchMissing, match="resolves to"):
        _assemble(upstream.client(f"https://{name}/r4"), f"https://{name}/r4", assessor.knowledge)
    assert upstream.resolved and upstream.requests == []


@pytest.mark.parametrize("address", ["169.254.169.254", "fe80::1", "::ffff:169.254.169.254", "0.0.0.0", "224.0.0.1"])
def test_link_local_and_reserved_addresses_are_refused_even_with_the_test_option(address):
    assert address_problem(address, allow_private=True)
    assert address_problem("10.1.2.3", allow_private=True) is None and address_problem("10.1.2.3") is not None
    assert address_problem("93.184.216.34") is None


def test_an_ip_literal_for_cloud_metadata_is_refused(assessor):
    upstream = Upstream()
    with pytest.raises(PrefetchMissing, match="link-local"):
        _assemble(upstream.client("https://169.254.169.254/latest", allow_private=True), "https://169.254.169.254/latest",
                  assessor.knowledge)
    assert upstream.requests == []


def test_the_connection_goes_to_the_checked_address_with_the_name_for_host_and_tls(assessor):
    upstream = Upstream()
    _assemble(upstream.client("https://fhir.example/r4"), "https://fhir.example/r4", assessor.knowledge)
    assert upstream.requests
    for request in upstream.requests:
        assert request.url.scheme == "https" and request.url.host == "93.184.216.34"
        assert request.headers["host"] == "fhir.example" and request.extensions["sni_hostname"] == "fhir.example"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.url.raw_path.startswith(b"/r4/")
    assert upstream.resolved.count("fhir.example") == len(upstream.requests)  # resolved again for every request


def _paged(next_url: str) -> dict[str, dict]:
    return {"/r4/Patient/p1": {"resourceType": "Patient", "id": "p1"},
            "/r4/Observation": {"resourceType": "Bundle", "type": "searchset", "entry": [],
                                "link": [{"relation": "next", "url": next_url}]}}


@pytest.mark.parametrize("next_url", [
    "http://fhir.example/r4/Observation?page=2",          # https -> http on the same host: the token would go in clear
    "https://fhir.example/other/Observation?page=2",      # outside the base path
    "https://fhir.example:8443/r4/Observation?page=2",    # another port
    "https://user:pw@fhir.example/r4/Observation?page=2",  # userinfo
    "https://fhir.example/r4/../admin?page=2",            # a dot-segment climbing out of the base
    "https://intranet.example/r4/Observation?page=2",     # another host
], ids=["scheme-downgrade", "other-path", "other-port", "userinfo", "dot-segment", "other-host"])
def test_next_pages_leaving_the_base_are_not_followed(assessor, next_url):
    upstream = Upstream(_paged(next_url))
    with pytest.raises(PrefetchMissing, match="not under the FHIR server"):
        _assemble(upstream.client("https://fhir.example/r4"), "https://fhir.example/r4", assessor.knowledge)
    assert all(r.url.scheme == "https" and r.url.raw_path.startswith(b"/r4/") for r in upstream.requests)
    assert not any(b"page=2" in r.url.raw_path for r in upstream.requests)


def test_next_page_is_resolved_and_checked_again(assessor):
    """A name that resolves to a public address for the first page and to a private one for
    the next (DNS rebinding between pages) is refused on the next page."""
    upstream = Upstream(_paged("https://fhir.example/r4/Observation?page=2"))
    first = 0

    async def rebinding(host: str, port: int) -> list[str]:
        nonlocal first
        first += 1
        upstream.resolved.append(host)
        return ["93.184.216.34"] if first <= 2 else ["10.0.0.7"]

    client = FhirClient.from_urls(["https://fhir.example/r4"], resolve=rebinding, transport=httpx.MockTransport(upstream.handler))
    with pytest.raises(PrefetchMissing, match="resolves to"):
        _assemble(client, "https://fhir.example/r4", assessor.knowledge)
    assert [r.url.raw_path.split(b"?")[0] for r in upstream.requests] == [b"/r4/Patient/p1", b"/r4/Observation"]


def test_a_next_page_under_the_base_is_followed(assessor):
    upstream = Upstream(_paged("https://fhir.example/r4/Observation?page=2"))
    upstream.pages["/r4/Observation?page=2"] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    _assemble(upstream.client("https://fhir.example/r4"), "https://fhir.example/r4", assessor.knowledge)
    assert any(r.url.raw_path == b"/r4/Observation?page=2" for r in upstream.requests)


def test_plain_http_servers_are_refused_unless_loopback_for_tests():
    with pytest.raises(ValueError, match="plain http"):
        FhirClient.from_urls(["http://fhir.example/r4"])
    with pytest.raises(ValueError, match="plain http"):
        FhirClient.from_urls(["http://fhir.example/r4"], allow_private=True)
    assert FhirClient.from_urls(["http://127.0.0.1:9/r4"], allow_private=True).servers
    with pytest.raises(ValueError, match="userinfo"):
        FhirClient.from_urls(["https://user:pw@fhir.example/r4"])


@pytest.mark.parametrize("page", [
    {"resourceType": "Bundle", "link": 5},
    {"resourceType": "Bundle", "link": [{"relation": "next", "url": 7}]},
    {"resourceType": "Bundle", "entry": [{"resource": {"id": "x"}}]},
    {"no": "resourceType"},
    b"[" * 100_000 + b"]" * 100_000,
], ids=["link-not-a-list", "url-not-a-string", "entry-without-resourceType", "no-resourceType", "deep-nesting"])
def test_malformed_fhir_answers_are_a_412_not_a_500(assessor, page):
    """Defect 11: whatever an allow-listed server answers, the call gets a refusal."""
    upstream = Upstream({"/r4/Patient/p1": {"resourceType": "Patient", "id": "p1"}})
    upstream.pages["/r4/Observation"] = page
    with pytest.raises(PrefetchMissing):
        _assemble(upstream.client("https://fhir.example/r4"), "https://fhir.example/r4", assessor.knowledge)


# --- CORS, private-network preflight, Host ----------------------------------------------------

def _preflight(url: str, origin: str, private: bool = False) -> httpx.Response:
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    if private:
        headers["Access-Control-Request-Private-Network"] = "true"
    return httpx.options(f"{url}/cds-services/b12-patient-view", headers=headers, timeout=30)


def test_no_cross_origin_caller_by_default(run):
    url = run()
    for origin in (EVIL, "null", SANDBOX):
        preflight = _preflight(url, origin, private=True)
        assert preflight.status_code == 403, origin
        assert not any(h.startswith("access-control-") for h in preflight.headers), origin
        response = httpx.get(f"{url}/cds-services", headers={"Origin": origin}, timeout=30)
        assert response.status_code == 403 and "access-control-allow-origin" not in response.headers
        feedback = httpx.get(f"{url}/cds-services/b12-patient-view/feedback", headers={"Origin": origin}, timeout=30)
        assert feedback.status_code == 403 and "feedback" not in feedback.text
    assert httpx.get(f"{url}/cds-services", timeout=30).status_code == 200  # no Origin: not a browser's cross-origin call


def test_allow_listed_origins_only_and_the_private_network_preflight(run):
    url = run(allowed_origins=[SANDBOX])
    granted = _preflight(url, SANDBOX, private=True)
    assert granted.status_code == 204
    assert granted.headers["access-control-allow-origin"] == SANDBOX
    assert granted.headers["access-control-allow-private-network"] == "true"
    assert "origin" in granted.headers["vary"].lower()
    refused = _preflight(url, EVIL, private=True)
    assert refused.status_code == 403 and "access-control-allow-private-network" not in refused.headers
    assert httpx.get(f"{url}/cds-services", headers={"Origin": SANDBOX}, timeout=30).headers["access-control-allow-origin"] == SANDBOX


def test_every_origin_only_with_authentication(run, tmp_path):
    with pytest.raises(ValueError, match="authentication"):
        run(allowed_origins=["*"])
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "k"}]}))
    url = run(allowed_origins=["*"], jwt_issuers=["https://ehr.example"], jwks_file=jwks)
    preflight = _preflight(url, EVIL, private=True)
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-private-network" not in preflight.headers  # never for an origin not listed by name


def test_only_the_service_host_names_are_served(run):
    """DNS rebinding: a page whose name now points at 127.0.0.1 is same-origin with the
    service, so the Host it sends is refused."""
    url = run()
    port = url.rsplit(":", 1)[1]
    for host in ("rebind.attacker.example", f"rebind.attacker.example:{port}", "127.0.0.1.nip.io"):
        response = httpx.get(f"{url}/cds-services", headers={"Host": host}, timeout=30)
        assert response.status_code == 421, host
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        assert httpx.get(f"{url}/cds-services", headers={"Host": host}, timeout=30).status_code == 200


def test_slow_request_heads_are_closed_at_the_deadline(api, tmp_path):
    """Slowloris (defect 5): 70 connections, over the 64 served, dribbling header lines;
    each is closed at the head deadline (1 s here) and a normal call is answered."""
    live = LiveService(create_app(Config(feedback_db=tmp_path / "fb.sqlite3"), api), head_seconds=1.0, limit_concurrency=64)
    try:
        closed, answered = slowloris(live.url, "/cds-services", 70, 1.0)
    finally:
        live.stop()
    assert answered == 200
    assert len(closed) == 70 and max(closed.values()) < 3.0, closed


# --- JWT: audience from configuration, lifetime, replay, scheme, key type (defects 4, 14, 11, 15) ------

@pytest.fixture
def jwt_service(api, tmp_path):
    """A service requiring JWTs (an EC and an RSA key) whose public URL is its loopback address."""
    jwt = pytest.importorskip("jwt")
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from servers import free_socket

    ec_key, rsa_key = ec.generate_private_key(ec.SECP384R1()), rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys = [json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key())) | {"kid": "ec"},
            json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key())) | {"kid": "rsa"}]
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": keys}))
    sock = free_socket()
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = Config(as_of=date(2026, 11, 24), feedback_db=tmp_path / "fb.sqlite3", jwt_issuers=["https://ehr.example"],
                    jwks_file=jwks, public_url=public)
    live = LiveService(create_app(config, api), sock=sock)

    def token(key=ec_key, algorithm="ES384", kid="ec", **claims):
        import time
        import uuid

        now = int(time.time())
        payload = {"iss": "https://ehr.example", "aud": f"{public}/cds-services/b12-patient-view", "exp": now + 120, "iat": now,
                   "jti": str(uuid.uuid4())} | claims
        return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})

    token.rsa, token.ec = rsa_key, ec_key
    yield live, token
    live.stop()


def test_the_jwt_audience_is_configuration_not_the_host_header(jwt_service):
    """A token correctly signed for another CDS service is refused, whatever Host is sent."""
    live, token = jwt_service
    other = token(aud="http://other-cds.example/cds-services/b12-patient-view")
    for host in ("other-cds.example", None):
        headers = {"Authorization": f"Bearer {other}"} | ({"Host": host} if host else {})
        response = _post(live.url, _body(keys=ALL), **headers)
        assert response.status_code in (401, 421), (host, response.status_code)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "other-cds.example"}
    spoofed = _post(live.url, _body(keys=ALL), Authorization=f"Bearer {other}", **forwarded)
    assert spoofed.status_code == 401
    assert _post(live.url, _body(keys=ALL), Authorization=f"Bearer {token()}").status_code == 200


def test_card_links_use_the_public_url(jwt_service):
    live, token = jwt_service
    response = _post(live.url, _body(keys=ALL),
                     Authorization=f"Bearer {token()}", **{"X-Forwarded-Host": "evil.example"})
    links = [link["url"] for card in response.json()["cards"] for link in card.get("links", [])]
    assert links and all(url.startswith(f"{live.url}/explanations/") for url in links)


def test_jwt_replay_lifetime_scheme_and_key_type(jwt_service):
    import time

    live, token = jwt_service
    once = token()
    assert _post(live.url, _body(keys=ALL), Authorization=f"Bearer {once}").status_code == 200
    replay = _post(live.url, _body(keys=ALL), Authorization=f"Bearer {once}")
    assert replay.status_code == 401 and "used before" in replay.json()["error"]
    decade = token(exp=int(time.time()) + 10 * 365 * 86400)
    assert _post(live.url, _body(keys=ALL), Authorization=f"Bearer {decade}").status_code == 401
    assert _post(live.url, _body(keys=ALL), Authorization=f"bearer {token()}").status_code == 200  # the scheme in any case
    assert _post(live.url, _body(keys=ALL), Authorization=f"BEARER {token()}").status_code == 200
    mixed = token(key=token.ec, algorithm="ES384", kid="rsa")  # ES384 under an RSA key id: a 500 before
    response = _post(live.url, _body(keys=ALL), Authorization=f"Bearer {mixed}")
    assert response.status_code == 401 and "algorithm" in response.json()["error"]
    assert _post(live.url, _body(keys=ALL), Authorization=f"Bearer {token(key=token.rsa, algorithm='RS384', kid='rsa')}").status_code == 200
