"""Organisations: every read is scoped to the caller's own unless the caller runs the platform."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import OrgKind, Principal
from baton.pagination import PageParams, paginate
from identity_api.organisations.exceptions import OrganisationNotFound
from identity_api.organisations.models import Organisation, utcnow
from identity_api.organisations.schemas import OrganisationCreate, OrganisationUpdate


def _sees_all(principal: Principal) -> bool:
    return principal.org_kind is OrgKind.platform


async def create(session: AsyncSession, data: OrganisationCreate) -> Organisation:
    organisation = Organisation(name=data.name, kind=data.kind, country=data.country)
    session.add(organisation)
    await session.flush()
    return organisation


async def get(session: AsyncSession, principal: Principal, org_id: uuid.UUID) -> Organisation:
    """The organisation, if the caller may see it; 404 otherwise (existence is not revealed)."""
    if not _sees_all(principal) and principal.org_id != org_id:
        raise OrganisationNotFound()
    organisation = await session.get(Organisation, org_id)
    if organisation is None:
        raise OrganisationNotFound()
    return organisation


async def list_visible(
    session: AsyncSession,
    principal: Principal,
    params: PageParams,
    *,
    kind: OrgKind | None = None,
    active: bool | None = None,
) -> Sequence[Organisation]:
    query = select(Organisation)
    if not _sees_all(principal):
        query = query.where(col(Organisation.id) == principal.org_id)
    if kind is not None:
        query = query.where(col(Organisation.kind) == kind)
    if active is not None:
        query = query.where(col(Organisation.active) == active)
    query = paginate(query, params, col(Organisation.created_at), col(Organisation.id))
    return (await session.scalars(query)).all()


async def update(
    session: AsyncSession, principal: Principal, org_id: uuid.UUID, data: OrganisationUpdate
) -> Organisation:
    organisation = await get(session, principal, org_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            continue
        setattr(organisation, field, value)
    organisation.updated_at = utcnow()
    await session.flush()
    return organisation
