"""Monitoring assessments of a case: recorded, listed in date order, compared over time.

Assessments are immutable records, so there is no update: a correction is a new
assessment (of the same date, if need be), and the later record of a day counts
as that day's latest. Every query names the caller's organisation; row-level
security checks it again underneath.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.db import utcnow
from baton.pagination import InvalidCursor, Page, PageParams
from baton.tenancy import in_callers_organisation
from cases_api.assessments.exceptions import (
    AssessmentNotFound,
    InvalidAssessmentDate,
    NothingAssessed,
)
from cases_api.assessments.models import Assessment, Domain
from cases_api.assessments.schemas import (
    AssessmentCreate,
    AssessmentRead,
    DatedScore,
    DomainProgress,
    Progress,
    Scores,
)
from cases_api.audit import service as audit
from cases_api.cases import service as case_service
from cases_api.cases.exceptions import CaseClosed
from cases_api.vocabulary import CaseStatus

# The date order, with the order of recording to break ties within a day.
ORDER = (col(Assessment.assessed_on), col(Assessment.created_at), col(Assessment.id))


def to_read(assessment: Assessment) -> AssessmentRead:
    return AssessmentRead.model_validate(
        {**assessment.model_dump(), "scores": Scores.model_validate(assessment)}
    )


def latest_today() -> date:
    """Today where it is latest (UTC+14): a date is in the future only if it is everywhere."""
    return (utcnow() + timedelta(hours=14)).date()


async def create(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, data: AssessmentCreate
) -> Assessment:
    # Locked: a closure cannot slip in between the check and the insert.
    case = await case_service.get(session, principal, case_id, lock=True)
    if case.status == CaseStatus.closed:
        raise CaseClosed("A closed case takes no new assessments.")
    scores = data.scores.model_dump(exclude_none=True)
    if not scores:
        raise NothingAssessed("Score at least one domain from 1 to 5.")
    if data.assessed_on > latest_today():
        raise InvalidAssessmentDate("An assessment cannot be dated in the future.")
    if data.assessed_on < case.assistance_started_on:
        raise InvalidAssessmentDate("An assessment cannot predate the start of assistance.")
    assessment = Assessment(
        organisation_id=principal.org_id,
        case_id=case.id,
        beneficiary_id=case.beneficiary_id,
        assessed_on=data.assessed_on,
        assessed_by=principal.subject,
        **scores,
    )
    session.add(assessment)
    await session.flush()
    await audit.record(
        session,
        principal,
        organisation_id=assessment.organisation_id,
        action="assessment.create",
        resource_type="assessment",
        resource_id=assessment.id,
    )
    return assessment


def _of_case(principal: Principal, case_id: uuid.UUID) -> Select[Assessment]:
    return select(Assessment).where(
        col(Assessment.case_id) == case_id,
        in_callers_organisation(col(Assessment.organisation_id), principal),
    )


async def get(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, assessment_id: uuid.UUID
) -> Assessment:
    await case_service.get(session, principal, case_id)
    assessment = await session.scalar(
        _of_case(principal, case_id).where(col(Assessment.id) == assessment_id)
    )
    if assessment is None:
        raise AssessmentNotFound()
    return assessment


def _encode(assessment: Assessment) -> str:
    key = [assessment.assessed_on.isoformat(), assessment.created_at.isoformat(), assessment.id]
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode()


def _decode(cursor: str) -> tuple[date, datetime, uuid.UUID]:
    try:
        assessed_on, created_at, ident = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return date.fromisoformat(assessed_on), datetime.fromisoformat(created_at), uuid.UUID(ident)
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("The cursor is not one this API issued.") from exc


async def list_for(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, params: PageParams
) -> Page[AssessmentRead]:
    await case_service.get(session, principal, case_id)
    query = _of_case(principal, case_id)
    if params.cursor is not None:
        query = query.where(tuple_(*ORDER) > tuple_(*_decode(params.cursor)))
    rows = (await session.scalars(query.order_by(*ORDER).limit(params.limit + 1))).all()
    items = [to_read(row) for row in rows[: params.limit]]
    more = len(rows) > params.limit
    return Page(items=items, next_cursor=_encode(rows[params.limit - 1]) if more else None)


def _progress_of(domain: Domain, assessments: Sequence[Assessment]) -> DomainProgress:
    scored = [
        DatedScore(score=score, assessed_on=row.assessed_on, assessment_id=row.id)
        for row in assessments
        if (score := getattr(row, domain.value)) is not None
    ]
    if not scored:
        return DomainProgress(domain=domain, first=None, latest=None, change=None, times_assessed=0)
    first, latest = scored[0], scored[-1]
    return DomainProgress(
        domain=domain,
        first=first,
        latest=latest,
        change=latest.score - first.score,
        times_assessed=len(scored),
    )


async def progress(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> Progress:
    """Per domain, the first and the latest score and the change between them."""
    await case_service.get(session, principal, case_id)
    # A case lasts up to 36 months: its assessments are a handful, read them whole.
    rows = (await session.scalars(_of_case(principal, case_id).order_by(*ORDER))).all()
    return Progress(
        case_id=case_id,
        assessments=len(rows),
        first_assessed_on=rows[0].assessed_on if rows else None,
        latest_assessed_on=rows[-1].assessed_on if rows else None,
        domains=[_progress_of(domain, rows) for domain in Domain],
    )
