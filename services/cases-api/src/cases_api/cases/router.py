"""Cases: one stretch of assistance each; updates need the ETag they were based on."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from baton import idempotency
from baton.auth import Principal
from baton.authz import Authorize, Permission
from baton.concurrency import IfMatch, PreconditionFailed, PreconditionRequired, set_etag
from baton.errors import problem_responses
from baton.pagination import Page, PageParams, page_of, page_params
from baton.reads import DatabaseDep
from baton.tenancy import TenantSessionDep
from cases_api.beneficiaries.exceptions import BeneficiaryNotFound
from cases_api.cases import service
from cases_api.cases.exceptions import CaseClosed, CaseNotFound, InvalidCaseDates
from cases_api.cases.models import Case
from cases_api.cases.schemas import (
    Assignment,
    CaseCreate,
    CaseRead,
    CaseUpdate,
    Closure,
    PhaseOverride,
)
from cases_api.cases.service import CaseFilters, ReflectionRules
from cases_api.config import CasesSettings
from cases_api.intake.models import IdempotencyKey
from cases_api.vocabulary import CaseOutcome, CaseStatus, ExploitationForm, Phase, RiskLevel

CaseReader = Annotated[Principal, Authorize(Permission.case_read)]
CaseWriter = Annotated[Principal, Authorize(Permission.case_write)]
CaseAssigner = Annotated[Principal, Authorize(Permission.case_assign)]
CaseCloser = Annotated[Principal, Authorize(Permission.case_close)]
UPDATE_ERRORS = (CaseNotFound, PreconditionFailed, PreconditionRequired, CaseClosed)


async def reflection_rules(request: Request) -> ReflectionRules:
    settings: CasesSettings = request.app.state.settings
    return ReflectionRules(settings.reflection_period_days, settings.reflection_period_default_days)


Rules = Annotated[ReflectionRules, Depends(reflection_rules)]

router = APIRouter(prefix="/v1/cases", tags=["cases"])


def _answer(response: Response, case: Case) -> CaseRead:
    read = service.to_read(case)
    set_etag(response, read.version)
    return read


@router.post(
    "",
    status_code=201,
    response_model=CaseRead,
    responses=problem_responses(BeneficiaryNotFound, *idempotency.IDEMPOTENCY_ERRORS),
)
async def create_case(
    data: CaseCreate,
    session: TenantSessionDep,
    principal: CaseWriter,
    key: idempotency.IdempotencyKeyHeader,
    rules: Rules,
    response: Response,
) -> CaseRead | Response:
    """Open a case for one of your beneficiaries (again, if the person came back)."""
    claim = await idempotency.claim(session, IdempotencyKey, principal, key, data)
    if claim.replay is not None:
        return claim.replay.response()
    created = _answer(response, await service.create(session, principal, data, rules))
    await claim.remember(201, created, response.headers)
    return created


@router.get("", response_model=Page[CaseRead])
async def list_cases(
    session: TenantSessionDep,
    principal: CaseReader,
    params: Annotated[PageParams, Depends(page_params)],
    status: Annotated[CaseStatus | None, Query()] = None,
    phase: Annotated[Phase | None, Query()] = None,
    exploitation_form: Annotated[ExploitationForm | None, Query()] = None,
    assigned_to: Annotated[str | None, Query(max_length=200)] = None,
    risk_level: Annotated[RiskLevel | None, Query()] = None,
    outcome: Annotated[CaseOutcome | None, Query()] = None,
    beneficiary_id: Annotated[uuid.UUID | None, Query()] = None,
    started_from: Annotated[date | None, Query()] = None,
    started_to: Annotated[date | None, Query()] = None,
    closed_from: Annotated[date | None, Query()] = None,
    closed_to: Annotated[date | None, Query()] = None,
) -> Page[CaseRead]:
    """Your organisation's cases, oldest first, filtered; never a name in the query."""
    filters = CaseFilters(
        status=status,
        phase=phase,
        exploitation_form=exploitation_form,
        assigned_to=assigned_to,
        risk_level=risk_level,
        outcome=outcome,
        beneficiary_id=beneficiary_id,
        started_from=started_from,
        started_to=started_to,
        closed_from=closed_from,
        closed_to=closed_to,
    )
    rows = await service.list_for(session, principal, params, filters)
    return page_of(rows, params, [service.to_read(row) for row in rows])


@router.get("/{case_id}", response_model=CaseRead, responses=problem_responses(CaseNotFound))
async def read_case(
    case_id: uuid.UUID, database: DatabaseDep, principal: CaseReader, response: Response
) -> CaseRead:
    """One case of your organisation, with its ETag."""
    read = await service.read(database, principal, case_id)
    set_etag(response, read.version)
    return read


@router.patch(
    "/{case_id}",
    response_model=CaseRead,
    responses=problem_responses(*UPDATE_ERRORS, InvalidCaseDates),
)
async def update_case(
    case_id: uuid.UUID,
    data: CaseUpdate,
    session: TenantSessionDep,
    principal: CaseWriter,
    version: IfMatch,
    rules: Rules,
    response: Response,
) -> CaseRead:
    """Change the case; If-Match must carry the ETag you read (412 if it changed since)."""
    case = await service.update(session, principal, case_id, data, version, rules)
    return _answer(response, case)


@router.post(
    "/{case_id}/assignment", response_model=CaseRead, responses=problem_responses(*UPDATE_ERRORS)
)
async def assign_case(
    case_id: uuid.UUID,
    data: Assignment,
    session: TenantSessionDep,
    principal: CaseAssigner,
    version: IfMatch,
    response: Response,
) -> CaseRead:
    """Give the case to a caseworker (case managers)."""
    return _answer(response, await service.assign(session, principal, case_id, data, version))


@router.post(
    "/{case_id}/phase-override",
    response_model=CaseRead,
    responses=problem_responses(*UPDATE_ERRORS, InvalidCaseDates),
)
async def override_phase(
    case_id: uuid.UUID,
    data: PhaseOverride,
    session: TenantSessionDep,
    principal: CaseAssigner,
    version: IfMatch,
    response: Response,
) -> CaseRead:
    """Set the phase by hand, with a reason, or return to the derived one (case managers)."""
    case = await service.override_phase(session, principal, case_id, data, version)
    return _answer(response, case)


@router.post(
    "/{case_id}/closure",
    response_model=CaseRead,
    responses=problem_responses(*UPDATE_ERRORS, InvalidCaseDates),
)
async def close_case(
    case_id: uuid.UUID,
    data: Closure,
    session: TenantSessionDep,
    principal: CaseCloser,
    version: IfMatch,
    response: Response,
) -> CaseRead:
    """Close the case with its outcome (case managers); closed cases do not change."""
    return _answer(response, await service.close(session, principal, case_id, data, version))
