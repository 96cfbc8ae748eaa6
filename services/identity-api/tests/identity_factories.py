"""Typed factories for identity-api tests (a module, since conftest cannot be imported)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx

Bearer = Callable[..., dict[str, str]]


async def make_organisation(
    identity: httpx.AsyncClient, admin: dict[str, str], kind: str = "ngo", country: str = "AL"
) -> dict[str, object]:
    response = await identity.post(
        "/v1/organisations",
        json={"name": f"Org {uuid.uuid4().hex[:6]}", "kind": kind, "country": country},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    organisation: dict[str, object] = response.json()
    return organisation


async def make_client(
    identity: httpx.AsyncClient,
    admin: dict[str, str],
    organisation_id: object,
    roles: list[str],
    **extra: object,
) -> dict[str, object]:
    body = {
        "organisation_id": organisation_id,
        "name": "Partner system",
        "roles": roles,
        "audiences": ["cases-api", "identity-api"],
        **extra,
    }
    response = await identity.post("/v1/clients", json=body, headers=admin)
    assert response.status_code == 201, response.text
    client: dict[str, object] = response.json()
    return client
