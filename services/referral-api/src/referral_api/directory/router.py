"""The provider directory: who receives referrals, what they offer, whether they have room.

Every directory reader sees every entry (it holds no person's data and no
address), so these routes use the plain session, with no tenant binding;
writes check in the service layer that the caller keeps the entry, and a
stranger is told so (403 `not-your-directory-entry`) since the entry is visible.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from baton import idempotency
from baton.auth import Principal
from baton.concurrency import IfMatch, PreconditionFailed, PreconditionRequired, set_etag
from baton.db import SessionDep
from baton.errors import problem_responses
from baton.pagination import InvalidCursor, Page, PageParams, page_of, page_params
from referral_api.directory import search, service
from referral_api.directory.auth import DirectoryKeeper, DirectoryReader
from referral_api.directory.exceptions import (
    NotYourDirectoryEntry,
    ProviderExists,
    ProviderNotFound,
    ProviderOrganisationInvalid,
    RegionOutsideCountry,
    UnknownParameter,
)
from referral_api.directory.schemas import (
    CapacityAnswer,
    CountryFilter,
    LanguageCode,
    ProviderCreate,
    ProviderRead,
    ProviderUpdate,
    RegionCode,
)
from referral_api.directory.search import DirectoryFilters
from referral_api.directory.services_router import router as services_router
from referral_api.referrals.models import IdempotencyKey
from referral_api.vocabulary import ExploitationForm, ServiceType, TargetGroup

Region = Annotated[
    RegionCode | None,
    Query(description="ISO 3166-2 code; providers serving their whole country match too"),
]
Language = Annotated[LanguageCode | None, Query(description="ISO 639 code")]
Country = Annotated[CountryFilter | None, Query(description="ISO 3166-1 alpha-2")]
KEEPER_ERRORS = (ProviderNotFound, NotYourDirectoryEntry, PreconditionFailed, PreconditionRequired)
CAPACITY_PARAMETERS = frozenset(
    {
        "service_type",
        "target_group",
        "exploitation_form",
        "country",
        "region",
        "language",
        "available_24_7",
    }
)

router = APIRouter(prefix="/v1/providers", tags=["directory"])


async def _capacity_reader(request: Request, principal: DirectoryReader) -> Principal:
    # An unknown parameter is refused rather than ignored: whatever a client meant
    # to send about a person must not seem to have worked.
    if set(request.query_params) - CAPACITY_PARAMETERS:
        allowed = ", ".join(sorted(CAPACITY_PARAMETERS))
        raise UnknownParameter(f"The capacity check takes only: {allowed}.")
    return principal


def _answer(response: Response, read: ProviderRead) -> ProviderRead:
    set_etag(response, read.version)
    return read


@router.get("", response_model=Page[ProviderRead], responses=problem_responses(InvalidCursor))
async def list_providers(
    session: SessionDep,
    principal: DirectoryReader,
    params: Annotated[PageParams, Depends(page_params)],
    country: Country = None,
    region: Region = None,
    language: Language = None,
    service_type: Annotated[ServiceType | None, Query()] = None,
    target_group: Annotated[TargetGroup | None, Query()] = None,
    exploitation_form: Annotated[ExploitationForm | None, Query()] = None,
    accepts_referrals: Annotated[bool | None, Query()] = None,
    available_24_7: Annotated[bool | None, Query()] = None,
    active: Annotated[bool, Query(description="false: the entries taken off the list")] = True,
) -> Page[ProviderRead]:
    """Providers, oldest entry first, with their services and capacity.

    `service_type`, `target_group` and `exploitation_form` must all hold for one
    and the same service of the provider.
    """
    filters = DirectoryFilters(
        country=country,
        region=region,
        language=language,
        service_type=service_type,
        target_group=target_group,
        exploitation_form=exploitation_form,
        accepts_referrals=accepts_referrals,
        available_24_7=available_24_7,
        active=active,
    )
    rows = await search.list_providers(session, params, filters)
    services = await service.services_of(session, [row.id for row in rows])
    items = [service.provider_read(principal, row, services[row.id]) for row in rows]
    return page_of(rows, params, items)


@router.get(
    "/capacity", response_model=CapacityAnswer, responses=problem_responses(UnknownParameter)
)
async def check_capacity(
    session: SessionDep,
    _: Annotated[Principal, Depends(_capacity_reader)],
    service_type: Annotated[ServiceType, Query()],
    target_group: Annotated[TargetGroup | None, Query()] = None,
    exploitation_form: Annotated[ExploitationForm | None, Query()] = None,
    country: Country = None,
    region: Region = None,
    language: Language = None,
    available_24_7: Annotated[bool | None, Query()] = None,
) -> CapacityAnswer:
    """Who has free places now for this service: provider ids, names and counts only.

    Only active providers taking referrals, with capacity reported and above zero.
    Every parameter is a code or a vocabulary value; any other parameter is
    refused (422), so nothing describing a person can ride along in the URL.
    """
    filters = DirectoryFilters(
        country=country,
        region=region,
        language=language,
        service_type=service_type,
        target_group=target_group,
        exploitation_form=exploitation_form,
        available_24_7=available_24_7,
    )
    return await search.check_capacity(session, filters)


@router.post(
    "",
    status_code=201,
    response_model=ProviderRead,
    responses=problem_responses(
        NotYourDirectoryEntry,
        ProviderExists,
        ProviderOrganisationInvalid,
        RegionOutsideCountry,
        *idempotency.IDEMPOTENCY_ERRORS,
    ),
)
async def create_provider(
    data: ProviderCreate,
    session: SessionDep,
    principal: DirectoryKeeper,
    key: idempotency.IdempotencyKeyHeader,
    response: Response,
) -> ProviderRead | Response:
    """Create your organisation's directory entry (one per organisation).

    Platform administrators create one for an NGO by naming it in `organisation_id`.
    No field takes an address: a shelter's location is never shared. Retry with the
    same `Idempotency-Key` to get the first response again.
    """
    claim = await idempotency.claim(session, IdempotencyKey, principal, key, data)
    if claim.replay is not None:
        return claim.replay.response()
    provider = await service.create_provider(session, principal, data)
    created = _answer(response, service.provider_read(principal, provider, []))
    await claim.remember(201, created, response.headers)
    return created


@router.get(
    "/{provider_id}", response_model=ProviderRead, responses=problem_responses(ProviderNotFound)
)
async def read_provider(
    provider_id: uuid.UUID, session: SessionDep, principal: DirectoryReader, response: Response
) -> ProviderRead:
    """One provider with its services and capacity, and its ETag."""
    return _answer(response, await service.read_provider(session, principal, provider_id))


@router.patch(
    "/{provider_id}",
    response_model=ProviderRead,
    responses=problem_responses(*KEEPER_ERRORS, RegionOutsideCountry),
)
async def update_provider(
    provider_id: uuid.UUID,
    data: ProviderUpdate,
    session: SessionDep,
    principal: DirectoryKeeper,
    version: IfMatch,
    response: Response,
) -> ProviderRead:
    """Change your entry (platform administrators: any); If-Match carries the ETag you read."""
    await service.update_provider(session, principal, provider_id, data, version)
    return _answer(response, await service.read_provider(session, principal, provider_id))


router.include_router(services_router)
