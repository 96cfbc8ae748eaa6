"""What the referral service sends to open a case, and what it gets back (no identity)."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from cases_api.beneficiaries.schemas import BeneficiaryAttributes, DuplicateReport, Identity
from cases_api.cases.schemas import ReflectionPeriod
from cases_api.vocabulary import ExploitationForm, IdentificationStage, ReferralSource, RiskLevel

# As long as referral-api's packet allows.
MAX_SUMMARY_LENGTH = 2000


class IntakeCase(BaseModel):
    """The fields of `CaseCreate` but the beneficiary, whom intake creates."""

    model_config = ConfigDict(extra="forbid")

    assistance_started_on: date
    exploitation_forms: list[ExploitationForm] = Field(default_factory=list, max_length=7)
    identification_stage: IdentificationStage = IdentificationStage.presumed
    referral_source: ReferralSource | None = None
    risk_level: RiskLevel = RiskLevel.medium
    reflection: ReflectionPeriod | None = None


class ReferralIntake(BaseModel):
    """A referral the receiving organisation accepted, to become its beneficiary and case."""

    model_config = ConfigDict(extra="forbid")

    referral_id: uuid.UUID = Field(description="The referral-api referral; one case per referral")
    organisation_id: uuid.UUID = Field(
        description="The receiving organisation, in which the case is opened"
    )
    beneficiary: BeneficiaryAttributes
    identity: Identity | None = Field(
        default=None, description="What the referrer released with the person's consent, if any"
    )
    case: IntakeCase
    needs_summary: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SUMMARY_LENGTH,
        description="The referrer's summary of the person's needs, if the consent covers it; "
        "kept as a sealed case note (category `general`)",
    )
    risk_summary: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SUMMARY_LENGTH,
        description="The referrer's summary of the risks, if the consent covers it; "
        "kept as a sealed case note (category `safety`)",
    )


class IntakeRead(BaseModel):
    """Where the referral landed: ids only, never the identity."""

    referral_id: uuid.UUID
    organisation_id: uuid.UUID
    beneficiary_id: uuid.UUID
    case_id: uuid.UUID
    duplicates: DuplicateReport = Field(
        description="The receiving organisation's beneficiaries with the same name and birth "
        "date, and whether another organisation knows the person (not which)"
    )
