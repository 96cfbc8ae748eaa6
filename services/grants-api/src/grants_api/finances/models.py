"""Money flows of a grant: planned tranches, actual disbursements, the budget by
category, and the expenditure the NGO reports against it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field

from grants_api.columns import (
    MONEY,
    grant_id_column,
    id_column,
    money_column,
    now_column,
    text_column,
)
from grants_api.db import GrantsTable


class Tranche(GrantsTable, table=True):
    """A planned payment."""

    __tablename__ = "tranche"

    id: uuid.UUID = id_column()
    grant_id: uuid.UUID = grant_id_column()
    due_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    label: str | None = text_column(200)
    created_by: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    created_at: datetime = now_column()


class Disbursement(GrantsTable, table=True):
    """Money paid. `amount` is in the grant's currency; a payment made in another
    currency keeps what was paid, the rate and the rate's date."""

    __tablename__ = "disbursement"
    __table_args__ = (
        sa.CheckConstraint(
            "(paid_amount IS NULL) = (paid_currency IS NULL) "
            "AND (paid_amount IS NULL) = (exchange_rate IS NULL) "
            "AND (paid_amount IS NULL) = (rate_date IS NULL)",
            name="conversion_whole",
        ),
    )

    id: uuid.UUID = id_column()
    grant_id: uuid.UUID = grant_id_column()
    tranche_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("tranche.id"), nullable=True, index=True),
    )
    disbursed_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    paid_amount: Decimal | None = money_column(nullable=True)
    paid_currency: str | None = text_column(3)
    exchange_rate: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(18, 8)))
    rate_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    reference: str | None = text_column(100)
    created_by: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    created_at: datetime = now_column()


class BudgetLine(GrantsTable, table=True):
    __tablename__ = "budget_line"
    __table_args__ = (sa.UniqueConstraint("grant_id", "category"),)

    id: uuid.UUID = id_column()
    grant_id: uuid.UUID = grant_id_column()
    category: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    description: str | None = text_column(500)


class Expenditure(GrantsTable, table=True):
    """What the NGO spent in a period under a budget category."""

    __tablename__ = "expenditure"
    __table_args__ = (sa.CheckConstraint("period_end >= period_start", name="period_runs_forward"),)

    id: uuid.UUID = id_column()
    grant_id: uuid.UUID = grant_id_column()
    category: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    period_start: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    period_end: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    description: str | None = text_column(500)
    reported_by: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    reported_at: datetime = now_column()
