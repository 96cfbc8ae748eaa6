"""Settings of referral-api, read from `REFERRALS_*` variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from baton.settings import Environment, ServiceSettings


class ReferralSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REFERRALS_")

    root_path: str = "/referrals"
    audience: str = "referral-api"

    # Master keys wrapping each referral's packet key (generated outside production).
    master_keys_dir: Path = Path(".data/referrals-keys/master")
    # After the hand-off the person packet is purged from referral-api this much later.
    packet_retention_days: int = Field(default=30, ge=0)

    # Clocks. Acknowledgement: minutes by priority, or working days for routine ones.
    acknowledge_deadline_minutes: dict[str, int] = Field(
        default_factory=lambda: {"immediate": 60, "urgent": 240}
    )
    routine_acknowledge_working_days: int = Field(default=2, ge=1)
    # ISO weekday numbers (Monday = 1) that count as working days.
    working_days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    decision_deadline_hours: dict[str, int] = Field(
        default_factory=lambda: {"immediate": 4, "urgent": 24, "routine": 120}
    )
    first_contact_deadline_hours: int = Field(default=48, ge=1)

    # The hand-off: cases-api's intake, called with this client's credentials.
    cases_api_url: str = "http://127.0.0.1:8102"
    token_url: str = "http://127.0.0.1:8101/v1/oauth/token"
    intake_client_id: str | None = None
    intake_client_secret: SecretStr | None = None

    # The outbox worker (in every process; workers never take the same message).
    run_outbox: bool = True
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_max_attempts: int = Field(default=10, ge=1)
    outbox_backoff_seconds: float = Field(default=2.0, gt=0)
    outbox_max_backoff_seconds: float = Field(default=600.0, gt=0)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    # Loopback and private addresses are refused as webhook targets unless allowed
    # (local development and tests only).
    allow_private_webhook_targets: bool = False

    @model_validator(mode="after")
    def _private_webhook_targets_never_in_production(self) -> ReferralSettings:
        # Allowed, any partner could make this service call into its own network.
        if self.environment == Environment.production and self.allow_private_webhook_targets:
            raise ValueError(
                "REFERRALS_ALLOW_PRIVATE_WEBHOOK_TARGETS must not be true in production"
            )
        return self
