"""Optional JWT bearer verification for the CDS Hooks service (CDS Hooks 2.0 "Trusting CDS
Clients"): off by default, for local use. When issuers are configured, every call of a
service, and feedback, must carry `Authorization: Bearer <JWT>` (the scheme in any case)
signed by a key of the configured JWKS file (kid), with an algorithm of that key's type,
`iss` in the allow-list, `aud` the endpoint's URL under the configured public URL (never
taken from the request), `exp`, `iat` and `jti` present, a lifetime of at most five
minutes, and a `jti` not seen before within it. Keys come from a file only: nothing is
fetched."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import jwt

from ...errors import HttpError

ALGORITHMS = ["RS384", "ES384", "RS256", "ES256"]
"""CDS Hooks requires RS384 and ES384 support; RS256/ES256 are accepted as well."""

KEY_TYPE = {"RS": "RSA", "ES": "EC"}
"""The JWK key type each algorithm family signs with."""

LEEWAY_SECONDS = 30
MAX_LIFETIME_SECONDS = 300
"""Longest a token may live (exp - iat, and exp from now): CDS Hooks asks for short-lived tokens."""

MAX_REMEMBERED = 100_000
"""jti values remembered at once (each until its token expires)."""


class Unauthorized(HttpError):
    """The request's bearer token is missing or not trusted (HTTP 401)."""

    def __init__(self, message: str):
        super().__init__(401, message)


class _SeenTokens:
    """jti values of accepted tokens, each kept until its token expires (at most `capacity`)."""

    def __init__(self, capacity: int = MAX_REMEMBERED):
        self.capacity = capacity
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_use(self, jti: str, expires: float) -> bool:
        now = time.time()
        with self._lock:
            while self._expiry and next(iter(self._expiry.values())) < now - LEEWAY_SECONDS:
                self._expiry.popitem(last=False)
            if jti in self._expiry:
                return False
            if len(self._expiry) >= self.capacity:
                raise Unauthorized("too many tokens in use at once: try again shortly")
            self._expiry[jti] = expires  # insertion order is nearly expiry order: lifetimes are at most minutes
            return True


@dataclass
class JwtVerifier:
    """Verifies CDS clients' JWTs against an issuer allow-list and a JWKS file."""

    issuers: list[str]
    keys: dict[str, object] = field(default_factory=dict)
    seen: _SeenTokens = field(default_factory=_SeenTokens)

    @classmethod
    def from_files(cls, issuers: list[str], jwks_file: Path) -> JwtVerifier:
        try:
            document = json.loads(Path(jwks_file).read_text(encoding="utf-8"))
            keyset = jwt.PyJWKSet.from_dict(document)
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            raise ValueError(f"cannot read the JWKS file {jwks_file}: {exc}") from None
        keys = {key.key_id: key for key in keyset.keys if key.key_id}
        if not keys:
            raise ValueError(f"the JWKS file {jwks_file} has no key with a kid")
        return cls(issuers=list(issuers), keys=keys)

    def verify(self, authorization: str | None, audience: str) -> dict:
        """The token's claims, or Unauthorized with the reason."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("an Authorization: Bearer <JWT> header is required")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the bearer token is not a JWT: {exc}") from None
        key = self.keys.get(header.get("kid"))
        if key is None:
            raise Unauthorized("the JWT's kid names no key of the configured JWKS")
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS or KEY_TYPE[algorithm[:2]] != key.key_type:
            raise Unauthorized(f"the JWT's algorithm {str(algorithm)[:10]!r} is not one of {', '.join(ALGORITHMS)} "
                               f"for the {key.key_type} key {header.get('kid')!r}")
        try:
            claims = jwt.decode(token, key.key, algorithms=[algorithm], audience=audience, issuer=self.issuers,
                                leeway=LEEWAY_SECONDS, options={"require": ["iss", "aud", "exp", "iat", "jti"]})
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            raise Unauthorized(f"the JWT is not trusted: {exc}") from None
        now = time.time()
        if claims["exp"] - claims["iat"] > MAX_LIFETIME_SECONDS or claims["exp"] > now + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
            raise Unauthorized(f"the JWT lives longer than {MAX_LIFETIME_SECONDS} s: CDS clients' tokens are short-lived")
        if not isinstance(claims["jti"], str) or not self.seen.first_use(claims["jti"], float(claims["exp"])):
            raise Unauthorized("the JWT was used before (its jti is not new): a token authorises one request")
        return claims
