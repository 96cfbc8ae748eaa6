"""Webhook endpoints: registration, the secret shown once and sealed, changes, deletion,
and each organisation seeing its own endpoints only."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from referral_api.referrals.events import EVENT_TYPES
from referral_api.webhooks.schemas import WebhookEventType
from webhook_factories import ENDPOINTS, CallerFactory, new_endpoint

URL = "https://hooks.example.org/baton"


def _secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


async def test_an_endpoint_is_registered_and_its_secret_is_shown_once(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    police = caller("government", ["referrer"])
    created = await new_endpoint(
        referrals,
        police,
        URL,
        ["referral.rejected", "referral.accepted", "referral.accepted"],
        description="Police case system",
    )
    secret = created.pop("secret")
    assert secret.startswith("whsec_")
    assert len(_secret_key(secret)) == 32
    Webhook(secret)  # the reference library takes it as it is
    assert created["organisation_id"] == str(police.org_id)
    assert created["event_types"] == ["referral.accepted", "referral.rejected"]
    assert (created["active"], created["version"]) == (True, 1)
    assert created["previous_secret_expires_at"] is None

    path = f"{ENDPOINTS}/{created['id']}"
    read = await referrals.get(path, headers=police.headers)
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'
    assert read.json() == created
    listed = await referrals.get(ENDPOINTS, headers=police.headers)
    assert listed.json()["items"] == [created]
    for response in (read, listed):
        assert '"secret"' not in response.text
        assert secret.removeprefix("whsec_") not in response.text


async def test_the_secret_is_stored_sealed_only(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    police = caller("government", ["referrer"])
    created = await new_endpoint(referrals, police, URL)
    rotated = await referrals.post(
        f"{ENDPOINTS}/{created['id']}/secret-rotations", headers=police.headers
    )
    assert rotated.status_code == 201, rotated.text
    row = await superuser.fetchrow(
        "SELECT * FROM webhook_endpoint WHERE id = $1", uuid.UUID(created["id"])
    )
    assert row is not None
    assert row["master_key_id"]
    for secret in (created["secret"], rotated.json()["secret"]):
        for value in row.values():
            if isinstance(value, bytes):
                assert _secret_key(secret) not in value
                assert secret.encode() not in value
                assert secret.removeprefix("whsec_").encode() not in value
            else:
                assert secret.removeprefix("whsec_") not in str(value)


@pytest.mark.parametrize(
    ("org_kind", "roles"), [("government", ["referrer"]), ("ngo", ["case_manager"])]
)
async def test_referrers_and_case_managers_manage_webhooks(
    referrals: httpx.AsyncClient, caller: CallerFactory, org_kind: str, roles: list[str]
) -> None:
    manager = caller(org_kind, roles)
    created = await new_endpoint(referrals, manager, URL, active=False)
    assert created["organisation_id"] == str(manager.org_id)
    assert created["active"] is False


@pytest.mark.parametrize(
    ("org_kind", "roles"),
    [("ngo", ["caseworker"]), ("government", ["auditor"]), ("donor", ["grant_manager"])],
)
async def test_others_may_not_manage_webhooks(
    referrals: httpx.AsyncClient, caller: CallerFactory, org_kind: str, roles: list[str]
) -> None:
    outsider = caller(org_kind, roles)
    created = await referrals.post(
        ENDPOINTS, json={"url": URL, "event_types": ["*"]}, headers=outsider.headers
    )
    listed = await referrals.get(ENDPOINTS, headers=outsider.headers)
    assert (created.status_code, listed.status_code) == (403, 403)


async def test_another_organisations_endpoint_is_not_found(
    referrals: httpx.AsyncClient,
    caller: CallerFactory,
    runtime: asyncpg.Connection,
) -> None:
    police = caller("government", ["referrer"])
    stranger = caller("government", ["referrer"])
    created = await new_endpoint(referrals, police, URL)
    path = f"{ENDPOINTS}/{created['id']}"
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", path, {}),
        ("PATCH", path, {"json": {"active": False}, "headers": {"if-match": '"1"'}}),
        ("DELETE", path, {}),
        ("POST", f"{path}/secret-rotations", {}),
        ("GET", f"{path}/deliveries", {}),
        ("POST", f"{path}/deliveries/{uuid.uuid4()}/replay", {}),
    ]
    for method, url, extra in calls:
        headers = {**stranger.headers, **extra.pop("headers", {})}
        response = await referrals.request(method, url, headers=headers, **extra)
        assert response.status_code == 404, (method, url, response.text)
        assert response.json()["code"] == "webhook-endpoint-not-found"
    listed = await referrals.get(ENDPOINTS, headers=stranger.headers)
    assert listed.json()["items"] == []
    # Untouched by all of that.
    unchanged = await referrals.get(path, headers=police.headers)
    assert (unchanged.json()["version"], unchanged.json()["active"]) == (1, True)

    # Row-level security: the runtime login sees the row only when acting for its owner.
    query = "SELECT count(*) FROM webhook_endpoint WHERE id = $1"
    endpoint_id = uuid.UUID(created["id"])
    assert await runtime.fetchval(query, endpoint_id) == 0
    async with runtime.transaction():
        await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(stranger.org_id))
        assert await runtime.fetchval(query, endpoint_id) == 0
    async with runtime.transaction():
        await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(police.org_id))
        assert await runtime.fetchval(query, endpoint_id) == 1


async def test_an_update_needs_the_etag_and_changes_url_types_and_activity(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    police = caller("government", ["referrer"])
    created = await new_endpoint(referrals, police, URL, ["referral.accepted"])
    path = f"{ENDPOINTS}/{created['id']}"
    change = {
        "url": "https://hooks.example.org/v2",
        "event_types": ["referral.completed", "*"],
        "active": False,
    }
    unconditional = await referrals.patch(path, json=change, headers=police.headers)
    assert unconditional.status_code == 428
    stale = await referrals.patch(path, json=change, headers=police.with_headers(if_match='"7"'))
    assert stale.status_code == 412
    changed = await referrals.patch(path, json=change, headers=police.with_headers(if_match='"1"'))
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    body = changed.json()
    assert (body["url"], body["event_types"], body["active"]) == (change["url"], ["*"], False)
    assert "secret" not in body
    inactive = await referrals.get(ENDPOINTS, params={"active": "false"}, headers=police.headers)
    assert [item["id"] for item in inactive.json()["items"]] == [created["id"]]
    active = await referrals.get(ENDPOINTS, params={"active": "true"}, headers=police.headers)
    assert active.json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"url": URL, "event_types": []},
        {"url": URL, "event_types": ["referral.kidnapped"]},
        {"url": URL, "event_types": ["*"], "secret": "whsec_bXlvd24="},
        {"event_types": ["*"]},
    ],
)
async def test_a_malformed_registration_is_refused(
    referrals: httpx.AsyncClient, caller: CallerFactory, body: dict[str, Any]
) -> None:
    police = caller("government", ["referrer"])
    response = await referrals.post(ENDPOINTS, json=body, headers=police.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation-failed"


async def test_a_deleted_endpoint_is_gone_with_its_deliveries(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    police = caller("government", ["referrer"])
    created = await new_endpoint(referrals, police, URL)
    path = f"{ENDPOINTS}/{created['id']}"
    deleted = await referrals.delete(path, headers=police.headers)
    assert deleted.status_code == 204
    assert (await referrals.get(path, headers=police.headers)).status_code == 404
    assert (await referrals.delete(path, headers=police.headers)).status_code == 404
    remaining = await superuser.fetchval(
        "SELECT count(*) FROM webhook_endpoint WHERE id = $1", uuid.UUID(created["id"])
    )
    assert remaining == 0


async def test_a_rotation_returns_a_new_secret_once_and_keeps_the_old_for_the_grace_period(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    police = caller("government", ["referrer"])
    created = await new_endpoint(referrals, police, URL)
    path = f"{ENDPOINTS}/{created['id']}/secret-rotations"
    rotated = await referrals.post(
        path, json={"grace_period_seconds": 3600}, headers=police.headers
    )
    assert rotated.status_code == 201, rotated.text
    body = rotated.json()
    assert body["secret"].startswith("whsec_")
    assert body["secret"] != created["secret"]
    assert body["version"] == 2
    assert body["previous_secret_expires_at"] is not None
    read = await referrals.get(f"{ENDPOINTS}/{created['id']}", headers=police.headers)
    assert "secret" not in read.json()
    assert read.json()["previous_secret_expires_at"] == body["previous_secret_expires_at"]

    at_once = await referrals.post(path, json={"grace_period_seconds": 0}, headers=police.headers)
    assert at_once.json()["previous_secret_expires_at"] is None
    too_long = await referrals.post(
        path, json={"grace_period_seconds": 30 * 86_400}, headers=police.headers
    )
    assert too_long.status_code == 422


def test_every_event_the_referrals_announce_can_be_subscribed_to() -> None:
    subscribable = {event_type.value for event_type in WebhookEventType}
    assert EVENT_TYPES <= subscribable
    assert subscribable - EVENT_TYPES == {"*"}
