"""Who is calling: bearer tokens verified against trusted issuers' JWKS.

This is the second wall: every service verifies the token itself, whatever the
gateway did. Verified tokens are cached (bounded, never past `exp`, dropped when
their key leaves the issuer's JWKS), because verification is the costliest part
of a request.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from pydantic import BaseModel, Field

from baton import jose
from baton.errors import BatonError

logger = logging.getLogger("baton.auth")


class OrgKind(StrEnum):
    ngo = "ngo"
    government = "government"
    donor = "donor"
    platform = "platform"


class ClaimMapping(BaseModel):
    """Where an issuer puts Baton's claims (dotted paths for nested claims)."""

    sub: str = "sub"
    org_id: str = "org_id"
    org_kind: str = "org_kind"
    roles: str = "roles"
    scope: str = "scope"


def _default_algorithms() -> list[jose.SigningAlgorithm]:
    return ["ES256"]


class TrustedIssuer(BaseModel):
    """An issuer whose tokens Baton accepts: identity-api itself, or an OIDC provider."""

    issuer: str
    jwks_url: str
    # Pinned per issuer; only asymmetric algorithms are ever honoured.
    algorithms: list[jose.SigningAlgorithm] = Field(default_factory=_default_algorithms)
    # The `aud` this issuer's tokens carry for Baton; None: each service's own audience.
    audience: str | None = None
    claims: ClaimMapping = Field(default_factory=ClaimMapping)
    max_lifetime_seconds: int = Field(default=3600, gt=0)


@dataclass(frozen=True)
class Principal:
    """The verified caller. Carries no personal data: ids, kinds, roles and scopes only."""

    subject: str
    org_id: uuid.UUID
    org_kind: OrgKind
    roles: frozenset[str]
    scopes: frozenset[str]
    issuer: str
    expires_at: int
    # Set when a service client acts inside another organisation (intake opens a case in
    # the receiving NGO): `org_id` is that one, this the token's own, for the audit log.
    token_org_id: uuid.UUID | None = None

    @property
    def own_org_id(self) -> uuid.UUID:
        """The organisation the token belongs to, whichever one the caller acts in."""
        return self.token_org_id or self.org_id


class Unauthenticated(BatonError):
    code = "unauthenticated"
    status = 401
    title = "Authentication required"

    def __init__(self, reason: str | None = None) -> None:
        challenge = 'Bearer realm="baton"'
        if reason is not None:
            challenge += f', error="invalid_token", error_description="{reason}"'
        super().__init__(
            reason or "A bearer token is required.", headers={"WWW-Authenticate": challenge}
        )


class _Jwks:
    """One issuer's keys by `kid`, refreshed when stale or when a `kid` is unknown."""

    def __init__(self, url: str, client: httpx.AsyncClient, max_age: float, min_refresh: float):
        self.url = url
        self.client = client
        self.max_age = max_age
        self.min_refresh = min_refresh
        self.keys: dict[str, dict[str, Any]] = {}
        self.fetched_at = float("-inf")  # last successful fetch
        self.attempted_at = float("-inf")  # last fetch, successful or not
        self.lock = asyncio.Lock()

    async def _refresh(self, *, forced: bool) -> None:
        async with self.lock:
            now = time.monotonic()
            since_attempt = now - self.attempted_at
            # A flood of tokens with made-up kids, or an issuer that is down, must not
            # make us hammer the issuer: forced refreshes (and retries after a failed
            # fetch) wait `min_refresh`; scheduled ones come every `max_age`.
            if forced and since_attempt < self.min_refresh:
                return
            if not forced:
                if now - self.fetched_at < self.max_age:
                    return
                failing = self.attempted_at > self.fetched_at
                if failing and since_attempt < min(self.min_refresh, self.max_age):
                    return
            self.attempted_at = now
            try:
                response = await self.client.get(self.url)
                response.raise_for_status()
                keys = response.json()["keys"]
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                logger.warning(
                    "jwks fetch failed", extra={"jwks_url": self.url, "error": type(exc).__name__}
                )
                return
            self.keys = {key["kid"]: key for key in keys if isinstance(key, dict) and "kid" in key}
            self.fetched_at = time.monotonic()

    async def key(self, kid: str) -> dict[str, Any] | None:
        await self._refresh(forced=False)
        if kid not in self.keys:
            await self._refresh(forced=True)
        return self.keys.get(kid)


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _string_set(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    return frozenset()


class TokenVerifier:
    """Verifies bearer tokens for one service (`audience`) against its trusted issuers."""

    def __init__(
        self,
        issuers: Sequence[TrustedIssuer],
        *,
        audience: str,
        leeway_seconds: int = 30,
        jwks_max_age_seconds: float = 300,
        jwks_min_refresh_seconds: float = 30,
        cache_size: int = 10_000,
    ) -> None:
        self.audience = audience
        self.leeway = leeway_seconds
        self.issuers = {issuer.issuer: issuer for issuer in issuers}
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(3.0), follow_redirects=False)
        self.jwks = {
            issuer.issuer: _Jwks(
                issuer.jwks_url, self.client, jwks_max_age_seconds, jwks_min_refresh_seconds
            )
            for issuer in issuers
        }
        self.cache_size = cache_size
        self.cache: OrderedDict[str, tuple[Principal, str]] = OrderedDict()

    async def aclose(self) -> None:
        await self.client.aclose()

    async def verify(self, token: str) -> Principal:
        cached = self.cache.get(token)
        if cached is not None:
            principal, kid = cached
            still_published = await self.jwks[principal.issuer].key(kid) is not None
            if principal.expires_at > time.time() - self.leeway and still_published:
                self.cache.move_to_end(token)
                return principal
            # Concurrent requests with the same token may both get here.
            self.cache.pop(token, None)
        principal, kid = await self._verify_uncached(token)
        self.cache[token] = (principal, kid)
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return principal

    async def _verify_uncached(self, token: str) -> tuple[Principal, str]:
        try:
            header = jose.unverified_header(token)
            issuer_name = jose.unverified_claims(token).get("iss")
        except jose.TokenInvalid as exc:
            raise Unauthenticated(str(exc)) from exc
        issuer = self.issuers.get(issuer_name) if isinstance(issuer_name, str) else None
        if issuer is None:
            raise Unauthenticated("untrusted issuer")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Unauthenticated("token has no key id")
        key = await self.jwks[issuer.issuer].key(kid)
        if key is None:
            raise Unauthenticated("unknown signing key")
        try:
            claims = jose.verify(
                token,
                key,
                algorithms=issuer.algorithms,
                issuer=issuer.issuer,
                audience=issuer.audience or self.audience,
                leeway_seconds=self.leeway,
            )
        except jose.TokenInvalid as exc:
            raise Unauthenticated(str(exc)) from exc
        return self._principal(issuer, claims), kid

    def _principal(self, issuer: TrustedIssuer, claims: Mapping[str, Any]) -> Principal:
        if int(claims["exp"]) - int(claims["iat"]) > issuer.max_lifetime_seconds:
            raise Unauthenticated("token lifetime too long")
        mapping = issuer.claims
        subject = _claim(claims, mapping.sub)
        try:
            org_id = uuid.UUID(str(_claim(claims, mapping.org_id)))
            org_kind = OrgKind(_claim(claims, mapping.org_kind))
        except ValueError as exc:
            raise Unauthenticated("token lacks a valid organisation") from exc
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("token lacks a subject")
        return Principal(
            subject=subject,
            org_id=org_id,
            org_kind=org_kind,
            roles=_string_set(_claim(claims, mapping.roles)),
            scopes=_string_set(_claim(claims, mapping.scope)),
            issuer=issuer.issuer,
            expires_at=int(claims["exp"]),
        )


def bearer_token(request: Request) -> str:
    """The token of `Authorization: Bearer …`; never from a query parameter or cookie."""
    header = request.headers.get("authorization")
    if header is None:
        raise Unauthenticated()
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("authorization header is not a bearer token")
    return token.strip()


class OrganisationKindRefused(BatonError):
    code = "organisation-kind-refused"
    status = 403
    title = "Not available to this kind of organisation"


async def authenticate(request: Request) -> Principal:
    """The verified caller of this request (401 problem otherwise).

    A caller whose kind of organisation the service does not serve (a donor at a
    service holding victim data) is refused here, whatever its roles say.
    """
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(bearer_token(request))
    served: frozenset[OrgKind] = request.app.state.served_org_kinds
    if principal.org_kind not in served:
        raise OrganisationKindRefused(
            f"{request.app.state.service_name} does not serve {principal.org_kind} organisations."
        )
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]
