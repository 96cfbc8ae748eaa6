"""Cases: one stretch of assistance for a beneficiary (a person may come back)."""

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


class Case(CasesTable, table=True):
    __tablename__ = "case_file"
    # Lists read one organisation's rows in cursor order (migration cases_0008).
    __table_args__ = (
        sa.Index(
            "ix_case_file_organisation_id_created_at_id", "organisation_id", "created_at", "id"
        ),
        sa.CheckConstraint(
            "(restricted_reason IS NULL) = (restricted_by IS NULL) "
            "AND (restricted_reason IS NULL) = (restricted_at IS NULL)",
            name="restriction_complete",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    beneficiary_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("beneficiary.id"), nullable=False, index=True)
    )
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    assistance_started_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    # The case manager's phase, when it differs from the one the start date gives.
    phase_override: str | None = Field(default=None, sa_column=sa.Column(sa.String(16)))
    phase_override_reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(500)))
    phase_override_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    phase_override_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    exploitation_forms: list[str] = Field(
        default_factory=list, sa_column=sa.Column(ARRAY(sa.String(32)), nullable=False)
    )
    identification_stage: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    referral_source: str | None = Field(default=None, sa_column=sa.Column(sa.String(32)))
    # The referral-api referral this case was opened from; one case per referral.
    referral_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, nullable=True, unique=True)
    )
    assigned_to: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    # Set while the case is restricted: only `assigned_to` reads its identity and notes,
    # others only under break-glass (cases_api.access).
    restricted_reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(32)))
    restricted_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    restricted_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    risk_level: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    # Protection clocks: the reflection and recovery period.
    reflection_jurisdiction: str | None = Field(default=None, sa_column=sa.Column(sa.CHAR(2)))
    reflection_started_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    reflection_days: int | None = Field(default=None, sa_column=sa.Column(sa.SmallInteger))
    reflection_ends_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    reflection_informed_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    reflection_informed_at: datetime | None = Field(
        default=None, sa_column=_timestamp(nullable=True)
    )
    outcome: str | None = Field(default=None, sa_column=sa.Column(sa.String(32)))
    closed_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    closed_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
