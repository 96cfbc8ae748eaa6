"""Restricted cases and break-glass access to them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from baton.auth import Principal
from baton.authz import Authorize, Permission
from baton.concurrency import IfMatch, PreconditionFailed, PreconditionRequired, set_etag
from baton.errors import problem_responses
from baton.pagination import Page, PageParams, page_of, page_params
from baton.tenancy import TenantSessionDep
from cases_api.access import service
from cases_api.access.exceptions import (
    BreakGlassAlreadyOpen,
    BreakGlassEnded,
    BreakGlassNotFound,
    BreakGlassNotHeld,
    CaseNotRestricted,
)
from cases_api.access.schemas import BreakGlassOpen, BreakGlassRead, RestrictionChange
from cases_api.beneficiaries.exceptions import IdentityErased
from cases_api.cases import service as case_service
from cases_api.cases.exceptions import CaseNotFound
from cases_api.cases.schemas import CaseRead
from cases_api.protection import (
    IdentityVault,
    ProtectedDataCorrupt,
    ProtectedDataUnavailable,
    get_vault,
)

Restrictor = Annotated[Principal, Authorize(Permission.case_restrict)]
BreakGlassHolder = Annotated[Principal, Authorize(Permission.case_break_glass)]
BreakGlassReviewer = Annotated[Principal, Authorize(Permission.case_break_glass_review)]
Vault = Annotated[IdentityVault, Depends(get_vault)]
IDENTITY_ERRORS = (ProtectedDataUnavailable, ProtectedDataCorrupt)

router = APIRouter(prefix="/v1/cases/{case_id}", tags=["restricted cases"])


@router.post(
    "/restriction",
    response_model=CaseRead,
    responses=problem_responses(CaseNotFound, PreconditionFailed, PreconditionRequired),
)
async def restrict_case(
    case_id: uuid.UUID,
    data: RestrictionChange,
    session: TenantSessionDep,
    principal: Restrictor,
    version: IfMatch,
    response: Response,
) -> CaseRead:
    """Restrict the case, or lift the restriction (`reason: null`); case managers.

    While restricted, only the assigned caseworker reads the beneficiary's identity
    (and family members' identities) and the case's notes; everyone else gets 403
    `case-restricted` until a case manager opens break-glass access. Audited.
    """
    case = await service.restrict(session, principal, case_id, data, version)
    read = case_service.to_read(case)
    set_etag(response, read.version)
    return read


@router.post(
    "/break-glass",
    status_code=201,
    response_model=BreakGlassRead,
    responses=problem_responses(
        CaseNotFound, CaseNotRestricted, BreakGlassAlreadyOpen, IdentityErased, *IDENTITY_ERRORS
    ),
)
async def open_break_glass(
    case_id: uuid.UUID,
    data: BreakGlassOpen,
    session: TenantSessionDep,
    principal: BreakGlassHolder,
    vault: Vault,
) -> BreakGlassRead:
    """Emergency access to this restricted case, for you alone, for `duration_minutes`
    (60 unless said, at most 240); case managers of the case's organisation.

    The justification is stored encrypted and never echoed. The access ends by itself
    at `expires_at`, or when you close it; opening it and every identity or note read
    under it are in the audit log with the grant's id (`break_glass_id`). A second
    grant while yours is open is refused (409 `break-glass-already-open`).
    """
    grant, now = await service.open_grant(session, principal, vault, case_id, data)
    return service.to_read(grant, now)


@router.get(
    "/break-glass",
    response_model=Page[BreakGlassRead],
    responses=problem_responses(CaseNotFound, *IDENTITY_ERRORS),
)
async def list_break_glass(
    case_id: uuid.UUID,
    session: TenantSessionDep,
    principal: BreakGlassReviewer,
    vault: Vault,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[BreakGlassRead]:
    """The case's break-glass grants, oldest first; case managers and auditors.

    The justification is shown only to whom may read the case's identity and notes
    right now (its caseworker, or an open grant's holder); each one shown is audited.
    """
    rows, reads = await service.list_grants(session, principal, vault, case_id, params)
    return page_of(rows, params, reads, ordered_by="opened_at")


@router.delete(
    "/break-glass/{grant_id}",
    status_code=204,
    responses=problem_responses(
        CaseNotFound, BreakGlassNotFound, BreakGlassNotHeld, BreakGlassEnded
    ),
)
async def close_break_glass(
    case_id: uuid.UUID, grant_id: uuid.UUID, session: TenantSessionDep, principal: BreakGlassHolder
) -> Response:
    """End your break-glass access before it expires. Audited."""
    await service.close_grant(session, principal, case_id, grant_id)
    return Response(status_code=204)
