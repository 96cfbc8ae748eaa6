"""API clients of an organisation: creation, changes, secret rotation, authentication."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import OrgKind
from baton.authz import AUDIENCES, ROLE_ORG_KINDS, SCOPE_PERMISSIONS, Role
from baton.pagination import PageParams, paginate
from identity_api.clients import secrets
from identity_api.clients.exceptions import ClientIdTaken, ClientNotFound, InvalidClientGrant
from identity_api.clients.models import ApiClient, ClientSecret
from identity_api.clients.schemas import ClientCreate, ClientUpdate
from identity_api.organisations.models import Organisation, utcnow


def check_grants(
    org_kind: OrgKind, roles: Sequence[str], scopes: Sequence[str], audiences: Sequence[str]
) -> None:
    """Refuse roles the organisation's kind cannot hold, and unknown scopes or audiences."""
    problems = []
    for name in roles:
        if name not in Role.__members__:
            problems.append(f"unknown role `{name}`")
        elif org_kind not in ROLE_ORG_KINDS[Role(name)]:
            problems.append(f"role `{name}` is not for a `{org_kind}` organisation")
    problems += [f"unknown scope `{scope}`" for scope in scopes if scope not in SCOPE_PERMISSIONS]
    problems += [f"unknown audience `{aud}`" for aud in audiences if aud not in AUDIENCES]
    if problems:
        raise InvalidClientGrant("; ".join(problems) + ".")


def _unexpired(now: datetime) -> ColumnElement[bool]:
    expires_at = col(ClientSecret.expires_at)
    return or_(expires_at.is_(None), expires_at > now)


@dataclass(frozen=True)
class IssuedSecret:
    client: ApiClient
    secret: str
    previous_valid_until: datetime | None = None


async def create(
    session: AsyncSession, organisation: Organisation, data: ClientCreate
) -> IssuedSecret:
    check_grants(organisation.kind, data.roles, data.scopes, data.audiences)
    client_id = data.client_id or secrets.new_client_id()
    if await session.scalar(select(col(ApiClient.id)).where(col(ApiClient.client_id) == client_id)):
        raise ClientIdTaken(f"`{client_id}` is already used by another client.")
    client = ApiClient(
        client_id=client_id,
        organisation_id=organisation.id,
        name=data.name,
        roles=sorted(set(data.roles)),
        scopes=sorted(set(data.scopes)),
        audiences=sorted(set(data.audiences)),
    )
    session.add(client)
    await session.flush()
    secret = secrets.new_secret()
    session.add(
        ClientSecret(api_client_id=client.id, secret_hash=await secrets.hash_secret(secret))
    )
    await session.flush()
    return IssuedSecret(client=client, secret=secret)


async def get(session: AsyncSession, client_uuid: uuid.UUID) -> ApiClient:
    client = await session.get(ApiClient, client_uuid)
    if client is None:
        raise ClientNotFound()
    return client


async def list_clients(
    session: AsyncSession, params: PageParams, *, organisation_id: uuid.UUID | None
) -> Sequence[ApiClient]:
    query = select(ApiClient)
    if organisation_id is not None:
        query = query.where(col(ApiClient.organisation_id) == organisation_id)
    query = paginate(query, params, col(ApiClient.created_at), col(ApiClient.id))
    return (await session.scalars(query)).all()


async def update(session: AsyncSession, client: ApiClient, data: ClientUpdate) -> ApiClient:
    organisation = await session.get(Organisation, client.organisation_id)
    assert organisation is not None
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    check_grants(
        organisation.kind,
        changes.get("roles", client.roles),
        changes.get("scopes", client.scopes),
        changes.get("audiences", client.audiences),
    )
    for field, value in changes.items():
        setattr(client, field, sorted(set(value)) if isinstance(value, list) else value)
    client.updated_at = utcnow()
    await session.flush()
    return client


async def rotate_secret(session: AsyncSession, client: ApiClient, grace: timedelta) -> IssuedSecret:
    """A new secret; the current ones keep working for `grace`, older ones stop now."""
    now = utcnow()
    valid_until = now + grace
    current = await session.scalars(
        select(ClientSecret).where(col(ClientSecret.api_client_id) == client.id, _unexpired(now))
    )
    for old in current:
        old.expires_at = valid_until if old.expires_at is None else min(old.expires_at, valid_until)
    secret = secrets.new_secret()
    session.add(
        ClientSecret(api_client_id=client.id, secret_hash=await secrets.hash_secret(secret))
    )
    await session.flush()
    return IssuedSecret(client=client, secret=secret, previous_valid_until=valid_until)


async def authenticate(
    session: AsyncSession, client_id: str, secret: str
) -> tuple[ApiClient, Organisation] | None:
    """The active client and organisation whose id and secret these are, else None."""
    now = utcnow()
    row = (
        await session.execute(
            select(ApiClient, Organisation)
            .join(Organisation, col(Organisation.id) == col(ApiClient.organisation_id))
            .where(col(ApiClient.client_id) == client_id)
        )
    ).first()
    hashes: list[str] = []
    if row is not None:
        hashes = list(
            await session.scalars(
                select(col(ClientSecret.secret_hash)).where(
                    col(ClientSecret.api_client_id) == row[0].id, _unexpired(now)
                )
            )
        )
    if not await secrets.matches_any(hashes, secret) or row is None:
        return None
    client, organisation = row
    if not (client.active and organisation.active):
        return None
    return client, organisation
