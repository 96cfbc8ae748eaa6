"""What goes over the wire for grants (360Giving field meaning, snake_case here)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from baton.countries import CountryCode
from baton.money import Amount, Currency

Title = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(min_length=1, max_length=4000)]
Countries = Annotated[list[CountryCode], Field(max_length=60)]
Reason = Annotated[str, Field(min_length=1, max_length=1000)]
Reference = Annotated[
    str,
    Field(
        min_length=1,
        max_length=50,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Your own reference; the grant's 360Giving identifier is the "
        "publisher's prefix and this",
        examples=["2011-AL-03"],
    ),
]


class FunderShare(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation_id: uuid.UUID = Field(description="A donor organisation co-funding the grant")
    amount: Amount = Field(description="Its share, in the grant's currency")


CoFunders = Annotated[list[FunderShare], Field(max_length=20)]


def _distinct_funders(co_funders: list[FunderShare] | None) -> None:
    if co_funders is not None:
        ids = [share.organisation_id for share in co_funders]
        if len(set(ids)) != len(ids):
            raise ValueError("each co-funder is listed once")


class GrantCreate(BaseModel):
    """A grant in `draft`; `award` makes it binding."""

    model_config = ConfigDict(extra="forbid")

    reference: Reference
    programme_id: uuid.UUID | None = None
    recipient_organisation_id: uuid.UUID = Field(description="The NGO receiving the grant")
    title: Title
    description: Description | None = None
    currency: Currency
    amount_applied_for: Amount | None = None
    amount_awarded: Amount | None = Field(
        default=None, description="May be left for the award; your share is what co-funders leave"
    )
    co_funders: CoFunders = Field(default_factory=list)
    planned_start: date
    planned_end: date
    beneficiary_countries: Countries = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.planned_end < self.planned_start:
            raise ValueError("planned_end comes on or after planned_start")
        _distinct_funders(self.co_funders)
        return self


class GrantUpdate(BaseModel):
    """Fields left out keep their value. After the award every change is an amendment
    and needs a `reason`; the identifier, recipient and currency never change."""

    model_config = ConfigDict(extra="forbid")

    programme_id: uuid.UUID | None = None
    title: Title | None = None
    description: Description | None = None
    amount_applied_for: Amount | None = None
    amount_awarded: Amount | None = None
    co_funders: CoFunders | None = None
    planned_start: date | None = None
    planned_end: date | None = None
    actual_start: date | None = None
    actual_end: date | None = None
    beneficiary_countries: Countries | None = None
    reason: Reason | None = Field(default=None, description="Why: required after the award")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for field in ("title", "planned_start", "planned_end", "beneficiary_countries"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        _distinct_funders(self.co_funders)
        return self


class AwardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    award_date: date
    amount_awarded: Amount | None = Field(default=None, description="If not set before")


class ActivateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actual_start: date | None = Field(default=None, description="Default: the planned start")


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actual_end: date | None = Field(default=None, description="Default: the planned end")


class TerminateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason
    actual_end: date | None = Field(default=None, description="Default: today")


class FunderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    organisation_id: uuid.UUID
    amount: Decimal
    managing: bool


class GrantRead(BaseModel):
    id: uuid.UUID
    identifier: str
    programme_id: uuid.UUID | None
    managing_organisation_id: uuid.UUID
    recipient_organisation_id: uuid.UUID
    funders: list[FunderRead] = Field(description="Each funder's share (co-funding)")
    title: str
    description: str | None
    currency: str
    amount_applied_for: Decimal | None
    amount_awarded: Decimal | None
    award_date: date | None
    planned_start: date
    planned_end: date
    actual_start: date | None
    actual_end: date | None
    beneficiary_countries: list[str]
    status: str
    version: int
    created_at: datetime
    updated_at: datetime


class AmendmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    grant_id: uuid.UUID
    number: int
    reason: str
    changes: dict[str, Any] = Field(description='{"field": {"before": ..., "after": ...}}')
    version_after: int
    changed_by: str
    changed_at: datetime
