"""The provider directory, shaped like Open Referral HSDS: provider -> service -> capacity.

The directory is shared by design: every organisation that refers reads every
entry, so it holds no person's data and needs no row-level security; writes are
checked against the entry's organisation in the service layer instead.

There is no address anywhere, on purpose. A shelter's location is what an
exploiter looking for a victim wants most, and this directory is read by police
units, social services and partner systems in several countries: one leak
would endanger everyone housed there. Referrers reach a provider's intake desk
(phone, e-mail, or a referral through Baton); the provider arranges the handover
itself.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field

from baton.db import utcnow
from referral_api.db import ReferralTable


def _timestamp() -> sa.Column[datetime]:
    return sa.Column(sa.DateTime(timezone=True), nullable=False)


def _codes(length: int) -> sa.Column[list[str]]:
    return sa.Column(ARRAY(sa.String(length)), nullable=False)


class Provider(ReferralTable, table=True):
    """One organisation's directory entry (one per organisation)."""

    __tablename__ = "provider"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # The identity-api organisation that keeps this entry.
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, unique=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    country: str = Field(sa_column=sa.Column(sa.CHAR(2), nullable=False, index=True))
    description: str | None = Field(default=None, sa_column=sa.Column(sa.String(500)))
    # ISO 3166-2 subdivisions of `country`; empty: the whole country.
    regions_served: list[str] = Field(default_factory=list, sa_column=_codes(6))
    languages: list[str] = Field(default_factory=list, sa_column=_codes(3))
    available_24_7: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    accepts_referrals: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    # The intake desk, for professionals; never where anyone stays.
    intake_phone: str | None = Field(default=None, sa_column=sa.Column(sa.String(16)))
    intake_email: str | None = Field(default=None, sa_column=sa.Column(sa.String(254)))
    active: bool = Field(default=True, sa_column=sa.Column(sa.Boolean, nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class ProviderService(ReferralTable, table=True):
    """A service a provider offers, for whom (HSDS service with its eligibility)."""

    __tablename__ = "provider_service"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    provider_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("provider.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    service_type: str = Field(sa_column=sa.Column(sa.String(40), nullable=False, index=True))
    target_groups: list[str] = Field(default_factory=list, sa_column=_codes(16))
    exploitation_forms: list[str] = Field(default_factory=list, sa_column=_codes(32))
    eligibility: str | None = Field(default=None, sa_column=sa.Column(sa.String(300)))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class ProviderCapacity(ReferralTable, table=True):
    """Places of one service now, as the provider last said, and who said it when.

    A table of its own rather than columns of the service: providers update it
    daily, under its own version, so a capacity update and an edit of the
    service's description never refuse each other with 412. No row: unknown.
    """

    __tablename__ = "provider_capacity"
    __table_args__ = (
        sa.CheckConstraint(
            "places_free >= 0 AND places_free <= places_total", name="places_within_total"
        ),
    )

    service_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("provider_service.id", ondelete="CASCADE"), primary_key=True
        )
    )
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    places_total: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    places_free: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_by: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
