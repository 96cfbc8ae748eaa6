"""cases-api in-process on its migrated database; callers are minted by the test issuer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from baton.stack.databases import ServiceDatabase
from baton.testing import app_client, login_connection, superuser_connection
from baton.testing_issuer import TestIssuer
from cases_api.config import CasesSettings
from cases_api.main import create_app
from cases_factories import CallerFactory, caller_factory


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One set of keys for the session: every row of the shared test database unwraps."""
    return tmp_path_factory.mktemp("cases-keys")


@pytest.fixture
def cases_settings(
    service_databases: dict[str, ServiceDatabase],
    external_issuer: TestIssuer,
    keys_dir: Path,
    row_level_security_alone: bool,
) -> CasesSettings:
    return CasesSettings.model_validate(
        {
            "database_url": service_databases["cases"].runtime_url,
            "migration_database_url": service_databases["cases"].migration_url,
            "trusted_issuers": [external_issuer.trusted.model_dump(mode="json")],
            "master_keys_dir": str(keys_dir / "master"),
            "blind_index_key_file": str(keys_dir / "blind-index.key"),
            "environment": "test",
            "test_row_level_security_alone": row_level_security_alone,
        }
    )


@pytest.fixture
async def cases(cases_settings: CasesSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(cases_settings), root_path="") as client:
        yield client


@pytest.fixture
def caller(external_issuer: TestIssuer) -> CallerFactory:
    """`caller("ngo", ["caseworker"], org_id=...)`: a signed-in caller of an organisation."""
    return caller_factory(external_issuer)


@pytest.fixture
async def superuser(postgres_admin_url: str) -> AsyncIterator[asyncpg.Connection]:
    """The cases database as a superuser: to look underneath, or to play the attacker."""
    async with superuser_connection(postgres_admin_url, "cases") as connection:
        yield connection


@pytest.fixture
async def runtime(
    service_databases: dict[str, ServiceDatabase],
) -> AsyncIterator[asyncpg.Connection]:
    """The cases database as the service's own runtime login."""
    async with login_connection(service_databases["cases"].runtime_url) as connection:
        yield connection
