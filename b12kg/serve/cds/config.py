"""How the CDS Hooks service runs: its configuration and limits (docs/security.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from ...net import is_loopback
from ..runner import HEAD_SECONDS
from .feedback import default_path
from .smart import SCOPE

MAX_REQUEST_BYTES = 12 * 1024 * 1024
"""Largest request body (a patient's prefetch is read up to the loader's 10 MiB)."""

MAX_CONNECTIONS = 64
"""Connections served at once (more get 503)."""

MAX_CONCURRENT_CALLS = 4
CALL_WAIT_SECONDS = 10.0
"""Service calls handled at once (request, prefetch read, assessment); others wait this long, then 503."""

MAX_FEEDBACK_BYTES = 64 * 1024
FEEDBACK_PER_SECOND, FEEDBACK_BURST = 5.0, 20
"""Feedback requests: body size, and rate (more get 429)."""

REQUEST_TIMEOUT_SECONDS = 60.0
"""Longest a service call may take, fetching included (the assessment itself has its own 30 s budget)."""

ASSESSMENTS_CACHED = 256
"""Assessments kept by input hash: a chart opened again with an unchanged record is not re-assessed."""


@dataclass
class Config:
    """How the service runs. Defaults: loopback, prefetch-only (no FHIR server read), no
    cross-origin callers, no JWT, feedback in the user's state folder."""

    host: str = "127.0.0.1"
    port: int = 8080
    fhir_servers: list[str] = field(default_factory=list)
    """FHIR servers missing prefetch may be read from (base URLs); none: prefetch-only."""
    allow_private_fhir: bool = False
    """Tests (or an intranet FHIR server): read FHIR servers at loopback and private addresses, http on loopback."""
    allowed_origins: list[str] = field(default_factory=list)
    """Origins of browser-based CDS clients allowed to call cross-origin; '*' only with JWT."""
    allowed_hosts: list[str] = field(default_factory=list)
    """Host names served besides the loopback names and the bound address."""
    public_url: str | None = None
    """The service's URL as its clients call it (JWT audience, card links); default http://host:port."""
    max_calls: int = MAX_CONCURRENT_CALLS
    call_wait: float = CALL_WAIT_SECONDS
    as_of: date | None = None
    feedback_db: Path = field(default_factory=default_path)
    cohort_store: Path | None = None
    """A cohort store each feedback request is also copied into (cohort/feedback.py); None: SQLite only."""
    jwt_issuers: list[str] = field(default_factory=list)
    jwks_file: Path | None = None
    cache_size: int = ASSESSMENTS_CACHED
    max_request_bytes: int = MAX_REQUEST_BYTES
    request_timeout: float = REQUEST_TIMEOUT_SECONDS
    head_seconds: float = HEAD_SECONDS
    """Longest a client may take to send a request head (slowloris)."""
    smart_client_id: str | None = None
    """The client id an EHR registered b12kg under as a SMART app (a public client): cards then carry a
    smart link and /smart/launch and /smart/callback run (smart.py); None: no smart link, /smart/* 404."""
    smart_scope: str = SCOPE

    def base_url(self) -> str:
        """The service's base URL as clients call it, from configuration only (never a request header)."""
        if self.public_url is None:
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"http://{host}:{self.port}"
        parts = urlsplit(self.public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.query or parts.fragment:
            raise ValueError(f"--public-url {self.public_url!r}: expected http(s)://host[:port][/path]")
        return self.public_url.rstrip("/")

    def check_smart(self) -> None:
        """ValueError when the SMART app cannot run safely as configured."""
        if self.smart_client_id is None:
            return
        if not self.smart_client_id or len(self.smart_client_id) > 256 or not self.smart_client_id.isprintable():
            raise ValueError("--smart-client-id: the client id the EHR gave (printable, at most 256 characters)")
        if not self.fhir_servers:
            raise ValueError("--smart-client-id needs --fhir-server: launches are accepted only from allow-listed FHIR servers")
        if not self.smart_scope.split() or not self.smart_scope.isprintable():
            raise ValueError("--smart-scope: space-separated OAuth scopes, e.g. 'launch'")
        parts = urlsplit(self.base_url())
        if parts.scheme != "https" and not is_loopback(parts.hostname or ""):
            raise ValueError(f"--smart-client-id needs an https --public-url: the authorization code comes back to "
                             f"{self.base_url()}/smart/callback (plain http only on loopback)")
