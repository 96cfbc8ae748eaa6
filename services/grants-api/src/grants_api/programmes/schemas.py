"""What goes over the wire for programmes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from baton.countries import CountryCode
from baton.money import Currency

Name = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(min_length=1, max_length=2000)]
Countries = Annotated[list[CountryCode], Field(max_length=60)]
CoFunders = Annotated[
    list[uuid.UUID],
    Field(max_length=20, description="Donor organisations co-funding it, besides yours"),
]


def _distinct(values: list[CountryCode] | list[uuid.UUID] | None, what: str) -> None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError(f"{what} are listed once each")


class ProgrammeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description | None = None
    countries: Countries = Field(default_factory=list)
    period_start: date
    period_end: date
    currency: Currency
    co_funder_organisation_ids: CoFunders = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.period_end < self.period_start:
            raise ValueError("period_end comes on or after period_start")
        _distinct(self.countries, "countries")
        _distinct(self.co_funder_organisation_ids, "co-funders")
        return self


class ProgrammeUpdate(BaseModel):
    """Fields left out keep their value; `co_funder_organisation_ids` replaces the list."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    countries: Countries | None = None
    period_start: date | None = None
    period_end: date | None = None
    co_funder_organisation_ids: CoFunders | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for field in ("name", "countries", "period_start", "period_end"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        _distinct(self.countries, "countries")
        _distinct(self.co_funder_organisation_ids, "co-funders")
        return self


class ProgrammeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    managing_organisation_id: uuid.UUID
    funder_organisation_ids: list[uuid.UUID]
    name: str
    description: str | None
    countries: list[str]
    period_start: date
    period_end: date
    currency: str
    version: int
    created_at: datetime
    updated_at: datetime
