"""A small SMART on FHIR EHR on loopback for the SMART app tests (tests/test_cds_smart.py):
a FHIR base `/fhir` serving `.well-known/smart-configuration`, and an authorization server
with `/auth/authorize` (redirects back with a code, after checking every parameter of the
SMART App Launch 2.x authorization request) and `/auth/token` (checks the code, the redirect
URI, the client id and the PKCE verifier against the S256 challenge, and returns the launch's
`appContext` and `patient`). Records every request; `configuration`, `deny` and `token_mode`
change what it answers."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

TOKEN_MODES = ("ok", "error-500", "slow", "huge", "not-json", "no-app-context", "no-access-token")


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


class SmartEhr:
    """The EHR: `launches` maps a launch id to the context it stands for ({"appContext", "patient"});
    `client_id` and `redirect_uri` are the app's registration."""

    def __init__(self, client_id: str, slow_seconds: float = 3.0):
        self.client_id = client_id
        self.redirect_uri: str | None = None
        self.slow_seconds = slow_seconds
        self.launches: dict[str, dict] = {}
        self.codes: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.authorizations: list[dict[str, str]] = []
        self.exchanges: list[dict[str, str]] = []
        self.configuration: dict | bytes | None = None  # None: the default below
        self.configuration_status = 200
        self.configuration_delay = 0.0
        self.deny: str | None = None  # an OAuth error the authorize endpoint answers with
        self.token_mode = "ok"
        ehr = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                ehr.requests.append(("GET", self.path))
                parts = urlsplit(self.path)
                if parts.path == "/fhir/.well-known/smart-configuration":
                    time.sleep(ehr.configuration_delay)
                    body = ehr.configuration if ehr.configuration is not None else ehr.default_configuration()
                    return self._send(ehr.configuration_status, body if isinstance(body, bytes) else json.dumps(body).encode(),
                                      "application/json")
                if parts.path == "/auth/authorize":
                    return self._authorize({k: v[0] for k, v in parse_qs(parts.query).items()}, parse_qs(parts.query))
                self._send(404, b"{}", "application/json")

            def do_POST(self):
                ehr.requests.append(("POST", self.path))
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path != "/auth/token" or \
                        self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
                    return self._send(404, b"{}", "application/json")
                ehr.exchanges.append(form)
                self._token(form)

            def _authorize(self, query: dict[str, str], multi: dict[str, list[str]]):
                ehr.authorizations.append(query)
                problems = [name for name, ok in (
                    ("one value each", all(len(v) == 1 for v in multi.values())),
                    ("tenant kept", query.get("tenant") == "t1"),
                    ("response_type", query.get("response_type") == "code"),
                    ("client_id", query.get("client_id") == ehr.client_id),
                    ("redirect_uri", query.get("redirect_uri") == ehr.redirect_uri),
                    ("launch", query.get("launch") in ehr.launches),
                    ("scope", "launch" in query.get("scope", "").split()),
                    ("state", len(query.get("state", "")) >= 22),
                    ("aud", query.get("aud") == ehr.fhir),
                    ("code_challenge", len(query.get("code_challenge", "")) == 43),
                    ("code_challenge_method", query.get("code_challenge_method") == "S256")) if not ok]
                if problems:
                    return self._send(400, f"bad authorization request: {problems}".encode(), "text/plain")
                if ehr.deny:
                    answer = {"error": ehr.deny, "state": query["state"]}
                else:
                    code = secrets.token_urlsafe(16)
                    ehr.codes[code] = {**query, "issued": time.monotonic()}
                    answer = {"code": code, "state": query["state"]}
                self.send_response(302)
                self.send_header("Location", f"{query['redirect_uri']}?{urlencode(answer)}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _token(self, form: dict[str, str]):
                granted = ehr.codes.pop(form.get("code", ""), None)  # a code is used once
                if granted is None or form.get("grant_type") != "authorization_code" or \
                        form.get("redirect_uri") != granted["redirect_uri"] or form.get("client_id") != ehr.client_id or \
                        s256(form.get("code_verifier", "")) != granted["code_challenge"]:
                    return self._send(400, json.dumps({"error": "invalid_grant", "error_description": "code or verifier"}).encode(),
                                      "application/json")
                mode = ehr.token_mode
                if mode == "error-500":
                    return self._send(500, b"<html>internal error</html>", "text/html")
                if mode == "slow":
                    time.sleep(ehr.slow_seconds)
                if mode == "not-json":
                    return self._send(200, b"<html>welcome</html>", "text/html")
                context = ehr.launches[granted["launch"]]
                answer = {"access_token": "ehr-access-token-" + secrets.token_hex(8), "token_type": "Bearer", "expires_in": 300,
                          "scope": granted["scope"], "patient": context.get("patient"), "appContext": context.get("appContext")}
                if mode == "no-app-context":
                    del answer["appContext"]
                if mode == "no-access-token":
                    del answer["access_token"]
                if mode == "huge":
                    answer["padding"] = "x" * (100 * 1024)
                self._send(200, json.dumps({k: v for k, v in answer.items() if v is not None}).encode(), "application/json",
                           {"Cache-Control": "no-store", "Pragma": "no-cache"})

            def _send(self, status: int, body: bytes, media: str, headers: dict[str, str] | None = None):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", media)
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.fhir = f"{self.url}/fhir"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def default_configuration(self) -> dict:
        return {"authorization_endpoint": f"{self.url}/auth/authorize?tenant=t1", "token_endpoint": f"{self.url}/auth/token",
                "grant_types_supported": ["authorization_code"], "code_challenge_methods_supported": ["S256"],
                "capabilities": ["launch-ehr", "client-public", "context-ehr-patient"], "response_types_supported": ["code"],
                "scopes_supported": ["launch", "openid", "fhirUser", "patient/*.rs"]}

    def reset(self) -> None:
        self.requests.clear()
        self.authorizations.clear()
        self.exchanges.clear()
        self.configuration, self.configuration_status, self.configuration_delay = None, 200, 0.0
        self.deny, self.token_mode = None, "ok"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
