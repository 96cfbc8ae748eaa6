"""Programmes: created by a donor's grant managers, read by every funder of them and by
the NGOs holding a grant in them; changed by the managing donor only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.authz import Forbidden
from baton.concurrency import check_version
from baton.db import utcnow
from baton.pagination import PageParams, paginate
from grants_api.access import party
from grants_api.exceptions import ProgrammeNotFound, Refused
from grants_api.grants.models import Grant
from grants_api.programmes.models import Programme
from grants_api.programmes.schemas import ProgrammeCreate, ProgrammeUpdate
from grants_api.screening import screen


class NotTheProgrammeManager(Forbidden):
    code = "programme-not-managed-by-you"
    title = "Only the donor that manages the programme changes it"


class ProgrammePeriodInvalid(Refused):
    code = "programme-period-invalid"
    title = "The programme's period must run forward"


def _funders(manager: uuid.UUID, co_funders: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    return [manager, *(org for org in co_funders if org != manager)]


def _visible(principal: Principal) -> sa.ColumnElement[bool]:
    """Funded by the caller's organisation, or holding a grant it is a party of."""
    granted = select(col(Grant.programme_id)).where(
        party(col(Grant.party_organisation_ids), principal)
    )
    return sa.or_(
        party(col(Programme.funder_organisation_ids), principal),
        col(Programme.id).in_(granted.scalar_subquery()),
    )


def is_funder(programme: Programme, principal: Principal) -> bool:
    return principal.org_id in programme.funder_organisation_ids


async def create(session: AsyncSession, principal: Principal, data: ProgrammeCreate) -> Programme:
    screen({"name": data.name, "description": data.description})
    programme = Programme(
        managing_organisation_id=principal.org_id,
        funder_organisation_ids=_funders(principal.org_id, data.co_funder_organisation_ids),
        name=data.name,
        description=data.description,
        countries=list(data.countries),
        period_start=data.period_start,
        period_end=data.period_end,
        currency=data.currency,
        created_by=principal.subject,
    )
    session.add(programme)
    await session.flush()
    return programme


async def get(
    session: AsyncSession, principal: Principal, programme_id: uuid.UUID, *, lock: bool = False
) -> Programme:
    """The programme if the caller's organisation funds it or holds a grant in it; else 404."""
    query = select(Programme).where(col(Programme.id) == programme_id, _visible(principal))
    if lock:
        query = query.with_for_update()
    programme = await session.scalar(query)
    if programme is None:
        raise ProgrammeNotFound()
    return programme


async def list_for(
    session: AsyncSession, principal: Principal, params: PageParams
) -> Sequence[Programme]:
    query = select(Programme).where(_visible(principal))
    return (
        await session.scalars(paginate(query, params, col(Programme.created_at), col(Programme.id)))
    ).all()


async def update(
    session: AsyncSession,
    principal: Principal,
    programme_id: uuid.UUID,
    data: ProgrammeUpdate,
    version: int,
) -> Programme:
    programme = await get(session, principal, programme_id, lock=True)
    if programme.managing_organisation_id != principal.org_id:
        raise NotTheProgrammeManager()
    check_version(version, programme.version)
    screen({"name": data.name, "description": data.description})
    changes = data.model_dump(exclude_unset=True)
    co_funders = changes.pop("co_funder_organisation_ids", None)
    for field, value in changes.items():
        setattr(programme, field, value)
    if co_funders is not None:
        programme.funder_organisation_ids = _funders(programme.managing_organisation_id, co_funders)
    if programme.period_end < programme.period_start:
        raise ProgrammePeriodInvalid("period_end comes on or after period_start.")
    programme.version += 1
    programme.updated_at = utcnow()
    await session.flush()
    return programme
