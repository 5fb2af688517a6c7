"""Optional JWT bearer verification for the CDS Hooks service (CDS Hooks 2.0 "Trusting CDS
Clients"): off by default, for local use. When issuers are configured, every call of a
service, and feedback, must carry `Authorization: Bearer <JWT>` signed by a key of the
configured JWKS file (kid), with `iss` in the allow-list, `aud` the service's URL, and
`exp`, `iat` and `jti` present. Keys come from a file only: nothing is fetched."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import jwt

ALGORITHMS = ["RS384", "ES384", "RS256", "ES256"]
"""CDS Hooks requires RS384 and ES384 support; RS256/ES256 are accepted as well."""

LEEWAY_SECONDS = 30


class Unauthorized(Exception):
    """The request's bearer token is missing or not trusted (HTTP 401)."""


@dataclass
class JwtVerifier:
    """Verifies CDS clients' JWTs against an issuer allow-list and a JWKS file."""

    issuers: list[str]
    keys: dict[str, object] = field(default_factory=dict)

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
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorized("an Authorization: Bearer <JWT> header is required")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the bearer token is not a JWT: {exc}") from None
        key = self.keys.get(header.get("kid"))
        if key is None:
            raise Unauthorized("the JWT's kid names no key of the configured JWKS")
        try:
            return jwt.decode(token, key.key, algorithms=ALGORITHMS, audience=audience, issuer=self.issuers,
                              leeway=LEEWAY_SECONDS, options={"require": ["iss", "aud", "exp", "iat", "jti"]})
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the JWT is not trusted: {exc}") from None
