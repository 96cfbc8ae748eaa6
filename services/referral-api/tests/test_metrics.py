"""referral-api's own metrics: the outbox backlog at scrape time, and failed webhook attempts
counted by event type and kind of failure (never by endpoint, URL or organisation)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from baton.db import utcnow
from baton.outbox import enqueue
from baton.testing import serving
from referral_api.config import ReferralSettings
from referral_api.outbox import OutboxMessage
from webhook_factories import (
    CallerFactory,
    Receiver,
    Service,
    attempt_rounds,
    emit,
    new_endpoint,
    referral_event,
    stop_retries,
    webhook_service,
)

FAILURES = "baton_webhook_delivery_failures_total"


async def _scrape(client: httpx.AsyncClient) -> list[Sample]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return [s for family in text_string_to_metric_families(response.text) for s in family.samples]


def _value(samples: list[Sample], name: str, **labels: str) -> float | None:
    found = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    assert len(found) <= 1, found
    return found[0] if found else None


@pytest.fixture
async def probe_topic(superuser: asyncpg.Connection) -> AsyncIterator[str]:
    """A topic of this test's own; its messages are removed afterwards."""
    topic = f"metrics.probe.{uuid.uuid4().hex[:12]}"
    yield topic
    await superuser.execute("DELETE FROM outbox_message WHERE topic = $1", topic)


async def _enqueue(app: FastAPI, topic: str, **when: timedelta) -> uuid.UUID:
    available_at = utcnow() + when["after"] if "after" in when else None
    async with app.state.database.sessionmaker() as session, session.begin():
        message_id: uuid.UUID = await enqueue(
            session, OutboxMessage, topic, {"probe": True}, available_at=available_at
        )
    return message_id


async def test_the_outbox_backlog_is_counted_by_topic_and_state_at_scrape_time(
    referral_app: FastAPI,
    referrals: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    probe_topic: str,
) -> None:
    first = await _enqueue(referral_app, probe_topic)
    await _enqueue(referral_app, probe_topic)
    await _enqueue(referral_app, probe_topic, after=timedelta(days=30))
    dead = await _enqueue(referral_app, probe_topic)
    await superuser.execute(
        "UPDATE outbox_message SET dead_at = now(), attempts = 10 WHERE id = $1", dead
    )
    await superuser.execute(
        "UPDATE outbox_message SET available_at = now() - interval '90 seconds' WHERE id = $1",
        first,
    )

    samples = await _scrape(referrals)
    state = {
        name: _value(samples, "baton_outbox_messages", topic=probe_topic, state=name)
        for name in ("due", "scheduled", "dead")
    }
    assert state == {"due": 2, "scheduled": 1, "dead": 1}
    oldest = _value(samples, "baton_outbox_oldest_due_age_seconds", topic=probe_topic)
    assert oldest is not None
    assert oldest >= 90

    # Handled since: the next scrape says so, nothing is cached between scrapes.
    await superuser.execute("UPDATE outbox_message SET processed_at = now() WHERE id = $1", first)
    samples = await _scrape(referrals)
    assert _value(samples, "baton_outbox_messages", topic=probe_topic, state="due") == 1


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.fixture
async def service(referral_settings: ReferralSettings) -> AsyncIterator[Service]:
    async with webhook_service(referral_settings) as running:
        yield running


async def test_failed_webhook_attempts_are_counted_by_event_type_and_kind(
    service: Service, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    police = caller("government", ["referrer"])
    receiver = Receiver(then=503)
    unreachable = f"http://127.0.0.1:{_closed_port()}/gone"
    with serving(receiver.app()) as url:
        failing = await new_endpoint(service.client, police, f"{url}/hook", ["referral.rejected"])
        await new_endpoint(service.client, police, unreachable, ["referral.rejected"])
        await emit(service.app, referral_event([police.org_id], "rejected"))
        await attempt_rounds(service.app, superuser, police.org_id, 2)
    await stop_retries(superuser, police.org_id)

    samples = await _scrape(service.client)
    rejected = {"event_type": "referral.rejected"}
    assert _value(samples, FAILURES, **rejected, reason="http-5xx") == 2
    assert _value(samples, FAILURES, **rejected, reason="ConnectError") == 2
    assert len(receiver.requests()) == 2
    # Never who, nor where to.
    labels = " ".join(v for s in samples if s.name == FAILURES for v in s.labels.values())
    for value in (url, unreachable, "127.0.0.1", failing["id"], str(police.org_id)):
        assert value not in labels
