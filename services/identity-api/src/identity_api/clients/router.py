"""API clients for machine-to-machine access; managed by platform administrators."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from baton.auth import Principal
from baton.authz import Authorize, Permission
from baton.db import SessionDep
from baton.errors import problem_responses
from baton.pagination import Page, PageParams, page_of, page_params
from identity_api.clients import service
from identity_api.clients.exceptions import ClientIdTaken, ClientNotFound, InvalidClientGrant
from identity_api.clients.schemas import ClientCreate, ClientRead, ClientUpdate, ClientWithSecret
from identity_api.organisations import service as organisation_service
from identity_api.organisations.exceptions import OrganisationNotFound

ClientManager = Annotated[Principal, Authorize(Permission.client_manage)]

router = APIRouter(prefix="/v1/clients", tags=["clients"])


def _with_secret(issued: service.IssuedSecret) -> ClientWithSecret:
    return ClientWithSecret(
        **ClientRead.model_validate(issued.client).model_dump(),
        client_secret=issued.secret,
        previous_secret_valid_until=issued.previous_valid_until,
    )


@router.post(
    "",
    status_code=201,
    response_model=ClientWithSecret,
    responses=problem_responses(OrganisationNotFound, ClientIdTaken, InvalidClientGrant),
)
async def create_client(
    data: ClientCreate, session: SessionDep, principal: ClientManager
) -> ClientWithSecret:
    """Register a machine client of an organisation. The secret is returned this once."""
    organisation = await organisation_service.get(session, principal, data.organisation_id)
    return _with_secret(await service.create(session, organisation, data))


@router.get("", response_model=Page[ClientRead])
async def list_clients(
    session: SessionDep,
    _: ClientManager,
    params: Annotated[PageParams, Depends(page_params)],
    organisation_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[ClientRead]:
    """API clients, optionally of one organisation. Secrets are never listed."""
    rows = await service.list_clients(session, params, organisation_id=organisation_id)
    return page_of(rows, params, [ClientRead.model_validate(row) for row in rows])


@router.get(
    "/{client_uuid}", response_model=ClientRead, responses=problem_responses(ClientNotFound)
)
async def read_client(client_uuid: uuid.UUID, session: SessionDep, _: ClientManager) -> ClientRead:
    """One API client."""
    return ClientRead.model_validate(await service.get(session, client_uuid))


@router.patch(
    "/{client_uuid}",
    response_model=ClientRead,
    responses=problem_responses(ClientNotFound, InvalidClientGrant),
)
async def update_client(
    client_uuid: uuid.UUID, data: ClientUpdate, session: SessionDep, _: ClientManager
) -> ClientRead:
    """Change roles, scopes, audiences, name, or (de)activate; tokens already issued run out."""
    client = await service.get(session, client_uuid)
    return ClientRead.model_validate(await service.update(session, client, data))


@router.post(
    "/{client_uuid}/secret-rotations",
    status_code=201,
    response_model=ClientWithSecret,
    responses=problem_responses(ClientNotFound),
)
async def rotate_client_secret(
    client_uuid: uuid.UUID, request: Request, session: SessionDep, _: ClientManager
) -> ClientWithSecret:
    """A new secret, shown once; the previous one keeps working for the grace period."""
    grace = timedelta(seconds=request.app.state.settings.client_secret_grace_seconds)
    client = await service.get(session, client_uuid)
    return _with_secret(await service.rotate_secret(session, client, grace))
