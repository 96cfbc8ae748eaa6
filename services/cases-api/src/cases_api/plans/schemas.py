"""What goes over the wire for plan services; money is a decimal string, never a float."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from baton.money import Amount, Currency
from cases_api.plans.models import ServiceStatus, ServiceType

ProviderName = Annotated[str, Field(min_length=1, max_length=200)]


class _Provider(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider_organisation_id: uuid.UUID | None = Field(
        default=None, description="Another Baton organisation providing it; null: your own"
    )
    provider_name: ProviderName | None = Field(
        default=None, description="A provider outside Baton, by name (never a person's)"
    )

    @model_validator(mode="after")
    def _one_provider(self) -> Self:
        if self.provider_organisation_id is not None and self.provider_name is not None:
            raise ValueError("name a provider by organisation id or by name, not both")
        return self


class CaseServiceCreate(_Provider):
    service_type: ServiceType
    planned_start: date | None = None
    planned_end: date | None = None
    cost_amount: Amount | None = None
    cost_currency: Currency | None = None
    grant_id: uuid.UUID | None = Field(default=None, description="The grants-api grant paying")

    @model_validator(mode="after")
    def _cost_is_whole(self) -> Self:
        if (self.cost_amount is None) != (self.cost_currency is None):
            raise ValueError("cost_amount and cost_currency go together: both or neither")
        return self


class CaseServiceUpdate(_Provider):
    """Only what is sent changes; `null` clears a field (not `service_type` or `status`)."""

    service_type: ServiceType | None = None
    status: ServiceStatus | None = Field(
        default=None,
        description="planned -> in_progress -> delivered; planned or in_progress -> cancelled",
    )
    planned_start: date | None = None
    planned_end: date | None = None
    started_on: date | None = None
    delivered_on: date | None = Field(default=None, description="Required to become delivered")
    cost_amount: Amount | None = None
    cost_currency: Currency | None = None
    grant_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _cost_is_whole(self) -> Self:
        sent = {"cost_amount", "cost_currency"} & self.model_fields_set
        if sent and (len(sent) == 1 or (self.cost_amount is None) != (self.cost_currency is None)):
            raise ValueError("change cost_amount and cost_currency together: both or neither")
        return self


class CaseServiceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    case_id: uuid.UUID
    beneficiary_id: uuid.UUID
    service_type: ServiceType
    status: ServiceStatus
    planned_start: date | None
    planned_end: date | None
    started_on: date | None
    delivered_on: date | None
    provider_organisation_id: uuid.UUID | None
    provider_name: str | None
    cost_amount: Decimal | None = Field(description="A decimal string with two places")
    cost_currency: str | None
    grant_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime
