"""`make run` takes external issuers and CORS origins from the environment."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from baton.stack.__main__ import cors_origins_from_environment, external_issuers_from_environment


def test_external_issuers_are_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATON_EXTERNAL_ISSUERS", raising=False)
    assert external_issuers_from_environment() == []
    keycloak = {
        "issuer": "https://login.example.org/realms/baton",
        "jwks_url": "https://login.example.org/realms/baton/protocol/openid-connect/certs",
        "algorithms": ["RS256"],
        "audience": "baton",
        "claims": {"org_id": "baton_org", "roles": "realm_access.roles"},
    }
    monkeypatch.setenv("BATON_EXTERNAL_ISSUERS", json.dumps([keycloak]))
    [issuer] = external_issuers_from_environment()
    assert issuer.claims.roles == "realm_access.roles"
    assert issuer.claims.sub == "sub"


def test_a_symmetric_algorithm_for_an_issuer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "BATON_EXTERNAL_ISSUERS",
        json.dumps(
            [{"issuer": "https://x", "jwks_url": "https://x/jwks", "algorithms": ["HS256"]}]
        ),
    )
    with pytest.raises(ValidationError):
        external_issuers_from_environment()


def test_cors_origins_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_CORS_ORIGINS", " https://app.example.org, ,https://m.example.org ")
    assert cors_origins_from_environment() == ["https://app.example.org", "https://m.example.org"]
