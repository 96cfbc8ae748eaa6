"""What goes over the wire for statistics: counts over fixed dimensions, never a record."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class Dimension(StrEnum):
    sex = "sex"
    age_group = "age_group"
    nationality = "nationality"
    exploitation_form = "exploitation_form"
    country_of_exploitation = "country_of_exploitation"
    phase = "phase"
    outcome = "outcome"
    service_type = "service_type"
    year = "year"


class SecondaryDimension(StrEnum):
    """What family members (secondary beneficiaries) are counted over."""

    relationship = "relationship"
    sex = "sex"
    age_group = "age_group"
    year = "year"


AnyDimension = Dimension | SecondaryDimension
# What a table counts: persons assisted, or their family members assisted.
Unit = Literal["persons", "secondary_beneficiaries"]

# A person counts under each of their values in these (several forms of exploitation).
MULTI_VALUED = frozenset(
    {Dimension.exploitation_form, Dimension.country_of_exploitation, Dimension.service_type}
)


class StatisticsCell(BaseModel):
    values: dict[str, str] = Field(description="The dimension values of this cell")
    count: int | None = Field(description="Persons; null when suppressed")
    suppressed: Literal["primary", "complementary"] | None = Field(
        description="`primary`: too small to publish; `complementary`: hidden so that "
        "totals cannot reveal a small cell"
    )


class StatisticsMargin(BaseModel):
    dimension: AnyDimension
    value: str
    count: int | None
    suppressed: bool


class StatisticsTable(BaseModel):
    organisation_ids: list[uuid.UUID]
    period_start: date
    period_end: date
    dimensions: list[AnyDimension]
    unit: Unit = Field(
        default="persons",
        description="`persons`: persons assisted; `secondary_beneficiaries`: their family "
        "members assisted",
    )
    multi_valued: list[Dimension] = Field(
        description="Dimensions where a person counts under each of their values: cells and "
        "total then count person-value pairs, and `persons` counts people"
    )
    threshold: int = Field(description="Cells from 1 to threshold - 1 are never published")
    cells: list[StatisticsCell]
    margins: list[StatisticsMargin] = Field(description="Row and column totals (two dimensions)")
    total: int | None
    persons: int | None = Field(description="Distinct persons counted; null when suppressed")
    suppressed_cells: int
    suppressed_margins: int
