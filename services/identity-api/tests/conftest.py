"""identity-api in-process on its migrated database; callers are minted by the test issuer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from baton.stack.databases import ServiceDatabase
from baton.testing import app_client
from baton.testing_issuer import TestIssuer
from identity_api.config import IdentitySettings
from identity_api.main import create_app
from identity_factories import Bearer

ISSUER = "https://baton.test/identity"


@pytest.fixture
def identity_settings(
    service_databases: dict[str, ServiceDatabase], external_issuer: TestIssuer, tmp_path: Path
) -> IdentitySettings:
    return IdentitySettings.model_validate(
        {
            "database_url": service_databases["identity"].runtime_url,
            "issuer": ISSUER,
            "signing_keys_dir": str(tmp_path / "keys"),
            "trusted_issuers": [external_issuer.trusted.model_dump(mode="json")],
            "client_secret_grace_seconds": 3600,
        }
    )


@pytest.fixture
async def identity(identity_settings: IdentitySettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(identity_settings)
    async with app_client(app, root_path=identity_settings.root_path) as client:
        yield client


@pytest.fixture
def bearer(external_issuer: TestIssuer) -> Bearer:
    """Authorization headers for a caller of a given organisation and roles."""

    def headers(org_kind: str, roles: list[str], org_id: uuid.UUID | None = None) -> dict[str, str]:
        claims = external_issuer.claims(
            org_id=org_id or uuid.uuid4(), org_kind=org_kind, roles=roles
        )
        return {"Authorization": f"Bearer {external_issuer.sign(claims)}"}

    return headers


@pytest.fixture
def admin(bearer: Bearer) -> dict[str, str]:
    return bearer("platform", ["platform_admin"])
