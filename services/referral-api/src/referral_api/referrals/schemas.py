"""What goes over the wire for referrals: the envelope in the clear, the packet apart."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from baton.countries import CountryCode
from referral_api.referrals.envelope import Envelope, EnvelopeUpdate
from referral_api.referrals.vocabulary import (
    BusinessStatus,
    CancelReason,
    ContactChannel,
    FailReason,
    FieldGroup,
    HoldReason,
    InformationNeeded,
    ReferralStatus,
    RejectReason,
)

Reference = str


class PersonIdentity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    given_names: str = Field(min_length=1, max_length=200)
    family_names: str | None = Field(default=None, max_length=200)
    date_of_birth: date | None = None
    nationality: CountryCode | None = None


class SafeContact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: ContactChannel
    details: str = Field(min_length=1, max_length=200, description="e.g. a trusted number")


class PersonPacket(BaseModel):
    """Who the person is: sealed at rest, released by field group within the consent."""

    model_config = ConfigDict(extra="forbid")

    identity: PersonIdentity | None = Field(default=None, description="Field group `identity`")
    safe_contact: SafeContact | None = Field(default=None, description="Field group `contact`")
    needs_summary: str | None = Field(
        default=None, max_length=2000, description="Field group `needs`"
    )
    risk_summary: str | None = Field(
        default=None, max_length=2000, description="Field group `risk`"
    )


class ReferralCreate(Envelope):
    recipient_organisation_id: uuid.UUID
    referrer_reference: Reference = Field(
        min_length=1, max_length=100, description="Your own reference; unique in your organisation"
    )
    status: Literal[ReferralStatus.draft, ReferralStatus.requested] = Field(
        default=ReferralStatus.requested, description="`draft` to submit later"
    )
    packet: PersonPacket | None = Field(
        default=None, description="Optional: help is never conditional on identification"
    )


class ReferralUpdate(EnvelopeUpdate):
    packet: PersonPacket | None = Field(
        default=None,
        description="Replaces the whole packet, sealed anew; null removes it; left out: kept",
    )


class PacketState(StrEnum):
    none = "none"
    sealed = "sealed"
    purged = "purged"


class ReferralRead(Envelope):
    """The envelope and the lifecycle; never the packet."""

    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    referrer_organisation_id: uuid.UUID
    recipient_organisation_id: uuid.UUID
    parent_referral_id: uuid.UUID | None
    referrer_reference: Reference
    status: ReferralStatus
    business_status: BusinessStatus | None
    packet_state: PacketState
    submitted_at: datetime | None
    acknowledged_at: datetime | None
    decided_at: datetime | None
    accepted_at: datetime | None
    first_contact_at: datetime | None
    acknowledge_due_at: datetime | None
    decision_due_at: datetime | None
    first_contact_due_at: datetime | None
    handed_off_at: datetime | None
    case_id: uuid.UUID | None = Field(description="The case cases-api opened: the recipient only")
    beneficiary_id: uuid.UUID | None = Field(description="The recipient only")
    version: int
    created_at: datetime
    updated_at: datetime


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason_code: RejectReason


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason_code: CancelReason = Field(description="`entered_in_error` ends `entered-in-error`")


class HoldRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason_code: HoldReason


class FailRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason_code: FailReason


class InformationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason_code: InformationNeeded = Field(description="What the referrer is asked for")


class ForwardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient_organisation_id: uuid.UUID = Field(description="The provider it goes to now")
    referrer_reference: Reference | None = Field(
        default=None, min_length=1, max_length=100, description="Yours; derived if left out"
    )


class PacketRead(BaseModel):
    referral_id: uuid.UUID
    field_groups: list[FieldGroup] = Field(description="What the consent released to you")
    packet: PersonPacket


class TimelineEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    action: str
    from_status: ReferralStatus | None
    to_status: ReferralStatus
    business_status: BusinessStatus | None
    reason_code: str | None
    actor: str | None = Field(description="Who took the step; null for the service's own")
    actor_organisation_id: uuid.UUID | None
    created_at: datetime


class DisclosureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    referral_id: uuid.UUID
    referrer_organisation_id: uuid.UUID = Field(description="Disclosed by")
    recipient_organisation_id: uuid.UUID = Field(description="Disclosed to")
    subject: str = Field(description="Who read it (or `referral-api:intake`, the hand-off)")
    field_groups: list[FieldGroup]
    consent_basis: str
    created_at: datetime
