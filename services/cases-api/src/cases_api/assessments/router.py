"""Monitoring assessments of a case: dated scores per domain, and the progress they show.

Assessments are immutable records: there is no update or delete; a correction is a
new assessment, and the later one of a day counts as that day's latest.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from baton.auth import Principal
from baton.authz import Authorize, Permission
from baton.errors import problem_responses
from baton.pagination import InvalidCursor, Page, PageParams, page_params
from baton.tenancy import TenantSessionDep
from cases_api.assessments import service
from cases_api.assessments.exceptions import (
    AssessmentNotFound,
    InvalidAssessmentDate,
    NothingAssessed,
)
from cases_api.assessments.schemas import AssessmentCreate, AssessmentRead, Progress
from cases_api.cases.exceptions import CaseClosed, CaseNotFound

CaseReader = Annotated[Principal, Authorize(Permission.case_read)]
CaseWriter = Annotated[Principal, Authorize(Permission.case_write)]

router = APIRouter(prefix="/v1/cases/{case_id}/assessments", tags=["assessments"])


@router.post(
    "",
    status_code=201,
    response_model=AssessmentRead,
    responses=problem_responses(CaseNotFound, CaseClosed, NothingAssessed, InvalidAssessmentDate),
)
async def create_assessment(
    case_id: uuid.UUID,
    data: AssessmentCreate,
    session: TenantSessionDep,
    principal: CaseWriter,
) -> AssessmentRead:
    """Record an assessment of one of your cases: each domain scored 1 to 5, or left out.

    1 severe difficulty, 2 serious difficulty, 3 some difficulty, 4 mostly stable with
    some support, 5 stable and independent. At least one domain must be scored; the
    date may be neither in the future nor before assistance started. Assessments are
    never changed afterwards: record a new one to correct.
    """
    return service.to_read(await service.create(session, principal, case_id, data))


@router.get(
    "",
    response_model=Page[AssessmentRead],
    responses=problem_responses(CaseNotFound, InvalidCursor),
)
async def list_assessments(
    case_id: uuid.UUID,
    session: TenantSessionDep,
    principal: CaseReader,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[AssessmentRead]:
    """The assessments of one of your cases, by date (then the order they were recorded)."""
    return await service.list_for(session, principal, case_id, params)


@router.get("/progress", response_model=Progress, responses=problem_responses(CaseNotFound))
async def read_progress(
    case_id: uuid.UUID, session: TenantSessionDep, principal: CaseReader
) -> Progress:
    """The road travelled: per domain, the first and latest score and the change."""
    return await service.progress(session, principal, case_id)


@router.get(
    "/{assessment_id}",
    response_model=AssessmentRead,
    responses=problem_responses(CaseNotFound, AssessmentNotFound),
)
async def read_assessment(
    case_id: uuid.UUID,
    assessment_id: uuid.UUID,
    session: TenantSessionDep,
    principal: CaseReader,
) -> AssessmentRead:
    """One assessment of one of your cases."""
    return service.to_read(await service.get(session, principal, case_id, assessment_id))
