"""Outbox handlers of webhooks: a referral event fans out to the subscribed endpoints,
then each delivery is sent, signed (Standard Webhooks), and retried by the outbox.

`referral.event` runs in the transaction of its outbox message. Its organisations
are bound one at a time (row-level security on endpoints and deliveries), so each
only ever sees its own endpoints; the binding is transaction-local and ends with
the message. Each delivery gets a `webhook.deliver` message naming its organisation.

A failed attempt raises `RetryLater`, so the outbox backs off exponentially and
dead-letters after `outbox_max_attempts`. The outbox undoes a failing handler's
writes, so the attempt is recorded in a transaction of its own; the last one marks
the delivery `dead`, which is what the deliveries list and a replay go by. Failed
attempts are counted by event type and kind of failure, never by endpoint or URL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

import httpx
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.db import utcnow
from baton.outbox import Handler, Permanent, RetryLater, enqueue
from baton.tenancy import bind_tenant
from baton.vault import ProtectedDataCorrupt, ProtectedDataUnavailable
from referral_api.outbox import OutboxMessage
from referral_api.webhooks import signing, targets
from referral_api.webhooks.exceptions import WebhookTargetRefused
from referral_api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from referral_api.webhooks.schemas import DeliveryRequest, ReferralEvent, WebhookEventType

if TYPE_CHECKING:
    from referral_api.worker import WorkerContext

FAN_OUT_TOPIC = "referral.event"
DELIVER_TOPIC = "webhook.deliver"

logger = logging.getLogger("referral_api.webhooks")


async def schedule(
    session: AsyncSession, delivery_id: uuid.UUID, organisation_id: uuid.UUID
) -> uuid.UUID:
    """Queue an attempt round for the delivery; returns the outbox message now in charge."""
    payload = {"delivery_id": str(delivery_id), "organisation_id": str(organisation_id)}
    return await enqueue(session, OutboxMessage, DELIVER_TOPIC, payload)


def _event_body(event: ReferralEvent) -> dict[str, Any]:
    occurred = event.occurred_at
    occurred = occurred.replace(tzinfo=UTC) if occurred.tzinfo is None else occurred
    return {
        "type": event.event_type,
        "timestamp": occurred.astimezone(UTC).isoformat(),
        "data": {
            "referral_id": str(event.referral_id),
            "status": event.status,
            "business_status": event.business_status,
        },
    }


async def fan_out(session: AsyncSession, message_id: uuid.UUID, payload: dict[str, Any]) -> None:
    """One delivery per active, subscribed endpoint of each organisation concerned."""
    try:
        event = ReferralEvent.model_validate(payload)
    except ValidationError:
        raise Permanent("invalid-referral-event") from None
    body = _event_body(event)
    for organisation_id in dict.fromkeys(event.organisation_ids):
        await bind_tenant(session, organisation_id)
        endpoints = await session.scalars(
            select(WebhookEndpoint).where(
                col(WebhookEndpoint.organisation_id) == organisation_id,
                col(WebhookEndpoint.active).is_(True),
                or_(
                    col(WebhookEndpoint.event_types).contains([event.event_type]),
                    col(WebhookEndpoint.event_types).contains([WebhookEventType.all.value]),
                ),
            )
        )
        for endpoint in endpoints.all():
            # Derived from the message and the endpoint: handling the event again adds nothing.
            delivery_id = uuid.uuid5(message_id, str(endpoint.id))
            if await session.get(WebhookDelivery, delivery_id) is not None:
                continue
            session.add(
                WebhookDelivery(
                    id=delivery_id,
                    organisation_id=organisation_id,
                    endpoint_id=endpoint.id,
                    event_id=f"msg_{delivery_id.hex}",
                    event_type=event.event_type,
                    payload=body,
                    status=DeliveryStatus.pending,
                    message_id=await schedule(session, delivery_id, organisation_id),
                )
            )
    await session.flush()


@dataclass(frozen=True)
class Attempt:
    """What one attempt got: the receiver's status, or why there was none."""

    status_code: int | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def reason(self) -> str:
        return self.error or f"http-{self.status_code}"

    @property
    def failure_class(self) -> str:
        """The reason with the status reduced to its class: a bounded metric label."""
        if self.error is not None or self.status_code is None:
            return self.error or "no-response"
        return f"http-{self.status_code // 100}xx"


class Sender:
    """POSTs deliveries: no redirects, no proxies from the environment, a hard deadline.

    Each attempt uses a client (and connection) of its own: attempts are pinned to
    the address checked for their endpoint, and a pooled connection opened for one
    endpoint must never carry another's request. The TLS context is built once.
    """

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._ssl: ssl.SSLContext | None = None

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        return self._ssl

    async def post(self, target: targets.Target, body: bytes, headers: dict[str, str]) -> Attempt:
        extensions: dict[str, Any] = {}
        if target.server_name is not None and target.host_header is not None:
            headers = {**headers, "host": target.host_header}
            extensions["sni_hostname"] = target.server_name
        client = httpx.AsyncClient(
            timeout=self._timeout,
            follow_redirects=False,
            trust_env=False,
            verify=self._ssl_context(),
        )
        try:
            # httpx's timeout bounds each read; this bounds the whole exchange.
            async with (
                asyncio.timeout(self._timeout),
                client,
                client.stream(
                    "POST", target.url, content=body, headers=headers, extensions=extensions
                ) as response,
            ):
                # The response body is never read: what a receiver says stays there.
                return Attempt(status_code=response.status_code)
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            return Attempt(error=type(exc).__name__)


async def _record(
    session: AsyncSession,
    delivery: WebhookDelivery,
    attempt: Attempt,
    status: DeliveryStatus,
    *,
    counted: bool = True,
) -> None:
    now = utcnow()
    values: dict[str, Any] = {"status": status, "last_error": attempt.error, "updated_at": now}
    if counted:
        values |= {
            "attempts": col(WebhookDelivery.attempts) + 1,
            "last_status_code": attempt.status_code,
            "last_attempt_at": now,
        }
    if status == DeliveryStatus.succeeded:
        values["delivered_at"] = now
    # Only while its message is still in charge: a replay may have taken over meanwhile.
    await session.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == delivery.id,
            col(WebhookDelivery.message_id) == delivery.message_id,
        )
        .values(**values)
    )


async def _attempts_before(session: AsyncSession, message_id: uuid.UUID) -> int:
    attempts = await session.scalar(
        select(OutboxMessage.c.attempts).where(OutboxMessage.c.id == message_id)
    )
    return int(attempts or 0)


async def _attempt(
    context: WorkerContext, sender: Sender, delivery: WebhookDelivery, endpoint: WebhookEndpoint
) -> Attempt:
    now = utcnow()
    try:
        signing_secrets = signing.open_secrets(context.vault, endpoint).valid_at(endpoint, now)
    except (ProtectedDataUnavailable, ProtectedDataCorrupt) as exc:
        # Nothing unsigned is ever sent; the keys may be back by the next attempt.
        return Attempt(error=exc.code)
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    headers = signing.headers(signing_secrets, delivery.event_id, int(now.timestamp()), body)
    try:
        # Checked again now: what the name resolves to may have changed since registration.
        target = await targets.pinned(
            endpoint.url,
            allow_private=context.settings.allow_private_webhook_targets,
            seconds=context.settings.webhook_timeout_seconds,
        )
    except WebhookTargetRefused:
        return Attempt(error="target-refused")
    return await sender.post(target, body, headers)


def failure_counter(context: WorkerContext) -> Counter:
    return context.metrics.counter(
        "baton_webhook_delivery_failures",
        "Failed webhook delivery attempts, by event type and kind of failure.",
        ["event_type", "reason"],
    )


async def deliver(
    context: WorkerContext,
    sender: Sender,
    session: AsyncSession,
    message_id: uuid.UUID,
    payload: dict[str, Any],
) -> None:
    """One attempt at one delivery; raises RetryLater when it failed."""
    try:
        request = DeliveryRequest.model_validate(payload)
    except ValidationError:
        raise Permanent("invalid-delivery-request") from None
    await bind_tenant(session, request.organisation_id)
    found = (
        await session.execute(
            select(WebhookDelivery, WebhookEndpoint)
            .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
            .where(col(WebhookDelivery.id) == request.delivery_id)
        )
    ).first()
    if found is None:
        return  # its endpoint was deleted since
    delivery, endpoint = found
    if delivery.message_id != message_id or delivery.status == DeliveryStatus.succeeded:
        return  # superseded by a replay, or already delivered
    fields = {"delivery_id": str(delivery.id), "endpoint_id": str(endpoint.id)}
    if not endpoint.active:
        await _record(
            session,
            delivery,
            Attempt(error="endpoint-inactive"),
            DeliveryStatus.dead,
            counted=False,
        )
        return

    attempt = await _attempt(context, sender, delivery, endpoint)
    if attempt.succeeded:
        await _record(session, delivery, attempt, DeliveryStatus.succeeded)
        logger.info("webhook delivered", extra={**fields, "status_code": attempt.status_code})
        return
    last = await _attempts_before(session, message_id) + 1 >= context.settings.outbox_max_attempts
    status = DeliveryStatus.dead if last else DeliveryStatus.failed
    async with context.sessionmaker() as own, own.begin():
        await bind_tenant(own, request.organisation_id)
        await _record(own, delivery, attempt, status)
    failure_counter(context).labels(delivery.event_type, attempt.failure_class).inc()
    logger.warning("webhook attempt failed", extra={**fields, "reason": attempt.reason})
    # The outbox's exponential back-off, not the receiver's Retry-After, sets the pace.
    raise RetryLater(attempt.reason)


def handlers(context: WorkerContext) -> dict[str, Handler]:
    sender = Sender(context.settings.webhook_timeout_seconds)

    async def deliver_one(
        session: AsyncSession, message_id: uuid.UUID, payload: dict[str, Any]
    ) -> None:
        await deliver(context, sender, session, message_id, payload)

    return {FAN_OUT_TOPIC: fan_out, DELIVER_TOPIC: deliver_one}
