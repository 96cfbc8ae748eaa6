"""grants-api in-process on its migrated database; callers are minted by the test issuer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from baton.stack.databases import ServiceDatabase
from baton.testing import login_connection, superuser_connection
from baton.testing_issuer import CallerFactory, TestIssuer, caller_factory
from grants_api.config import GrantsSettings
from grants_api.main import create_app


@pytest.fixture
def grants_settings(
    service_databases: dict[str, ServiceDatabase],
    external_issuer: TestIssuer,
    row_level_security_alone: bool,
) -> GrantsSettings:
    return GrantsSettings.model_validate(
        {
            "database_url": service_databases["grants"].runtime_url,
            "migration_database_url": service_databases["grants"].migration_url,
            "trusted_issuers": [external_issuer.trusted.model_dump(mode="json")],
            "environment": "test",
            "test_row_level_security_alone": row_level_security_alone,
        }
    )


@pytest.fixture
async def grants_app(grants_settings: GrantsSettings) -> AsyncIterator[FastAPI]:
    app = create_app(grants_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def grants(grants_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=grants_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        yield client


@pytest.fixture
def caller(external_issuer: TestIssuer) -> CallerFactory:
    """`caller("donor", ["grant_manager"], org_id=...)`: a signed-in caller."""
    return caller_factory(external_issuer)


@pytest.fixture
async def superuser(
    postgres_admin_url: str, service_databases: dict[str, ServiceDatabase]
) -> AsyncIterator[asyncpg.Connection]:
    """The grants database as a superuser: to look underneath, or to play the attacker."""
    assert "grants" in service_databases  # provisioned and migrated first
    async with superuser_connection(postgres_admin_url, "grants") as connection:
        yield connection


@pytest.fixture
async def runtime(
    service_databases: dict[str, ServiceDatabase],
) -> AsyncIterator[asyncpg.Connection]:
    """The grants database as the service's own runtime login."""
    async with login_connection(service_databases["grants"].runtime_url) as connection:
        yield connection
