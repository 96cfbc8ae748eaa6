"""`TokenVerifier` against JWKS served over real HTTP: claims, lifetimes, key caches, refusals.

No stack: a `TestIssuer` (or a JWKS server of this module whose keys can change)
on loopback, and the verifier a service would build, called directly.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError
from starlette.requests import Request

from baton import jose
from baton.auth import (
    ClaimMapping,
    OrgKind,
    Principal,
    TokenVerifier,
    TrustedIssuer,
    Unauthenticated,
    bearer_token,
)
from baton.testing_issuer import EXTERNAL_AUDIENCE, TestIssuer

ORG = uuid.UUID("5b0f3c52-6d0e-4a8e-9a57-3f1f2f0d9b11")
AUDIENCE = "cases-api"
MakeVerifier = Callable[..., TokenVerifier]


@pytest.fixture(scope="module")
def issuer() -> Iterator[TestIssuer]:
    """One provider for the module (RSA keys are slow to make); count JWKS requests as deltas."""
    with TestIssuer().running() as running:
        yield running


@pytest.fixture
async def make_verifier() -> AsyncIterator[MakeVerifier]:
    """`make_verifier([issuer], **options)`: a service's verifier, closed after the test."""
    made: list[TokenVerifier] = []

    def make(issuers: Sequence[TrustedIssuer], **options: Any) -> TokenVerifier:
        verifier = TokenVerifier(issuers, audience=AUDIENCE, **options)
        made.append(verifier)
        return verifier

    yield make
    for verifier in made:
        await verifier.aclose()


async def _refused(verifier: TokenVerifier, token: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(token)
    error = refused.value
    assert error.status == 401
    challenge = error.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="baton", error="invalid_token"')
    return error


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: Any) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _hs256(claims: dict[str, Any], secret: bytes, *, kid: str) -> str:
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_segment(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _unsigned(claims: dict[str, Any], *, kid: str) -> str:
    return f"{_segment({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_segment(claims)}."


def _with_header(token: str, **changes: Any) -> str:
    """`token` with its header changed (and its signature no longer matching)."""
    header, rest = token.split(".", 1)
    decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    return f"{_segment(decoded | changes)}.{rest}"


def _public_pem(private_key_pem: str) -> bytes:
    private = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _ngo_claims(issuer: TestIssuer, **changes: Any) -> dict[str, Any]:
    return issuer.claims(org_id=ORG, org_kind="ngo", roles=["caseworker"]) | changes


# --- A JWKS server whose keys a test may change -------------------------------------------


class SigningKeyPair:
    """An ES256 key (fast to make) as an issuer would hold it."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private_key_pem = jose.generate_private_key("ES256")
        self.public_jwk = jose.public_jwk(self.private_key_pem, kid=kid, algorithm="ES256")

    def sign(self, claims: dict[str, Any]) -> str:
        return jose.sign(claims, self.private_key_pem, kid=self.kid, algorithm="ES256")


class JwksServer:
    """Serves `{"keys": self.keys}` (read at each request) and counts the requests."""

    issuer = "https://issuer.test/realms/rotating"

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.status = 200
        self.requests = 0
        self.server: ThreadingHTTPServer | None = None

    @property
    def trusted(self) -> TrustedIssuer:
        assert self.server is not None
        port = self.server.server_address[1]
        return TrustedIssuer(issuer=self.issuer, jwks_url=f"http://127.0.0.1:{port}/jwks")

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "sub": "client-1",
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "org_id": str(ORG),
            "org_kind": "ngo",
            "roles": ["caseworker"],
            "scope": "",
        } | changes

    @contextmanager
    def running(self) -> Iterator[JwksServer]:
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                jwks.requests += 1
                body = json.dumps({"keys": list(jwks.keys)}).encode()
                self.send_response(jwks.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002 - quiet
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        serve = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        serve.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    with JwksServer().running() as server:
        yield server


# --- Claims ------------------------------------------------------------------------------


async def test_keycloak_like_nested_claims_become_the_principal(
    issuer: TestIssuer, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier([issuer.trusted])
    claims = issuer.claims(org_id=ORG, org_kind="government", roles=["caseworker", "auditor"])
    principal = await verifier.verify(issuer.sign(claims))
    assert principal == Principal(
        subject=claims["sub"],
        org_id=ORG,
        org_kind=OrgKind.government,
        roles=frozenset({"caseworker", "auditor"}),
        scopes=frozenset({"openid", "profile"}),
        issuer=issuer.url,
        expires_at=claims["exp"],
    )


async def test_a_custom_mapping_reads_deeply_nested_claims_and_space_separated_roles(
    issuer: TestIssuer, make_verifier: MakeVerifier
) -> None:
    mapping = ClaimMapping(
        sub="sub",
        org_id="tenant.organisation.id",
        org_kind="tenant.organisation.kind",
        roles="authz.roles",
        scope="scp",
    )
    trusted = issuer.trusted.model_copy(update={"claims": mapping})
    claims = _ngo_claims(
        issuer,
        tenant={"organisation": {"id": str(ORG), "kind": "platform"}},
        authz={"roles": "platform_admin auditor"},
        scp=["profile:read"],
    )
    principal = await make_verifier([trusted]).verify(issuer.sign(claims))
    assert principal.org_id == ORG
    assert principal.org_kind is OrgKind.platform
    assert principal.roles == {"platform_admin", "auditor"}
    assert principal.scopes == {"profile:read"}


async def test_roles_that_are_not_all_strings_give_no_role_at_all(
    issuer: TestIssuer, make_verifier: MakeVerifier
) -> None:
    claims = _ngo_claims(issuer, realm_access={"roles": ["caseworker", {"admin": True}]})
    principal = await make_verifier([issuer.trusted]).verify(issuer.sign(claims))
    assert principal.roles == frozenset()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda claims: claims.pop("baton_org"), id="no-org-id"),
        pytest.param(lambda claims: claims.update(baton_org="not-a-uuid"), id="org-id-not-uuid"),
        pytest.param(lambda claims: claims.pop("baton"), id="no-org-kind"),
        pytest.param(lambda claims: claims.update(baton={"org_kind": "charity"}), id="bad-kind"),
        pytest.param(lambda claims: claims.update(baton="ngo"), id="org-kind-not-nested"),
    ],
)
async def test_a_token_without_a_valid_organisation_is_refused(
    issuer: TestIssuer, make_verifier: MakeVerifier, change: Callable[[dict[str, Any]], Any]
) -> None:
    verifier = make_verifier([issuer.trusted])
    claims = _ngo_claims(issuer)
    await verifier.verify(issuer.sign(claims))  # the control: the same claims, unchanged
    change(claims)
    error = await _refused(verifier, issuer.sign(claims))
    assert error.detail == "token lacks a valid organisation"


async def test_a_token_living_longer_than_the_issuer_allows_is_refused(
    issuer: TestIssuer, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier([issuer.trusted])
    limit = issuer.trusted.max_lifetime_seconds
    longest = issuer.claims(org_id=ORG, org_kind="ngo", roles=[], lifetime=limit)
    assert (await verifier.verify(issuer.sign(longest))).org_id == ORG
    too_long = issuer.claims(org_id=ORG, org_kind="ngo", roles=[], lifetime=limit + 1)
    error = await _refused(verifier, issuer.sign(too_long))
    assert error.detail == "token lifetime too long"


@pytest.mark.parametrize("missing", ["aud", "exp", "iat", "iss", "sub"])
async def test_a_token_missing_a_required_claim_is_refused(
    issuer: TestIssuer, make_verifier: MakeVerifier, missing: str
) -> None:
    claims = _ngo_claims(issuer)
    del claims[missing]
    await _refused(make_verifier([issuer.trusted]), issuer.sign(claims))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"aud": "cases-api"}, "invalid audience"),
        ({"aud": ["other-frontend", "grants-api"]}, "invalid audience"),
        ({"iss": "http://127.0.0.1:1/realms/baton"}, "untrusted issuer"),
    ],
    ids=["service-audience-for-an-issuer-with-its-own", "audience-list-without-ours", "iss"],
)
async def test_audience_and_issuer_must_be_the_trusted_ones(
    issuer: TestIssuer, make_verifier: MakeVerifier, changes: dict[str, Any], reason: str
) -> None:
    verifier = make_verifier([issuer.trusted])
    error = await _refused(verifier, issuer.sign(_ngo_claims(issuer, **changes)))
    assert error.detail == reason
    # An audience list that names ours is fine.
    listed = _ngo_claims(issuer, aud=["grants-api", EXTERNAL_AUDIENCE])
    assert (await verifier.verify(issuer.sign(listed))).org_id == ORG


async def test_an_untrusted_issuer_never_makes_the_verifier_fetch_anything(
    issuer: TestIssuer, make_verifier: MakeVerifier
) -> None:
    with TestIssuer(kid=issuer.kid).running() as stranger:
        verifier = make_verifier([issuer.trusted])
        claims = stranger.claims(org_id=ORG, org_kind="ngo", roles=["caseworker"])
        error = await _refused(verifier, stranger.sign(claims))
        assert error.detail == "untrusted issuer"
        # Its key under a trusted issuer's name and kid: the signature does not match.
        claims["iss"] = issuer.url
        error = await _refused(verifier, stranger.sign(claims))
        assert error.detail == "signature or format invalid"
        assert stranger.jwks_requests == 0


# --- Time ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expired_since", "accepted"), [(0, True), (10, True), (25, True), (35, False), (300, False)]
)
async def test_expiry_is_checked_with_the_leeway(
    issuer: TestIssuer, make_verifier: MakeVerifier, expired_since: int, accepted: bool
) -> None:
    verifier = make_verifier([issuer.trusted], leeway_seconds=30)
    now = int(time.time())
    claims = _ngo_claims(issuer, iat=now - 600, nbf=now - 600, exp=now - expired_since)
    if accepted:
        assert (await verifier.verify(issuer.sign(claims))).expires_at == claims["exp"]
    else:
        assert (await _refused(verifier, issuer.sign(claims))).detail == "token expired"


@pytest.mark.parametrize(("not_before_in", "accepted"), [(10, True), (25, True), (40, False)])
async def test_not_before_is_checked_with_the_leeway(
    issuer: TestIssuer, make_verifier: MakeVerifier, not_before_in: int, accepted: bool
) -> None:
    verifier = make_verifier([issuer.trusted], leeway_seconds=30)
    now = int(time.time())
    claims = _ngo_claims(issuer, iat=now, nbf=now + not_before_in, exp=now + 300)
    if accepted:
        assert (await verifier.verify(issuer.sign(claims))).org_id == ORG
    else:
        await _refused(verifier, issuer.sign(claims))


async def test_without_leeway_a_token_expired_a_second_ago_is_refused(
    issuer: TestIssuer, make_verifier: MakeVerifier
) -> None:
    now = int(time.time())
    claims = _ngo_claims(issuer, iat=now - 60, nbf=now - 60, exp=now - 2)
    await _refused(make_verifier([issuer.trusted], leeway_seconds=0), issuer.sign(claims))
    assert await make_verifier([issuer.trusted], leeway_seconds=5).verify(issuer.sign(claims))


async def test_a_cached_token_is_refused_once_it_expires(
    issuer: TestIssuer, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier([issuer.trusted], leeway_seconds=0)
    now = int(time.time())
    token = issuer.sign(_ngo_claims(issuer, iat=now - 10, nbf=now - 10, exp=now + 1))
    await verifier.verify(token)
    assert token in verifier.cache
    await asyncio.sleep(now + 2.1 - time.time())
    assert (await _refused(verifier, token)).detail == "token expired"
    assert token not in verifier.cache


# --- The JWKS cache ------------------------------------------------------------------------


async def test_the_jwks_is_fetched_once_for_many_verifications(
    issuer: TestIssuer, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier([issuer.trusted], jwks_max_age_seconds=300)
    tokens = [issuer.sign(_ngo_claims(issuer)) for _ in range(20)]
    before = issuer.jwks_requests
    principals = await asyncio.gather(*(verifier.verify(token) for token in tokens))
    assert len({principal.subject for principal in principals}) == 20
    for token in tokens:  # and again, from the verified-token cache
        await verifier.verify(token)
    assert issuer.jwks_requests == before + 1


async def test_a_stale_jwks_is_fetched_again(
    issuer: TestIssuer, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier([issuer.trusted], jwks_max_age_seconds=0.2)
    first, second = (issuer.sign(_ngo_claims(issuer)) for _ in range(2))
    before = issuer.jwks_requests
    await verifier.verify(first)
    await verifier.verify(second)
    assert issuer.jwks_requests == before + 1
    await asyncio.sleep(0.3)
    await verifier.verify(second)  # cached, but its key is checked against a fresh JWKS
    assert issuer.jwks_requests == before + 2


async def test_an_unknown_kid_forces_one_refresh_but_a_flood_of_them_does_not(
    issuer: TestIssuer, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier([issuer.trusted], jwks_max_age_seconds=300, jwks_min_refresh_seconds=1)
    good = issuer.sign(_ngo_claims(issuer))
    # The kid is looked up before the signature is checked, so a flood needs no signing.
    made_up = [_with_header(good, kid=f"made-up-{uuid.uuid4().hex}") for _ in range(40)]
    before = issuer.jwks_requests
    await verifier.verify(good)
    assert issuer.jwks_requests == before + 1

    # Within min_refresh of the last fetch: no fetch at all, however many.
    for token in made_up[:10]:
        assert (await _refused(verifier, token)).detail == "unknown signing key"
    assert issuer.jwks_requests == before + 1

    await asyncio.sleep(1.1)
    # Past min_refresh: one forced fetch, shared by a concurrent flood.
    refusals = await asyncio.gather(
        *(verifier.verify(token) for token in made_up[10:]), return_exceptions=True
    )
    assert all(isinstance(refusal, Unauthenticated) for refusal in refusals)
    assert issuer.jwks_requests == before + 2


async def test_a_new_key_is_picked_up_by_the_forced_refresh_before_the_jwks_goes_stale(
    jwks_server: JwksServer, make_verifier: MakeVerifier
) -> None:
    old, new = SigningKeyPair("old"), SigningKeyPair("new")
    jwks_server.keys = [old.public_jwk]
    verifier = make_verifier(
        [jwks_server.trusted], jwks_max_age_seconds=300, jwks_min_refresh_seconds=0.2
    )
    await verifier.verify(old.sign(jwks_server.claims()))
    jwks_server.keys = [old.public_jwk, new.public_jwk]
    await asyncio.sleep(0.3)
    principal = await verifier.verify(new.sign(jwks_server.claims()))
    assert principal.org_id == ORG
    assert jwks_server.requests == 2


async def test_a_cached_token_stays_valid_while_its_key_is_published_and_not_after(
    jwks_server: JwksServer, make_verifier: MakeVerifier
) -> None:
    key, successor = SigningKeyPair("key-1"), SigningKeyPair("key-2")
    jwks_server.keys = [key.public_jwk, successor.public_jwk]
    verifier = make_verifier(
        [jwks_server.trusted], jwks_max_age_seconds=0.2, jwks_min_refresh_seconds=0.2
    )
    token = key.sign(jwks_server.claims())
    other = successor.sign(jwks_server.claims())
    await verifier.verify(token)
    await verifier.verify(other)
    assert token in verifier.cache

    await asyncio.sleep(0.3)  # the JWKS goes stale and is fetched again: the key is still there
    assert (await verifier.verify(token)).org_id == ORG
    assert jwks_server.requests == 2

    jwks_server.keys = [successor.public_jwk]  # key-1 withdrawn (say, it leaked)
    await asyncio.sleep(0.3)
    assert (await _refused(verifier, token)).detail == "unknown signing key"
    assert token not in verifier.cache
    # Tokens of the key still published are unaffected.
    assert (await verifier.verify(other)).org_id == ORG


async def test_a_failing_jwks_endpoint_means_401_until_it_recovers(
    jwks_server: JwksServer, make_verifier: MakeVerifier
) -> None:
    key = SigningKeyPair("key-1")
    jwks_server.keys = [key.public_jwk]
    jwks_server.status = 503
    verifier = make_verifier(
        [jwks_server.trusted], jwks_max_age_seconds=0.3, jwks_min_refresh_seconds=0.3
    )
    token = key.sign(jwks_server.claims())
    # Refused as a 401, never an error escaping the verifier.
    assert (await _refused(verifier, token)).detail == "unknown signing key"
    assert jwks_server.requests >= 1
    jwks_server.status = 200
    await asyncio.sleep(0.4)
    assert (await verifier.verify(token)).org_id == ORG


# Regression: a failed fetch used to leave forced refreshes unthrottled.
async def test_a_failing_jwks_endpoint_is_not_fetched_for_every_token(
    jwks_server: JwksServer, make_verifier: MakeVerifier
) -> None:
    key = SigningKeyPair("key-1")
    jwks_server.keys = [key.public_jwk]
    jwks_server.status = 503
    # The default ratio of max_age to min_refresh (300 s to 30 s), scaled down.
    verifier = make_verifier(
        [jwks_server.trusted], jwks_max_age_seconds=30, jwks_min_refresh_seconds=3
    )
    token = key.sign(jwks_server.claims())
    for _ in range(10):
        assert (await _refused(verifier, token)).detail == "unknown signing key"
    assert jwks_server.requests == 1


# Regression: both requests used to reach `del cache[token]`, and the second one's
# KeyError became a 500 whose logged traceback held the whole token.
async def test_concurrent_requests_with_a_cached_token_whose_key_left_are_both_refused(
    jwks_server: JwksServer, make_verifier: MakeVerifier
) -> None:
    key, successor = SigningKeyPair("key-1"), SigningKeyPair("key-2")
    jwks_server.keys = [key.public_jwk, successor.public_jwk]
    verifier = make_verifier(
        [jwks_server.trusted], jwks_max_age_seconds=0.2, jwks_min_refresh_seconds=0
    )
    token = key.sign(jwks_server.claims())
    await verifier.verify(token)
    jwks_server.keys = [successor.public_jwk]
    await asyncio.sleep(0.3)
    # Both find the token cached, both wait for the same JWKS refresh, both drop it.
    outcomes = await asyncio.gather(
        verifier.verify(token), verifier.verify(token), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, KeyError):
            raise outcome
    assert all(isinstance(outcome, Unauthenticated) for outcome in outcomes)


# --- Algorithms ----------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["HS256", "HS512", "none", "None", "ES256K", "EdDSA"])
def test_a_trusted_issuer_cannot_be_configured_with_a_symmetric_or_no_algorithm(
    algorithm: str,
) -> None:
    with pytest.raises(ValidationError):
        TrustedIssuer(
            issuer="https://issuer.test",
            jwks_url="https://issuer.test/jwks",
            algorithms=[algorithm],
        )
    # The control: an asymmetric algorithm is accepted.
    assert TrustedIssuer(
        issuer="https://issuer.test", jwks_url="https://issuer.test/jwks", algorithms=["RS256"]
    ).algorithms == ["RS256"]


async def test_hs256_and_none_are_refused_even_if_the_issuer_was_misconfigured(
    issuer: TestIssuer, make_verifier: MakeVerifier
) -> None:
    # Bypass validation, as a hand-built or deserialised-without-validation config might.
    misconfigured = issuer.trusted.model_copy(update={"algorithms": ["HS256", "none", "RS256"]})
    verifier = make_verifier([misconfigured])
    claims = _ngo_claims(issuer)
    public_pem = _public_pem(issuer.private_key_pem)
    for secret in (public_pem, public_pem.strip(), json.dumps(issuer.public_jwk).encode()):
        hs256 = _hs256(claims, secret, kid=issuer.kid)
        assert (await _refused(verifier, hs256)).detail == "algorithm not allowed"
    unsigned = _unsigned(claims, kid=issuer.kid)
    assert (await _refused(verifier, unsigned)).detail == "algorithm not allowed"
    # A signature stripped from a genuine RS256 token is no better.
    stripped = issuer.sign(claims).rsplit(".", 1)[0] + "."
    await _refused(verifier, stripped)
    # The control: the same claims, properly signed, pass this very verifier.
    assert (await verifier.verify(issuer.sign(claims))).org_id == ORG


async def test_a_token_whose_alg_does_not_match_its_key_is_refused(
    issuer: TestIssuer, make_verifier: MakeVerifier
) -> None:
    # The issuer pins RS256 and ES256; its key is RSA. An ES256 token under that kid fails.
    both = issuer.trusted.model_copy(update={"algorithms": ["RS256", "ES256"]})
    impostor = jose.generate_private_key("ES256")
    token = jose.sign(_ngo_claims(issuer), impostor, kid=issuer.kid, algorithm="ES256")
    error = await _refused(make_verifier([both]), token)
    assert error.detail == "key does not match the token's algorithm"


@pytest.mark.parametrize(
    "token",
    ["", "not-a-jwt", "a.b.c", "e30.e30.", "W10.e30.sig", "e30.W10.sig", "...."],
    ids=["empty", "one-part", "garbage", "empty-objects", "header-list", "claims-list", "dots"],
)
async def test_malformed_tokens_are_refused_with_401(
    issuer: TestIssuer, make_verifier: MakeVerifier, token: str
) -> None:
    await _refused(make_verifier([issuer.trusted]), token)


async def test_a_token_without_a_kid_is_refused(
    issuer: TestIssuer, make_verifier: MakeVerifier
) -> None:
    good = issuer.sign(_ngo_claims(issuer))
    verifier = make_verifier([issuer.trusted])
    for kid in (None, 7, ["test-key-1"]):
        error = await _refused(verifier, _with_header(good, kid=kid))
        assert error.detail == "token has no key id"
    assert (await verifier.verify(good)).org_id == ORG


# --- The Authorization header --------------------------------------------------------------


def _request(headers: dict[str, str], query: str = "") -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/v1/me",
            "query_string": query.encode(),
            "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        }
    )


@pytest.mark.parametrize(
    "authorization",
    ["Bearer abc.def.ghi", "bearer abc.def.ghi", "BEARER abc.def.ghi", "Bearer  abc.def.ghi "],
)
def test_bearer_token_reads_the_bearer_scheme_case_insensitively(authorization: str) -> None:
    assert bearer_token(_request({"authorization": authorization})) == "abc.def.ghi"


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic Y2xpZW50OnNlY3JldA==",
        "Basic abc.def.ghi",
        "Token abc.def.ghi",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "abc.def.ghi",
        "Bearerabc.def.ghi",
        "",
    ],
)
def test_bearer_token_refuses_other_schemes(authorization: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        bearer_token(_request({"authorization": authorization}))
    assert refused.value.status == 401
    assert refused.value.headers["WWW-Authenticate"] == (
        'Bearer realm="baton", error="invalid_token", '
        'error_description="authorization header is not a bearer token"'
    )


def test_bearer_token_never_reads_a_query_parameter_or_cookie() -> None:
    request = _request({"cookie": "access_token=abc.def.ghi"}, query="access_token=abc.def.ghi")
    with pytest.raises(Unauthenticated) as refused:
        bearer_token(request)
    # No credentials at all: a bare challenge, without an error code (RFC 6750 section 3).
    assert refused.value.headers["WWW-Authenticate"] == 'Bearer realm="baton"'
    assert refused.value.status == 401
