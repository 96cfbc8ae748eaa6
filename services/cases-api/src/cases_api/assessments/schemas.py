"""What goes over the wire for assessments and the progress they show."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from cases_api.assessments.models import HIGHEST_SCORE, LOWEST_SCORE, Domain

Score = Annotated[int, Field(ge=LOWEST_SCORE, le=HIGHEST_SCORE)]


class Scores(BaseModel):
    """1 severe difficulty, 2 serious difficulty, 3 some difficulty, 4 mostly stable
    with some support, 5 stable and independent; null (or absent): not assessed."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    safety: Score | None = None
    housing: Score | None = None
    physical_health: Score | None = None
    mental_wellbeing: Score | None = None
    economic_situation: Score | None = None
    education_skills: Score | None = None
    family_social_relations: Score | None = None
    legal_status: Score | None = None


class AssessmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assessed_on: date = Field(description="Not in the future, not before assistance started")
    scores: Scores = Field(description="At least one domain scored")


class AssessmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    case_id: uuid.UUID
    beneficiary_id: uuid.UUID
    assessed_on: date
    assessed_by: str
    scores: Scores
    created_at: datetime


class DatedScore(BaseModel):
    score: int
    assessed_on: date
    assessment_id: uuid.UUID


class DomainProgress(BaseModel):
    domain: Domain
    first: DatedScore | None = Field(description="The earliest score; null if never assessed")
    latest: DatedScore | None = Field(description="The latest score; corrections count as latest")
    change: int | None = Field(description="latest - first: above 0 is better, below 0 worse")
    times_assessed: int


class Progress(BaseModel):
    case_id: uuid.UUID
    assessments: int
    first_assessed_on: date | None
    latest_assessed_on: date | None
    domains: list[DomainProgress]
