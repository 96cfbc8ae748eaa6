"""Builds the referral-api application."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opentelemetry.trace import Tracer

from baton.app import ServiceInfo, create_service_app, tracer_of
from baton.authz import VICTIM_DATA_ORG_KINDS
from baton.db import Database
from baton.http import ClientCredentials, ServiceClient
from baton.metrics import OutboxBacklog, ServiceMetrics
from baton.migrations import MigrationTree
from baton.outbox import OutboxWorker
from baton.settings import Environment, ServiceSettings, load_settings
from baton.vault import EnvelopeVault, open_master_keys
from referral_api.api import ROUTERS
from referral_api.config import ReferralSettings
from referral_api.outbox import OutboxMessage
from referral_api.worker import WorkerContext, build_handlers

SERVICE = ServiceInfo(
    name="referral-api",
    title="Baton referral-api",
    version="0.1.0",
    description=(
        "The service-provider directory, referrals through the national referral "
        "mechanism and their lifecycle, webhook subscriptions and deliveries."
    ),
    migrations=MigrationTree(package="referral_api"),
    org_kinds=VICTIM_DATA_ORG_KINDS,
)


def open_vault(settings: ReferralSettings) -> EnvelopeVault:
    """The keys of person packets; never generated in production (fail closed: 503)."""
    production = settings.environment == Environment.production
    ring = open_master_keys(settings.master_keys_dir, create=not production)
    return EnvelopeVault(ring, keys_dir=settings.master_keys_dir)


def cases_client(settings: ReferralSettings, tracer: Tracer | None = None) -> ServiceClient | None:
    secret = settings.intake_client_secret
    if not settings.intake_client_id or secret is None or not secret.get_secret_value():
        return None  # hand-offs wait (RetryLater) until the client is configured
    credentials = ClientCredentials(
        token_url=settings.token_url,
        client_id=settings.intake_client_id,
        client_secret=settings.intake_client_secret,
        audience="cases-api",
        scopes=("cases:intake",),
    )
    return ServiceClient(settings.cases_api_url, credentials, tracer=tracer)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The ASGI application; settings come from `REFERRALS_*` variables unless given."""
    referral_settings = settings or load_settings(ReferralSettings)
    assert isinstance(referral_settings, ReferralSettings)

    @asynccontextmanager
    async def worker(app: FastAPI) -> AsyncIterator[None]:
        database: Database = app.state.database
        metrics: ServiceMetrics = app.state.metrics
        vault = open_vault(referral_settings)
        cases = cases_client(referral_settings, tracer_of(app, "referral_api.handoff"))
        app.state.vault = vault
        context = WorkerContext(referral_settings, database.sessionmaker, vault, cases, metrics)
        app.state.worker_context = context
        outbox = OutboxWorker(
            database.sessionmaker,
            OutboxMessage,
            build_handlers(context),
            poll_seconds=referral_settings.outbox_poll_seconds,
            max_attempts=referral_settings.outbox_max_attempts,
            backoff_seconds=referral_settings.outbox_backoff_seconds,
            max_backoff_seconds=referral_settings.outbox_max_backoff_seconds,
            tracer=tracer_of(app, "baton.outbox"),
        )
        app.state.outbox = outbox
        stop = asyncio.Event()
        task = asyncio.create_task(outbox.run(stop)) if referral_settings.run_outbox else None
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if cases is not None:
                await cases.aclose()

    app = create_service_app(SERVICE, referral_settings, ROUTERS, service_lifespan=worker)
    app.state.metrics.register_refreshed(
        OutboxBacklog(lambda: app.state.database.sessionmaker, OutboxMessage)
    )
    return app
