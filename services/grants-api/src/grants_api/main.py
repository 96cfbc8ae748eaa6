"""Builds the grants-api application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opentelemetry.trace import Tracer

from baton.app import ServiceInfo, create_service_app, tracer_of
from baton.auth import OrgKind
from baton.http import ClientCredentials, ServiceClient
from baton.migrations import MigrationTree
from baton.settings import ServiceSettings, load_settings
from grants_api.api import ROUTERS
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
    org_kinds=frozenset({OrgKind.ngo, OrgKind.donor}),
)


def statistics_client(
    settings: GrantsSettings, tracer: Tracer | None = None
) -> ServiceClient | None:
    """cases-api's statistics with the grants service's credentials; None if unconfigured."""
    secret = settings.stats_client_secret
    if not settings.stats_client_id or secret is None or not secret.get_secret_value():
        return None  # donor reports then say their outcomes are unavailable
    credentials = ClientCredentials(
        token_url=settings.token_url,
        client_id=settings.stats_client_id,
        client_secret=secret,
        audience="cases-api",
        scopes=("cases:stats",),
    )
    return ServiceClient(settings.cases_api_url, credentials, tracer=tracer)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The ASGI application; settings come from `GRANTS_*` variables unless given."""
    grants_settings = settings or load_settings(GrantsSettings)
    assert isinstance(grants_settings, GrantsSettings)

    @asynccontextmanager
    async def clients(app: FastAPI) -> AsyncIterator[None]:
        cases = statistics_client(grants_settings, tracer_of(app, "grants_api.reports"))
        app.state.cases_statistics = cases
        try:
            yield
        finally:
            if cases is not None:
                await cases.aclose()

    return create_service_app(SERVICE, grants_settings, ROUTERS, service_lifespan=clients)
