"""Hostile tokens against both walls: Envoy at the edge, and every service called directly.

Each attack is sent to `/v1/me` of every service, once through the gateway and
once straight to the service's own port. Both must answer 401 with a `Bearer`
challenge; the gateway with an empty body, the service with a problem. A valid
token of the same shape (same issuer, key, claims) is accepted on the same paths,
so a refusal is the attack's doing and not a broken setup.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from baton import jose
from baton.stack.personas import PersonaCredentials, PersonaTokens, request_token
from baton.stack.runner import Stack
from baton.stack.services import SERVICES, ServiceSpec
from baton.testing import refused_by_gateway
from baton.testing_issuer import EXTERNAL_AUDIENCE, TestIssuer

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
Via = Literal["gateway", "direct"]
VIAS: list[Via] = ["gateway", "direct"]


# --- Building tokens by hand -----------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _segment(value: Any) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _hs256(claims: dict[str, Any], secret: bytes, *, kid: str) -> str:
    """HMAC-signed with `secret`: the key-confusion attack when the secret is a public key."""
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_segment(claims)}"
    return (
        f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"
    )


def _unsigned(claims: dict[str, Any], *, kid: str) -> str:
    return f"{_segment({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_segment(claims)}."


def _rs256(header: dict[str, Any], claims: dict[str, Any], private_key_pem: str) -> str:
    """RS256 with any header (`jku`, `jwk`...), signed without a JOSE library."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signing_input = f"{_segment({'alg': 'RS256', 'typ': 'JWT', **header})}.{_segment(claims)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def _tampered(token: str, **changes: Any) -> str:
    """`token` with its payload changed and its original signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(_unb64(payload)) | changes
    return f"{header}.{_segment(claims)}.{signature}"


def _with_header(token: str, **changes: Any) -> str:
    header, rest = token.split(".", 1)
    return f"{_segment(json.loads(_unb64(header)) | changes)}.{rest}"


def _public_key(jwk: dict[str, Any]) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
    """The public key of a JWK from a JWKS: what any attacker can download."""

    def number(name: str) -> int:
        return int.from_bytes(_unb64(jwk[name]), "big")

    if jwk["kty"] == "EC":
        assert jwk["crv"] == "P-256"
        return ec.EllipticCurvePublicNumbers(number("x"), number("y"), ec.SECP256R1()).public_key()
    return rsa.RSAPublicNumbers(number("e"), number("n")).public_key()


def _pem(jwk: dict[str, Any]) -> bytes:
    return _public_key(jwk).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _der(jwk: dict[str, Any]) -> bytes:
    return _public_key(jwk).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _without(claims: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in claims.items() if name not in names}


# --- What an attacker (and the test) has to work with -----------------------------------------


@dataclass
class Forge:
    """Keys and claims to mint hostile tokens, and valid ones of the same shape."""

    stack: Stack
    persona: PersonaCredentials
    demo_token: str  # a real access token from identity-api
    identity_kid: str
    identity_private_key: str  # from identity-api's key directory: the stack trusts it
    identity_jwk: dict[str, Any]  # as published in identity-api's JWKS
    external: TestIssuer  # trusted by the stack
    stranger: TestIssuer  # running, serving its own JWKS, trusted by nobody
    impostor: TestIssuer  # not running; signs with the external issuer's kid, its own key
    client: httpx.Client  # one for the module: a new client per call costs ~20 ms
    impostor_es256: str = field(default_factory=lambda: jose.generate_private_key("ES256"))
    made: dict[str, dict[str, str]] = field(default_factory=dict)

    def identity_claims(self, **changes: Any) -> dict[str, Any]:
        """The demo token's claims (all four audiences), freshly dated."""
        now = int(time.time())
        claims = jose.unverified_claims(self.demo_token)
        claims |= {"iat": now, "nbf": now, "exp": now + 300, "jti": uuid.uuid4().hex}
        return claims | changes

    def sign_identity(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        return jose.sign(
            claims, self.identity_private_key, kid=kid or self.identity_kid, algorithm="ES256"
        )

    def external_claims(self, **changes: Any) -> dict[str, Any]:
        claims = self.external.claims(
            org_id=uuid.UUID(self.persona.organisation_id), org_kind="ngo", roles=["caseworker"]
        )
        return claims | changes

    def bearer(self, name: str, build: Callable[[Forge], str]) -> dict[str, str]:
        """Authorization header for the token `build` makes, made once per module."""
        if name not in self.made:
            # An empty token leaves a bare "Bearer" (a trailing space is not a legal header).
            self.made[name] = {"authorization": f"Bearer {build(self)}".rstrip()}
        return self.made[name]


@pytest.fixture(scope="module")
def stranger() -> Iterator[TestIssuer]:
    with TestIssuer(kid="stranger-key").running() as issuer:
        yield issuer


@pytest.fixture(scope="module")
def forge(
    stack: Stack, tokens: PersonaTokens, external_issuer: TestIssuer, stranger: TestIssuer
) -> Iterator[Forge]:
    demo_token = tokens("caseworker")
    kid = jose.unverified_header(demo_token)["kid"]
    key_file = stack.options.data_dir / "signing-keys" / f"{kid}.json"
    jwks = httpx.get(f"{stack.gateway_url}/identity/.well-known/jwks.json", timeout=10).json()
    with httpx.Client(timeout=10) as client:
        yield Forge(
            stack=stack,
            persona=tokens.persona("caseworker"),
            demo_token=demo_token,
            identity_kid=kid,
            identity_private_key=json.loads(key_file.read_text())["private_key_pem"],
            identity_jwk=next(key for key in jwks["keys"] if key["kid"] == kid),
            external=external_issuer,
            stranger=stranger,
            impostor=TestIssuer(kid=external_issuer.kid),
            client=client,
        )


def _url(forge: Forge, via: Via, spec: ServiceSpec) -> str:
    if via == "gateway":
        return f"{forge.stack.gateway_url}/{spec.route}/v1/me"
    return f"{forge.stack.service_url(spec)}/v1/me"


def _call(forge: Forge, via: Via, spec: ServiceSpec, **request: Any) -> httpx.Response:
    return forge.client.get(_url(forge, via, spec), **request)


def _assert_refused(response: httpx.Response, via: Via) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    if via == "gateway":
        # Envoy answered itself, saying nothing beyond the status and the challenge.
        assert refused_by_gateway(response, 401, "unauthenticated"), response.text
    else:
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert problem["code"] == "unauthenticated"
        assert problem["status"] == 401
        assert 'realm="baton"' in response.headers["www-authenticate"]


# --- The attacks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    name: str
    token: Callable[[Forge], str] | None  # None: no Authorization header at all


def _identity_attacks() -> list[Attack]:
    def expired(f: Forge) -> str:
        now = int(time.time())
        return f.sign_identity(f.identity_claims(iat=now - 900, nbf=now - 900, exp=now - 600))

    def not_yet_valid(f: Forge) -> str:
        now = int(time.time())
        return f.sign_identity(f.identity_claims(iat=now, nbf=now + 300, exp=now + 600))

    def tampered(f: Forge) -> str:
        # The real demo token, promoted: platform administrator of another organisation.
        return _tampered(
            f.demo_token, roles=["platform_admin"], org_kind="platform", org_id=str(uuid.uuid4())
        )

    def lifetime(f: Forge) -> str:
        now = int(time.time())
        return f.sign_identity(f.identity_claims(iat=now, nbf=now, exp=now + 86_400))

    return [
        Attack("none", None),
        Attack("empty-bearer", lambda _: ""),
        Attack("garbage", lambda _: "not.a.token"),
        Attack("alg-none", lambda f: _unsigned(f.identity_claims(), kid=f.identity_kid)),
        Attack("signature-stripped", lambda f: f.demo_token.rsplit(".", 1)[0] + "."),
        Attack(
            "hs256-with-the-public-key-pem",
            lambda f: _hs256(f.identity_claims(), _pem(f.identity_jwk), kid=f.identity_kid),
        ),
        Attack(
            "hs256-with-the-public-key-der",
            lambda f: _hs256(f.identity_claims(), _der(f.identity_jwk), kid=f.identity_kid),
        ),
        Attack(
            "hs256-with-the-jwk",
            lambda f: _hs256(
                f.identity_claims(), json.dumps(f.identity_jwk).encode(), kid=f.identity_kid
            ),
        ),
        Attack("wrong-audience", lambda f: f.sign_identity(f.identity_claims(aud="billing-api"))),
        Attack(
            "external-audience-on-identity-token",
            lambda f: f.sign_identity(f.identity_claims(aud=EXTERNAL_AUDIENCE)),
        ),
        Attack(
            "wrong-issuer",
            lambda f: f.sign_identity(f.identity_claims(iss="https://evil.example/identity")),
        ),
        Attack(
            "issuer-with-trailing-slash",
            lambda f: f.sign_identity(f.identity_claims(iss=f"{f.stack.issuer_url}/")),
        ),
        Attack("expired", expired),
        Attack("nbf-in-the-future", not_yet_valid),
        Attack("tampered-payload", tampered),
        Attack(
            "unknown-kid",
            lambda f: jose.sign(
                f.identity_claims(),
                f.impostor_es256,
                kid=f"unknown-{uuid.uuid4().hex}",
                algorithm="ES256",
            ),
        ),
        Attack(
            "untrusted-key-with-the-real-kid",
            lambda f: jose.sign(
                f.identity_claims(), f.impostor_es256, kid=f.identity_kid, algorithm="ES256"
            ),
        ),
        Attack(
            "key-of-another-trusted-issuer",
            # Identity's claims, signed by the external provider's (trusted) key.
            lambda f: f.external.sign(f.identity_claims()),
        ),
        Attack("missing-aud", lambda f: f.sign_identity(_without(f.identity_claims(), "aud"))),
        Attack("missing-exp", lambda f: f.sign_identity(_without(f.identity_claims(), "exp"))),
        Attack("missing-iss", lambda f: f.sign_identity(_without(f.identity_claims(), "iss"))),
        Attack("lifetime-too-long", lifetime),
    ]


def _external_attacks() -> list[Attack]:
    def expired(f: Forge) -> str:
        now = int(time.time())
        return f.external.sign(f.external_claims(iat=now - 900, nbf=now - 900, exp=now - 600))

    def not_yet_valid(f: Forge) -> str:
        now = int(time.time())
        return f.external.sign(f.external_claims(iat=now, nbf=now + 300, exp=now + 600))

    def lifetime(f: Forge) -> str:
        now = int(time.time())
        return f.external.sign(f.external_claims(iat=now, nbf=now, exp=now + 86_400))

    def jku(f: Forge) -> str:
        # "Fetch my key from here": nobody may follow a URL chosen by the token.
        header = {"kid": f.stranger.kid, "jku": f"{f.stranger.url}/protocol/openid-connect/certs"}
        return _rs256(header, f.external_claims(), f.stranger.private_key_pem)

    def embedded_jwk(f: Forge) -> str:
        header = {"kid": f.stranger.kid, "jwk": f.stranger.public_jwk}
        return _rs256(header, f.external_claims(), f.stranger.private_key_pem)

    return [
        Attack("external-alg-none", lambda f: _unsigned(f.external_claims(), kid=f.external.kid)),
        Attack(
            "external-hs256-with-the-public-key-pem",
            lambda f: _hs256(f.external_claims(), _pem(f.external.public_jwk), kid=f.external.kid),
        ),
        Attack(
            "external-wrong-audience",
            # A service's own name is not the audience this provider's tokens carry for Baton.
            lambda f: f.external.sign(f.external_claims(aud="cases-api")),
        ),
        Attack(
            "external-wrong-issuer",
            lambda f: f.external.sign(f.external_claims(iss="http://127.0.0.1:9/realms/evil")),
        ),
        Attack("external-expired", expired),
        Attack("external-nbf-in-the-future", not_yet_valid),
        Attack(
            "external-tampered-payload",
            lambda f: _tampered(
                f.external.sign(f.external_claims()), realm_access={"roles": ["platform_admin"]}
            ),
        ),
        Attack(
            "external-unknown-kid",
            lambda f: f.impostor.sign(f.external_claims(), kid=f"unknown-{uuid.uuid4().hex}"),
        ),
        Attack(
            "external-untrusted-key-with-the-real-kid",
            lambda f: f.impostor.sign(f.external_claims()),
        ),
        Attack(
            "untrusted-issuer",
            # A working OIDC provider with its own JWKS, that Baton does not trust.
            lambda f: f.stranger.sign(
                f.stranger.claims(
                    org_id=uuid.UUID(f.persona.organisation_id),
                    org_kind="ngo",
                    roles=["caseworker"],
                )
            ),
        ),
        Attack(
            "key-of-identity-for-external-claims",
            lambda f: f.sign_identity(f.external_claims()),
        ),
        Attack("external-jku-header", jku),
        Attack("external-embedded-jwk-header", embedded_jwk),
        Attack(
            "external-missing-aud",
            lambda f: f.external.sign(_without(f.external_claims(), "aud")),
        ),
        Attack(
            "external-missing-exp",
            lambda f: f.external.sign(_without(f.external_claims(), "exp")),
        ),
        Attack("external-lifetime-too-long", lifetime),
    ]


ATTACKS = _identity_attacks() + _external_attacks()

CONTROLS = [
    Attack("demo-token", lambda f: f.demo_token),
    Attack("identity-claims-signed-here", lambda f: f.sign_identity(f.identity_claims())),
    Attack("external-provider-token", lambda f: f.external.sign(f.external_claims())),
]


def _spec(route: str) -> ServiceSpec:
    return next(spec for spec in SERVICES if spec.route == route)


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.route)
@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("control", CONTROLS, ids=lambda attack: attack.name)
def test_a_valid_token_of_each_shape_is_accepted(
    forge: Forge, control: Attack, via: Via, spec: ServiceSpec
) -> None:
    assert control.token is not None
    response = _call(forge, via, spec, headers=forge.bearer(control.name, control.token))
    assert response.status_code == 200, response.text
    profile = response.json()
    assert profile["service"] == spec.name
    assert profile["org_id"] == forge.persona.organisation_id
    assert profile["roles"] == ["caseworker"]


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.route)
@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.name)
def test_a_hostile_token_is_refused_by_both_walls(
    forge: Forge, attack: Attack, via: Via, spec: ServiceSpec
) -> None:
    headers = {} if attack.token is None else forge.bearer(attack.name, attack.token)
    response = _call(forge, via, spec, headers=headers)
    _assert_refused(response, via)
    if via == "direct" and attack.token is None:
        # No credentials: a bare challenge (RFC 6750 section 3), no error code.
        assert response.headers["www-authenticate"] == 'Bearer realm="baton"'
    elif via == "direct":
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_no_verifier_followed_a_url_or_key_planted_in_a_token(
    forge: Forge, stranger: TestIssuer
) -> None:
    before = stranger.jwks_requests
    for attack in ATTACKS:
        if attack.name in {"external-jku-header", "external-embedded-jwk-header"}:
            assert attack.token is not None
            for spec in SERVICES:
                for via in VIAS:
                    headers = forge.bearer(attack.name, attack.token)
                    _assert_refused(_call(forge, via, spec, headers=headers), via)
    assert stranger.jwks_requests == before


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.route)
@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("carrier", ["query", "cookie", "form"])
def test_a_token_anywhere_but_the_authorization_header_is_not_read(
    forge: Forge, via: Via, spec: ServiceSpec, carrier: str
) -> None:
    token = forge.demo_token
    carriers: dict[str, dict[str, Any]] = {
        "query": {"params": {"access_token": token}},
        "cookie": {"headers": {"cookie": f"access_token={token}; token={token}"}},
        # A form body, as RFC 6750 section 2.2 allows (and Baton does not).
        "form": {
            "headers": {"content-type": "application/x-www-form-urlencoded"},
            "content": f"access_token={token}",
        },
    }
    response = forge.client.request("GET", _url(forge, via, spec), **carriers[carrier])
    _assert_refused(response, via)
    # The control: the same token in the header is good here.
    assert _call(forge, via, spec, headers={"authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.route)
@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("credentials", ["client-secret", "jwt"])
def test_basic_authorization_is_refused(
    forge: Forge, via: Via, spec: ServiceSpec, credentials: str
) -> None:
    if credentials == "client-secret":
        secret = f"{forge.persona.client_id}:{forge.persona.client_secret}".encode()
        value = base64.b64encode(secret).decode()
    else:
        value = forge.demo_token
    response = _call(forge, via, spec, headers={"authorization": f"Basic {value}"})
    _assert_refused(response, via)


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.route)
@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer  "])
def test_an_unusual_bearer_spelling_is_accepted_or_refused_but_never_breaks(
    forge: Forge, via: Via, spec: ServiceSpec, scheme: str
) -> None:
    response = _call(forge, via, spec, headers={"authorization": f"{scheme} {forge.demo_token}"})
    assert response.status_code in {200, 401}, response.text
    if response.status_code == 401:
        _assert_refused(response, via)
    else:
        assert response.json()["service"] == spec.name


@pytest.fixture(scope="module")
def grants_only_token(forge: Forge) -> str:
    response = request_token(forge.stack.gateway_url, forge.persona, "grants-api")
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    assert jose.unverified_claims(token)["aud"] == "grants-api"
    return token


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("route", ["cases", "referrals", "identity"])
def test_a_token_for_another_service_is_refused(
    forge: Forge, grants_only_token: str, via: Via, route: str
) -> None:
    headers = {"authorization": f"Bearer {grants_only_token}"}
    response = _call(forge, via, _spec(route), headers=headers)
    _assert_refused(response, via)
    if via == "direct":
        assert response.json()["detail"] == "invalid audience"


@pytest.mark.parametrize("via", VIAS)
def test_a_token_for_one_service_is_accepted_there(
    forge: Forge, grants_only_token: str, via: Via
) -> None:
    headers = {"authorization": f"Bearer {grants_only_token}"}
    response = _call(forge, via, _spec("grants"), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["service"] == "grants-api"


async def test_a_flood_of_unknown_kids_does_not_make_anyone_refetch_the_jwks(
    forge: Forge, external_issuer: TestIssuer
) -> None:
    cases = _spec("cases")
    good = external_issuer.sign(forge.external_claims())
    # Each with a kid nobody published; the kid is looked up before any signature check.
    flood = [_with_header(good, kid=f"made-up-{uuid.uuid4().hex}") for _ in range(30)]
    urls = [_url(forge, "direct", cases), _url(forge, "gateway", cases)]
    async with httpx.AsyncClient(timeout=10) as client:

        async def get(url: str, token: str) -> httpx.Response:
            return await client.get(url, headers={"authorization": f"Bearer {token}"})

        # Warm up: both walls have the provider's JWKS now.
        for url in urls:
            assert (await get(url, good)).status_code == 200, url
        before = external_issuer.jwks_requests
        started = time.monotonic()
        responses = await asyncio.gather(*(get(url, token) for token in flood for url in urls))
        elapsed = time.monotonic() - started
    fetches = external_issuer.jwks_requests - before
    assert [response.status_code for response in responses] == [401] * len(responses)
    assert elapsed < forge.stack.options.jwks_cache_seconds, "too slow to tell a flood apart"
    # At most: the service's periodic refresh, one forced refresh, and the gateway's own
    # periodic refresh that may fall into the same window; never one per token.
    assert fetches <= 3, fetches
