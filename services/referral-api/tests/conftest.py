"""referral-api in-process on its migrated database; callers are minted by the test issuer.

The outbox worker does not run by itself here: tests call
`app.state.outbox.run_once()` to deliver what is due, so they decide when.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from baton.stack.databases import ServiceDatabase
from baton.testing import login_connection, superuser_connection
from baton.testing_issuer import CallerFactory, TestIssuer, caller_factory
from referral_api.config import ReferralSettings
from referral_api.main import create_app


@pytest.fixture(scope="session")
def referral_keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One set of keys for the session: every row of the shared test database unwraps."""
    return tmp_path_factory.mktemp("referral-keys")


@pytest.fixture
def referral_settings(
    service_databases: dict[str, ServiceDatabase],
    external_issuer: TestIssuer,
    referral_keys_dir: Path,
    row_level_security_alone: bool,
) -> ReferralSettings:
    return ReferralSettings.model_validate(
        {
            "database_url": service_databases["referrals"].runtime_url,
            "migration_database_url": service_databases["referrals"].migration_url,
            "trusted_issuers": [external_issuer.trusted.model_dump(mode="json")],
            "master_keys_dir": str(referral_keys_dir / "master"),
            "environment": "test",
            "test_row_level_security_alone": row_level_security_alone,
            "run_outbox": False,
            "allow_private_webhook_targets": True,
            "outbox_backoff_seconds": 0.01,
            "outbox_max_backoff_seconds": 0.05,
        }
    )


@pytest.fixture
async def referral_app(referral_settings: ReferralSettings) -> AsyncIterator[FastAPI]:
    app = create_app(referral_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def referrals(referral_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=referral_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        yield client


@pytest.fixture
def caller(external_issuer: TestIssuer) -> CallerFactory:
    """`caller("government", ["referrer"], org_id=...)`: a signed-in caller."""
    return caller_factory(external_issuer)


@pytest.fixture
async def superuser(postgres_admin_url: str) -> AsyncIterator[asyncpg.Connection]:
    """The referrals database as a superuser: to look underneath, or to play the attacker."""
    async with superuser_connection(postgres_admin_url, "referrals") as connection:
        yield connection


@pytest.fixture
async def runtime(
    service_databases: dict[str, ServiceDatabase],
) -> AsyncIterator[asyncpg.Connection]:
    """The referrals database as the service's own runtime login."""
    async with login_connection(service_databases["referrals"].runtime_url) as connection:
        yield connection
