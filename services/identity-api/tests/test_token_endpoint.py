"""The client-credentials grant, its claims, and its RFC 6749 §5.2 errors."""

from __future__ import annotations

import base64

import httpx
import pytest

from baton import jose
from identity_api.config import IdentitySettings
from identity_factories import make_client, make_organisation

TOKEN = "/v1/oauth/token"
GRANT = {"grant_type": "client_credentials"}


async def _jwk(identity: httpx.AsyncClient, kid: str) -> dict[str, object]:
    keys = (await identity.get("/.well-known/jwks.json")).json()["keys"]
    (key,) = [key for key in keys if key["kid"] == kid]
    assert isinstance(key, dict)
    return key


@pytest.fixture
async def partner(identity: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, object]:
    organisation = await make_organisation(identity, admin, kind="ngo")
    client = await make_client(
        identity, admin, organisation["id"], ["caseworker"], scopes=["cases:intake"]
    )
    return {**client, "org": organisation}


async def test_basic_authentication_yields_a_verifiable_token(
    identity: httpx.AsyncClient, partner: dict[str, object], identity_settings: IdentitySettings
) -> None:
    response = await identity.post(
        TOKEN, data=GRANT, auth=(str(partner["client_id"]), str(partner["client_secret"]))
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == identity_settings.access_token_ttl_seconds
    header = jose.unverified_header(body["access_token"])
    claims = jose.verify(
        body["access_token"],
        await _jwk(identity, header["kid"]),
        algorithms=["ES256"],
        issuer=identity_settings.issuer,
        audience="cases-api",
        leeway_seconds=0,
    )
    org = partner["org"]
    assert isinstance(org, dict)
    assert claims["org_id"] == org["id"]
    assert claims["org_kind"] == "ngo"
    assert claims["roles"] == ["caseworker"]
    assert claims["scope"] == "cases:intake"
    assert claims["sub"] == partner["client_id"]
    assert sorted(claims["aud"]) == ["cases-api", "identity-api"]
    assert claims["exp"] - claims["iat"] == identity_settings.access_token_ttl_seconds
    assert {"jti", "nbf"} <= claims.keys()
    # Tokens carry ids, kinds and roles only: nothing about a person.
    assert set(claims) == {
        "iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "org_id", "org_kind",
        "roles", "scope",
    }  # fmt: skip


async def test_body_authentication_and_narrowed_audience_and_scope(
    identity: httpx.AsyncClient, partner: dict[str, object]
) -> None:
    response = await identity.post(
        TOKEN,
        data={
            **GRANT,
            "client_id": partner["client_id"],
            "client_secret": partner["client_secret"],
            "audience": "cases-api",
            "scope": "",
        },
    )
    assert response.status_code == 200, response.text
    claims = jose.unverified_claims(response.json()["access_token"])
    assert claims["aud"] == "cases-api"
    assert claims["scope"] == ""


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.mark.parametrize(
    ("case", "status", "error"),
    [
        ("wrong-secret", 401, "invalid_client"),
        ("unknown-client", 401, "invalid_client"),
        ("no-authentication", 401, "invalid_client"),
        ("two-authentications", 400, "invalid_request"),
        ("no-grant-type", 400, "invalid_request"),
        ("password-grant", 400, "unsupported_grant_type"),
        ("scope-not-allowed", 400, "invalid_scope"),
        ("audience-not-allowed", 400, "invalid_target"),
        ("repeated-parameter", 400, "invalid_request"),
        ("json-body", 400, "invalid_request"),
    ],
)
async def test_errors_follow_rfc_6749(
    identity: httpx.AsyncClient, partner: dict[str, object], case: str, status: int, error: str
) -> None:
    client_id, secret = str(partner["client_id"]), str(partner["client_secret"])
    basic = _basic(client_id, secret)
    form = "application/x-www-form-urlencoded"
    requests: dict[str, tuple[dict[str, str], bytes]] = {
        "wrong-secret": (_basic(client_id, "bsec_wrong"), b"grant_type=client_credentials"),
        "unknown-client": (_basic("bcl_nobody", secret), b"grant_type=client_credentials"),
        "no-authentication": ({}, b"grant_type=client_credentials"),
        "two-authentications": (
            basic,
            f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}".encode(),
        ),
        "no-grant-type": (basic, b"scope=cases:intake"),
        "password-grant": (basic, b"grant_type=password&username=a&password=b"),
        "scope-not-allowed": (basic, b"grant_type=client_credentials&scope=cases:stats"),
        "audience-not-allowed": (basic, b"grant_type=client_credentials&audience=grants-api"),
        "repeated-parameter": (
            basic,
            b"grant_type=client_credentials&grant_type=client_credentials",
        ),
        "json-body": (basic, b'{"grant_type": "client_credentials"}'),
    }
    headers, body = requests[case]
    content_type = "application/json" if case == "json-body" else form
    response = await identity.post(
        TOKEN, content=body, headers={**headers, "content-type": content_type}
    )
    assert response.status_code == status
    assert response.json()["error"] == error
    assert set(response.json()) == {"error", "error_description"}
    assert response.headers["cache-control"] == "no-store"
    assert secret not in response.text
    if case == "wrong-secret":
        assert response.headers["www-authenticate"] == 'Basic realm="baton"'


async def test_inactive_client_and_inactive_organisation_get_no_token(
    identity: httpx.AsyncClient, admin: dict[str, str], partner: dict[str, object]
) -> None:
    credentials = (str(partner["client_id"]), str(partner["client_secret"]))
    assert (await identity.post(TOKEN, data=GRANT, auth=credentials)).status_code == 200
    org = partner["org"]
    assert isinstance(org, dict)
    deactivate_org = await identity.patch(
        f"/v1/organisations/{org['id']}", json={"active": False}, headers=admin
    )
    assert deactivate_org.status_code == 200
    refused = await identity.post(TOKEN, data=GRANT, auth=credentials)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    await identity.patch(f"/v1/organisations/{org['id']}", json={"active": True}, headers=admin)
    assert (await identity.post(TOKEN, data=GRANT, auth=credentials)).status_code == 200
    await identity.patch(f"/v1/clients/{partner['id']}", json={"active": False}, headers=admin)
    assert (await identity.post(TOKEN, data=GRANT, auth=credentials)).status_code == 401


async def test_secret_rotation_keeps_the_old_secret_for_the_grace_period(
    identity: httpx.AsyncClient, admin: dict[str, str], partner: dict[str, object]
) -> None:
    old = (str(partner["client_id"]), str(partner["client_secret"]))
    rotated = await identity.post(f"/v1/clients/{partner['id']}/secret-rotations", headers=admin)
    assert rotated.status_code == 201
    new = (str(partner["client_id"]), rotated.json()["client_secret"])
    assert new[1] != old[1]
    assert rotated.json()["previous_secret_valid_until"] is not None
    assert (await identity.post(TOKEN, data=GRANT, auth=new)).status_code == 200
    assert (await identity.post(TOKEN, data=GRANT, auth=old)).status_code == 200
    # Rotating again leaves earlier secrets their (capped) grace, never a longer one.
    again = await identity.post(f"/v1/clients/{partner['id']}/secret-rotations", headers=admin)
    newest = (str(partner["client_id"]), again.json()["client_secret"])
    assert (await identity.post(TOKEN, data=GRANT, auth=newest)).status_code == 200
    assert (await identity.post(TOKEN, data=GRANT, auth=new)).status_code == 200


async def test_discovery_documents(
    identity: httpx.AsyncClient, identity_settings: IdentitySettings
) -> None:
    metadata = (await identity.get("/.well-known/openid-configuration")).json()
    assert metadata["issuer"] == identity_settings.issuer
    assert metadata["token_endpoint"] == f"{identity_settings.issuer}/v1/oauth/token"
    assert metadata["jwks_uri"] == f"{identity_settings.issuer}/.well-known/jwks.json"
    assert metadata["grant_types_supported"] == ["client_credentials"]
    jwks = (await identity.get("/.well-known/jwks.json")).json()
    assert len(jwks["keys"]) == 1
    (key,) = jwks["keys"]
    assert key["kty"] == "EC"
    assert key["alg"] == "ES256"
    assert "d" not in key  # never the private part
