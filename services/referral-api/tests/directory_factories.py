"""Typed factories for the directory tests (a module, since conftest cannot be imported).

The database is shared by the whole session: tests find their own providers by
a region and a language no other test uses (`unique_region`, `unique_language`).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from typing import Any

import httpx

from baton.testing_issuer import Caller as Caller
from baton.testing_issuer import CallerFactory as CallerFactory

PROVIDERS = "/v1/providers"
# A free-text value planted in requests: it must never come back in a problem.
PLANTED_ADDRESS = "Rruga e Durresit 14, Tirana"

_taken: set[str] = set()
_random = random.Random()


def _fresh(make: Callable[[], str]) -> str:
    while (value := make()) in _taken:
        pass
    _taken.add(value)
    return value


def unique_region(country: str = "AL") -> str:
    """An ISO 3166-2-shaped code no other test of this session uses."""
    alphabet = string.ascii_uppercase + string.digits
    return _fresh(lambda: f"{country}-{''.join(_random.choices(alphabet, k=3))}")


def unique_language() -> str:
    """A three-letter ISO 639-shaped code no other test of this session uses."""
    return _fresh(lambda: "".join(_random.choices(string.ascii_lowercase, k=3)))


def provider_body(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Different and Equal",
        "country": "AL",
        "description": "Shelter and reintegration support for survivors of trafficking",
        "regions_served": ["AL-11"],
        "languages": ["sq", "en"],
        "available_24_7": True,
        "accepts_referrals": True,
        "intake_phone": "+355692000000",
        "intake_email": "intake@example.org",
        **fields,
    }


async def new_provider(client: httpx.AsyncClient, keeper: Caller, **fields: Any) -> dict[str, Any]:
    response = await client.post(PROVIDERS, json=provider_body(**fields), headers=keeper.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def service_body(**fields: Any) -> dict[str, Any]:
    return {
        "service_type": "accommodation",
        "target_groups": ["women", "girls"],
        "exploitation_forms": ["sexual", "labour"],
        "eligibility": "Referred by the police or social services",
        **fields,
    }


async def new_service(
    client: httpx.AsyncClient, keeper: Caller, provider_id: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{PROVIDERS}/{provider_id}/services", json=service_body(**fields), headers=keeper.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def report_capacity(
    client: httpx.AsyncClient,
    keeper: Caller,
    provider_id: str,
    service_id: str,
    *,
    total: int,
    free: int,
    etag: str | None = None,
) -> httpx.Response:
    headers = keeper.headers if etag is None else keeper.with_headers(if_match=etag)
    return await client.put(
        f"{PROVIDERS}/{provider_id}/services/{service_id}/capacity",
        json={"places_total": total, "places_free": free},
        headers=headers,
    )


async def provider_with_room(
    client: httpx.AsyncClient, keeper: Caller, *, free: int, total: int = 10, **fields: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A provider with one accommodation service and its capacity reported."""
    service_fields = fields.pop("service", {})
    provider = await new_provider(client, keeper, **fields)
    offered = await new_service(client, keeper, provider["id"], **service_fields)
    reported = await report_capacity(
        client, keeper, provider["id"], offered["id"], total=total, free=free
    )
    assert reported.status_code == 200, reported.text
    return provider, offered
