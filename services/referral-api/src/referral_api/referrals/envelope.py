"""The envelope: what the recipient sees on submission. It never identifies the person.

Stored as one document (it travels whole, and a forward copies it whole); the
fields lists are filtered on are columns of `referral` as well.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from baton.countries import CountryCode
from referral_api.referrals.vocabulary import (
    ConsentBasis,
    ContactChannel,
    FieldGroup,
    GuardianType,
    HandoverLocation,
    IdentificationStage,
    Priority,
    ReferralSource,
    Sex,
    UrgencyReason,
)
from referral_api.vocabulary import ExploitationForm, ServiceType


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Consent(_Strict):
    """The person's consent, or the legal basis standing in for it."""

    basis: ConsentBasis
    scope: list[FieldGroup] = Field(
        max_length=4, description="The field groups of the person packet the recipient may read"
    )
    recorded_at: datetime
    recorded_by: str = Field(
        min_length=1, max_length=200, description="Who recorded it: an officer's id, not a name"
    )
    cross_border_consent: bool = Field(
        default=False, description="The person agreed to be referred across a border"
    )

    @field_validator("scope")
    @classmethod
    def _unique(cls, scope: list[FieldGroup]) -> list[FieldGroup]:
        return sorted(set(scope))


class CrossBorder(_Strict):
    origin_country: CountryCode = Field(description="Where the referral starts")
    destination_country: CountryCode = Field(description="Where the person is referred to")

    @model_validator(mode="after")
    def _two_countries(self) -> Self:
        if self.origin_country == self.destination_country:
            raise ValueError("a cross-border referral names two different countries")
        return self


class ReflectionPeriod(_Strict):
    starts_on: date
    ends_on: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("the reflection period cannot end before it starts")
        return self


class Safety(_Strict):
    immediate_danger: bool = False
    do_not_contact_via: list[ContactChannel] = Field(default_factory=list, max_length=6)


class Guardian(_Strict):
    """A child's guardian: that one is recorded, and by whom; never a name."""

    recorded: bool
    organisation_id: uuid.UUID | None = None
    type: GuardianType | None = None


class Handover(_Strict):
    proposed_at: datetime
    location_type: HandoverLocation


class Envelope(_Strict):
    priority: Priority = Priority.routine
    urgency_reason: UrgencyReason | None = Field(
        default=None, description="Required unless the priority is `routine`"
    )
    requested_services: list[ServiceType] = Field(default_factory=list, max_length=12)
    jurisdiction: CountryCode
    cross_border: CrossBorder | None = Field(
        default=None, description="null when the person stays in the jurisdiction"
    )
    identification_stage: IdentificationStage = IdentificationStage.presumed
    reflection_period: ReflectionPeriod | None = None
    safety: Safety = Field(default_factory=Safety)
    language: str | None = Field(default=None, description="ISO 639 code of 2 or 3 letters")
    interpreter_needed: bool = False
    is_child: bool = False
    guardian: Guardian | None = None
    handover: Handover | None = None
    return_risk_assessment_recorded: bool = Field(
        default=False, description="For returns to a country of origin: the risk was assessed"
    )
    consent: Consent | None = Field(default=None, description="Required to submit")
    # Non-identifying attributes the case opens with.
    sex: Sex = Sex.unknown
    countries_of_origin: list[CountryCode] = Field(default_factory=list, max_length=10)
    exploitation_forms: list[ExploitationForm] = Field(default_factory=list, max_length=7)
    referral_source: ReferralSource | None = None

    @field_validator("language")
    @classmethod
    def _language(cls, language: str | None) -> str | None:
        if language is None:
            return None
        if not (2 <= len(language) <= 3 and language.isascii() and language.isalpha()):
            raise ValueError("languages are ISO 639 codes of 2 or 3 letters")
        return language.lower()

    @field_validator("requested_services", "exploitation_forms", "countries_of_origin")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        return sorted(set(values))

    @model_validator(mode="after")
    def _urgency_explained(self) -> Self:
        if self.priority != Priority.routine and self.urgency_reason is None:
            raise ValueError("an urgent or immediate referral needs an `urgency_reason`")
        return self


class EnvelopeUpdate(_Strict):
    """The envelope fields to change; those left out keep their value.

    An object sent (`safety`, `consent`...) replaces the stored one whole. Null
    clears a field that may be empty (`urgency_reason`, `cross_border`,
    `reflection_period`, `language`, `guardian`, `handover`, `consent`,
    `referral_source`) and keeps the others as they are.
    """

    priority: Priority | None = None
    urgency_reason: UrgencyReason | None = None
    requested_services: list[ServiceType] | None = Field(default=None, max_length=12)
    jurisdiction: CountryCode | None = None
    cross_border: CrossBorder | None = None
    identification_stage: IdentificationStage | None = None
    reflection_period: ReflectionPeriod | None = None
    safety: Safety | None = None
    language: str | None = Field(default=None, description="ISO 639 code of 2 or 3 letters")
    interpreter_needed: bool | None = None
    is_child: bool | None = None
    guardian: Guardian | None = None
    handover: Handover | None = None
    return_risk_assessment_recorded: bool | None = None
    consent: Consent | None = None
    sex: Sex | None = None
    countries_of_origin: list[CountryCode] | None = Field(default=None, max_length=10)
    exploitation_forms: list[ExploitationForm] | None = Field(default=None, max_length=7)
    referral_source: ReferralSource | None = None
