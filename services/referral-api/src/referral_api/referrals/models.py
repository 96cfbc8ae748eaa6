"""Tables of referrals: the referral and its envelope, the sealed person packet, the
timeline, the disclosure log, and the idempotency keys of referral-api's POSTs.

Every table holding a referral's data carries both organisations: row-level
security shows a row to exactly the referrer and the recipient.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field

from baton.db import utcnow
from baton.idempotency import idempotency_table
from referral_api.db import ReferralTable

IdempotencyKey = idempotency_table(ReferralTable.metadata)


def _moment() -> Any:
    """A step's time or a deadline: null until it happens or is set."""
    return Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))


def _now() -> Any:
    return Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )


def _org(index: bool = True) -> Any:
    return Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=index))


def _referral_id() -> Any:
    return Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("referral.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )


class Referral(ReferralTable, table=True):
    __tablename__ = "referral"
    __table_args__ = (sa.UniqueConstraint("referrer_organisation_id", "referrer_reference"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    referrer_organisation_id: uuid.UUID = _org()
    recipient_organisation_id: uuid.UUID = _org()
    parent_referral_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("referral.id"), nullable=True, index=True),
    )
    referrer_reference: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    business_status: str | None = Field(default=None, sa_column=sa.Column(sa.String(32)))
    priority: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    # The rest of the envelope, validated by `Envelope` on the way in and out.
    envelope: dict[str, Any] = Field(sa_column=sa.Column(JSONB, nullable=False))
    created_by: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    # When each step happened, and the deadlines of the clocks.
    submitted_at: datetime | None = _moment()
    acknowledged_at: datetime | None = _moment()
    decided_at: datetime | None = _moment()
    accepted_at: datetime | None = _moment()
    first_contact_at: datetime | None = _moment()
    acknowledge_due_at: datetime | None = _moment()
    decision_due_at: datetime | None = _moment()
    first_contact_due_at: datetime | None = _moment()
    # The hand-off: the case cases-api opened, for the recipient's eyes only.
    case_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    beneficiary_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    handed_off_at: datetime | None = _moment()
    has_packet: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    packet_purged_at: datetime | None = _moment()
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    created_at: datetime = _now()
    updated_at: datetime = _now()


class ReferralPacket(ReferralTable, table=True):
    """The person packet, sealed under its own data key; purging deletes both."""

    __tablename__ = "referral_packet"

    referral_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("referral.id", ondelete="CASCADE"), primary_key=True
        )
    )
    referrer_organisation_id: uuid.UUID = _org(index=False)
    recipient_organisation_id: uuid.UUID = _org(index=False)
    master_key_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    wrapped_key: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    ciphertext: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    created_at: datetime = _now()


class ReferralEvent(ReferralTable, table=True):
    """The timeline: who moved the referral, when, from what to what, and why (a code)."""

    __tablename__ = "referral_event"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    referral_id: uuid.UUID = _referral_id()
    referrer_organisation_id: uuid.UUID = _org(index=False)
    recipient_organisation_id: uuid.UUID = _org(index=False)
    # The subject and organisation of the caller; null for the service's own steps.
    actor: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    actor_organisation_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    action: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    from_status: str | None = Field(default=None, sa_column=sa.Column(sa.String(20)))
    to_status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    business_status: str | None = Field(default=None, sa_column=sa.Column(sa.String(32)))
    reason_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(40)))
    created_at: datetime = _now()


class PacketDisclosure(ReferralTable, table=True):
    """One release of the person packet: who read which field groups, under what basis."""

    __tablename__ = "packet_disclosure"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    referral_id: uuid.UUID = _referral_id()
    # Disclosed by the referrer to the recipient.
    referrer_organisation_id: uuid.UUID = _org(index=False)
    recipient_organisation_id: uuid.UUID = _org(index=False)
    # Who read it: a subject of the recipient, or the hand-off to cases-api.
    subject: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    field_groups: list[str] = Field(sa_column=sa.Column(ARRAY(sa.String(16)), nullable=False))
    consent_basis: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    created_at: datetime = _now()
