"""What goes over the wire for consents."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from baton.countries import CountryCode


class ConsentType(StrEnum):
    data_processing = "data_processing"  # the organisation may keep and use the record
    sharing = "sharing"  # with one named Baton organisation
    cross_border_transfer = "cross_border_transfer"  # to another country


class ScopeItem(StrEnum):
    """What may be shared."""

    identity = "identity"
    case_summary = "case_summary"
    needs = "needs"
    risk = "risk"
    services = "services"
    contact = "contact"


class LegalBasis(StrEnum):
    consent = "consent"  # the person agreed
    # Recorded without the person's consent; a note must say why.
    vital_interest = "vital_interest"
    legal_obligation = "legal_obligation"
    child_protection = "child_protection"


class ConsentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ConsentType
    recipient_organisation_id: uuid.UUID | None = Field(
        default=None, description="Required for `sharing`: the organisation named to the person"
    )
    recipient_country: CountryCode | None = Field(
        default=None, description="Required for `cross_border_transfer` (ISO 3166-1 alpha-2)"
    )
    scope: list[ScopeItem] = Field(default_factory=list, max_length=len(ScopeItem))
    legal_basis: LegalBasis = LegalBasis.consent
    legal_basis_note: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Why, when the legal basis is not the person's consent",
    )
    given_on: date
    expires_on: date | None = Field(
        default=None, description="The first day the consent no longer holds"
    )
    language: str | None = Field(
        default=None,
        description="ISO 639 code of the language the person was informed in; "
        "required when the legal basis is `consent`",
    )
    interpreter_used: bool = False

    @field_validator("scope")
    @classmethod
    def _distinct(cls, scope: list[ScopeItem]) -> list[ScopeItem]:
        return sorted(set(scope))

    @field_validator("language")
    @classmethod
    def _iso_639(cls, language: str | None) -> str | None:
        if language is None:
            return None
        if not (2 <= len(language) <= 3 and language.isascii() and language.isalpha()):
            raise ValueError("an ISO 639 code of 2 or 3 letters")
        return language.lower()

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.type is ConsentType.sharing and self.recipient_organisation_id is None:
            raise ValueError("`sharing` names the recipient organisation")
        if self.type is ConsentType.cross_border_transfer and self.recipient_country is None:
            raise ValueError("`cross_border_transfer` names the recipient country")
        if self.type is ConsentType.data_processing and (
            self.recipient_organisation_id is not None or self.recipient_country is not None
        ):
            raise ValueError("`data_processing` names no recipient")
        if self.type is ConsentType.sharing and self.recipient_country is not None:
            raise ValueError("a transfer abroad is a `cross_border_transfer`")
        if self.type is not ConsentType.data_processing and not self.scope:
            raise ValueError("`scope` says what may be shared")
        if self.legal_basis is LegalBasis.consent:
            if self.language is None:
                raise ValueError("`language`: the person was informed in one")
        elif self.legal_basis_note is None:
            raise ValueError("`legal_basis_note` says why there was no consent")
        if self.expires_on is not None and self.expires_on <= self.given_on:
            raise ValueError("`expires_on` comes after `given_on`")
        return self


class ConsentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    beneficiary_id: uuid.UUID
    type: ConsentType
    recipient_organisation_id: uuid.UUID | None
    recipient_country: str | None
    scope: list[ScopeItem]
    legal_basis: LegalBasis | None
    legal_basis_note: str | None
    given_on: date
    expires_on: date | None
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    recorded_by: str
    language: str | None
    interpreter_used: bool
    version: int
    created_at: datetime
