"""Grants (360Giving field meaning), their funders' shares, their amendments, and the
idempotency keys of grants-api's POSTs.

A grant is visible to its parties: the recipient NGO and every funder
(`party_organisation_ids`, kept by the service). Tables about a grant show a row
when its grant is visible (row-level security through the grant).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field

from baton.idempotency import idempotency_table
from grants_api.columns import (
    MONEY,
    countries_column,
    grant_id_column,
    id_column,
    moment_column,
    money_column,
    now_column,
    org_column,
    text_column,
)
from grants_api.db import GrantsTable

IdempotencyKey = idempotency_table(GrantsTable.metadata)


class Grant(GrantsTable, table=True):
    __tablename__ = "grant_award"
    __table_args__ = (
        sa.CheckConstraint("planned_end >= planned_start", name="planned_runs_forward"),
        sa.CheckConstraint(
            "actual_end IS NULL OR actual_start IS NULL OR actual_end >= actual_start",
            name="actual_runs_forward",
        ),
        sa.CheckConstraint(
            "recipient_organisation_id = ANY(party_organisation_ids) "
            "AND managing_organisation_id = ANY(party_organisation_ids)",
            name="parties_named",
        ),
    )

    id: uuid.UUID = id_column()
    # 360Giving's grant identifier: the funder's prefix and its own reference.
    identifier: str = Field(sa_column=sa.Column(sa.String(100), nullable=False, unique=True))
    programme_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("programme.id"), nullable=True, index=True),
    )
    # The donor that awarded it and manages it; co-funders are in `grant_funder`.
    managing_organisation_id: uuid.UUID = org_column()
    recipient_organisation_id: uuid.UUID = org_column()
    party_organisation_ids: list[uuid.UUID] = Field(
        sa_column=sa.Column(ARRAY(sa.Uuid), nullable=False)
    )
    title: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    description: str | None = text_column(4000)
    currency: str = Field(sa_column=sa.Column(sa.String(3), nullable=False))
    amount_applied_for: Decimal | None = money_column(nullable=True)
    amount_awarded: Decimal | None = money_column(nullable=True)
    award_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    planned_start: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    planned_end: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    actual_start: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    actual_end: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    beneficiary_countries: list[str] = countries_column()
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False, index=True))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    # The budget is replaced as a whole; its own version guards that (If-Match).
    budget_version: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    created_by: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    created_at: datetime = now_column()
    updated_at: datetime = now_column()
    closed_at: datetime | None = moment_column()


class GrantFunder(GrantsTable, table=True):
    """A funder's share of a grant, in the grant's currency (co-funding)."""

    __tablename__ = "grant_funder"

    grant_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("grant_award.id", ondelete="CASCADE"), primary_key=True
        )
    )
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))


class GrantAmendment(GrantsTable, table=True):
    """One change to a grant after its award: what changed, from what to what, why."""

    __tablename__ = "grant_amendment"
    __table_args__ = (sa.UniqueConstraint("grant_id", "number"),)

    id: uuid.UUID = id_column()
    grant_id: uuid.UUID = grant_id_column()
    number: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    reason: str = Field(sa_column=sa.Column(sa.String(1000), nullable=False))
    # {"field": {"before": ..., "after": ...}}, JSON values as the API shows them.
    changes: dict[str, Any] = Field(sa_column=sa.Column(JSONB, nullable=False))
    version_after: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    changed_by: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    changed_at: datetime = now_column()
