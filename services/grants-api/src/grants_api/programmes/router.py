"""HTTP endpoints of programmes: a donor's line of work that grants belong to."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from baton import idempotency
from baton.concurrency import IfMatch, PreconditionFailed, PreconditionRequired, set_etag
from baton.errors import problem_responses
from baton.pagination import Page, page_of
from baton.tenancy import TenantSessionDep
from grants_api.access import GrantManager, GrantReader
from grants_api.dependencies import Params
from grants_api.exceptions import IdentifierInText, ProgrammeNotFound
from grants_api.idempotent import answer_once
from grants_api.programmes import service
from grants_api.programmes.schemas import ProgrammeCreate, ProgrammeRead, ProgrammeUpdate

router = APIRouter(prefix="/v1/programmes", tags=["programmes"])


@router.post(
    "",
    status_code=201,
    response_model=ProgrammeRead,
    responses=problem_responses(IdentifierInText, *idempotency.IDEMPOTENCY_ERRORS),
)
async def create_programme(
    data: ProgrammeCreate,
    session: TenantSessionDep,
    principal: GrantManager,
    key: idempotency.IdempotencyKeyHeader,
    response: Response,
) -> ProgrammeRead | Response:
    """Start a programme your organisation manages, with the donors co-funding it.

    Every funder reads it and the grants in it; only yours changes it. Retry with
    the same `Idempotency-Key` to get the first response again.
    """

    async def create() -> ProgrammeRead:
        programme = await service.create(session, principal, data)
        set_etag(response, programme.version)
        response.headers["Location"] = f"{router.prefix}/{programme.id}"
        return ProgrammeRead.model_validate(programme)

    return await answer_once(session, principal, key, data, create, status=201, response=response)


@router.get("", response_model=Page[ProgrammeRead])
async def list_programmes(
    session: TenantSessionDep, principal: GrantReader, params: Params
) -> Page[ProgrammeRead]:
    """The programmes your organisation funds, oldest first (none for an NGO)."""
    rows = await service.list_for(session, principal, params)
    return page_of(rows, params, [ProgrammeRead.model_validate(row) for row in rows])


@router.get(
    "/{programme_id}",
    response_model=ProgrammeRead,
    responses=problem_responses(ProgrammeNotFound),
)
async def read_programme(
    programme_id: uuid.UUID, session: TenantSessionDep, principal: GrantReader, response: Response
) -> ProgrammeRead:
    """A programme your organisation funds, with the ETag changes need in If-Match."""
    programme = await service.get(session, principal, programme_id)
    set_etag(response, programme.version)
    return ProgrammeRead.model_validate(programme)


@router.patch(
    "/{programme_id}",
    response_model=ProgrammeRead,
    responses=problem_responses(
        ProgrammeNotFound,
        service.NotTheProgrammeManager,
        service.ProgrammePeriodInvalid,
        IdentifierInText,
        PreconditionRequired,
        PreconditionFailed,
    ),
)
async def update_programme(
    programme_id: uuid.UUID,
    data: ProgrammeUpdate,
    session: TenantSessionDep,
    principal: GrantManager,
    version: IfMatch,
    response: Response,
) -> ProgrammeRead:
    """Change a programme your organisation manages (If-Match: the ETag you read).

    `co_funder_organisation_ids` replaces the list of co-funders.
    """
    programme = await service.update(session, principal, programme_id, data, version)
    set_etag(response, programme.version)
    return ProgrammeRead.model_validate(programme)
