"""Reading the EHR's FHIR server with its access token, guarded against server-side
request forgery (CDS Hooks prefetch).

The token opens patients' records and the service may run on a clinician's machine, so
a request must not be able to point it anywhere else:

- only FHIR servers the operator allow-lists are read (`--fhir-server`, repeatable);
  with none the service is prefetch-only and fetches nothing;
- a URL is read only when its scheme, host, port and base path are an allow-listed
  server's, with no userinfo; next pages must stay under the same base;
- the host is resolved here and every address it resolves to is checked, on the first
  request and on every next page; the connection goes to a checked address (the name
  is kept for Host and TLS), so a name rebound to an internal address is refused. No
  loopback, private, unique-local, link-local, multicast or reserved address is read;
  `allow_private` (tests, or an intranet server the operator trusts) admits loopback,
  private and unique-local addresses, never link-local ones (cloud metadata);
- https only (plain http only to a loopback address, with `allow_private`), no
  redirects, no proxy from the environment, a byte budget per call, and one message for
  every failure, so a caller learns nothing about what answers on a port (the reason
  is logged).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from ..errors import HttpError, InputRejected
from ..load.strict_json import parse_json
from ..net import is_loopback

log = logging.getLogger("b12kg.cds-hooks")

FETCH_TIMEOUT_SECONDS = 10.0
"""Connect and read timeout of one request to a FHIR server."""

MAX_CALL_BYTES = 10 * 1024 * 1024
"""Bytes read from FHIR servers for one service call, every search and page together
(the loader reads at most 10 MiB per patient)."""

Resolver = Callable[[str, int], Awaitable[list[str]]]


class FetchRefused(HttpError):
    """A URL this service will not read (its message names the rule, never a probe result). (HTTP 403)."""

    def __init__(self, message: str):
        super().__init__(403, message)


class FetchFailed(HttpError):
    """A read that did not give FHIR JSON; its message is the same whatever went wrong. (HTTP 412: the data is missing)."""

    def __init__(self, message: str):
        super().__init__(412, message)


class FetchTimedOut(FetchFailed):
    """A read that timed out (the same message: only a caller that may say so tells it apart)."""


FAILED = "the FHIR server gave no FHIR answer"


@dataclass(frozen=True)
class FhirBase:
    """An allow-listed FHIR server base URL, by its parts."""

    scheme: str
    host: str
    port: int
    path: str
    """The base path without a trailing slash ('' for the root)."""

    @classmethod
    def parse(cls, url: str) -> FhirBase:
        """The base of `url`; ValueError when it is not an absolute http(s) URL without userinfo, query or fragment."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ValueError(f"{url[:200]!r} is not a URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url[:200]!r} is not an absolute http(s) URL")
        if parts.username is not None or parts.password is not None:
            raise ValueError(f"{parts.scheme}://{parts.hostname}/...: userinfo in a FHIR server URL is refused (the token is the credential)")
        if parts.query or parts.fragment:
            raise ValueError(f"{url[:200]!r}: a FHIR base URL has no query or fragment")
        segments = [s for s in parts.path.split("/") if s]
        if any(s in (".", "..") for s in segments):
            raise ValueError(f"{url[:200]!r}: dot-segments in a FHIR base URL are refused")
        return cls(parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80),
                   "/" + "/".join(segments) if segments else "")

    def __str__(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return f"{self.scheme}://{_netloc(self.host, None if self.port == default else self.port)}{self.path}"

    def join(self, relative: str) -> str:
        """`relative` (a FHIR path such as 'Patient/x' or 'Observation?patient=x') under this base,
        built by segments: an empty, '.' or '..' segment is refused."""
        path, sep, query = relative.partition("?")
        segments = path.split("/")
        if any(s in ("", ".", "..") for s in segments):
            raise FetchRefused(f"{relative[:100]!r} is not a FHIR path (empty or dot-segments)")
        return f"{self}/{'/'.join(segments)}{sep}{query}"

    def holds(self, url: str) -> bool:
        """Whether `url` is under this base: same scheme, host and port, the base path a prefix
        by segments, no userinfo and no dot-segments."""
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return False
        if parts.scheme != self.scheme or (parts.hostname or "").lower() != self.host or port != self.port:
            return False
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            return False
        segments = parts.path.split("/")
        if any(s in (".", "..") for s in segments) or "%2e" in parts.path.lower():
            return False
        return parts.path == self.path or parts.path.startswith(self.path + "/")


def _netloc(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


def address_problem(address: str, allow_private: bool = False) -> str | None:
    """Why the service must not connect to `address`, or None."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return address_problem(str(embedded), allow_private)
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "a link-local, multicast, unspecified or reserved address"
    if ip.is_global:
        return None
    if allow_private and (ip.is_loopback or ip.is_private):
        return None
    return "a loopback, private or otherwise non-public address"


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address of the name `host`."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


class Budget:
    """Bytes left for one service call."""

    def __init__(self, limit: int = MAX_CALL_BYTES):
        self.limit = self.left = limit

    def take(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise FetchRefused(f"the FHIR server's answers for this call are over {self.limit} bytes")


@dataclass
class FhirClient:
    """Reads FHIR JSON from allow-listed servers only (see the module)."""

    servers: tuple[FhirBase, ...] = ()
    allow_private: bool = False
    resolve: Resolver = system_resolve
    transport: httpx.AsyncBaseTransport | None = None
    timeout: float = FETCH_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        for base in self.servers:
            if base.scheme == "http" and not (self.allow_private and is_loopback(base.host)):
                raise ValueError(f"{base}: plain http would send the EHR's token in clear; use https "
                                 "(http is accepted only to a loopback address, for tests)")
        self._client = httpx.AsyncClient(transport=self.transport, timeout=self.timeout, follow_redirects=False, trust_env=False)

    @classmethod
    def from_urls(cls, urls: list[str], **options) -> FhirClient:
        return cls(servers=tuple(dict.fromkeys(FhirBase.parse(u) for u in urls)), **options)

    async def aclose(self) -> None:
        await self._client.aclose()

    def base_for(self, fhir_server: str | None) -> FhirBase | None:
        """The allow-listed base a request's fhirServer names (or the only one configured when it names
        none); None when nothing may be fetched. ValueError for a URL that is not a FHIR base,
        FetchRefused for a server not allow-listed."""
        named = None if fhir_server is None else FhirBase.parse(fhir_server)
        if not self.servers:
            return None
        if named is None:
            return self.servers[0] if len(self.servers) == 1 else None
        if named not in self.servers:
            raise FetchRefused(f"fhirServer: this service fetches only from {', '.join(map(str, self.servers))}")
        return named

    async def _target(self, base: FhirBase, url: str) -> tuple[httpx.URL, dict[str, str], dict]:
        """The URL to connect to (a checked address), the Host header and the TLS name."""
        if not base.holds(url):
            raise FetchRefused(f"{url[:200]} is not under the FHIR server {base}: not read")
        parts = urlsplit(url)
        try:
            addresses = [str(ipaddress.ip_address(base.host))]  # an IP literal is its own address
        except ValueError:
            try:
                addresses = await self.resolve(base.host, base.port)
            except OSError:
                addresses = []
        if not addresses:
            raise FetchFailed(f"{base.host}: no address")
        for address in addresses:
            problem = address_problem(address, self.allow_private)
            if problem:
                raise FetchRefused(f"the FHIR server {base} resolves to {problem}: not read")
        if base.scheme == "http" and not all(ipaddress.ip_address(a).is_loopback for a in addresses):
            raise FetchRefused(f"the FHIR server {base} is plain http and not on loopback: not read")
        default = 443 if base.scheme == "https" else 80
        target = httpx.URL(scheme=base.scheme, host=addresses[0], port=base.port,
                           raw_path=(parts.path + (f"?{parts.query}" if parts.query else "")).encode("ascii"))
        headers = {"Host": _netloc(base.host, None if base.port == default else base.port)}
        return target, headers, ({"sni_hostname": base.host} if base.scheme == "https" else {})

    async def fetch(self, base: FhirBase, url: str, budget: Budget, headers: dict[str, str], method: str = "GET",
                    content: bytes | None = None) -> tuple[int, bytes]:
        """The status and body of one request to `url` (under `base`), the body read within `budget`;
        FetchRefused (a rule, or the budget), FetchTimedOut, or FetchFailed (any other failure)."""
        target, sent, extensions = await self._target(base, url)
        sent.update(headers)
        chunks = []
        try:
            async with self._client.stream(method, target, headers=sent, content=content, extensions=extensions) as response:
                async for chunk in response.aiter_bytes():
                    budget.take(len(chunk))
                    chunks.append(chunk)
        except FetchRefused:
            raise
        except httpx.TimeoutException as exc:
            log.warning("%s %s timed out: %s", method, url, type(exc).__name__)
            raise FetchTimedOut(FAILED) from None
        except Exception as exc:  # connection refused, reset, TLS: one answer for all
            log.warning("%s %s failed: %s: %s", method, url, type(exc).__name__, exc)
            raise FetchFailed(FAILED) from None
        return response.status_code, b"".join(chunks)

    async def get_json(self, base: FhirBase, url: str, token: str | None, budget: Budget) -> Any:
        """The JSON at `url` (under `base`); FetchRefused or FetchFailed."""
        headers = {"Accept": "application/fhir+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        status, body = await self.fetch(base, url, budget, headers)
        if status != 200:
            log.warning("FHIR read of %s answered HTTP %s", url, status)
            raise FetchFailed(FAILED)
        try:
            return parse_json(body.decode("utf-8"), url)
        except (UnicodeDecodeError, InputRejected) as exc:
            log.warning("FHIR read of %s is not FHIR JSON: %s", url, exc)
            raise FetchFailed(FAILED) from None

    @staticmethod
    def next_page(current: str, body: Any) -> str | None:
        """The absolute URL of a searchset's `next` link, if it has one."""
        links = body.get("link", []) if isinstance(body, dict) else []
        if not isinstance(links, list) or not all(isinstance(link, dict) for link in links):
            raise FetchFailed(FAILED)  # Bundle.link is a list of objects
        for link in links:
            if link.get("relation") == "next":
                following = link.get("url")
                if not isinstance(following, str) or not following:
                    raise FetchFailed(FAILED)
                return urljoin(current, following)
        return None

