"""Typed helpers for the webhook tests: a receiver over real HTTP, endpoints, events."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from baton.outbox import enqueue
from baton.testing_issuer import Caller as Caller
from baton.testing_issuer import CallerFactory as CallerFactory
from referral_api.config import ReferralSettings
from referral_api.main import create_app
from referral_api.outbox import OutboxMessage

ENDPOINTS = "/v1/webhook-endpoints"
# What a receiver answers; tests assert it is never stored or shown.
RECEIVER_SECRET_BODY = "receiver-internal-detail-Ardita-Kovaci"


@dataclass(frozen=True)
class Received:
    body: bytes
    headers: dict[str, str]
    path: str


@dataclass
class Receiver:
    """A webhook receiver answering `statuses` in turn, then `then` for ever.

    Serve `app()` with `baton.testing.serving`; it runs in a thread of its own.
    """

    statuses: list[int] = field(default_factory=list)
    then: int = 204
    redirect_to: str | None = None
    # Seconds to wait before answering (a receiver slower than the timeout).
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            self.received.append(Received(body, dict(request.headers), request.url.path))
            status = self.statuses.pop(0) if self.statuses else self.then
        headers = {"location": self.redirect_to} if self.redirect_to is not None else {}
        return Response(RECEIVER_SECRET_BODY, status_code=status, headers=headers)

    def app(self) -> Starlette:
        routes = [Route("/{path:path}", self._receive, methods=["POST"])]
        return Starlette(routes=routes)

    def requests(self, path: str = "/hook") -> list[Received]:
        with self._lock:
            return [request for request in self.received if request.path == path]

    def paths(self) -> list[str]:
        with self._lock:
            return sorted(request.path for request in self.received)


# A back-off long enough that nothing is retried unless a test makes it due.
SLOW_RETRIES = {
    "outbox_backoff_seconds": 60.0,
    "outbox_max_backoff_seconds": 600.0,
    "outbox_max_attempts": 5,
}


@dataclass(frozen=True)
class Service:
    app: FastAPI
    client: httpx.AsyncClient


@asynccontextmanager
async def webhook_service(settings: ReferralSettings, **overrides: Any) -> AsyncIterator[Service]:
    """referral-api with these settings changed; its outbox runs when a test says."""
    app = create_app(settings.model_copy(update={**SLOW_RETRIES, **overrides}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield Service(app, client)


async def new_endpoint(
    referrals: httpx.AsyncClient,
    caller: Caller,
    url: str,
    event_types: Sequence[str] = ("*",),
    **fields: Any,
) -> dict[str, Any]:
    body = {"url": url, "event_types": list(event_types), **fields}
    response = await referrals.post(ENDPOINTS, json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def referral_event(
    organisation_ids: Sequence[uuid.UUID],
    status: str = "accepted",
    *,
    referral_id: uuid.UUID | None = None,
    business_status: str | None = None,
) -> dict[str, Any]:
    """The outbox payload the referrals package writes with a status change."""
    return {
        "event_type": f"referral.{status}",
        "referral_id": str(referral_id or uuid.uuid4()),
        "status": status,
        "business_status": business_status,
        "occurred_at": datetime.now(UTC).isoformat(),
        "organisation_ids": [str(organisation) for organisation in organisation_ids],
    }


async def emit(app: FastAPI, payload: dict[str, Any]) -> uuid.UUID:
    """Write a `referral.event` outbox message, as a referral status change does."""
    async with app.state.database.sessionmaker() as session, session.begin():
        message_id: uuid.UUID = await enqueue(session, OutboxMessage, "referral.event", payload)
    return message_id


async def make_due(superuser: asyncpg.Connection, organisation_id: uuid.UUID) -> None:
    """Skip the back-off: the organisation's queued deliveries are due now."""
    await superuser.execute(
        "UPDATE outbox_message SET available_at = now() "
        "WHERE topic = 'webhook.deliver' AND payload->>'organisation_id' = $1 "
        "AND processed_at IS NULL AND dead_at IS NULL",
        str(organisation_id),
    )


async def stop_retries(superuser: asyncpg.Connection, organisation_id: uuid.UUID) -> None:
    """Dead-letter what the organisation still has queued, so no later test sends it."""
    await superuser.execute(
        "UPDATE outbox_message SET dead_at = now() "
        "WHERE topic = 'webhook.deliver' AND payload->>'organisation_id' = $1 "
        "AND processed_at IS NULL AND dead_at IS NULL",
        str(organisation_id),
    )


async def attempt_rounds(
    app: FastAPI, superuser: asyncpg.Connection, organisation_id: uuid.UUID, rounds: int
) -> None:
    """`rounds` passes of the outbox, each making the organisation's deliveries due first.

    A pass works until nothing is due: the database is shared, so messages other
    tests left may be due before ours (this app gives them its slow back-off).
    """
    for _ in range(rounds):
        await make_due(superuser, organisation_id)
        for _ in range(100):
            if not await app.state.outbox.run_once():
                break


async def deliveries(
    referrals: httpx.AsyncClient, caller: Caller, endpoint_id: str, **params: str
) -> list[dict[str, Any]]:
    response = await referrals.get(
        f"{ENDPOINTS}/{endpoint_id}/deliveries", params=params, headers=caller.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
