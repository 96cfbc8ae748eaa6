"""`/healthz` is the process; `/readyz` is the database, reachable and at head."""

from __future__ import annotations

import asyncpg
import httpx

from baton.app import create_service_app
from baton.stack.databases import ServiceDatabase
from baton.stack.postgres import free_port
from baton.testing import app_client
from kit_probe import KIT_INFO, kit_settings

PROBLEM = "application/problem+json"


async def test_ready_when_database_is_at_head(kit_client: httpx.AsyncClient) -> None:
    response = await kit_client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["migrations"] == "at-head"


async def test_not_ready_without_a_database_but_still_alive() -> None:
    closed_port = free_port()
    settings = kit_settings(
        f"postgresql+asyncpg://nobody:nothing@127.0.0.1:{closed_port}/none",
        readiness_timeout_seconds=1.0,
    )
    async with app_client(create_service_app(KIT_INFO, settings)) as client:
        ready = await client.get("/readyz")
        alive = await client.get("/healthz")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == PROBLEM
    assert ready.headers["retry-after"] == "5"
    assert ready.json()["code"] == "database-unreachable"
    assert "nothing" not in ready.text
    assert alive.status_code == 200


async def test_not_ready_when_migrations_are_behind(
    postgres_admin_url: str, service_databases: dict[str, ServiceDatabase]
) -> None:
    # A database of the right owner but never migrated.
    admin = await asyncpg.connect(postgres_admin_url)
    try:
        await admin.execute("DROP DATABASE IF EXISTS unmigrated")
        await admin.execute("CREATE DATABASE unmigrated OWNER cases_owner")
        await admin.execute("GRANT CONNECT ON DATABASE unmigrated TO cases_app")
    finally:
        await admin.close()
    url = service_databases["cases"].runtime_url.rsplit("/", 1)[0] + "/unmigrated"
    async with app_client(create_service_app(KIT_INFO, kit_settings(url))) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "migrations-pending"
