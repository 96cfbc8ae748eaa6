"""Builds the cases-api application."""

from __future__ import annotations

from fastapi import FastAPI

from baton.app import ServiceInfo, create_service_app
from baton.authz import VICTIM_DATA_ORG_KINDS
from baton.migrations import MigrationTree
from baton.settings import ServiceSettings, load_settings
from cases_api.config import CasesSettings

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


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The ASGI application; settings come from `CASES_*` variables unless given."""
    return create_service_app(SERVICE, settings or load_settings(CasesSettings))
