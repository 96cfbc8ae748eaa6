"""What goes over the wire for a grant's money. Amounts are decimal strings with two
places ("1250.00"), in the grant's currency unless a field says otherwise."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from baton.money import Amount, Currency, ExchangeRate
from grants_api.vocabulary import BudgetCategory

# A payment or a spending of nothing records nothing.
PositiveAmount = Annotated[Amount, Field(gt=0)]
Label = Annotated[str, Field(min_length=1, max_length=200)]
PaymentReference = Annotated[str, Field(min_length=1, max_length=100)]
LineDescription = Annotated[str, Field(min_length=1, max_length=500)]


class TrancheCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_on: date
    amount: PositiveAmount
    label: Label | None = Field(default=None, examples=["Second instalment"])


class TrancheRead(BaseModel):
    id: uuid.UUID
    grant_id: uuid.UUID
    due_on: date
    amount: Decimal
    label: str | None
    disbursed: Decimal = Field(description="What the disbursements naming this tranche paid")
    created_at: datetime


class TrancheList(BaseModel):
    """Every tranche of the grant, by due date (a grant has a handful: no pages)."""

    items: list[TrancheRead]


class DisbursementCreate(BaseModel):
    """Money paid. A payment made in another currency gives `paid_amount`,
    `paid_currency`, `exchange_rate` (grant currency per paid unit) and `rate_date`
    together; `amount` may then be left out and is computed, rounded to cents."""

    model_config = ConfigDict(extra="forbid")

    disbursed_on: date
    amount: PositiveAmount | None = Field(
        default=None, description="In the grant's currency; computed from a conversion if omitted"
    )
    tranche_id: uuid.UUID | None = Field(default=None, description="The tranche this pays")
    paid_amount: PositiveAmount | None = None
    paid_currency: Currency | None = None
    exchange_rate: ExchangeRate | None = Field(
        default=None, description="Units of the grant's currency one unit of the paid one buys"
    )
    rate_date: date | None = None
    reference: PaymentReference | None = Field(
        default=None, description="The payment's reference (e.g. the bank's)"
    )


class DisbursementRead(BaseModel):
    id: uuid.UUID
    grant_id: uuid.UUID
    tranche_id: uuid.UUID | None
    disbursed_on: date
    amount: Decimal
    currency: str = Field(description="The grant's currency, that of `amount`")
    paid_amount: Decimal | None
    paid_currency: str | None
    exchange_rate: Decimal | None
    rate_date: date | None
    reference: str | None
    created_at: datetime


class BudgetLineWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: BudgetCategory
    amount: Amount
    description: LineDescription | None = None


class BudgetReplace(BaseModel):
    """The whole budget: every line at once, one per category at most."""

    model_config = ConfigDict(extra="forbid")

    lines: Annotated[list[BudgetLineWrite], Field(max_length=20)]


class BudgetLineRead(BaseModel):
    category: BudgetCategory
    amount: Decimal
    description: str | None


class BudgetRead(BaseModel):
    currency: str
    lines: list[BudgetLineRead] = Field(description="In the vocabulary's order of categories")
    total: Decimal
    version: int = Field(description="Also the ETag; 0 before any budget")


class ExpenditureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: BudgetCategory
    period_start: date
    period_end: date
    amount: PositiveAmount
    description: LineDescription | None = None


class ExpenditureRead(BaseModel):
    id: uuid.UUID
    grant_id: uuid.UUID
    category: BudgetCategory
    period_start: date
    period_end: date
    amount: Decimal
    currency: str
    description: str | None
    reported_at: datetime


class CategoryFinances(BaseModel):
    category: BudgetCategory
    budgeted: Decimal
    spent: Decimal
    remaining: Decimal = Field(description="budgeted - spent; below zero when overspent")


class BurnRate(BaseModel):
    months_elapsed: int = Field(
        description="Whole months from the start to the earlier of today and the end, at least 1"
    )
    spent_per_month: Decimal
    months_of_balance_left: Decimal | None = Field(
        description="balance / spent_per_month, one decimal place, never below 0; "
        "null while nothing is spent"
    )


class GrantFinances(BaseModel):
    """A grant's money at a glance, in its currency."""

    grant_id: uuid.UUID
    currency: str
    awarded: Decimal = Field(description="0.00 while no amount is awarded")
    planned_in_tranches: Decimal
    disbursed: Decimal
    remaining_to_disburse: Decimal = Field(description="awarded - disbursed")
    spent: Decimal
    balance: Decimal = Field(description="disbursed - spent: the money the NGO holds")
    by_category: list[CategoryFinances]
    burn_rate: BurnRate
    next_tranche: TrancheRead | None = Field(description="The earliest tranche not yet disbursed")


class CategorySpending(BaseModel):
    category: BudgetCategory
    budgeted: Decimal = Field(description="The grants' budgets, whole (not for the period)")
    spent: Decimal = Field(description="Expenditure whose period ends within the period")
    spent_to_date: Decimal = Field(description="Expenditure whose period ends by the period's end")


class PeriodFinances(BaseModel):
    """One grant, or several in one currency, over a period (`finances.summary`)."""

    currency: str | None = Field(description="null only for no grants")
    period_start: date
    period_end: date
    grants: int
    awarded: Decimal = Field(description="The grants' amounts awarded, whole")
    disbursed: Decimal = Field(description="Disbursed on a day within the period")
    disbursed_to_date: Decimal = Field(description="Disbursed up to the period's end")
    spent: Decimal = Field(description="Expenditure whose period ends within the period")
    spent_to_date: Decimal = Field(description="Expenditure whose period ends by the period's end")
    by_category: list[CategorySpending]
