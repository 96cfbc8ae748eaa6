"""What goes over the wire for family members: attributes in the clear, identity apart."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cases_api.vocabulary import AgeGroup, ServiceType, Sex


class Relationship(StrEnum):
    """The family member's relation to the primary beneficiary."""

    child = "child"
    parent = "parent"
    sibling = "sibling"
    partner = "partner"
    other_relative = "other_relative"
    other = "other"


def _distinct(services: list[ServiceType]) -> list[ServiceType]:
    return sorted(set(services))


class SecondaryIdentity(BaseModel):
    """Who the family member is; stored encrypted, read only with `case:read_identity`."""

    model_config = ConfigDict(extra="forbid")

    given_names: str = Field(min_length=1, max_length=200)
    family_names: str | None = Field(default=None, max_length=200)
    date_of_birth: date | None = None


class SecondaryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    relationship: Relationship
    sex: Sex
    age_group: AgeGroup
    services_received: list[ServiceType] = Field(default_factory=list, max_length=12)
    identity: SecondaryIdentity | None = Field(
        default=None, description="Optional: family members are helped without being named"
    )

    @field_validator("services_received")
    @classmethod
    def _services(cls, services: list[ServiceType]) -> list[ServiceType]:
        return _distinct(services)


class SecondaryUpdate(BaseModel):
    """Fields to change; `identity: null` removes the recorded identity."""

    model_config = ConfigDict(extra="forbid")

    relationship: Relationship | None = None
    sex: Sex | None = None
    age_group: AgeGroup | None = None
    services_received: list[ServiceType] | None = Field(default=None, max_length=12)
    identity: SecondaryIdentity | None = None

    @field_validator("services_received")
    @classmethod
    def _services(cls, services: list[ServiceType] | None) -> list[ServiceType] | None:
        return None if services is None else _distinct(services)


class SecondaryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    beneficiary_id: uuid.UUID = Field(description="The primary beneficiary")
    relationship: Relationship
    sex: Sex
    age_group: AgeGroup
    services_received: list[ServiceType]
    has_identity: bool = Field(description="An identity is recorded and still readable")
    version: int
    created_at: datetime
    updated_at: datetime
    identity: SecondaryIdentity | None = Field(
        default=None, description="Only with `include=identity` (audited)"
    )
