"""Finding providers: by place, language and what they offer to whom; free places now.

Every filter is a code or a vocabulary value: nothing that could describe a
person travels in these queries (URLs end up in access logs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.pagination import PageParams, paginate
from referral_api.directory.models import Provider, ProviderCapacity, ProviderService
from referral_api.directory.schemas import CapacityAnswer, CapacityMatch

MAX_MATCHES = 100


@dataclass(frozen=True)
class DirectoryFilters:
    country: str | None = None
    region: str | None = None
    language: str | None = None
    service_type: str | None = None
    target_group: str | None = None
    exploitation_form: str | None = None
    accepts_referrals: bool | None = None
    available_24_7: bool | None = None
    active: bool | None = True


def _provider_conditions(filters: DirectoryFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.country is not None:
        conditions.append(col(Provider.country) == filters.country)
    if filters.region is not None:
        # A provider naming no region serves its whole country.
        conditions.append(
            or_(
                col(Provider.regions_served).contains([filters.region]),
                and_(
                    func.cardinality(col(Provider.regions_served)) == 0,
                    col(Provider.country) == filters.region[:2],
                ),
            )
        )
    if filters.language is not None:
        conditions.append(col(Provider.languages).contains([filters.language]))
    flags = {
        col(Provider.accepts_referrals): filters.accepts_referrals,
        col(Provider.available_24_7): filters.available_24_7,
        col(Provider.active): filters.active,
    }
    conditions.extend(column.is_(value) for column, value in flags.items() if value is not None)
    return conditions


def _service_conditions(filters: DirectoryFilters) -> list[ColumnElement[bool]]:
    # Applied to one service row: a provider housing women and giving men legal
    # aid does not match "accommodation for men".
    conditions: list[ColumnElement[bool]] = []
    if filters.service_type is not None:
        conditions.append(col(ProviderService.service_type) == filters.service_type)
    if filters.target_group is not None:
        conditions.append(col(ProviderService.target_groups).contains([filters.target_group]))
    if filters.exploitation_form is not None:
        conditions.append(
            col(ProviderService.exploitation_forms).contains([filters.exploitation_form])
        )
    return conditions


async def list_providers(
    session: AsyncSession, params: PageParams, filters: DirectoryFilters
) -> Sequence[Provider]:
    query = select(Provider).where(*_provider_conditions(filters))
    offered = _service_conditions(filters)
    if offered:
        query = query.where(
            select(col(ProviderService.id))
            .where(col(ProviderService.provider_id) == col(Provider.id), *offered)
            .exists()
        )
    query = paginate(query, params, col(Provider.created_at), col(Provider.id))
    return (await session.scalars(query)).all()


async def check_capacity(session: AsyncSession, filters: DirectoryFilters) -> CapacityAnswer:
    """Active providers taking referrals with free places in a matching service."""
    open_filters = replace(filters, accepts_referrals=True, active=True)
    query = (
        select(
            col(Provider.id),
            col(Provider.name),
            col(ProviderService.id),
            col(ProviderCapacity.places_free),
            col(ProviderCapacity.updated_at),
        )
        .join(ProviderService, col(ProviderService.provider_id) == col(Provider.id))
        .join(ProviderCapacity, col(ProviderCapacity.service_id) == col(ProviderService.id))
        .where(
            col(ProviderCapacity.places_free) > 0,
            *_provider_conditions(open_filters),
            *_service_conditions(open_filters),
        )
        .order_by(
            col(ProviderCapacity.places_free).desc(), col(Provider.name), col(ProviderService.id)
        )
        .limit(MAX_MATCHES + 1)
    )
    rows = (await session.execute(query)).all()
    items = [
        CapacityMatch(
            provider_id=provider_id,
            provider_name=name,
            service_id=service_id,
            places_free=free,
            updated_at=updated_at,
        )
        for provider_id, name, service_id, free, updated_at in rows[:MAX_MATCHES]
    ]
    return CapacityAnswer(items=items, truncated=len(rows) > MAX_MATCHES)
