"""What both HTTP services (`b12kg serve`, `b12kg cds-hooks`) share: the refusals made
before a route runs.

- **Framing**: a request with both Content-Length and Transfer-Encoding is refused (h11,
  under uvicorn, refuses the other malformed framings).
- **Host**: only the configured host names are served (loopback names by default), so a
  web page cannot reach a service on 127.0.0.1 through a name it rebinds (DNS rebinding).
- **Origin**: a browser's cross-origin request is answered only for allow-listed origins
  (CORS, echoed, never `*` unless the service authenticates its callers); any other
  origin, `null` included, is refused with 403 before the route runs, preflight or not.
  Chrome's private-network preflight (`Access-Control-Request-Private-Network`) is
  granted only to an origin listed by name.
- **Bodies**: read up to a byte limit (413) within a time limit (408).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import HttpError
from ..net import LOOPBACK_NAMES

BODY_SECONDS = 10.0
"""Longest a client may take to send a request body."""


def host_names(bind: str, extra: list[str] | tuple[str, ...] = ()) -> frozenset[str]:
    """The Host names served: the loopback names, the bound address when it is a single one,
    and the names configured."""
    names = {*LOOPBACK_NAMES, *(n.lower().strip("[]") for n in extra)}
    if bind not in ("0.0.0.0", "::", ""):
        names.add(bind.lower().strip("[]"))
    return frozenset(names)


def _hostname(header: str) -> str:
    """The name of a Host header value, without its port ('[::1]:80' -> '::1')."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


@dataclass(frozen=True)
class Site:
    """Who may call: Host names served, and the origins allowed cross-origin."""

    hosts: frozenset[str] = field(default_factory=lambda: frozenset(LOOPBACK_NAMES))
    origins: tuple[str, ...] = ()
    """Origins allowed cross-origin ('https://sandbox.cds-hooks.org'); '*' only with authentication."""
    authenticated: bool = False
    methods: tuple[str, ...] = ("GET", "HEAD", "POST", "OPTIONS")
    request_headers: tuple[str, ...] = ("authorization", "content-type")
    expose_headers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if "*" in self.origins and not self.authenticated:
            raise ValueError("allowing every origin ('*') needs authentication (--jwt-issuer): any web page could use the service")
        for origin in self.origins:
            if origin != "*" and (origin.rstrip("/") != origin or "://" not in origin or origin.lower() == "null"):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path)")

    def allows(self, origin: str) -> bool:
        return origin.lower() in {o.lower() for o in self.origins} or ("*" in self.origins and origin != "null")


class Guard:
    """ASGI middleware: the Host and Origin refusals of `Site` (see the module)."""

    def __init__(self, app: ASGIApp, site: Site, error: Callable[[HttpError], Response]):
        self.app, self.site, self.error = app, site, error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if "content-length" in headers and "transfer-encoding" in headers:  # two framings: a smuggling vector
            await self.error(HttpError(400, "Content-Length and Transfer-Encoding together: send one", {"Connection": "close"}))(
                scope, receive, send)
            return
        host = headers.get("host", "")
        if _hostname(host) not in self.site.hosts:
            refusal = HttpError(421, f"this server answers to {', '.join(sorted(self.site.hosts))} only, not to the Host {host[:100]!r}")
            await self.error(refusal)(scope, receive, send)
            return
        origin = headers.get("origin")
        if origin is None or origin.partition("://")[2].lower() == host.lower():  # same origin (a TLS proxy may change the scheme)
            await self.app(scope, receive, send)
            return
        if not self.site.allows(origin):
            await self.error(HttpError(403, f"cross-origin requests from {origin[:100]!r} are not allowed"))(scope, receive, send)
            return
        allowed = origin if origin.lower() in {o.lower() for o in self.site.origins} else "*"
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(headers, origin, allowed)(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = allowed
                out.add_vary_header("Origin")
                if self.site.expose_headers:
                    out["Access-Control-Expose-Headers"] = ", ".join(self.site.expose_headers)
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _preflight(self, headers: Headers, origin: str, allowed: str) -> Response:
        method = headers["access-control-request-method"].upper()
        asked = [h.strip().lower() for h in headers.get("access-control-request-headers", "").split(",") if h.strip()]
        refused = [h for h in asked if h not in self.site.request_headers]
        if method not in self.site.methods or refused:
            return self.error(HttpError(403, f"preflight refused: method {method[:20]!r} or headers {', '.join(refused)[:100]!r} "
                                             "are not allowed"))
        out = {"Access-Control-Allow-Origin": allowed, "Access-Control-Allow-Methods": ", ".join(self.site.methods),
               "Access-Control-Allow-Headers": ", ".join(self.site.request_headers), "Access-Control-Max-Age": "600",
               "Vary": "Origin"}
        if headers.get("access-control-request-private-network", "").lower() == "true" and allowed != "*":
            out["Access-Control-Allow-Private-Network"] = "true"
        return Response(status_code=204, headers=out)


DRAIN_BYTES = 32 * 1024 * 1024
"""An over-limit body up to this size is read and discarded before the 413 is sent: a client still
sending when the server closes gets a connection reset instead of the answer (a bigger body is
refused at once, its connection closed)."""


async def read_body(request: Request, limit: int, seconds: float = BODY_SECONDS) -> bytes:
    """The request body, at most `limit` bytes (413) and sent within `seconds` (408)."""
    too_large = HttpError(413, f"the request body is over the limit of {limit} bytes", {"Connection": "close"})
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max(limit, DRAIN_BYTES):
        raise too_large
    body = bytearray()
    seen = 0

    async def collect() -> None:
        nonlocal seen
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > DRAIN_BYTES:
                break
            if seen <= limit:
                body.extend(chunk)

    try:
        await asyncio.wait_for(collect(), seconds)
    except TimeoutError:
        raise HttpError(408, f"the request body was not sent within {seconds:g} s", {"Connection": "close"}) from None
    if seen > limit:
        raise too_large
    return bytes(body)


class Rate:
    """A token bucket: at most `burst` at once, refilled at `per_second`."""

    def __init__(self, per_second: float, burst: int):
        self.per_second, self.burst = per_second, burst
        self._tokens, self._at = float(burst), time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True
