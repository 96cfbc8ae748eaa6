"""Settings of cases-api, read from `CASES_*` variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from baton.settings import ServiceSettings


class CasesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CASES_")

    root_path: str = "/cases"
    audience: str = "cases-api"
