"""Directory entries, their services and capacity: read by all, kept by their organisation.

No row-level security here (the directory is shared and holds no person's data),
so every write checks the entry's organisation itself: the keeper's own staff,
and platform administrators for the entry and its services (to help an NGO
onboard), never for capacity, which only the provider knows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import OrgKind, Principal
from baton.concurrency import PreconditionFailed, PreconditionRequired, check_version
from baton.db import utcnow
from referral_api.directory.exceptions import (
    NotYourDirectoryEntry,
    ProviderExists,
    ProviderNotFound,
    ProviderOrganisationInvalid,
    ProviderServiceNotFound,
    RegionOutsideCountry,
    TooManyServices,
)
from referral_api.directory.models import Provider, ProviderCapacity, ProviderService
from referral_api.directory.schemas import (
    CapacityRead,
    CapacityUpdate,
    ProviderCreate,
    ProviderRead,
    ProviderUpdate,
    ServiceCreate,
    ServiceRead,
    ServiceUpdate,
)

MAX_SERVICES = 50
# Cleared by sending null; the other fields keep their value when null is sent.
CLEARABLE = frozenset({"description", "intake_phone", "intake_email", "eligibility"})
# Lists stored as sets: sorted, each value once.
SETS = frozenset({"regions_served", "languages", "target_groups", "exploitation_forms"})

ServiceRow = tuple[ProviderService, ProviderCapacity | None]


def _is_platform(principal: Principal) -> bool:
    # The route checked `directory:manage`; in a platform organisation only its
    # administrators hold it.
    return principal.org_kind is OrgKind.platform


def _check_keeper(
    principal: Principal, organisation_id: uuid.UUID, *, platform_may: bool = True
) -> None:
    if principal.org_id == organisation_id or (platform_may and _is_platform(principal)):
        return
    raise NotYourDirectoryEntry("Only the organisation this entry describes may change it.")


def _check_regions(provider: Provider) -> None:
    if any(region[:2] != provider.country for region in provider.regions_served):
        raise RegionOutsideCountry("Name subdivisions of the provider's country, or none for all.")


def _normalised(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        name: sorted(set(value)) if name in SETS and value is not None else value
        for name, value in fields.items()
    }


def _apply(record: Provider | ProviderService, changes: dict[str, Any]) -> bool:
    """Set the changed fields; whether any value differs from what was stored."""
    changed = False
    for field, value in _normalised(changes).items():
        if (value is None and field not in CLEARABLE) or getattr(record, field) == value:
            continue
        setattr(record, field, value)
        changed = True
    return changed


def _touch(record: Provider | ProviderService | ProviderCapacity) -> None:
    record.version += 1
    record.updated_at = utcnow()


def capacity_read(principal: Principal, capacity: ProviderCapacity) -> CapacityRead:
    own = principal.org_id == capacity.organisation_id
    return CapacityRead(
        places_total=capacity.places_total,
        places_free=capacity.places_free,
        version=capacity.version,
        updated_at=capacity.updated_at,
        # A staff member's id is the provider's business, not every reader's.
        updated_by=capacity.updated_by if own else None,
    )


def service_read(principal: Principal, row: ServiceRow) -> ServiceRead:
    service, capacity = row
    return ServiceRead.model_validate(
        {
            **service.model_dump(),
            "capacity": None if capacity is None else capacity_read(principal, capacity),
        }
    )


def provider_read(
    principal: Principal, provider: Provider, services: Iterable[ServiceRow]
) -> ProviderRead:
    items = [service_read(principal, row) for row in services]
    return ProviderRead.model_validate({**provider.model_dump(), "services": items})


async def get_provider(
    session: AsyncSession, provider_id: uuid.UUID, *, lock: bool = False
) -> Provider:
    query = select(Provider).where(col(Provider.id) == provider_id)
    if lock:
        query = query.with_for_update()
    provider = await session.scalar(query)
    if provider is None:
        raise ProviderNotFound()
    return provider


async def services_of(
    session: AsyncSession, provider_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ServiceRow]]:
    """The services of these providers with their capacity, oldest first, in one query."""
    query = (
        select(ProviderService, ProviderCapacity)
        .outerjoin(ProviderCapacity, col(ProviderCapacity.service_id) == col(ProviderService.id))
        .where(col(ProviderService.provider_id).in_(provider_ids))
        .order_by(col(ProviderService.created_at), col(ProviderService.id))
    )
    found: dict[uuid.UUID, list[ServiceRow]] = {ident: [] for ident in provider_ids}
    for service, capacity in await session.execute(query):
        found[service.provider_id].append((service, capacity))
    return found


async def read_provider(
    session: AsyncSession, principal: Principal, provider_id: uuid.UUID
) -> ProviderRead:
    provider = await get_provider(session, provider_id)
    services = await services_of(session, [provider.id])
    return provider_read(principal, provider, services[provider.id])


async def create_provider(
    session: AsyncSession, principal: Principal, data: ProviderCreate
) -> Provider:
    organisation_id = data.organisation_id or principal.org_id
    if _is_platform(principal):
        if organisation_id == principal.org_id:
            raise ProviderOrganisationInvalid("Name the NGO in `organisation_id`.")
    elif organisation_id != principal.org_id:
        raise NotYourDirectoryEntry("You may create your own organisation's entry only.")
    fields = _normalised(data.model_dump(exclude={"organisation_id"}))
    provider = Provider(organisation_id=organisation_id, **fields)
    _check_regions(provider)
    session.add(provider)
    try:
        await session.flush()
    except IntegrityError as exc:
        # The unique organisation decides, between two concurrent creations too.
        raise ProviderExists("Update the organisation's existing entry instead.") from exc
    return provider


async def update_provider(
    session: AsyncSession,
    principal: Principal,
    provider_id: uuid.UUID,
    data: ProviderUpdate,
    version: int,
) -> Provider:
    # Locked, so two updates based on the same version cannot both pass the check.
    provider = await get_provider(session, provider_id, lock=True)
    _check_keeper(principal, provider.organisation_id)
    check_version(version, provider.version)
    # Nothing changed, nothing new: the ETag the caller holds stays valid.
    if _apply(provider, data.model_dump(exclude_unset=True)):
        _check_regions(provider)
        _touch(provider)
    await session.flush()
    return provider


async def get_service(
    session: AsyncSession, provider_id: uuid.UUID, service_id: uuid.UUID, *, lock: bool = False
) -> ServiceRow:
    """The service of this provider and its capacity; a missing provider is not found first."""
    await get_provider(session, provider_id)
    query = select(ProviderService).where(
        col(ProviderService.id) == service_id, col(ProviderService.provider_id) == provider_id
    )
    if lock:
        query = query.with_for_update()
    service = await session.scalar(query)
    if service is None:
        raise ProviderServiceNotFound()
    capacity_query = select(ProviderCapacity).where(col(ProviderCapacity.service_id) == service.id)
    if lock:
        capacity_query = capacity_query.with_for_update()
    return service, await session.scalar(capacity_query)


async def add_service(
    session: AsyncSession, principal: Principal, provider_id: uuid.UUID, data: ServiceCreate
) -> ProviderService:
    # Locked: two concurrent additions cannot both pass the count below.
    provider = await get_provider(session, provider_id, lock=True)
    _check_keeper(principal, provider.organisation_id)
    count = await session.scalar(
        select(func.count())
        .select_from(ProviderService)
        .where(col(ProviderService.provider_id) == provider.id)
    )
    if (count or 0) >= MAX_SERVICES:
        raise TooManyServices(f"An entry lists at most {MAX_SERVICES} services.")
    service = ProviderService(
        provider_id=provider.id,
        organisation_id=provider.organisation_id,
        **_normalised(data.model_dump()),
    )
    session.add(service)
    await session.flush()
    return service


async def _kept_service(
    session: AsyncSession,
    principal: Principal,
    provider_id: uuid.UUID,
    service_id: uuid.UUID,
    *,
    platform_may: bool = True,
) -> ServiceRow:
    service, capacity = await get_service(session, provider_id, service_id, lock=True)
    _check_keeper(principal, service.organisation_id, platform_may=platform_may)
    return service, capacity


async def update_service(
    session: AsyncSession,
    principal: Principal,
    provider_id: uuid.UUID,
    service_id: uuid.UUID,
    data: ServiceUpdate,
    version: int,
) -> ServiceRow:
    service, capacity = await _kept_service(session, principal, provider_id, service_id)
    check_version(version, service.version)
    if _apply(service, data.model_dump(exclude_unset=True)):
        _touch(service)
    await session.flush()
    return service, capacity


async def remove_service(
    session: AsyncSession,
    principal: Principal,
    provider_id: uuid.UUID,
    service_id: uuid.UUID,
    version: int | None,
) -> None:
    service, _ = await _kept_service(session, principal, provider_id, service_id)
    if version is not None:
        check_version(version, service.version)
    # Its capacity goes with it (ON DELETE CASCADE).
    await session.delete(service)
    await session.flush()


async def replace_capacity(
    session: AsyncSession,
    principal: Principal,
    provider_id: uuid.UUID,
    service_id: uuid.UUID,
    data: CapacityUpdate,
    version: int | None,
) -> ProviderCapacity:
    # The service row is locked too, so two first reports cannot both insert.
    service, capacity = await _kept_service(
        session, principal, provider_id, service_id, platform_may=False
    )
    if capacity is None:
        if version is not None:
            raise PreconditionFailed("No capacity was reported yet: send no If-Match.")
        capacity = ProviderCapacity(
            service_id=service.id,
            organisation_id=service.organisation_id,
            places_total=data.places_total,
            places_free=data.places_free,
            updated_by=principal.subject,
        )
        session.add(capacity)
    else:
        if version is None:
            raise PreconditionRequired("Send the capacity's ETag in If-Match to replace it.")
        check_version(version, capacity.version)
        capacity.places_total = data.places_total
        capacity.places_free = data.places_free
        capacity.updated_by = principal.subject
        _touch(capacity)
    await session.flush()
    return capacity
