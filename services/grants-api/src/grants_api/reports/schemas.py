"""What goes over the wire for donor reports: money as decimal strings, counts as
cases-api published them (a suppressed count is null and says so, never 0)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from baton.money import Amount

# Differences (what is left to spend, a balance) may run below zero; sums never do.
SignedAmount = Annotated[
    Decimal, Field(max_digits=15, decimal_places=2, allow_inf_nan=False, examples=["-120.00"])
]
Share = Annotated[
    Decimal, Field(max_digits=7, decimal_places=4, allow_inf_nan=False, examples=["0.5833"])
]


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"


class SubjectType(StrEnum):
    grant = "grant"
    programme = "programme"


class ReportSubject(BaseModel):
    type: SubjectType
    id: uuid.UUID
    name: str = Field(description="The grant's title or the programme's name")
    identifier: str | None = Field(description="The grant's 360Giving identifier")


class ReportPeriod(BaseModel):
    start: date
    end: date


# Finances ------------------------------------------------------------------------------


class CategoryFigures(BaseModel):
    category: str = Field(description="A budget category")
    budgeted: Amount
    spent_in_period: Amount
    spent_to_date: Amount = Field(description="Up to the period's end")
    remaining: SignedAmount = Field(description="budgeted - spent_to_date")


class FunderFigures(BaseModel):
    organisation_id: uuid.UUID
    amount: Amount = Field(description="The funder's share of the awarded amount")
    share: Share | None = Field(description="amount / awarded; null when nothing is awarded")


class MoneyFigures(BaseModel):
    """The same figures for one grant or, summed, for the grants of one currency."""

    currency: str
    awarded: Amount | None = Field(description="Null for a grant not yet awarded")
    disbursed_in_period: Amount
    disbursed_to_date: Amount = Field(description="Paid up to the period's end")
    spent_in_period: Amount = Field(
        description="Expenditure the NGO reported for periods ending in this one"
    )
    spent_to_date: Amount
    remaining_to_disburse: SignedAmount | None = Field(description="awarded - disbursed_to_date")
    balance: SignedAmount = Field(
        description="disbursed_to_date - spent_to_date: received and not yet reported spent"
    )
    by_category: list[CategoryFigures]
    funders: list[FunderFigures]


class GrantFigures(MoneyFigures):
    grant_id: uuid.UUID
    identifier: str
    title: str
    status: str
    recipient_organisation_id: uuid.UUID


class ReportCurrencyTotals(MoneyFigures):
    grants: int = Field(description="How many grants in this currency are summed")


class ReportFinances(BaseModel):
    grants: list[GrantFigures]
    totals: list[ReportCurrencyTotals] = Field(
        description="One entry per currency: amounts are never added across currencies"
    )


# Outcomes (cases-api's tables, copied as published) ------------------------------------


class StatisticsCell(BaseModel):
    model_config = ConfigDict(extra="ignore")

    values: dict[str, str]
    count: int | None = Field(ge=0)
    suppressed: Literal["primary", "complementary"] | None

    @model_validator(mode="after")
    def _suppressed_has_no_count(self) -> Self:
        if self.suppressed is not None and self.count is not None:
            raise ValueError("a suppressed cell carries no count")
        return self


class StatisticsMargin(BaseModel):
    model_config = ConfigDict(extra="ignore")

    dimension: str
    value: str
    count: int | None = Field(ge=0)
    suppressed: bool


class StatisticsTable(BaseModel):
    """cases-api's table; only these aggregate fields are ever copied from its answer."""

    model_config = ConfigDict(extra="ignore")

    organisation_ids: list[uuid.UUID]
    period_start: date
    period_end: date
    dimensions: list[str]
    unit: str = Field(description="`persons`, or `secondary_beneficiaries`")
    multi_valued: list[str]
    threshold: int
    cells: list[StatisticsCell]
    margins: list[StatisticsMargin]
    total: int | None = Field(ge=0)
    persons: int | None = Field(ge=0)
    suppressed_cells: int
    suppressed_margins: int


class SecondaryUnavailable(BaseModel):
    status: Literal["unavailable"] = "unavailable"
    reason: str


class SecondaryAvailable(BaseModel):
    status: Literal["available"] = "available"
    table: StatisticsTable


class OutcomesUnavailable(BaseModel):
    status: Literal["unavailable"] = "unavailable"
    reason: str


class OutcomesAvailable(BaseModel):
    status: Literal["available"] = "available"
    organisation_ids: list[uuid.UUID] = Field(description="The recipient NGOs counted")
    persons: int | None = Field(description="Persons assisted; null when suppressed")
    reintegrated_share: Share | None = Field(
        description="Persons reintegrated (outcome at the period's end) / persons"
    )
    reintegrated_share_reason: str | None = Field(
        description="Why `reintegrated_share` is null, when it is"
    )
    tables: list[StatisticsTable] = Field(description="One table per dimension")
    secondary_beneficiaries: SecondaryAvailable | SecondaryUnavailable = Field(
        discriminator="status"
    )


Outcomes = Annotated[OutcomesAvailable | OutcomesUnavailable, Field(discriminator="status")]


# Funding mix and reporting compliance ---------------------------------------------------


class ReportFundingLine(BaseModel):
    source: str
    kind: str = Field(description="`cash` or `in_kind`")
    amount: Amount
    currency: str


class ReportFundingYear(BaseModel):
    organisation_id: uuid.UUID
    year: int
    lines: list[ReportFundingLine]


class ReportRequirement(BaseModel):
    requirement_id: uuid.UUID
    grant_id: uuid.UUID
    grant_identifier: str
    kind: str
    due_on: date
    status: str = Field(description="As stored, or `overdue` when due or sent back and late")
    first_submitted_at: datetime | None
    submitted_late: bool = Field(description="First submitted after the day it was due")


class ReportCompliance(BaseModel):
    today: date
    requirements: int
    accepted: int
    submitted: int
    due: int
    overdue: int
    revision_requested: int
    submitted_late: int
    items: list[ReportRequirement]


# The report ------------------------------------------------------------------------------


class DonorReport(BaseModel):
    subject: ReportSubject
    period: ReportPeriod
    currency: str = Field(description="The grant's currency, or the programme's own")
    generated_at: datetime
    finances: ReportFinances
    outcomes: Outcomes
    funding_mix: list[ReportFundingYear] = Field(
        description="The recipient NGOs' funding, per year of the period"
    )
    reporting_compliance: ReportCompliance
