"""Organisations (tenants): platform administrators manage them; members read their own."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from baton.auth import OrgKind, Principal
from baton.authz import Authorize, Permission
from baton.db import SessionDep
from baton.errors import problem_responses
from baton.pagination import Page, PageParams, page_of, page_params
from identity_api.organisations import service
from identity_api.organisations.exceptions import OrganisationNotFound
from identity_api.organisations.schemas import (
    OrganisationCreate,
    OrganisationRead,
    OrganisationUpdate,
)

OrganisationReader = Annotated[Principal, Authorize(Permission.organisation_read)]
OrganisationManager = Annotated[Principal, Authorize(Permission.organisation_manage)]

router = APIRouter(prefix="/v1/organisations", tags=["organisations"])


@router.post("", status_code=201, response_model=OrganisationRead)
async def create_organisation(
    data: OrganisationCreate, session: SessionDep, _: OrganisationManager
) -> OrganisationRead:
    """Register a tenant: an NGO, a government agency, a donor or the platform operator."""
    return OrganisationRead.model_validate(await service.create(session, data))


@router.get("", response_model=Page[OrganisationRead])
async def list_organisations(
    session: SessionDep,
    principal: OrganisationReader,
    params: Annotated[PageParams, Depends(page_params)],
    kind: Annotated[OrgKind | None, Query()] = None,
    active: Annotated[bool | None, Query()] = None,
) -> Page[OrganisationRead]:
    """Organisations the caller may see: all for the platform, otherwise its own."""
    rows = await service.list_visible(session, principal, params, kind=kind, active=active)
    return page_of(rows, params, [OrganisationRead.model_validate(row) for row in rows])


@router.get(
    "/{org_id}",
    response_model=OrganisationRead,
    responses=problem_responses(OrganisationNotFound),
)
async def read_organisation(
    org_id: uuid.UUID, session: SessionDep, principal: OrganisationReader
) -> OrganisationRead:
    """One organisation; another tenant's is reported as not found."""
    return OrganisationRead.model_validate(await service.get(session, principal, org_id))


@router.patch(
    "/{org_id}",
    response_model=OrganisationRead,
    responses=problem_responses(OrganisationNotFound),
)
async def update_organisation(
    org_id: uuid.UUID, data: OrganisationUpdate, session: SessionDep, principal: OrganisationManager
) -> OrganisationRead:
    """Rename, move or (de)activate an organisation."""
    return OrganisationRead.model_validate(await service.update(session, principal, org_id, data))
