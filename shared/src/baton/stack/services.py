"""The four services as the stack knows them: by module name, never by import."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # distribution-style name, e.g. "cases-api"
    module: str  # importable package, run as `python -m <module>`
    route: str  # public prefix (`/<route>/`), database name and role prefix
    env_prefix: str  # settings prefix, e.g. "CASES_"
    route_timeout_seconds: int = 15


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("identity-api", "identity_api", "identity", "IDENTITY_"),
    ServiceSpec("cases-api", "cases_api", "cases", "CASES_"),
    ServiceSpec("referral-api", "referral_api", "referrals", "REFERRALS_"),
    # Donor reports gather statistics from cases-api; give them room.
    ServiceSpec("grants-api", "grants_api", "grants", "GRANTS_", route_timeout_seconds=30),
)
