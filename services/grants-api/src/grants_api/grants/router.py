"""HTTP endpoints of grants: drafting, reading, amending, and their life's steps."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from baton import idempotency
from baton.concurrency import IfMatch, PreconditionFailed, PreconditionRequired, set_etag
from baton.errors import BatonError, problem_responses
from baton.pagination import Page, page_of
from baton.tenancy import TenantSessionDep
from grants_api.access import GrantManager, GrantReader, NotTheManagingFunder, visible_grant
from grants_api.dependencies import Params, Settings
from grants_api.exceptions import (
    GrantNotFound,
    GrantNotInStatus,
    IdentifierInText,
    ProgrammeNotFound,
)
from grants_api.grants import actions, service
from grants_api.grants.exceptions import (
    AmendmentReasonRequired,
    AwardAmountRequired,
    FunderSharesExceedAward,
    GrantDatesInvalid,
    GrantIdentifierTaken,
    RecipientInvalid,
)
from grants_api.grants.models import Grant
from grants_api.grants.schemas import (
    ActivateRequest,
    AmendmentRead,
    AwardRequest,
    CloseRequest,
    GrantCreate,
    GrantRead,
    GrantUpdate,
    TerminateRequest,
)
from grants_api.idempotent import answer_once
from grants_api.vocabulary import GrantStatus

router = APIRouter(prefix="/v1/grants", tags=["grants"])

STEP_ERRORS: tuple[type[BatonError], ...] = (
    GrantNotFound,
    NotTheManagingFunder,
    GrantNotInStatus,
    PreconditionRequired,
    PreconditionFailed,
    *idempotency.IDEMPOTENCY_ERRORS,
)


@router.post(
    "",
    status_code=201,
    response_model=GrantRead,
    responses=problem_responses(
        ProgrammeNotFound,
        GrantIdentifierTaken,
        RecipientInvalid,
        FunderSharesExceedAward,
        IdentifierInText,
        *idempotency.IDEMPOTENCY_ERRORS,
    ),
)
async def create_grant(
    data: GrantCreate,
    session: TenantSessionDep,
    principal: GrantManager,
    key: idempotency.IdempotencyKeyHeader,
    settings: Settings,
    response: Response,
) -> GrantRead | Response:
    """Draft a grant your organisation manages, to an NGO, with its co-funders' shares.

    Its 360Giving identifier is the publisher's prefix and your `reference`. The
    parties (you, the co-funders, the recipient) read it; you change it. Retry with
    the same `Idempotency-Key` to get the first response again.
    """

    async def create() -> GrantRead:
        grant = await service.create(session, principal, settings, data)
        set_etag(response, grant.version)
        response.headers["Location"] = f"{router.prefix}/{grant.id}"
        return await service.to_read(session, grant)

    return await answer_once(session, principal, key, data, create, status=201, response=response)


@router.get("", response_model=Page[GrantRead])
async def list_grants(
    session: TenantSessionDep,
    principal: GrantReader,
    params: Params,
    programme_id: Annotated[uuid.UUID | None, Query()] = None,
    recipient_organisation_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[GrantStatus | None, Query()] = None,
    year: Annotated[
        int | None, Query(ge=1990, le=2100, description="Grants running in this year")
    ] = None,
) -> Page[GrantRead]:
    """The grants your organisation is a party of (funds or receives), oldest first."""
    rows = await service.list_for(
        session,
        principal,
        params,
        programme_id=programme_id,
        recipient_organisation_id=recipient_organisation_id,
        status=status,
        active_in_year=year,
    )
    return page_of(rows, params, await service.to_reads(session, rows[: params.limit]))


@router.get("/{grant_id}", response_model=GrantRead, responses=problem_responses(GrantNotFound))
async def read_grant(
    grant_id: uuid.UUID, session: TenantSessionDep, principal: GrantReader, response: Response
) -> GrantRead:
    """A grant your organisation is a party of, with the ETag changes need in If-Match."""
    grant = await visible_grant(session, principal, grant_id)
    set_etag(response, grant.version)
    return await service.to_read(session, grant)


@router.patch(
    "/{grant_id}",
    response_model=GrantRead,
    responses=problem_responses(
        GrantNotFound,
        ProgrammeNotFound,
        NotTheManagingFunder,
        GrantNotInStatus,
        AmendmentReasonRequired,
        FunderSharesExceedAward,
        RecipientInvalid,
        GrantDatesInvalid,
        IdentifierInText,
        PreconditionRequired,
        PreconditionFailed,
    ),
)
async def update_grant(
    grant_id: uuid.UUID,
    data: GrantUpdate,
    session: TenantSessionDep,
    principal: GrantManager,
    version: IfMatch,
    response: Response,
) -> GrantRead:
    """Change a grant your organisation manages (If-Match: the ETag you read).

    A draft changes freely. After the award each change is an amendment kept in the
    grant's history (`/amendments`) and needs a `reason`; closed and terminated
    grants no longer change. `co_funders` replaces the co-funders' shares; the
    managing donor's share is what they leave of the amount awarded.
    """
    grant = await service.update(session, principal, grant_id, data, version)
    set_etag(response, grant.version)
    return await service.to_read(session, grant)


@router.get(
    "/{grant_id}/amendments",
    response_model=Page[AmendmentRead],
    responses=problem_responses(GrantNotFound),
)
async def list_amendments(
    grant_id: uuid.UUID, session: TenantSessionDep, principal: GrantReader, params: Params
) -> Page[AmendmentRead]:
    """Every change made after the award: what, from what to what, why, who; oldest first."""
    rows = await service.amendments(session, principal, grant_id, params)
    items = [AmendmentRead.model_validate(row) for row in rows]
    return page_of(rows, params, items, ordered_by="changed_at")


async def _take_step(
    session: TenantSessionDep,
    principal: GrantManager,
    key: idempotency.IdempotencyKeyHeader,
    data: Any,
    response: Response,
    step: Callable[[], Awaitable[Grant]],
) -> GrantRead | Response:

    async def stepped() -> GrantRead:
        grant = await step()
        set_etag(response, grant.version)
        return await service.to_read(session, grant)

    return await answer_once(session, principal, key, data, stepped, response=response)


@router.post(
    "/{grant_id}/award",
    response_model=GrantRead,
    responses=problem_responses(*STEP_ERRORS, AwardAmountRequired, FunderSharesExceedAward),
)
async def award_grant(
    grant_id: uuid.UUID,
    data: AwardRequest,
    session: TenantSessionDep,
    principal: GrantManager,
    version: IfMatch,
    key: idempotency.IdempotencyKeyHeader,
    settings: Settings,
    response: Response,
) -> GrantRead | Response:
    """`draft` → `awarded`: the amount becomes binding, the funders' shares are fixed and
    an interim and a final report fall due (the recipient sees them at once)."""
    return await _take_step(
        session,
        principal,
        key,
        data,
        response,
        lambda: actions.award(session, principal, settings, grant_id, data, version),
    )


@router.post(
    "/{grant_id}/activate",
    response_model=GrantRead,
    responses=problem_responses(*STEP_ERRORS, GrantDatesInvalid),
)
async def activate_grant(
    grant_id: uuid.UUID,
    data: ActivateRequest,
    session: TenantSessionDep,
    principal: GrantManager,
    version: IfMatch,
    key: idempotency.IdempotencyKeyHeader,
    response: Response,
) -> GrantRead | Response:
    """`awarded` → `active`: the work started (`actual_start`, default the planned start)."""
    return await _take_step(
        session,
        principal,
        key,
        data,
        response,
        lambda: actions.activate(session, principal, grant_id, data, version),
    )


@router.post(
    "/{grant_id}/close",
    response_model=GrantRead,
    responses=problem_responses(*STEP_ERRORS, GrantDatesInvalid),
)
async def close_grant(
    grant_id: uuid.UUID,
    data: CloseRequest,
    session: TenantSessionDep,
    principal: GrantManager,
    version: IfMatch,
    key: idempotency.IdempotencyKeyHeader,
    response: Response,
) -> GrantRead | Response:
    """`active` → `closed`: the work ended as agreed (`actual_end`, default the planned end)."""
    return await _take_step(
        session,
        principal,
        key,
        data,
        response,
        lambda: actions.close(session, principal, grant_id, data, version),
    )


@router.post(
    "/{grant_id}/terminate",
    response_model=GrantRead,
    responses=problem_responses(*STEP_ERRORS, GrantDatesInvalid, IdentifierInText),
)
async def terminate_grant(
    grant_id: uuid.UUID,
    data: TerminateRequest,
    session: TenantSessionDep,
    principal: GrantManager,
    version: IfMatch,
    key: idempotency.IdempotencyKeyHeader,
    response: Response,
) -> GrantRead | Response:
    """`awarded` or `active` → `terminated`, early, with a `reason` kept as an amendment."""
    return await _take_step(
        session,
        principal,
        key,
        data,
        response,
        lambda: actions.terminate(session, principal, grant_id, data, version),
    )
