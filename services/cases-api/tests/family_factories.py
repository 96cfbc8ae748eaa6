"""Factories for family members, consents and notes (a module: conftest cannot be imported)."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from baton.auth import OrgKind, Principal
from baton.stack.postgres import postgres_bin_dir
from baton.tenancy import bind_tenant
from cases_api.config import CasesSettings
from cases_factories import Caller

PURPOSE = {"purpose": "case_management"}
# Planted in family members' identities and in notes; never to be found in the clear.
PLANTED_CHILD_NAME = "Erjona"
PLANTED_NOTE = "Sleeps badly since the call from Durres about her brother"


def days_from_today(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def family_member_body(with_identity: bool = True, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "relationship": "child",
        "sex": "female",
        "age_group": "child",
        "services_received": ["education", "psychological"],
        **fields,
    }
    if with_identity:
        body["identity"] = {
            "given_names": PLANTED_CHILD_NAME,
            "family_names": "Zhupaniqi",
            "date_of_birth": "2015-03-02",
        }
    return body


async def new_family_member(
    cases: httpx.AsyncClient, caller: Caller, beneficiary_id: str, **fields: Any
) -> dict[str, Any]:
    response = await cases.post(
        f"/v1/beneficiaries/{beneficiary_id}/family-members",
        json=family_member_body(**fields),
        headers=caller.headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def sharing_body(recipient: uuid.UUID, scope: list[str], **fields: Any) -> dict[str, Any]:
    return {
        "type": "sharing",
        "recipient_organisation_id": str(recipient),
        "scope": scope,
        "given_on": days_from_today(-10),
        "language": "sq",
        "interpreter_used": True,
        **fields,
    }


async def new_consent(
    cases: httpx.AsyncClient, caller: Caller, beneficiary_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await cases.post(
        f"/v1/beneficiaries/{beneficiary_id}/consents", json=body, headers=caller.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def new_note(
    cases: httpx.AsyncClient,
    caller: Caller,
    case_id: str,
    text: str = PLANTED_NOTE,
    category: str = "counselling",
) -> dict[str, Any]:
    response = await cases.post(
        f"/v1/cases/{case_id}/notes",
        json={"category": category, "text": text},
        headers=caller.headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def audit_actions(
    cases: httpx.AsyncClient, auditor: Caller, resource_id: str
) -> list[dict[str, Any]]:
    response = await cases.get(
        "/v1/audit-events", params={"resource_id": resource_id}, headers=auditor.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def principal_of(caller: Caller) -> Principal:
    return Principal(
        subject=caller.subject,
        org_id=caller.org_id,
        org_kind=OrgKind(caller.org_kind),
        roles=frozenset(caller.roles),
        scopes=frozenset(),
        issuer="tests",
        expires_at=int(time.time()) + 300,
    )


@asynccontextmanager
async def tenant_session(settings: CasesSettings, caller: Caller) -> AsyncIterator[AsyncSession]:
    """A session as the service's runtime login, bound to the caller's organisation."""
    engine = create_async_engine(settings.database_url.get_secret_value())
    try:
        async with async_sessionmaker(engine)() as session:
            await bind_tenant(session, caller.org_id)
            yield session
            await session.rollback()
    finally:
        await engine.dispose()


def pg_dump(admin_url: str, database: str) -> str:
    """The database as a backup would hold it."""
    admin = urlsplit(admin_url)
    result = subprocess.run(
        [str(postgres_bin_dir() / "pg_dump"), "--no-owner", database],
        env={
            **os.environ,
            "PGHOST": admin.hostname or "127.0.0.1",
            "PGPORT": str(admin.port or 5432),
            "PGUSER": unquote(admin.username or "postgres"),
            "PGPASSWORD": unquote(admin.password or ""),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout
