"""Webhook deliveries over real HTTP: signed (checked with the `standardwebhooks`
reference library), retried with back-off, dead-lettered, replayed, fanned out to
the subscribed endpoints of the organisations concerned only."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from baton.testing import serving
from baton.vault import ProtectedDataUnavailable
from referral_api.config import ReferralSettings
from referral_api.webhooks import signing
from webhook_factories import (
    ENDPOINTS,
    RECEIVER_SECRET_BODY,
    CallerFactory,
    Received,
    Receiver,
    Service,
    attempt_rounds,
    deliveries,
    emit,
    new_endpoint,
    referral_event,
    stop_retries,
    webhook_service,
)


@pytest.fixture
async def service(referral_settings: ReferralSettings) -> AsyncIterator[Service]:
    """At most 5 attempts; retries wait a minute unless a test makes them due."""
    async with webhook_service(referral_settings) as running:
        yield running


def _verified(secret: str, request: Received) -> object:
    return Webhook(secret).verify(request.body, request.headers)


async def _outbox_row(superuser: asyncpg.Connection, delivery_id: str) -> asyncpg.Record:
    row = await superuser.fetchrow(
        "SELECT * FROM outbox_message WHERE topic = 'webhook.deliver' "
        "AND payload->>'delivery_id' = $1 ORDER BY created_at DESC LIMIT 1",
        delivery_id,
    )
    assert row is not None
    return row


async def test_a_receiver_that_fails_three_times_gets_the_event_once_it_recovers(
    service: Service, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    police, ngo = caller("government", ["referrer"]), uuid.uuid4()
    receiver = Receiver(statuses=[500, 503, 502])
    with serving(receiver.app()) as url:
        endpoint = await new_endpoint(service.client, police, f"{url}/hook")
        event = referral_event([police.org_id, ngo], "accepted", business_status="admitted")
        await emit(service.app, event)
        await attempt_rounds(service.app, superuser, police.org_id, 1)
        [first] = await deliveries(service.client, police, endpoint["id"])
        assert (first["status"], first["attempts"], first["last_status_code"]) == (
            "failed",
            1,
            500,
        )
        await attempt_rounds(service.app, superuser, police.org_id, 3)
        # Recovered: nothing is sent again.
        await attempt_rounds(service.app, superuser, police.org_id, 2)

    sent = receiver.requests()
    assert len(sent) == 4
    # Every attempt carries the same event, signed anew.
    assert {request.headers["webhook-id"] for request in sent} == {first["event_id"]}
    payloads = [_verified(endpoint["secret"], request) for request in sent]
    assert payloads == [payloads[0]] * 4
    assert payloads[0] == {
        "type": "referral.accepted",
        "timestamp": datetime.fromisoformat(event["occurred_at"]).isoformat(),
        "data": {
            "referral_id": event["referral_id"],
            "status": "accepted",
            "business_status": "admitted",
        },
    }
    assert sent[0].headers["content-type"] == "application/json"

    [done] = await deliveries(service.client, police, endpoint["id"])
    assert (done["status"], done["attempts"], done["last_status_code"]) == ("succeeded", 4, 204)
    assert done["last_error"] is None
    assert done["delivered_at"] is not None
    assert await deliveries(service.client, police, endpoint["id"], status="failed") == []
    assert await deliveries(service.client, police, endpoint["id"], status="succeeded") == [done]
    assert (await _outbox_row(superuser, done["id"]))["processed_at"] is not None


async def test_a_receiver_that_always_fails_ends_dead_and_a_replay_delivers_it(
    service: Service, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    police = caller("government", ["referrer"])
    receiver = Receiver(then=500)
    with serving(receiver.app()) as url:
        endpoint = await new_endpoint(service.client, police, f"{url}/hook")
        await emit(service.app, referral_event([police.org_id], "rejected"))
        await attempt_rounds(service.app, superuser, police.org_id, 7)
        assert len(receiver.requests()) == 5  # outbox_max_attempts, then no more

        [dead] = await deliveries(service.client, police, endpoint["id"], status="dead")
        assert (dead["attempts"], dead["last_status_code"]) == (5, 500)
        assert (await _outbox_row(superuser, dead["id"]))["dead_at"] is not None

        receiver.then = 200
        replay_path = f"{ENDPOINTS}/{endpoint['id']}/deliveries/{dead['id']}/replay"
        replayed = await service.client.post(replay_path, headers=police.headers)
        assert replayed.status_code == 202, replayed.text
        assert (replayed.json()["status"], replayed.json()["attempts"]) == ("pending", 0)
        await attempt_rounds(service.app, superuser, police.org_id, 2)

        again = await service.client.post(replay_path, headers=police.headers)
        assert again.status_code == 409
        assert again.json()["code"] == "webhook-delivery-not-replayable"

    sent = receiver.requests()
    assert len(sent) == 6
    assert sent[-1].headers["webhook-id"] == dead["event_id"]
    _verified(endpoint["secret"], sent[-1])
    [done] = await deliveries(service.client, police, endpoint["id"])
    assert (done["status"], done["attempts"], done["last_status_code"]) == ("succeeded", 1, 200)


async def test_replaying_a_failed_delivery_takes_over_its_queued_retry(
    service: Service, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    police = caller("government", ["referrer"])
    receiver = Receiver(statuses=[503, 503])
    with serving(receiver.app()) as url:
        endpoint = await new_endpoint(service.client, police, f"{url}/hook")
        await emit(service.app, referral_event([police.org_id], "received"))
        await attempt_rounds(service.app, superuser, police.org_id, 1)
        [failed] = await deliveries(service.client, police, endpoint["id"], status="failed")
        retry = await _outbox_row(superuser, failed["id"])
        replay_path = f"{ENDPOINTS}/{endpoint['id']}/deliveries/{failed['id']}/replay"
        assert (await service.client.post(replay_path, headers=police.headers)).status_code == 202
        # The earlier retry and the replay are both due: one attempt is made, not two.
        await attempt_rounds(service.app, superuser, police.org_id, 1)
        assert len(receiver.requests()) == 2
        superseded = await superuser.fetchrow(
            "SELECT processed_at, attempts FROM outbox_message WHERE id = $1", retry["id"]
        )
        assert superseded is not None
        assert superseded["processed_at"] is not None
        await attempt_rounds(service.app, superuser, police.org_id, 2)
    assert len(receiver.requests()) == 3
    [done] = await deliveries(service.client, police, endpoint["id"])
    assert (done["status"], done["attempts"]) == ("succeeded", 2)


async def test_events_go_to_the_subscribed_active_endpoints_of_the_organisations_concerned(
    service: Service, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    police = caller("government", ["referrer"])
    ngo = caller("ngo", ["case_manager"])
    bystander = caller("government", ["referrer"])
    receiver = Receiver()
    with serving(receiver.app()) as url:
        subscriptions = {
            "/accepted": (police, ["referral.accepted"]),
            "/rejected": (police, ["referral.rejected"]),
            "/everything": (police, ["*"]),
            "/inactive": (police, ["*"]),
            "/ngo": (ngo, ["referral.accepted", "referral.completed"]),
            "/bystander": (bystander, ["*"]),
        }
        secrets = {}
        for path, (owner, types) in subscriptions.items():
            created = await new_endpoint(service.client, owner, f"{url}{path}", types)
            secrets[path] = created["secret"]
            if path == "/inactive":
                deactivated = await service.client.patch(
                    f"{ENDPOINTS}/{created['id']}",
                    json={"active": False},
                    headers=owner.with_headers(if_match='"1"'),
                )
                assert deactivated.status_code == 200
        message_id = await emit(
            service.app, referral_event([police.org_id, ngo.org_id, police.org_id], "accepted")
        )
        await attempt_rounds(service.app, superuser, police.org_id, 1)
        await attempt_rounds(service.app, superuser, ngo.org_id, 1)

        # The event handled again (a replay of its outbox message) adds no delivery.
        await superuser.execute(
            "UPDATE outbox_message SET processed_at = NULL WHERE id = $1", message_id
        )
        await attempt_rounds(service.app, superuser, police.org_id, 1)

    assert receiver.paths() == ["/accepted", "/everything", "/ngo"]
    for path in ("/accepted", "/everything", "/ngo"):
        [request] = receiver.requests(path)
        _verified(secrets[path], request)
        with pytest.raises(WebhookVerificationError):
            _verified(secrets["/bystander"], request)
    ids = {receiver.requests(path)[0].headers["webhook-id"] for path in receiver.paths()}
    assert len(ids) == 3  # one event id per endpoint
    count = await superuser.fetchval(
        "SELECT count(*) FROM webhook_delivery WHERE organisation_id = ANY($1::uuid[])",
        [police.org_id, ngo.org_id, bystander.org_id],
    )
    assert count == 3


async def test_during_a_rotation_both_secrets_sign_each_verifying_on_its_own(
    service: Service, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    police = caller("government", ["referrer"])
    receiver = Receiver()
    with serving(receiver.app()) as url:
        endpoint = await new_endpoint(service.client, police, f"{url}/hook")
        rotation = await service.client.post(
            f"{ENDPOINTS}/{endpoint['id']}/secret-rotations", headers=police.headers
        )
        old, new = endpoint["secret"], rotation.json()["secret"]
        await emit(service.app, referral_event([police.org_id], "in-progress"))
        await attempt_rounds(service.app, superuser, police.org_id, 1)

        # The grace period is over: only the new secret signs.
        await superuser.execute(
            "UPDATE webhook_endpoint SET previous_secret_expires_at = now() - interval '1 second' "
            "WHERE id = $1",
            uuid.UUID(endpoint["id"]),
        )
        await emit(service.app, referral_event([police.org_id], "completed"))
        await attempt_rounds(service.app, superuser, police.org_id, 1)

    during, after = receiver.requests()
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        _verified(secret, during)
    with pytest.raises(WebhookVerificationError):
        _verified(signing.new_secret(), during)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    _verified(new, after)
    with pytest.raises(WebhookVerificationError):
        _verified(old, after)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_to_an_internal_address_is_not_followed(
    service: Service, caller: CallerFactory, superuser: asyncpg.Connection, status: int
) -> None:
    """A receiver cannot bounce the delivery into the network behind referral-api."""
    police = caller("government", ["referrer"])
    connections: list[str] = []

    async def internal(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Any connection counts, whatever method a follower would have switched to.
        connections.append("connected")
        writer.close()

    # What a metadata service or an admin interface on loopback would be.
    listener = await asyncio.start_server(internal, "127.0.0.1", 0)
    internal_port = listener.sockets[0].getsockname()[1]
    receiver = Receiver(statuses=[status])
    receiver.redirect_to = f"http://127.0.0.1:{internal_port}/latest/meta-data/"
    async with listener:
        with serving(receiver.app()) as url:
            endpoint = await new_endpoint(service.client, police, f"{url}/hook")
            await emit(service.app, referral_event([police.org_id], "accepted"))
            await attempt_rounds(service.app, superuser, police.org_id, 1)
    assert receiver.paths() == ["/hook"]
    assert connections == []
    [delivery] = await deliveries(service.client, police, endpoint["id"])
    assert (delivery["status"], delivery["last_status_code"]) == ("failed", status)
    await stop_retries(superuser, police.org_id)


async def test_a_slow_receiver_times_out(
    referral_settings: ReferralSettings, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    police = caller("government", ["referrer"])
    receiver = Receiver(delay=1.0)
    async with webhook_service(referral_settings, webhook_timeout_seconds=0.2) as quick:
        with serving(receiver.app()) as url:
            endpoint = await new_endpoint(quick.client, police, f"{url}/hook")
            await emit(quick.app, referral_event([police.org_id], "accepted"))
            await attempt_rounds(quick.app, superuser, police.org_id, 1)
        [delivery] = await deliveries(quick.client, police, endpoint["id"])
    assert delivery["status"] == "failed"
    assert delivery["last_status_code"] is None
    assert delivery["last_error"] in {"ReadTimeout", "TimeoutError"}
    await stop_retries(superuser, police.org_id)


async def test_an_endpoint_deactivated_or_deleted_meanwhile_gets_nothing_more(
    service: Service, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    police = caller("government", ["referrer"])
    receiver = Receiver(then=500)
    with serving(receiver.app()) as url:
        paused = await new_endpoint(service.client, police, f"{url}/hook")
        removed = await new_endpoint(service.client, police, f"{url}/removed")
        await emit(service.app, referral_event([police.org_id], "accepted"))
        await attempt_rounds(service.app, superuser, police.org_id, 1)
        assert receiver.paths() == ["/hook", "/removed"]
        await service.client.patch(
            f"{ENDPOINTS}/{paused['id']}",
            json={"active": False},
            headers=police.with_headers(if_match='"1"'),
        )
        [queued] = await deliveries(service.client, police, removed["id"])
        await service.client.delete(f"{ENDPOINTS}/{removed['id']}", headers=police.headers)
        await attempt_rounds(service.app, superuser, police.org_id, 2)
    assert receiver.paths() == ["/hook", "/removed"]
    [delivery] = await deliveries(service.client, police, paused["id"])
    assert (delivery["status"], delivery["attempts"]) == ("dead", 1)
    assert delivery["last_error"] == "endpoint-inactive"
    assert (await _outbox_row(superuser, queued["id"]))["processed_at"] is not None


async def _stored_deliveries(
    superuser: asyncpg.Connection, organisation_id: uuid.UUID
) -> list[dict[str, object]]:
    rows = await superuser.fetch(
        "SELECT d.*, m.last_error AS message_error FROM webhook_delivery d "
        "JOIN outbox_message m ON m.payload->>'delivery_id' = d.id::text "
        "WHERE d.organisation_id = $1",
        organisation_id,
    )
    return [dict(row) for row in rows]


async def test_no_secret_and_no_receiver_answer_is_logged_stored_or_shown(
    service: Service,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    police = caller("government", ["referrer"])
    receiver = Receiver(statuses=[500])
    with caplog.at_level(logging.DEBUG), serving(receiver.app()) as url:
        endpoint = await new_endpoint(service.client, police, f"{url}/hook")
        rotation = await service.client.post(
            f"{ENDPOINTS}/{endpoint['id']}/secret-rotations", headers=police.headers
        )
        await emit(service.app, referral_event([police.org_id], "accepted"))
        await attempt_rounds(service.app, superuser, police.org_id, 1)
        failed = await service.client.get(
            f"{ENDPOINTS}/{endpoint['id']}/deliveries", headers=police.headers
        )
        stored_after_failure = await _stored_deliveries(superuser, police.org_id)
        await attempt_rounds(service.app, superuser, police.org_id, 1)
    assert [item["status"] for item in failed.json()["items"]] == ["failed"]
    assert RECEIVER_SECRET_BODY not in failed.text
    assert len(stored_after_failure) == 1
    assert stored_after_failure[0]["message_error"] == "http-500"
    assert RECEIVER_SECRET_BODY not in repr(stored_after_failure)
    assert len(receiver.requests()) == 2

    secrets = [endpoint["secret"], rotation.json()["secret"]]
    logged = [f"{record.getMessage()} {record.__dict__}" for record in caplog.records]
    assert any("webhook attempt failed" in line for line in logged)
    assert any("webhook delivered" in line for line in logged)
    for secret in secrets:
        assert not [line for line in logged if secret.removeprefix("whsec_") in line]
    assert not [line for line in logged if RECEIVER_SECRET_BODY in line]


async def test_without_its_keys_nothing_is_sent_and_the_attempt_is_recorded(
    service: Service,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def keys_missing(*_: object) -> signing.SigningSecrets:
        raise ProtectedDataUnavailable()

    police = caller("government", ["referrer"])
    receiver = Receiver()
    with serving(receiver.app()) as url:
        endpoint = await new_endpoint(service.client, police, f"{url}/hook")
        monkeypatch.setattr(signing, "open_secrets", keys_missing)
        await emit(service.app, referral_event([police.org_id], "accepted"))
        await attempt_rounds(service.app, superuser, police.org_id, 1)
    assert receiver.paths() == []
    [delivery] = await deliveries(service.client, police, endpoint["id"])
    assert (delivery["status"], delivery["attempts"]) == ("failed", 1)
    assert delivery["last_error"] == "protected-data-unavailable"
    await stop_retries(superuser, police.org_id)
