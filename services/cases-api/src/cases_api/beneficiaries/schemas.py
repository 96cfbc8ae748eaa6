"""What goes over the wire for beneficiaries: attributes in the clear, identity apart."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from baton.countries import CountryCode
from cases_api.vocabulary import DocumentStatus, DocumentType, Sex

LanguageCode = str


class IdentityDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: DocumentType
    number: str | None = Field(default=None, max_length=64)
    issuing_country: CountryCode | None = None
    status: DocumentStatus = Field(
        description="`confiscated` when exploiters took it: access to services depends on it"
    )


class Identity(BaseModel):
    """What identifies the person; stored encrypted, read only with `case:read_identity`."""

    model_config = ConfigDict(extra="forbid")

    given_names: str = Field(min_length=1, max_length=200)
    family_names: str | None = Field(default=None, max_length=200)
    aliases: list[str] = Field(default_factory=list, max_length=20)
    date_of_birth: date | None = None
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=500)
    documents: list[IdentityDocument] = Field(default_factory=list, max_length=10)

    @field_validator("aliases")
    @classmethod
    def _aliases_are_short(cls, aliases: list[str]) -> list[str]:
        if any(not alias.strip() or len(alias) > 200 for alias in aliases):
            raise ValueError("each alias must be 1 to 200 characters")
        return aliases


def _languages_valid(languages: list[str]) -> list[str]:
    for language in languages:
        if not (2 <= len(language) <= 3 and language.isascii() and language.isalpha()):
            raise ValueError("languages are ISO 639 codes of 2 or 3 letters")
    return [language.lower() for language in languages]


class BeneficiaryAttributes(BaseModel):
    """Non-identifying attributes, counted by statistics."""

    model_config = ConfigDict(extra="forbid")

    sex: Sex
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    is_child: bool = Field(description="Under 18 when identified; children get a guardian")
    nationality: CountryCode | None = None
    countries_of_origin: list[CountryCode] = Field(default_factory=list, max_length=10)
    countries_of_exploitation: list[CountryCode] = Field(default_factory=list, max_length=20)
    languages: list[LanguageCode] = Field(default_factory=list, max_length=10)

    @field_validator("languages")
    @classmethod
    def _languages(cls, languages: list[str]) -> list[str]:
        return _languages_valid(languages)


class BeneficiaryCreate(BeneficiaryAttributes):
    identity: Identity | None = Field(
        default=None, description="Optional: help is never conditional on identification"
    )


class BeneficiaryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sex: Sex | None = None
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    is_child: bool | None = None
    nationality: CountryCode | None = None
    countries_of_origin: list[CountryCode] | None = Field(default=None, max_length=10)
    countries_of_exploitation: list[CountryCode] | None = Field(default=None, max_length=20)
    languages: list[LanguageCode] | None = Field(default=None, max_length=10)

    @field_validator("languages")
    @classmethod
    def _languages(cls, languages: list[str] | None) -> list[str] | None:
        return None if languages is None else _languages_valid(languages)


class BeneficiaryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Pseudonymous id, the only way other services name them")
    organisation_id: uuid.UUID
    sex: Sex
    birth_year: int | None
    is_child: bool
    nationality: str | None
    countries_of_origin: list[str]
    countries_of_exploitation: list[str]
    languages: list[str]
    has_identity: bool = False
    erased_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    identity: Identity | None = Field(
        default=None, description="Only with `include=identity` (audited)"
    )


class DuplicateReport(BaseModel):
    possible_duplicates: list[uuid.UUID] = Field(
        description="Beneficiaries of your organisation with the same name and birth date"
    )
    restricted_match: bool = Field(
        default=False,
        description=(
            "Someone of your organisation matches too, whose identity a restricted case "
            "closes to you: not named here; ask a case manager"
        ),
    )
    known_elsewhere: bool = Field(
        description="Another organisation has a record of this name and birth date"
    )
    known_at: list[uuid.UUID] = Field(
        default_factory=list,
        description="Those of them the person allowed (a sharing consent naming you) to be named",
    )


class BeneficiaryCreated(BeneficiaryRead):
    duplicates: DuplicateReport


class IdentitySearch(BaseModel):
    """Find a person by name and birth date without putting either in a URL."""

    model_config = ConfigDict(extra="forbid")

    given_names: str = Field(min_length=1, max_length=200)
    family_names: str | None = Field(default=None, max_length=200)
    date_of_birth: date


class IdentityRead(BaseModel):
    beneficiary_id: uuid.UUID
    version: int
    identity: Identity
