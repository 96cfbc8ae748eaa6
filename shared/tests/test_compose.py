"""docker-compose trusts the same issuer the gateway verifies, in every service."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import TypeAdapter

from baton.auth import TrustedIssuer
from baton.stack.gateway import container_layout
from baton.stack.services import SERVICES
from baton.testing import REPOSITORY_ROOT


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPOSITORY_ROOT / "docker-compose.yml").read_text())
    return loaded


def test_every_service_trusts_the_issuer_the_gateway_verifies() -> None:
    services = _compose()["services"]
    [gateway_issuer] = [issuer.trusted for issuer in container_layout().issuers]
    for spec in SERVICES:
        environment = services[spec.name]["environment"]
        trusted = TypeAdapter(list[TrustedIssuer]).validate_json(
            environment[f"{spec.env_prefix}TRUSTED_ISSUERS"]
        )
        assert [issuer.issuer for issuer in trusted] == [gateway_issuer.issuer], spec.name
        assert trusted[0].algorithms == gateway_issuer.algorithms
        assert environment["BATON_SECRETS_DIR"] == "/run/secrets"


def test_identity_signs_as_the_issuer_everyone_trusts_and_keeps_its_keys() -> None:
    identity = _compose()["services"]["identity-api"]
    assert (
        identity["environment"]["IDENTITY_ISSUER"] == container_layout().issuers[0].trusted.issuer
    )
    keys_dir = identity["environment"]["IDENTITY_SIGNING_KEYS_DIR"]
    assert any(volume.endswith(f":{keys_dir}") for volume in identity["volumes"])
