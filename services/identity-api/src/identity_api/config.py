"""Settings of identity-api, read from `IDENTITY_*` variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from baton.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_")

    root_path: str = "/identity"
