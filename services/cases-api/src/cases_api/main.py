"""Builds the cases-api application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from baton import crypto
from baton.app import ServiceInfo, create_service_app
from baton.authz import VICTIM_DATA_ORG_KINDS
from baton.metrics import ServiceMetrics
from baton.migrations import MigrationTree
from baton.settings import Environment, ServiceSettings, load_settings
from baton.vault import open_master_keys
from cases_api.api import ROUTERS
from cases_api.config import CasesSettings
from cases_api.protection import IdentityVault
from cases_api.statistics.cache import CountsCache

logger = logging.getLogger("cases_api")

SERVICE = ServiceInfo(
    name="cases-api",
    title="Baton cases-api",
    version="0.1.0",
    description=(
        "Beneficiaries (pseudonymous), their encrypted identities, cases, re/integration "
        "plans and services, consents, the identity-access audit log and de-identified "
        "statistics."
    ),
    migrations=MigrationTree(package="cases_api"),
    org_kinds=VICTIM_DATA_ORG_KINDS,
)


def open_vault(settings: CasesSettings) -> IdentityVault:
    """The keys protecting identities. Outside production the first ones are generated;
    in production missing keys are never replaced: identity access fails closed (503)."""
    production = settings.environment == Environment.production
    ring = open_master_keys(settings.master_keys_dir, create=not production)
    index: crypto.BlindIndex | None = None
    if not production or settings.blind_index_key_file.exists():
        index = crypto.BlindIndex.load_or_create(settings.blind_index_key_file)
    else:
        logger.error("blind-index key missing: duplicate detection is refused until it is")
    return IdentityVault(ring, index, keys_dir=settings.master_keys_dir)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The ASGI application; settings come from `CASES_*` variables unless given."""
    cases_settings = settings or load_settings(CasesSettings)
    assert isinstance(cases_settings, CasesSettings)

    @asynccontextmanager
    async def protection_and_statistics(app: FastAPI) -> AsyncIterator[None]:
        app.state.identity_vault = open_vault(cases_settings)
        app.state.statistics_cache = statistics_cache(app, cases_settings)
        yield

    return create_service_app(
        SERVICE,
        cases_settings,
        ROUTERS,
        service_lifespan=protection_and_statistics,
    )


def statistics_cache(app: FastAPI, settings: CasesSettings) -> CountsCache:
    metrics: ServiceMetrics = app.state.metrics
    requests = metrics.counter(
        "baton_statistics_counts",
        "Statistics counts asked for, by aggregate function: reused or counted afresh.",
        ["function", "result"],
    )
    return CountsCache(settings.statistics_cache_entries, requests)
