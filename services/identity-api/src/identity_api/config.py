"""Settings of identity-api, read from `IDENTITY_*` variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from baton.jose import SigningAlgorithm
from baton.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_")

    root_path: str = "/identity"
    audience: str = "identity-api"

    # The public URL of this service: tokens carry it as `iss`.
    issuer: str = "http://127.0.0.1:8080/identity"
    # Private signing keys, one file each; a first key is generated if none exists.
    signing_keys_dir: Path = Path(".data/signing-keys")
    signing_algorithm: SigningAlgorithm = "ES256"
    access_token_ttl_seconds: int = Field(default=300, ge=30, le=900)
    # A new key is published this long before it signs, so every verifier's JWKS
    # cache (Envoy's and the services') has it by then.
    key_activation_delay_seconds: int = Field(default=600, ge=0)
    client_secret_grace_seconds: int = Field(default=86_400, ge=0)
