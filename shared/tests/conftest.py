"""The kit probe app on cases-api's migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from baton.app import create_service_app
from baton.stack.databases import ServiceDatabase
from baton.testing import app_client
from kit_probe import KIT_INFO, kit_settings, probe_router


@pytest.fixture
async def kit_client(
    service_databases: dict[str, ServiceDatabase],
) -> AsyncIterator[httpx.AsyncClient]:
    settings = kit_settings(service_databases["cases"].runtime_url)
    async with app_client(create_service_app(KIT_INFO, settings, [probe_router])) as client:
        yield client
