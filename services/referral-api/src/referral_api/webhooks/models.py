"""Webhook endpoints of an organisation, and each event's delivery to one of them.

Both tables are the organisation's own (row-level security on `organisation_id`).
An endpoint's signing secrets (the current one, and the previous one during a
rotation's grace period) are sealed together under a data key of the endpoint,
wrapped by the master key `master_key_id`: a database dump signs nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field

from baton.db import utcnow
from referral_api.db import ReferralTable


def _timestamp(nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its first attempt (or replayed)
    failed = "failed"  # an attempt failed; the outbox tries again later
    succeeded = "succeeded"
    dead = "dead"  # no more attempts; a replay sends it again


class WebhookEndpoint(ReferralTable, table=True):
    __tablename__ = "webhook_endpoint"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    url: str = Field(sa_column=sa.Column(sa.String(2000), nullable=False))
    description: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    # `referral.<status>` types, or ["*"] for every event.
    event_types: list[str] = Field(sa_column=sa.Column(ARRAY(sa.String(64)), nullable=False))
    active: bool = Field(default=True, sa_column=sa.Column(sa.Boolean, nullable=False))
    master_key_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    wrapped_key: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    secrets_ciphertext: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    # Until then deliveries are signed with the previous secret as well.
    previous_secret_expires_at: datetime | None = Field(
        default=None, sa_column=_timestamp(nullable=True)
    )
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class WebhookDelivery(ReferralTable, table=True):
    """One event for one endpoint; its id is derived from both, so a fan-out is idempotent."""

    __tablename__ = "webhook_delivery"

    id: uuid.UUID = Field(primary_key=True)
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    endpoint_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid,
            sa.ForeignKey("webhook_endpoint.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    # The `webhook-id` header: the same on every attempt, so receivers can deduplicate.
    event_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    event_type: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    # Thin: the type, the time, the referral's id and status; never a person's data.
    payload: dict[str, Any] = Field(sa_column=sa.Column(JSONB, nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    # The outbox message now in charge of it; messages a replay superseded do nothing.
    message_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    # What the last attempt got: a status code or an error type, never a response body.
    last_status_code: int | None = Field(default=None, sa_column=sa.Column(sa.SmallInteger))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    last_attempt_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
