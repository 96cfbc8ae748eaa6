"""Builds the grants-api application."""

from __future__ import annotations

from fastapi import FastAPI

from baton.app import ServiceInfo, create_service_app
from baton.migrations import MigrationTree
from baton.settings import ServiceSettings, load_settings
from grants_api.config import GrantsSettings

SERVICE = ServiceInfo(
    name="grants-api",
    title="Baton grants-api",
    version="0.1.0",
    description=(
        "Donors' programmes, grants, co-funding, disbursements, budgets, reports and NGO "
        "funding mix. Never holds a victim identity: it receives suppressed aggregates "
        "only."
    ),
    migrations=MigrationTree(package="grants_api"),
)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The ASGI application; settings come from `GRANTS_*` variables unless given."""
    return create_service_app(SERVICE, settings or load_settings(GrantsSettings))
