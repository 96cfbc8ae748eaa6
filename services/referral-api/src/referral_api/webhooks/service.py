"""Webhook endpoints of the caller's organisation: registration, changes, secret
rotation, and the deliveries made to them (listed, replayed)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.concurrency import check_version
from baton.db import utcnow
from baton.pagination import PageParams, paginate
from baton.tenancy import get_owned, in_callers_organisation
from baton.vault import EnvelopeVault
from referral_api.webhooks import delivery as deliveries
from referral_api.webhooks import signing, targets
from referral_api.webhooks.exceptions import (
    WebhookDeliveryNotFound,
    WebhookDeliveryNotReplayable,
    WebhookEndpointNotFound,
)
from referral_api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from referral_api.webhooks.schemas import (
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
    WebhookEventType,
)

REPLAYABLE = frozenset({DeliveryStatus.failed, DeliveryStatus.dead})


@dataclass(frozen=True)
class TargetRules:
    """Where webhooks may go (settings `allow_private_webhook_targets`, the timeout)."""

    allow_private: bool
    timeout: float

    async def check(self, url: str) -> None:
        await targets.check(url, allow_private=self.allow_private, seconds=self.timeout)


def _event_types(chosen: Iterable[WebhookEventType]) -> list[str]:
    types = {event_type.value for event_type in chosen}
    # "*" already says everything: listing types beside it would only mislead.
    return [WebhookEventType.all.value] if WebhookEventType.all in types else sorted(types)


async def create(
    session: AsyncSession,
    principal: Principal,
    vault: EnvelopeVault,
    data: WebhookEndpointCreate,
    rules: TargetRules,
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret, which is returned this once and stored sealed."""
    await rules.check(data.url)
    endpoint = WebhookEndpoint(
        organisation_id=principal.org_id,
        url=data.url,
        description=data.description,
        event_types=_event_types(data.event_types),
        active=data.active,
        master_key_id="",
        wrapped_key=b"",
        secrets_ciphertext=b"",
    )
    secret = signing.new_secret()
    signing.seal(vault, endpoint, signing.SigningSecrets(current=secret))
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def get(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, lock: bool = False
) -> WebhookEndpoint:
    return await get_owned(
        session, WebhookEndpoint, principal, WebhookEndpointNotFound(), lock=lock, id=endpoint_id
    )


async def list_for(
    session: AsyncSession, principal: Principal, params: PageParams, *, active: bool | None
) -> Sequence[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(
        in_callers_organisation(col(WebhookEndpoint.organisation_id), principal)
    )
    if active is not None:
        query = query.where(col(WebhookEndpoint.active) == active)
    query = paginate(query, params, col(WebhookEndpoint.created_at), col(WebhookEndpoint.id))
    return (await session.scalars(query)).all()


async def _saved(session: AsyncSession, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.version += 1
    endpoint.updated_at = utcnow()
    await session.flush()
    return endpoint


async def update(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    data: WebhookEndpointUpdate,
    version: int,
    rules: TargetRules,
) -> WebhookEndpoint:
    # Locked, so two updates based on the same version cannot both pass the check.
    endpoint = await get(session, principal, endpoint_id, lock=True)
    check_version(version, endpoint.version)
    if data.url is not None:
        await rules.check(data.url)
        endpoint.url = data.url
    if data.event_types is not None:
        endpoint.event_types = _event_types(data.event_types)
    if data.active is not None:
        endpoint.active = data.active
    if "description" in data.model_fields_set:
        endpoint.description = data.description
    return await _saved(session, endpoint)


async def delete(session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID) -> None:
    """The endpoint, its sealed secrets and its deliveries; queued attempts then do nothing."""
    endpoint = await get(session, principal, endpoint_id, lock=True)
    await session.delete(endpoint)
    await session.flush()


async def rotate_secret(
    session: AsyncSession,
    principal: Principal,
    vault: EnvelopeVault,
    endpoint_id: uuid.UUID,
    grace: timedelta,
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the current one keeps signing for `grace`, an older one stops now."""
    endpoint = await get(session, principal, endpoint_id, lock=True)
    current = signing.open_secrets(vault, endpoint).current
    secret = signing.new_secret()
    if grace > timedelta(0):
        signing.seal(vault, endpoint, signing.SigningSecrets(current=secret, previous=current))
        endpoint.previous_secret_expires_at = utcnow() + grace
    else:
        signing.seal(vault, endpoint, signing.SigningSecrets(current=secret))
        endpoint.previous_secret_expires_at = None
    return await _saved(session, endpoint), secret


async def list_deliveries(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    params: PageParams,
    *,
    status: DeliveryStatus | None,
) -> Sequence[WebhookDelivery]:
    endpoint = await get(session, principal, endpoint_id)
    query = select(WebhookDelivery).where(
        in_callers_organisation(col(WebhookDelivery.organisation_id), principal),
        col(WebhookDelivery.endpoint_id) == endpoint.id,
    )
    if status is not None:
        query = query.where(col(WebhookDelivery.status) == status)
    query = paginate(query, params, col(WebhookDelivery.created_at), col(WebhookDelivery.id))
    return (await session.scalars(query)).all()


async def replay(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Send a failed or dead delivery again, now, with a fresh round of attempts."""
    endpoint = await get(session, principal, endpoint_id)
    found = await get_owned(
        session,
        WebhookDelivery,
        principal,
        WebhookDeliveryNotFound(),
        lock=True,
        id=delivery_id,
        endpoint_id=endpoint.id,
    )
    if found.status not in REPLAYABLE:
        raise WebhookDeliveryNotReplayable(
            f"This delivery is {found.status}; only failed or dead ones can be replayed."
        )
    # A new outbox message takes over; the one before, if still queued, finds itself
    # superseded and does nothing, so the receiver never gets two rounds at once.
    found.message_id = await deliveries.schedule(session, found.id, found.organisation_id)
    found.status = DeliveryStatus.pending
    found.attempts = 0
    found.updated_at = utcnow()
    await session.flush()
    return found
