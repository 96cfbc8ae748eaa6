"""Consents: what a beneficiary agreed to (or the legal basis used without agreement).

A record is never edited: a person who changes their mind withdraws it and, if
need be, gives a new one, so what was allowed on any past day can be shown.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field

from baton.db import utcnow
from cases_api.db import CasesTable


def _timestamp(nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


class Consent(CasesTable, table=True):
    __tablename__ = "consent"
    # The API checks the same; these hold for rows written by any other path too.
    __table_args__ = (
        sa.CheckConstraint(
            "type <> 'sharing' OR recipient_organisation_id IS NOT NULL",
            name="sharing_names_recipient",
        ),
        sa.CheckConstraint(
            "type <> 'cross_border_transfer' OR recipient_country IS NOT NULL",
            name="transfer_names_country",
        ),
        sa.CheckConstraint(
            "legal_basis IS NULL OR legal_basis = 'consent' OR legal_basis_note IS NOT NULL",
            name="legal_basis_explained",
        ),
        sa.CheckConstraint(
            "expires_on IS NULL OR expires_on > given_on", name="expires_after_given"
        ),
        sa.CheckConstraint(
            "(withdrawn_at IS NULL) = (withdrawn_by IS NULL)", name="withdrawal_complete"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    beneficiary_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("beneficiary.id"), nullable=False, index=True)
    )
    type: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    # Another Baton organisation (identity-api id); required for `sharing`.
    recipient_organisation_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, nullable=True)
    )
    recipient_country: str | None = Field(default=None, sa_column=sa.Column(sa.CHAR(2)))
    scope: list[str] = Field(
        default_factory=list, sa_column=sa.Column(ARRAY(sa.String(32)), nullable=False)
    )
    legal_basis: str | None = Field(default=None, sa_column=sa.Column(sa.String(32)))
    legal_basis_note: str | None = Field(default=None, sa_column=sa.Column(sa.String(500)))
    given_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    # The first day the consent no longer holds.
    expires_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    withdrawn_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    withdrawn_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    recorded_by: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    # The language the person was informed in (ISO 639-1 or -3).
    language: str | None = Field(default=None, sa_column=sa.Column(sa.String(3)))
    interpreter_used: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
