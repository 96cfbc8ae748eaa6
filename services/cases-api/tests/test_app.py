"""cases-api boots with the kit, reaches its own database and documents itself."""

from __future__ import annotations

from baton.stack.databases import ServiceDatabase
from baton.testing import app_client
from cases_api.config import CasesSettings
from cases_api.main import SERVICE, create_app


async def test_ready_on_its_migrated_database(
    service_databases: dict[str, ServiceDatabase],
) -> None:
    settings = CasesSettings.model_validate(
        {"database_url": service_databases["cases"].runtime_url}
    )
    async with app_client(create_app(settings), root_path=settings.root_path) as client:
        ready = await client.get("/readyz")
        spec = await client.get("/openapi.json")
    assert ready.status_code == 200
    assert ready.json()["service"] == SERVICE.name
    assert spec.json()["openapi"].startswith("3.1")
    # Behind the gateway the public prefix is kept in the documented server URL.
    assert spec.json()["servers"] == [{"url": "/cases"}]
