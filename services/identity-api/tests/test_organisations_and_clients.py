"""Tenants and their API clients: platform administrators manage, members see their own only."""

from __future__ import annotations

import uuid

import httpx
import pytest

from baton.testing import app_client
from identity_api.config import IdentitySettings
from identity_api.main import create_app
from identity_factories import Bearer, make_client, make_organisation


async def test_platform_admin_creates_and_lists_organisations(
    identity: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await make_organisation(identity, admin, kind="government", country="XK")
    assert created["kind"] == "government"
    assert created["active"] is True
    listed = await identity.get("/v1/organisations", params={"kind": "government"}, headers=admin)
    assert created["id"] in [item["id"] for item in listed.json()["items"]]


async def test_a_member_sees_only_its_own_organisation(
    identity: httpx.AsyncClient, admin: dict[str, str], bearer: Bearer
) -> None:
    own = await make_organisation(identity, admin)
    other = await make_organisation(identity, admin)
    member = bearer("ngo", ["caseworker"], org_id=uuid.UUID(str(own["id"])))
    listed = await identity.get("/v1/organisations", headers=member)
    assert [item["id"] for item in listed.json()["items"]] == [own["id"]]
    assert (await identity.get(f"/v1/organisations/{own['id']}", headers=member)).status_code == 200
    hidden = await identity.get(f"/v1/organisations/{other['id']}", headers=member)
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "organisation-not-found"


@pytest.mark.parametrize(
    ("org_kind", "roles"),
    [("ngo", ["case_manager"]), ("donor", ["grant_manager"]), ("ngo", ["platform_admin"])],
)
async def test_only_platform_admins_manage(
    identity: httpx.AsyncClient, bearer: Bearer, org_kind: str, roles: list[str]
) -> None:
    caller = bearer(org_kind, roles)
    body = {"name": "Rogue", "kind": "ngo", "country": "RS"}
    response = await identity.post("/v1/organisations", json=body, headers=caller)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    clients = await identity.get("/v1/clients", headers=caller)
    assert clients.status_code == 403


async def test_requests_without_a_token_are_401_problems(identity: httpx.AsyncClient) -> None:
    response = await identity.get("/v1/organisations")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer realm="baton"'


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "kind": "ngo", "country": "ZZ"}, "country"),
        ({"name": "X", "kind": "ngo", "country": "al"}, "country"),
        ({"name": "X", "kind": "charity", "country": "AL"}, "kind"),
        ({"name": "", "kind": "ngo", "country": "AL"}, "name"),
        ({"name": "X", "kind": "ngo", "country": "AL", "owner": "me"}, "owner"),
    ],
)
async def test_invalid_organisations_are_refused_with_the_field(
    identity: httpx.AsyncClient, admin: dict[str, str], body: dict[str, str], field: str
) -> None:
    response = await identity.post("/v1/organisations", json=body, headers=admin)
    assert response.status_code == 422
    assert ["body", field] in [error["location"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("org_kind", "roles", "scopes", "audiences", "message"),
    [
        ("donor", ["caseworker"], [], ["cases-api"], "role `caseworker` is not for a `donor`"),
        ("ngo", ["referrer"], [], ["referral-api"], "role `referrer` is not for a `ngo`"),
        ("ngo", ["superuser"], [], ["cases-api"], "unknown role `superuser`"),
        ("ngo", ["caseworker"], ["cases:everything"], ["cases-api"], "unknown scope"),
        ("ngo", ["caseworker"], [], ["payments-api"], "unknown audience"),
    ],
)
async def test_clients_get_only_what_their_organisation_may_hold(
    identity: httpx.AsyncClient,
    admin: dict[str, str],
    org_kind: str,
    roles: list[str],
    scopes: list[str],
    audiences: list[str],
    message: str,
) -> None:
    organisation = await make_organisation(identity, admin, kind=org_kind)
    response = await identity.post(
        "/v1/clients",
        json={
            "organisation_id": organisation["id"],
            "name": "x",
            "roles": roles,
            "scopes": scopes,
            "audiences": audiences,
        },
        headers=admin,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid-client-grant"
    assert message in response.json()["detail"]


async def test_client_secrets_are_shown_once_and_never_listed(
    identity: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    organisation = await make_organisation(identity, admin)
    client = await make_client(identity, admin, organisation["id"], ["caseworker"])
    assert str(client["client_secret"]).startswith("bsec_")
    read = await identity.get(f"/v1/clients/{client['id']}", headers=admin)
    listed = await identity.get(
        "/v1/clients", params={"organisation_id": str(organisation["id"])}, headers=admin
    )
    assert "client_secret" not in read.json()
    assert [item["id"] for item in listed.json()["items"]] == [client["id"]]
    assert str(client["client_secret"]) not in listed.text


async def test_a_chosen_client_id_is_unique(
    identity: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    organisation = await make_organisation(identity, admin)
    chosen = f"partner-{uuid.uuid4().hex[:8]}"
    await make_client(identity, admin, organisation["id"], ["caseworker"], client_id=chosen)
    again = await identity.post(
        "/v1/clients",
        json={
            "organisation_id": organisation["id"],
            "name": "x",
            "audiences": ["cases-api"],
            "client_id": chosen,
        },
        headers=admin,
    )
    assert again.status_code == 409
    assert again.json()["code"] == "client-id-taken"


async def test_without_grace_a_rotated_secret_stops_at_once(
    identity_settings: IdentitySettings, admin: dict[str, str]
) -> None:
    settings = identity_settings.model_copy(update={"client_secret_grace_seconds": 0})
    async with app_client(create_app(settings), root_path=settings.root_path) as identity:
        organisation = await make_organisation(identity, admin)
        client = await make_client(identity, admin, organisation["id"], ["caseworker"])
        old = (str(client["client_id"]), str(client["client_secret"]))
        grant = {"grant_type": "client_credentials"}
        assert (await identity.post("/v1/oauth/token", data=grant, auth=old)).status_code == 200
        rotated = await identity.post(f"/v1/clients/{client['id']}/secret-rotations", headers=admin)
        new = (str(client["client_id"]), rotated.json()["client_secret"])
        assert (await identity.post("/v1/oauth/token", data=grant, auth=old)).status_code == 401
        assert (await identity.post("/v1/oauth/token", data=grant, auth=new)).status_code == 200


async def test_pages_follow_cursors_without_gaps_or_repeats(
    identity: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = {
        str((await make_organisation(identity, admin, kind="donor"))["id"]) for _ in range(5)
    }
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"kind": "donor", "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await identity.get("/v1/organisations", params=params, headers=admin)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert created <= set(seen)
    assert len(seen) == len(set(seen))
    bad = await identity.get("/v1/organisations", params={"cursor": "!!"}, headers=admin)
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid-cursor"
