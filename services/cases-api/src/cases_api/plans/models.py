"""Services of a re/integration plan: what is planned and delivered for one case.

No free text lives here (what was said belongs to the encrypted notes): the rows
are counted by statistics and, through `grant_id`, by what a grant bought.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from baton.db import utcnow
from cases_api.db import CasesTable
from cases_api.vocabulary import ServiceType

__all__ = ["CaseService", "ServiceStatus", "ServiceType"]


class ServiceStatus(StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    delivered = "delivered"
    cancelled = "cancelled"


# Where each status may go next; delivered and cancelled are final.
TRANSITIONS: dict[ServiceStatus, frozenset[ServiceStatus]] = {
    ServiceStatus.planned: frozenset({ServiceStatus.in_progress, ServiceStatus.cancelled}),
    ServiceStatus.in_progress: frozenset({ServiceStatus.delivered, ServiceStatus.cancelled}),
    ServiceStatus.delivered: frozenset(),
    ServiceStatus.cancelled: frozenset(),
}


def _timestamp() -> sa.Column[datetime]:
    return sa.Column(sa.DateTime(timezone=True), nullable=False)


class CaseService(CasesTable, table=True):
    __tablename__ = "case_service"
    # The API checks the same; these hold for rows written by any other path too.
    __table_args__ = (
        sa.CheckConstraint(
            "(cost_amount IS NULL) = (cost_currency IS NULL)", name="cost_amount_with_currency"
        ),
        sa.CheckConstraint("cost_amount >= 0", name="cost_amount_not_negative"),
        sa.CheckConstraint("cost_currency ~ '^[A-Z]{3}$'", name="cost_currency_iso_4217"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    case_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("case_file.id"), nullable=False, index=True)
    )
    beneficiary_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("beneficiary.id"), nullable=False, index=True)
    )
    service_type: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    planned_start: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    planned_end: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    started_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    delivered_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    # Null: the case's own organisation provides it; else another Baton organisation.
    provider_organisation_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, nullable=True)
    )
    # A provider outside Baton (a clinic, a training centre), by its name.
    provider_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    cost_amount: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(14, 2)))
    cost_currency: str | None = Field(default=None, sa_column=sa.Column(sa.CHAR(3)))
    # An opaque grants-api grant id: donors see in aggregate what their money bought.
    grant_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
