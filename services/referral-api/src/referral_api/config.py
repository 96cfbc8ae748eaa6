"""Settings of referral-api, read from `REFERRALS_*` variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from baton.settings import ServiceSettings


class ReferralSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REFERRALS_")

    root_path: str = "/referrals"
    audience: str = "referral-api"
