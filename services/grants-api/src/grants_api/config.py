"""Settings of grants-api, read from `GRANTS_*` variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from baton.settings import ServiceSettings


class GrantsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GRANTS_")

    root_path: str = "/grants"
    audience: str = "grants-api"
