"""Builds the referral-api application."""

from __future__ import annotations

from fastapi import FastAPI

from baton.app import ServiceInfo, create_service_app
from baton.authz import VICTIM_DATA_ORG_KINDS
from baton.migrations import MigrationTree
from baton.settings import ServiceSettings, load_settings
from referral_api.config import ReferralSettings

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


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The ASGI application; settings come from `REFERRALS_*` variables unless given."""
    return create_service_app(SERVICE, settings or load_settings(ReferralSettings))
