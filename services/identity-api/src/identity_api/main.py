"""Builds the identity-api application."""

from __future__ import annotations

from fastapi import FastAPI

from baton.app import ServiceInfo, create_service_app
from baton.migrations import MigrationTree
from baton.settings import ServiceSettings, load_settings
from identity_api.config import IdentitySettings

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
    return create_service_app(SERVICE, settings or load_settings(IdentitySettings))
