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
        # Keys published beside the first one (a rotation), by kid.
        self.added_keys: dict[str, str] = {}
        self.published: list[dict[str, Any]] = [self.public_jwk]
        self.server: ThreadingHTTPServer | None = None
        self.port = 0  # kept across `unreachable()`: verifiers know the issuer by its URL
        self.jwks_requests = 0  # how often verifiers fetched the JWKS

    @property
    def url(self) -> str:
        assert self.port, "start the issuer first"
        return f"http://127.0.0.1:{self.port}/realms/baton"

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

    def add_key(self, kid: str) -> None:
        """Publish a new signing key beside the others (from now on, or once the JWKS is back)."""
        private_key_pem = jose.generate_private_key("RS256")
        self.added_keys[kid] = private_key_pem
        self.published.append(jose.public_jwk(private_key_pem, kid=kid, algorithm="RS256"))

    def _serve(self) -> None:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not self.path.endswith("/protocol/openid-connect/certs"):
                    self.send_error(404)
                    return
                issuer.jwks_requests += 1
                jwks = json.dumps({"keys": issuer.published}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(jwks)))
                self.end_headers()
                self.wfile.write(jwks)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002 - quiet
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _shut(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @contextmanager
    def running(self) -> Iterator[TestIssuer]:
        self._serve()
        try:
            yield self
        finally:
            self._shut()

    @contextmanager
    def unreachable(self) -> Iterator[None]:
        """The JWKS server down (connections refused) for the block, then back on its port."""
        assert self.server is not None, "the issuer is not running"
        self._shut()
        try:
            yield
        finally:
            self._serve()

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
        """Signed with the key `kid` names if `add_key` made it; otherwise with the first
        key, under `kid` (a forged header) or the first key's own."""
        kid = kid or self.kid
        private_key_pem = self.added_keys.get(kid, self.private_key_pem)
        return jose.sign(claims, private_key_pem, kid=kid, algorithm="RS256")


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
