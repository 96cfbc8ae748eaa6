"""What goes over the wire for webhook endpoints and deliveries. A secret appears once."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from referral_api.webhooks.models import DeliveryStatus


class WebhookEventType(StrEnum):
    """A referral reached this status (FHIR Task status names), missed a deadline
    (`escalated`) or was handed to cases-api (`handed-off`); `*` is every event.
    Drafts are never announced."""

    all = "*"
    requested = "referral.requested"
    received = "referral.received"
    accepted = "referral.accepted"
    in_progress = "referral.in-progress"
    completed = "referral.completed"
    rejected = "referral.rejected"
    on_hold = "referral.on-hold"
    failed = "referral.failed"
    cancelled = "referral.cancelled"
    entered_in_error = "referral.entered-in-error"
    escalated = "referral.escalated"
    handed_off = "referral.handed-off"


Url = str
EventTypes = list[WebhookEventType]


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url = Field(
        min_length=1,
        max_length=2000,
        description="https, reaching a public address; redirects are not followed",
    )
    event_types: EventTypes = Field(min_length=1, max_length=len(WebhookEventType))
    description: str | None = Field(default=None, max_length=200)
    active: bool = Field(default=True, description="false: registered, but sent nothing yet")


class WebhookEndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url | None = Field(default=None, min_length=1, max_length=2000)
    event_types: EventTypes | None = Field(
        default=None, min_length=1, max_length=len(WebhookEventType)
    )
    description: str | None = Field(default=None, max_length=200)
    active: bool | None = Field(default=None, description="Inactive endpoints receive nothing")


class SecretRotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_period_seconds: int = Field(
        default=86_400,
        ge=0,
        le=7 * 86_400,
        description="How long the previous secret still signs deliveries (both signatures sent)",
    )


class WebhookEndpointRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    url: Url
    description: str | None
    event_types: EventTypes
    active: bool
    previous_secret_expires_at: datetime | None = Field(
        description="Set after a rotation: until then the previous secret signs too"
    )
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecret(WebhookEndpointRead):
    secret: str = Field(
        description="`whsec_` + base64 (Standard Webhooks). Shown this once; store it safely"
    )


class WebhookDeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: str = Field(description="The `webhook-id` header, the same on every attempt")
    event_type: str
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None = Field(description="The receiver's status at the last attempt")
    last_error: str | None = Field(description="Why the last attempt failed, e.g. `ConnectError`")
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ReferralEvent(BaseModel):
    """The outbox message the referrals package writes with every status change."""

    event_type: str = Field(max_length=64)
    referral_id: uuid.UUID
    status: str
    business_status: str | None = None
    occurred_at: datetime
    organisation_ids: list[uuid.UUID]


class DeliveryRequest(BaseModel):
    """The outbox message asking for one delivery; the organisation binds row-level security."""

    delivery_id: uuid.UUID
    organisation_id: uuid.UUID
