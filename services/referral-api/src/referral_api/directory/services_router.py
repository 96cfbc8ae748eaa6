"""A provider's services and their capacity, kept by the provider's own organisation.

Platform administrators may set services up for an NGO they onboard; the places
free now only the provider itself reports.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from baton import idempotency
from baton.concurrency import (
    IfMatch,
    OptionalIfMatch,
    PreconditionFailed,
    PreconditionRequired,
    set_etag,
)
from baton.db import SessionDep
from baton.errors import problem_responses
from referral_api.directory import service
from referral_api.directory.auth import DirectoryKeeper, DirectoryReader
from referral_api.directory.exceptions import (
    NotYourDirectoryEntry,
    ProviderNotFound,
    ProviderServiceNotFound,
    TooManyServices,
)
from referral_api.directory.schemas import (
    CapacityRead,
    CapacityUpdate,
    ServiceCreate,
    ServiceRead,
    ServiceUpdate,
)
from referral_api.referrals.models import IdempotencyKey

KEEPER_ERRORS = (
    ProviderNotFound,
    ProviderServiceNotFound,
    NotYourDirectoryEntry,
    PreconditionFailed,
    PreconditionRequired,
)

router = APIRouter(prefix="/{provider_id}/services")


@router.post(
    "",
    status_code=201,
    response_model=ServiceRead,
    responses=problem_responses(
        ProviderNotFound,
        NotYourDirectoryEntry,
        TooManyServices,
        *idempotency.IDEMPOTENCY_ERRORS,
    ),
)
async def add_service(
    provider_id: uuid.UUID,
    data: ServiceCreate,
    session: SessionDep,
    principal: DirectoryKeeper,
    key: idempotency.IdempotencyKeyHeader,
    response: Response,
) -> ServiceRead | Response:
    """List a service your organisation offers, for whom and for which forms of exploitation.

    Retry with the same `Idempotency-Key` to get the first response again.
    """
    claim = await idempotency.claim(session, IdempotencyKey, principal, key, data)
    if claim.replay is not None:
        return claim.replay.response()
    added = await service.add_service(session, principal, provider_id, data)
    set_etag(response, added.version)
    created = service.service_read(principal, (added, None))
    await claim.remember(201, created, response.headers)
    return created


@router.get(
    "/{provider_service_id}",
    response_model=ServiceRead,
    responses=problem_responses(ProviderNotFound, ProviderServiceNotFound),
)
async def read_service(
    provider_id: uuid.UUID,
    provider_service_id: uuid.UUID,
    session: SessionDep,
    principal: DirectoryReader,
    response: Response,
) -> ServiceRead:
    """One service of a provider, with its ETag (its capacity has its own `version`)."""
    row = await service.get_service(session, provider_id, provider_service_id)
    set_etag(response, row[0].version)
    return service.service_read(principal, row)


@router.patch(
    "/{provider_service_id}",
    response_model=ServiceRead,
    responses=problem_responses(*KEEPER_ERRORS),
)
async def update_service(
    provider_id: uuid.UUID,
    provider_service_id: uuid.UUID,
    data: ServiceUpdate,
    session: SessionDep,
    principal: DirectoryKeeper,
    version: IfMatch,
    response: Response,
) -> ServiceRead:
    """Change one of your services; If-Match carries the service's ETag."""
    row = await service.update_service(
        session, principal, provider_id, provider_service_id, data, version
    )
    set_etag(response, row[0].version)
    return service.service_read(principal, row)


@router.delete(
    "/{provider_service_id}",
    status_code=204,
    responses=problem_responses(*KEEPER_ERRORS),
)
async def remove_service(
    provider_id: uuid.UUID,
    provider_service_id: uuid.UUID,
    session: SessionDep,
    principal: DirectoryKeeper,
    version: OptionalIfMatch,
) -> Response:
    """Take one of your services off the directory, with its capacity (If-Match optional)."""
    await service.remove_service(session, principal, provider_id, provider_service_id, version)
    return Response(status_code=204)


@router.put(
    "/{provider_service_id}/capacity",
    response_model=CapacityRead,
    responses=problem_responses(*KEEPER_ERRORS),
)
async def report_capacity(
    provider_id: uuid.UUID,
    provider_service_id: uuid.UUID,
    data: CapacityUpdate,
    session: SessionDep,
    principal: DirectoryKeeper,
    version: OptionalIfMatch,
    response: Response,
) -> CapacityRead:
    """Report a service's places now: your organisation's staff only, never the platform.

    The first report needs no If-Match; later ones carry the capacity's ETag, so
    two people counting beds at once cannot overwrite each other. Who reported
    and when is stored with the figures.
    """
    capacity = await service.replace_capacity(
        session, principal, provider_id, provider_service_id, data, version
    )
    set_etag(response, capacity.version)
    return service.capacity_read(principal, capacity)
