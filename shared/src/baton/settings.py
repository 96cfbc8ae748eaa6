"""Service settings read from the environment, with secrets readable from files."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Self, TypeVar

from pydantic import Field, HttpUrl, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from baton.auth import TrustedIssuer

SECRETS_DIR_VARIABLE = "BATON_SECRETS_DIR"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class ServiceSettings(BaseSettings):
    """Settings every service shares; each service subclasses it with its own `env_prefix`.

    A value may also come from a file named after the variable (lower case) in the
    directory named by `BATON_SECRETS_DIR` (for example Docker or Kubernetes secrets).
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    environment: Environment = Environment.development
    # Runtime login: data access only, never the owner of the schema.
    database_url: SecretStr = Field(
        description="SQLAlchemy URL of this service's database (postgresql+asyncpg://...)"
    )
    # Schema owner used by migrations; defaults to the runtime login.
    migration_database_url: SecretStr | None = None
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    database_statement_timeout_ms: int = Field(default=15_000, ge=0)
    readiness_timeout_seconds: float = Field(default=2.0, gt=0)
    # Public path prefix the gateway strips (e.g. "/cases"); uvicorn serves under it.
    root_path: str = ""
    log_level: str = "INFO"
    # Traces: base URL of an OTLP/HTTP collector (spans go to <url>/v1/traces). Unset:
    # the standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT; neither: no tracing at all.
    otel_exporter_otlp_endpoint: HttpUrl | None = None

    # Tokens: this service's audience name and the issuers it trusts (JSON list).
    audience: str = ""
    trusted_issuers: list[TrustedIssuer] = Field(default_factory=list)
    token_leeway_seconds: int = Field(default=30, ge=0, le=120)
    jwks_cache_seconds: float = Field(default=300, gt=0)
    jwks_min_refresh_seconds: float = Field(default=30, ge=0)

    # Test-only: the application's organisation filters are left out of its queries
    # (baton.tenancy), so that row-level security alone must keep tenants apart.
    test_row_level_security_alone: bool = False

    @model_validator(mode="after")
    def _row_level_security_alone_only_in_tests(self) -> Self:
        if self.test_row_level_security_alone and self.environment != Environment.test:
            raise ValueError(
                "test_row_level_security_alone removes a wall of tenant isolation: "
                "it is refused unless the environment is 'test'"
            )
        return self

    @property
    def migrations_url(self) -> str:
        url = self.migration_database_url or self.database_url
        return url.get_secret_value()


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def load_settings(settings_class: type[SettingsT], **overrides: Any) -> SettingsT:
    """Build settings from the environment (and secret files), then apply overrides."""
    secrets_dir = os.environ.get(SECRETS_DIR_VARIABLE)
    if secrets_dir and Path(secrets_dir).is_dir():
        return settings_class(_secrets_dir=secrets_dir, **overrides)
    return settings_class(**overrides)
