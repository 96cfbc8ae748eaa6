"""What goes over the wire for cases."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from baton.countries import CountryCode
from cases_api.vocabulary import (
    CaseOutcome,
    CaseStatus,
    ExploitationForm,
    IdentificationStage,
    Phase,
    ReferralSource,
    RestrictionReason,
    RiskLevel,
)

Subject = str


class ReflectionPeriod(BaseModel):
    """The reflection and recovery period; its length follows the jurisdiction."""

    model_config = ConfigDict(extra="forbid")

    jurisdiction: CountryCode
    started_on: date
    informed_by: Subject | None = Field(
        default=None, max_length=200, description="Who told the person of their rights"
    )
    informed_at: datetime | None = None


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    beneficiary_id: uuid.UUID
    assistance_started_on: date
    exploitation_forms: list[ExploitationForm] = Field(default_factory=list, max_length=7)
    identification_stage: IdentificationStage = IdentificationStage.presumed
    referral_source: ReferralSource | None = None
    risk_level: RiskLevel = RiskLevel.medium
    reflection: ReflectionPeriod | None = None


class CaseUpdate(BaseModel):
    """Case work; assignment, phase override and closure are separate actions."""

    model_config = ConfigDict(extra="forbid")

    status: CaseStatus | None = Field(
        default=None, description="`open` or `active`; close with POST .../closure"
    )
    assistance_started_on: date | None = None
    exploitation_forms: list[ExploitationForm] | None = Field(default=None, max_length=7)
    identification_stage: IdentificationStage | None = None
    referral_source: ReferralSource | None = None
    risk_level: RiskLevel | None = None
    reflection: ReflectionPeriod | None = None


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assigned_to: Subject | None = Field(
        max_length=200, description="The caseworker's `sub`; null to unassign"
    )


class PhaseOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phase: Phase | None = Field(description="null returns to the phase the start date gives")
    reason: str | None = Field(default=None, min_length=1, max_length=500)


class Closure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: CaseOutcome
    closed_on: date


class CaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    beneficiary_id: uuid.UUID
    status: CaseStatus
    phase: Phase = Field(description="The override if recorded, else derived from the start")
    derived_phase: Phase
    phase_override: Phase | None
    phase_override_reason: str | None
    phase_override_by: str | None
    phase_override_at: datetime | None
    assistance_started_on: date
    exploitation_forms: list[ExploitationForm]
    identification_stage: IdentificationStage
    referral_source: ReferralSource | None
    referral_id: uuid.UUID | None
    assigned_to: str | None
    restricted_reason: RestrictionReason | None = Field(
        description="Set while only the assigned caseworker reads the identity and notes"
    )
    restricted_by: str | None
    restricted_at: datetime | None
    risk_level: RiskLevel
    reflection_jurisdiction: str | None
    reflection_started_on: date | None
    reflection_days: int | None
    reflection_ends_on: date | None
    reflection_informed_by: str | None
    reflection_informed_at: datetime | None
    outcome: CaseOutcome | None
    closed_on: date | None
    closed_by: str | None
    version: int
    created_at: datetime
    updated_at: datetime
