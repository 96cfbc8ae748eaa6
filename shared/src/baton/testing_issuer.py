"""A stand-in OIDC provider for tests: its own RSA key, a JWKS served on loopback.

It plays the external issuer (Keycloak-like claim names, its own audience) and
mints whatever a test needs, including the malformed and hostile tokens that
the verifiers must refuse.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from baton import jose
from baton.auth import ClaimMapping, TrustedIssuer

# Where this provider puts Baton's claims, as a Keycloak realm mapper would.
KEYCLOAK_LIKE_MAPPING = ClaimMapping(
    sub="sub",
    org_id="baton_org",
    org_kind="baton.org_kind",
    roles="realm_access.roles",
    scope="scope",
)
EXTERNAL_AUDIENCE = "baton-frontend"


class TestIssuer:
    """Signs RS256 tokens with `kid` and serves the JWKS while running."""

    __test__ = False  # not a pytest test class

    def __init__(self, kid: str = "test-key-1") -> None:
        self.kid = kid
        self.private_key_pem = jose.generate_private_key("RS256")
        self.public_jwk = jose.public_jwk(self.private_key_pem, kid=kid, algorithm="RS256")
        self.server: ThreadingHTTPServer | None = None
        self.jwks_requests = 0  # how often verifiers fetched the JWKS

    @property
    def url(self) -> str:
        assert self.server is not None, "start the issuer first"
        return f"http://127.0.0.1:{self.server.server_address[1]}/realms/baton"

    @property
    def trusted(self) -> TrustedIssuer:
        return TrustedIssuer(
            issuer=self.url,
            jwks_url=f"{self.url}/protocol/openid-connect/certs",
            algorithms=["RS256"],
            audience=EXTERNAL_AUDIENCE,
            claims=KEYCLOAK_LIKE_MAPPING,
            max_lifetime_seconds=900,
        )

    @contextmanager
    def running(self) -> Iterator[TestIssuer]:
        jwks = json.dumps({"keys": [self.public_jwk]}).encode()
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not self.path.endswith("/protocol/openid-connect/certs"):
                    self.send_error(404)
                    return
                issuer.jwks_requests += 1
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(jwks)))
                self.end_headers()
                self.wfile.write(jwks)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002 - quiet
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()

    def claims(
        self, *, org_id: uuid.UUID, org_kind: str, roles: list[str], lifetime: int = 300
    ) -> dict[str, Any]:
        """Claims as this provider names them, for a user of `org_id`."""
        now = int(time.time())
        return {
            "iss": self.url,
            "sub": f"user-{uuid.uuid4().hex[:8]}",
            "aud": EXTERNAL_AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "baton_org": str(org_id),
            "baton": {"org_kind": org_kind},
            "realm_access": {"roles": roles},
            "scope": "openid profile",
        }

    def sign(self, claims: Mapping[str, Any], *, kid: str | None = None) -> str:
        return jose.sign(claims, self.private_key_pem, kid=kid or self.kid, algorithm="RS256")


@dataclass(frozen=True)
class Caller:
    org_id: uuid.UUID
    org_kind: str
    roles: tuple[str, ...]
    headers: dict[str, str] = field(repr=False)
    subject: str = ""

    def with_headers(self, **extra: str) -> dict[str, str]:
        return {**self.headers, **{k.replace("_", "-"): v for k, v in extra.items()}}


CallerFactory = Callable[..., Caller]


def caller_factory(issuer: TestIssuer) -> CallerFactory:
    """`make(org_kind, roles, org_id=..., scope=...)`: a signed-in caller of an organisation."""

    def make(
        org_kind: str = "ngo",
        roles: list[str] | None = None,
        org_id: uuid.UUID | None = None,
        scope: str | None = None,
    ) -> Caller:
        organisation = org_id or uuid.uuid4()
        claims = issuer.claims(org_id=organisation, org_kind=org_kind, roles=roles or [])
        if scope is not None:
            claims["scope"] = scope
        token = issuer.sign(claims)
        return Caller(
            org_id=organisation,
            org_kind=org_kind,
            roles=tuple(roles or []),
            headers={"Authorization": f"Bearer {token}"},
            subject=str(claims["sub"]),
        )

    return make
