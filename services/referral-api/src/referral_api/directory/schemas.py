"""What goes over the wire for the directory: codes and vocabularies, never a location."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from baton.countries import ISO_3166_ALPHA_2, CountryCode
from referral_api.vocabulary import ExploitationForm, ServiceType, TargetGroup

MAX_PLACES = 10_000


def _known_country(code: str) -> str:
    if code not in ISO_3166_ALPHA_2:
        raise ValueError("not an ISO 3166-1 alpha-2 country code (upper case, e.g. 'AL')")
    return code


def _region_country(code: str) -> str:
    # The subdivision list itself (thousands of codes) is not carried: shape and country.
    if code[:2] not in ISO_3166_ALPHA_2:
        raise ValueError("not an ISO 3166-2 subdivision code (e.g. 'AL-11')")
    return code


# Codes only (with their pattern in OpenAPI): no place name, no free text travels.
RegionCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$"),
    AfterValidator(_region_country),
]
LanguageCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z]{2,3}$"), AfterValidator(str.lower)
]
# CountryCode for queries, with the pattern in OpenAPI: a filter is a code, never text.
CountryFilter = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{2}$"), AfterValidator(_known_country)
]
Phone = Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164")]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[
    str,
    Field(
        min_length=1,
        max_length=500,
        description="What the provider does, for professionals; never an address",
    ),
]
Eligibility = Annotated[
    str,
    Field(
        min_length=1,
        max_length=300,
        description="Who the service takes, in general terms (never about a person)",
    ),
]


class ProviderCreate(BaseModel):
    """A directory entry. There is no address field: shelters' locations are never shared."""

    model_config = ConfigDict(extra="forbid")

    organisation_id: uuid.UUID | None = Field(
        default=None,
        description="Your own organisation if left out; platform administrators name the NGO",
    )
    name: Name
    country: CountryCode
    description: Description | None = None
    regions_served: list[RegionCode] = Field(
        default_factory=list,
        max_length=50,
        description="ISO 3166-2 subdivisions of `country`; empty: the whole country",
    )
    languages: list[LanguageCode] = Field(default_factory=list, max_length=20)
    available_24_7: bool = False
    accepts_referrals: bool = True
    intake_phone: Phone | None = Field(default=None, description="The intake desk, E.164")
    intake_email: Email | None = Field(default=None, description="The intake desk")


class ProviderUpdate(BaseModel):
    """Fields left out keep their value; `description` and the intake contacts clear on null."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    country: CountryCode | None = None
    description: Description | None = None
    regions_served: list[RegionCode] | None = Field(default=None, max_length=50)
    languages: list[LanguageCode] | None = Field(default=None, max_length=20)
    available_24_7: bool | None = None
    accepts_referrals: bool | None = None
    intake_phone: Phone | None = None
    intake_email: Email | None = None
    active: bool | None = Field(default=None, description="false hides the entry from lists")


class ServiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_type: ServiceType
    target_groups: list[TargetGroup] = Field(min_length=1, max_length=5)
    exploitation_forms: list[ExploitationForm] = Field(
        min_length=1, max_length=7, description="The forms of exploitation the service takes"
    )
    eligibility: Eligibility | None = None


class ServiceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_type: ServiceType | None = None
    target_groups: list[TargetGroup] | None = Field(default=None, min_length=1, max_length=5)
    exploitation_forms: list[ExploitationForm] | None = Field(
        default=None, min_length=1, max_length=7
    )
    eligibility: Eligibility | None = None


class CapacityUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    places_total: int = Field(ge=0, le=MAX_PLACES)
    places_free: int = Field(ge=0, le=MAX_PLACES)

    @model_validator(mode="after")
    def _free_within_total(self) -> CapacityUpdate:
        if self.places_free > self.places_total:
            raise ValueError("places_free cannot exceed places_total")
        return self


class CapacityRead(BaseModel):
    places_total: int
    places_free: int
    version: int = Field(description="Send it in If-Match to replace these figures")
    updated_at: datetime
    updated_by: str | None = Field(description="Who said so; shown to the provider's own staff")


class ServiceRead(BaseModel):
    id: uuid.UUID
    provider_id: uuid.UUID
    organisation_id: uuid.UUID
    service_type: ServiceType
    target_groups: list[TargetGroup]
    exploitation_forms: list[ExploitationForm]
    eligibility: str | None
    capacity: CapacityRead | None = Field(description="null until the provider reports it")
    version: int
    created_at: datetime
    updated_at: datetime


class ProviderRead(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    country: str
    description: str | None
    regions_served: list[str]
    languages: list[str]
    available_24_7: bool
    accepts_referrals: bool
    intake_phone: str | None
    intake_email: str | None
    active: bool
    services: list[ServiceRead]
    version: int
    created_at: datetime
    updated_at: datetime


class CapacityMatch(BaseModel):
    """A provider's service with free places now: counts and names, nothing about anyone."""

    provider_id: uuid.UUID
    provider_name: str
    service_id: uuid.UUID
    places_free: int
    updated_at: datetime = Field(description="When the provider last reported; judge its age")


class CapacityAnswer(BaseModel):
    items: list[CapacityMatch] = Field(description="Most free places first")
    truncated: bool = Field(description="More providers matched than are listed; narrow it")
