"""What goes over the wire for the funding mix: a year's entries in, the year with its
totals and shares out. Amounts are decimal strings, never floats."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from baton.money import Amount, Currency
from grants_api.vocabulary import FundingKind, FundingSource

MAX_ENTRIES = 100
EntryDescription = Annotated[str, Field(min_length=1, max_length=500)]


class FundingEntryWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: FundingSource
    kind: FundingKind = Field(description="`in_kind`: goods or services valued in money")
    amount: Amount
    currency: Currency
    description: EntryDescription | None = Field(
        default=None,
        description="What the money or goods were, e.g. 'municipal building, rent-free'; "
        "never a person",
    )


class FundingYearWrite(BaseModel):
    """The whole year: it replaces the entries stored before."""

    model_config = ConfigDict(extra="forbid")

    entries: list[FundingEntryWrite] = Field(
        max_length=MAX_ENTRIES,
        description="One entry per (source, kind, currency); an empty list clears the year",
    )


class FundingEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    source: FundingSource
    kind: FundingKind
    amount: Decimal
    currency: str
    description: str | None


class CurrencyTotals(BaseModel):
    """The year's money in one currency (amounts in different currencies never add up)."""

    total: Decimal
    cash: Decimal
    in_kind: Decimal
    by_source: dict[FundingSource, Decimal] = Field(
        description="Cash and in kind together; sources without an entry are left out"
    )


class FundingYearRead(BaseModel):
    organisation_id: uuid.UUID
    year: int
    version: int = Field(description="Also the ETag, for If-Match when replacing the year")
    updated_at: datetime
    entries: list[FundingEntryRead] = Field(description="Ordered by currency, source, kind")
    totals: dict[str, CurrencyTotals] = Field(description="Per currency")
    shares: dict[str, dict[FundingSource, Decimal]] = Field(
        description="Per currency, each source's percentage of that currency's total, one "
        "decimal place (rounded half up, so they may not add up to exactly 100.0); 0.0 when "
        "the total is zero",
        examples=[{"EUR": {"foundation": "62.5", "private_sector": "37.5"}}],
    )
