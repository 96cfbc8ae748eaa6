"""Monitoring assessments: dated scores per life domain, to follow a person's progress.

Each domain is scored 1 to 5, or left null when it was not assessed:
1 severe difficulty (in danger, or without what is needed), 2 serious
difficulty, 3 some difficulty, 4 mostly stable with some support, 5 stable and
independent. Assessments are immutable records: a correction is a new
assessment, so the road travelled stays on record.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from baton.db import utcnow
from cases_api.db import CasesTable

LOWEST_SCORE = 1
HIGHEST_SCORE = 5


class Domain(StrEnum):
    safety = "safety"
    housing = "housing"
    physical_health = "physical_health"
    mental_wellbeing = "mental_wellbeing"
    economic_situation = "economic_situation"
    education_skills = "education_skills"
    family_social_relations = "family_social_relations"
    legal_status = "legal_status"


def _score() -> sa.Column[int]:
    return sa.Column(sa.SmallInteger, nullable=True)


def _checks() -> tuple[sa.CheckConstraint, ...]:
    in_range = tuple(
        sa.CheckConstraint(
            f"{domain} BETWEEN {LOWEST_SCORE} AND {HIGHEST_SCORE}", name=f"{domain}_score"
        )
        for domain in Domain
    )
    scored = sa.CheckConstraint(
        f"num_nonnulls({', '.join(Domain)}) > 0", name="at_least_one_domain_scored"
    )
    return (*in_range, scored)


class Assessment(CasesTable, table=True):
    __tablename__ = "assessment"
    __table_args__ = _checks()

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    case_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("case_file.id"), nullable=False, index=True)
    )
    beneficiary_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("beneficiary.id"), nullable=False, index=True)
    )
    assessed_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    # The `sub` of the token that recorded it.
    assessed_by: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    safety: int | None = Field(default=None, sa_column=_score())
    housing: int | None = Field(default=None, sa_column=_score())
    physical_health: int | None = Field(default=None, sa_column=_score())
    mental_wellbeing: int | None = Field(default=None, sa_column=_score())
    economic_situation: int | None = Field(default=None, sa_column=_score())
    education_skills: int | None = Field(default=None, sa_column=_score())
    family_social_relations: int | None = Field(default=None, sa_column=_score())
    legal_status: int | None = Field(default=None, sa_column=_score())
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )
