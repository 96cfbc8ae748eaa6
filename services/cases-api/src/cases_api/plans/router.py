"""Services of a case's re/integration plan: what was planned, started, delivered."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from baton.auth import Principal
from baton.authz import Authorize, Permission
from baton.concurrency import IfMatch, PreconditionFailed, PreconditionRequired, set_etag
from baton.errors import problem_responses
from baton.pagination import InvalidCursor, Page, PageParams, page_of, page_params
from baton.tenancy import TenantSessionDep
from cases_api.cases.exceptions import CaseClosed, CaseNotFound
from cases_api.plans import service
from cases_api.plans.exceptions import (
    CaseServiceNotFound,
    InvalidServiceDates,
    InvalidServiceTransition,
    ServiceFinal,
)
from cases_api.plans.models import CaseService, ServiceStatus, ServiceType
from cases_api.plans.schemas import CaseServiceCreate, CaseServiceRead, CaseServiceUpdate

CaseReader = Annotated[Principal, Authorize(Permission.case_read)]
CaseWriter = Annotated[Principal, Authorize(Permission.case_write)]

router = APIRouter(prefix="/v1/cases/{case_id}/services", tags=["plan"])


def _answer(response: Response, case_service: CaseService) -> CaseServiceRead:
    read = service.to_read(case_service)
    set_etag(response, read.version)
    return read


@router.post(
    "",
    status_code=201,
    response_model=CaseServiceRead,
    responses=problem_responses(CaseNotFound, CaseClosed, InvalidServiceDates),
)
async def create_service(
    case_id: uuid.UUID,
    data: CaseServiceCreate,
    session: TenantSessionDep,
    principal: CaseWriter,
    response: Response,
) -> CaseServiceRead:
    """Plan a service for one of your cases; it starts `planned`.

    Costs are decimal strings with their ISO 4217 currency (both or neither);
    `grant_id` names the grants-api grant that pays, so donors can see in
    aggregate what their money bought. No free text: that belongs in case notes.
    """
    return _answer(response, await service.create(session, principal, case_id, data))


@router.get(
    "",
    response_model=Page[CaseServiceRead],
    responses=problem_responses(CaseNotFound, InvalidCursor),
)
async def list_services(
    case_id: uuid.UUID,
    session: TenantSessionDep,
    principal: CaseReader,
    params: Annotated[PageParams, Depends(page_params)],
    status: Annotated[ServiceStatus | None, Query()] = None,
    service_type: Annotated[ServiceType | None, Query()] = None,
) -> Page[CaseServiceRead]:
    """The services of one of your cases, oldest first, filtered by status or type."""
    rows = await service.list_for(
        session, principal, case_id, params, status=status, service_type=service_type
    )
    return page_of(rows, params, [service.to_read(row) for row in rows])


@router.get(
    "/{service_id}",
    response_model=CaseServiceRead,
    responses=problem_responses(CaseNotFound, CaseServiceNotFound),
)
async def read_service(
    case_id: uuid.UUID,
    service_id: uuid.UUID,
    session: TenantSessionDep,
    principal: CaseReader,
    response: Response,
) -> CaseServiceRead:
    """One service of one of your cases, with its ETag."""
    return _answer(response, await service.get(session, principal, case_id, service_id))


@router.patch(
    "/{service_id}",
    response_model=CaseServiceRead,
    responses=problem_responses(
        CaseNotFound,
        CaseServiceNotFound,
        PreconditionFailed,
        PreconditionRequired,
        CaseClosed,
        ServiceFinal,
        InvalidServiceTransition,
        InvalidServiceDates,
    ),
)
async def update_service(
    case_id: uuid.UUID,
    service_id: uuid.UUID,
    data: CaseServiceUpdate,
    session: TenantSessionDep,
    principal: CaseWriter,
    version: IfMatch,
    response: Response,
) -> CaseServiceRead:
    """Move the service along or correct it; If-Match must carry the ETag you read.

    Status goes planned -> in_progress -> delivered (which needs `delivered_on`), or
    from planned or in_progress to cancelled. Delivered and cancelled services are
    final (409 `service-final`); so is every service of a closed case.
    """
    updated = await service.update(session, principal, case_id, service_id, data, version)
    return _answer(response, updated)
