"""Settings of grants-api, read from `GRANTS_*` variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from baton.settings import ServiceSettings


class GrantsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GRANTS_")

    root_path: str = "/grants"
    audience: str = "grants-api"

    # 360Giving identifiers are the publisher's prefix and the grant's own reference.
    identifier_prefix: str = Field(default="360G-baton", min_length=1, max_length=40)

    # Reporting requirements made on award: the interim report falls due this many
    # days after the planned period's midpoint, the final one after its end.
    interim_report_due_days: int = Field(default=30, ge=0)
    final_report_due_days: int = Field(default=60, ge=0)

    # Donor reports: cases-api's suppressed statistics, read with this client's
    # credentials (scope `cases:stats`).
    cases_api_url: str = "http://127.0.0.1:8102"
    token_url: str = "http://127.0.0.1:8101/v1/oauth/token"
    stats_client_id: str | None = None
    stats_client_secret: SecretStr | None = None
