"""Settings of cases-api, read from `CASES_*` variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from baton.settings import ServiceSettings


class CasesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CASES_")

    root_path: str = "/cases"
    audience: str = "cases-api"

    # Master keys that wrap each beneficiary's data key; the first is made on first run
    # outside production. `python -m cases_api rotate-master-key` adds one.
    master_keys_dir: Path = Path(".data/cases-keys/master")
    # Key of the HMAC blind index used to find duplicates without plaintext. Its folder
    # is made private (0700): never put it straight into a folder others must enter.
    blind_index_key_file: Path = Path(".data/cases-keys/blind-index.key")
    # Reflection and recovery period per jurisdiction (ISO 3166-1 alpha-2), in days;
    # elsewhere the Council of Europe Convention's minimum.
    reflection_period_days: dict[str, int] = Field(default_factory=lambda: {"BE": 45})
    reflection_period_default_days: int = Field(default=30, ge=30)
    # Statistics: cells below this count are suppressed.
    statistics_threshold: int = Field(default=5, ge=3)
    # Counts kept for reuse while the data they counted is unchanged (0: count each time).
    statistics_cache_entries: int = Field(default=512, ge=0, le=100_000)
