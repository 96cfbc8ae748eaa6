"""Demo organisations and clients (`make run`): one persona per role, with fixed ids.

Secrets are new on every run and written to a file under `.data/` that is never
committed; `python -m baton.stack token <persona>` reads it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.authz import AUDIENCES
from baton.stack.programme import (
    FOUNDATION,
    NGO_SKOPJE,
    NGO_TIRANA,
    ORGANISATIONS,
    PLATFORM,
    POLICE,
    DemoOrganisation,
)
from identity_api.clients import secrets
from identity_api.clients.models import ApiClient, ClientSecret
from identity_api.organisations.models import Organisation


@dataclass(frozen=True)
class Persona:
    name: str
    organisation: DemoOrganisation
    roles: tuple[str, ...]
    scopes: tuple[str, ...] = ()


PERSONAS = (
    Persona("caseworker", NGO_TIRANA, ("caseworker",)),
    Persona("case-manager", NGO_TIRANA, ("case_manager",)),
    Persona("other-ngo-caseworker", NGO_SKOPJE, ("caseworker",)),
    Persona("referrer", POLICE, ("referrer",)),
    Persona("grant-manager", FOUNDATION, ("grant_manager",)),
    Persona("donor-viewer", FOUNDATION, ("donor_viewer",)),
    Persona("auditor", NGO_TIRANA, ("auditor",)),
    Persona("platform-admin", PLATFORM, ("platform_admin",)),
    # Baton's own services calling cases-api: narrow scopes, no role.
    Persona("referral-service", PLATFORM, (), ("cases:intake",)),
    Persona("grants-service", PLATFORM, (), ("cases:stats",)),
)


async def _ensure_organisation(session: AsyncSession, demo: DemoOrganisation) -> None:
    if await session.get(Organisation, demo.id) is None:
        session.add(Organisation(id=demo.id, name=demo.name, kind=demo.kind, country=demo.country))
        await session.flush()


async def seed(session: AsyncSession) -> dict[str, dict[str, object]]:
    """Create what is missing and give every demo client a fresh secret."""
    credentials: dict[str, dict[str, object]] = {}
    for organisation in ORGANISATIONS:
        await _ensure_organisation(session, organisation)
    for persona in PERSONAS:
        await _ensure_organisation(session, persona.organisation)
        client_id = f"demo-{persona.name}"
        client = await session.scalar(
            select(ApiClient).where(col(ApiClient.client_id) == client_id)
        )
        if client is None:
            client = ApiClient(
                client_id=client_id,
                organisation_id=persona.organisation.id,
                name=f"Demo {persona.name}",
                roles=list(persona.roles),
                scopes=list(persona.scopes),
                audiences=sorted(AUDIENCES),
            )
            session.add(client)
            await session.flush()
        await session.execute(
            delete(ClientSecret).where(col(ClientSecret.api_client_id) == client.id)
        )
        secret = secrets.new_secret()
        session.add(
            ClientSecret(api_client_id=client.id, secret_hash=await secrets.hash_secret(secret))
        )
        credentials[persona.name] = {
            "client_id": client_id,
            "client_secret": secret,
            "organisation_id": str(persona.organisation.id),
            "organisation": persona.organisation.name,
            "org_kind": persona.organisation.kind.value,
            "roles": list(persona.roles),
        }
    await session.flush()
    return credentials


def write_credentials(path: Path, credentials: dict[str, dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(credentials, handle, indent=2, ensure_ascii=False)
