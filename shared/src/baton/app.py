"""The app factory every Baton service is built with."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI
from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from baton.auth import OrgKind, TokenVerifier
from baton.authz import assert_every_route_declares_access
from baton.db import Database
from baton.errors import install_error_handlers
from baton.health import health_router
from baton.metrics import ServiceMetrics, install_metrics
from baton.middleware import RequestContextMiddleware
from baton.migrations import MigrationTree
from baton.openapi import document_problems
from baton.profile import profile_router
from baton.settings import ServiceSettings
from baton.telemetry import Tracing, fastapi_telemetry, start_tracing
from baton.tenancy import WithoutApplicationFilter


@dataclass(frozen=True)
class ServiceInfo:
    """What distinguishes one service: its name, description and migration tree."""

    name: str
    title: str
    version: str
    description: str
    migrations: MigrationTree
    # Kinds of organisation whose tokens this service accepts at all; services that
    # hold victim data leave donors out, a second wall behind the gateway's RBAC.
    org_kinds: frozenset[OrgKind] = frozenset(OrgKind)


class BatonApp(FastAPI):
    """FastAPI whose outermost layers are the request context and the request metrics.

    Starlette puts its error middleware outside every user middleware; wrapping the
    built stack lets even a 500 carry the request id, be logged once and be counted.
    (FastAPI's own telemetry, when tracing, sits outside all of it: the access line
    is written inside the request's span.)
    """

    def build_middleware_stack(self) -> ASGIApp:
        metrics: ServiceMetrics = self.state.metrics
        return RequestContextMiddleware(super().build_middleware_stack(), metrics.observe)


ServiceLifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def _engine_of(app: FastAPI) -> AsyncEngine | None:
    database: Database | None = getattr(app.state, "database", None)
    return database.engine if database is not None else None


def tracer_of(app: FastAPI, name: str) -> Tracer | None:
    """A tracer of the app's provider for a part of the service; None when not tracing."""
    tracing: Tracing | None = app.state.tracing
    return tracing.tracer(name) if tracing is not None else None


def create_service_app(
    info: ServiceInfo,
    settings: ServiceSettings,
    routers: Sequence[APIRouter] = (),
    service_lifespan: ServiceLifespan | None = None,
) -> FastAPI:
    """Build a service: lifespan-owned database, problem errors, health, request context,
    metrics at `/metrics`, and traces when an OTLP endpoint is configured.

    `service_lifespan` sets up what only this service needs, inside the shared one.
    """
    tracing = start_tracing(info.name, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.migration_heads = info.migrations.heads()
        app.state.database = Database(settings, application_name=info.name)
        app.state.token_verifier = TokenVerifier(
            settings.trusted_issuers,
            audience=settings.audience or info.name,
            leeway_seconds=settings.token_leeway_seconds,
            jwks_max_age_seconds=settings.jwks_cache_seconds,
            jwks_min_refresh_seconds=settings.jwks_min_refresh_seconds,
        )
        try:
            if service_lifespan is None:
                yield
            else:
                async with service_lifespan(app):
                    yield
        finally:
            await app.state.token_verifier.aclose()
            await app.state.database.dispose()
            if tracing is not None:
                tracing.shutdown()

    app = BatonApp(
        title=info.title,
        version=info.version,
        description=info.description,
        lifespan=lifespan,
        telemetry=fastapi_telemetry(tracing),
    )
    app.state.service_name = info.name
    app.state.served_org_kinds = info.org_kinds
    app.state.tracing = tracing
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(profile_router)
    install_metrics(app, lambda: _engine_of(app))
    if settings.test_row_level_security_alone:  # settings refuse it outside tests
        app.add_middleware(WithoutApplicationFilter)
    for router in routers:
        app.include_router(router)
    assert_every_route_declares_access(app)
    document_problems(app)
    return app
