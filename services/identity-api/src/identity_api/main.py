"""Builds the identity-api application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from baton.app import ServiceInfo, create_service_app
from baton.migrations import MigrationTree
from baton.settings import ServiceSettings, load_settings
from identity_api.clients.router import router as clients_router
from identity_api.config import IdentitySettings
from identity_api.organisations.router import router as organisations_router
from identity_api.tokens.keys import KeyStore
from identity_api.tokens.router import router as tokens_router

SERVICE = ServiceInfo(
    name="identity-api",
    title="Baton identity-api",
    version="0.1.0",
    description=(
        "Organisations (tenants), API clients, signing keys, the OAuth2 token endpoint, "
        "JWKS and OIDC discovery. Holds nothing about victims."
    ),
    migrations=MigrationTree(package="identity_api"),
)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The ASGI application; settings come from `IDENTITY_*` variables unless given."""
    identity_settings = settings or load_settings(IdentitySettings)
    assert isinstance(identity_settings, IdentitySettings)

    @asynccontextmanager
    async def signing_keys(app: FastAPI) -> AsyncIterator[None]:
        keys = KeyStore(identity_settings.signing_keys_dir, identity_settings.signing_algorithm)
        keys.ensure_one()
        app.state.signing_keys = keys
        yield

    return create_service_app(
        SERVICE,
        identity_settings,
        [tokens_router, organisations_router, clients_router],
        service_lifespan=signing_keys,
    )
