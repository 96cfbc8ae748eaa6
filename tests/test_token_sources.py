"""Where accepted tokens come from: a stock OAuth2 client, an external OIDC provider,
and identity-api across a key rotation and a key withdrawal."""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Callable

import httpx
import pytest

from baton import jose
from baton.stack.personas import PersonaTokens, request_token
from baton.stack.runner import Stack
from baton.stack.services import SERVICES, ServiceSpec
from baton.testing import refused_by_gateway
from baton.testing_issuer import TestIssuer

pytestmark = pytest.mark.e2e

CASES = next(spec for spec in SERVICES if spec.route == "cases")
IDENTITY = next(spec for spec in SERVICES if spec.route == "identity")


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _me(stack: Stack, token: str, *, direct: bool, spec: ServiceSpec = CASES) -> httpx.Response:
    base = stack.service_url(spec) if direct else f"{stack.gateway_url}/{spec.route}"
    return httpx.get(f"{base}/v1/me", headers=_bearer(token), timeout=10)


def _eventually(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.5)


def test_a_stock_oauth2_client_gets_a_token_the_gateway_accepts(
    stack: Stack, tokens: PersonaTokens
) -> None:
    # authlib 1.9 warns on import that it would rather drive `httpx2`; httpx still works.
    with warnings.catch_warnings():
        import authlib.deprecate  # its import puts an "always" filter first; ours goes before

        warnings.filterwarnings("ignore", category=authlib.deprecate.AuthlibDeprecationWarning)
        from authlib.integrations.httpx_client import OAuth2Client

    persona = tokens.persona("referrer")
    with OAuth2Client(
        persona.client_id,
        persona.client_secret,
        token_endpoint_auth_method="client_secret_basic",
    ) as client:
        token = client.fetch_token(
            f"{stack.gateway_url}/identity/v1/oauth/token", grant_type="client_credentials"
        )
        assert token["token_type"] == "Bearer"
        assert 0 < token["expires_in"] <= 900
        # authlib sends the token itself from here on.
        response = client.get(f"{stack.gateway_url}/referrals/v1/me")
    assert response.status_code == 200
    assert response.json()["org_id"] == persona.organisation_id
    assert "referral:submit" in response.json()["permissions"]


@pytest.mark.parametrize("direct", [False, True], ids=["gateway", "service"])
def test_an_external_issuers_token_is_mapped_to_baton_claims(
    stack: Stack, tokens: PersonaTokens, external_issuer: TestIssuer, direct: bool
) -> None:
    org_id = uuid.UUID(tokens.persona("caseworker").organisation_id)
    claims = external_issuer.claims(org_id=org_id, org_kind="ngo", roles=["case_manager"])
    response = _me(stack, external_issuer.sign(claims), direct=direct)
    assert response.status_code == 200, response.text
    profile = response.json()
    assert profile["subject"] == claims["sub"]
    assert profile["org_id"] == str(org_id)
    assert profile["org_kind"] == "ngo"
    assert profile["roles"] == ["case_manager"]
    assert "case:close" in profile["permissions"]


@pytest.mark.parametrize("direct", [False, True], ids=["gateway", "service"])
def test_an_external_donor_is_refused_victim_data_by_its_nested_claim(
    stack: Stack, external_issuer: TestIssuer, direct: bool
) -> None:
    claims = external_issuer.claims(org_id=uuid.uuid4(), org_kind="donor", roles=["donor_viewer"])
    token = external_issuer.sign(claims)
    assert _me(stack, token, direct=direct).status_code == 403
    grants = next(spec for spec in SERVICES if spec.route == "grants")
    assert _me(stack, token, direct=direct, spec=grants).status_code == 200


def test_an_external_token_for_another_audience_is_refused(
    stack: Stack, external_issuer: TestIssuer
) -> None:
    claims = external_issuer.claims(org_id=uuid.uuid4(), org_kind="ngo", roles=["caseworker"])
    claims["aud"] = "some-other-app"
    token = external_issuer.sign(claims)
    assert _me(stack, token, direct=False).status_code == 401
    assert _me(stack, token, direct=True).status_code == 401


def _fresh_token(stack: Stack, tokens: PersonaTokens) -> str:
    response = request_token(stack.gateway_url, tokens.persona("caseworker"))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _kid(token: str) -> str:
    return str(jose.unverified_header(token)["kid"])


def _published_kids(stack: Stack) -> set[str]:
    jwks = httpx.get(f"{stack.gateway_url}/identity/.well-known/jwks.json").json()
    return {key["kid"] for key in jwks["keys"]}


def test_key_rotation_keeps_old_tokens_until_a_withdrawn_key_stops_them(
    stack: Stack, tokens: PersonaTokens
) -> None:
    old_token = _fresh_token(stack, tokens)
    old_kid = _kid(old_token)

    rotated = stack.run_command(IDENTITY, "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    new_kids: set[str] = set()

    def new_key_published() -> bool:
        new_kids.update(_published_kids(stack) - {old_kid})
        return bool(new_kids)

    _eventually(new_key_published, "the new key in the JWKS")  # identity-api re-reads its keys
    assert len(new_kids) == 1
    assert _kid(_fresh_token(stack, tokens)) == old_kid  # the activation delay runs

    new_token = ""

    def signed_with_new_key() -> bool:
        nonlocal new_token
        new_token = _fresh_token(stack, tokens)
        return _kid(new_token) in new_kids

    _eventually(signed_with_new_key, "tokens signed with the new key")
    for direct in (False, True):
        assert _me(stack, new_token, direct=direct).status_code == 200
        # The previous key's tokens still work: they have not expired.
        assert _me(stack, old_token, direct=direct).status_code == 200
    assert old_kid in _published_kids(stack)

    withdrawn = stack.run_command(IDENTITY, "withdraw-key", old_kid)
    assert withdrawn.returncode == 0, withdrawn.stderr
    tokens.forget()  # cached persona tokens were signed with the withdrawn key
    _eventually(lambda: old_kid not in _published_kids(stack), "the JWKS drops the key")
    # Envoy itself refuses it, though it had verified (and cached) this very token before.
    _eventually(
        lambda: refused_by_gateway(_me(stack, old_token, direct=False), 401, "unauthenticated"),
        "gateway refuses old token",
    )
    _eventually(
        lambda: _me(stack, old_token, direct=True).status_code == 401, "service refuses old token"
    )
    for direct in (False, True):
        assert _me(stack, new_token, direct=direct).status_code == 200


def test_withdrawing_an_unknown_key_fails_loudly(stack: Stack) -> None:
    result = stack.run_command(IDENTITY, "withdraw-key", "no-such-kid")
    assert result.returncode != 0
    assert "no signing key 'no-such-kid'" in result.stderr
