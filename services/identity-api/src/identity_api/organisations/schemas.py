"""What goes over the wire for organisations."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from baton.auth import OrgKind
from baton.countries import CountryCode


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: OrgKind
    country: CountryCode = Field(description="ISO 3166-1 alpha-2")


class OrganisationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    country: CountryCode | None = None
    active: bool | None = Field(
        default=None, description="An inactive organisation's clients get no tokens"
    )


class OrganisationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: OrgKind
    country: str
    active: bool
    created_at: datetime
    updated_at: datetime
