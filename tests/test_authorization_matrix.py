"""Authorization matrix: every endpoint, every persona, own/other organisation -> status.

Each endpoint is listed once in `matrix_rows.ENDPOINTS` with who may call it; the
expected status of every (persona, organisation) pair follows from that, through
the gateway and at the service directly (both walls must agree). An endpoint a
service publishes in its OpenAPI document but that is missing there (or a row naming
no endpoint) fails `test_route_inventory.py`: each issue adds its rows and, for new
kinds of object, a maker to `matrix_world`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from baton.stack.personas import PersonaTokens
from baton.stack.runner import Stack
from baton.stack.services import SERVICES
from matrix_grants import add_grants
from matrix_rows import ENDPOINTS
from matrix_world import (
    ANONYMOUS,
    PERSONAS,
    PLATFORM,
    SIGNED_IN,
    Endpoint,
    Scope,
    World,
    build_world,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(stack: Stack, tokens: PersonaTokens) -> World:
    world = build_world(stack, tokens)
    add_grants(world)
    return world


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    # One client for thousands of requests: a new one per request costs more (its TLS
    # context alone) than most requests do.
    with httpx.Client(timeout=10) as shared:
        yield shared


def expected_status(endpoint: Endpoint, persona: str, scope: Scope) -> int:
    if persona == ANONYMOUS:
        return 401
    if persona not in endpoint.allowed:
        return 403
    if scope is Scope.other and persona not in endpoint.across_orgs:
        return endpoint.elsewhere
    return endpoint.status


def _cases() -> Iterator[Any]:
    for endpoint in ENDPOINTS:
        scopes = (Scope.own, Scope.other) if endpoint.scoped else (Scope.any,)
        for scope in scopes:
            for persona in PERSONAS:
                yield pytest.param(
                    endpoint,
                    persona,
                    scope,
                    id=f"{endpoint.method} {endpoint.path} {persona} {scope}",
                )


def _direct_url(stack: Stack, public_path: str) -> str:
    route, _, rest = public_path.lstrip("/").partition("/")
    spec = next(spec for spec in SERVICES if spec.route == route)
    return f"{stack.service_url(spec)}/{rest}"


@pytest.mark.parametrize("via", ["gateway", "service"])
@pytest.mark.parametrize(("endpoint", "persona", "scope"), list(_cases()))
def test_authorization_matrix(
    stack: Stack,
    world: World,
    client: httpx.Client,
    endpoint: Endpoint,
    persona: str,
    scope: Scope,
    via: str,
) -> None:
    path = world.path(endpoint, persona, scope)
    url = stack.gateway_url + path if via == "gateway" else _direct_url(stack, path)
    headers = dict(endpoint.headers)
    if persona != ANONYMOUS:
        headers["authorization"] = f"Bearer {world.tokens(persona)}"
    body = endpoint.body(world, persona) if endpoint.body is not None else None
    response = client.request(
        endpoint.method, url, headers=headers, params=endpoint.params, json=body
    )
    assert response.status_code == expected_status(endpoint, persona, scope), response.text
    if response.status_code == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_lists_hold_only_what_the_caller_may_see(stack: Stack, world: World) -> None:
    for persona in SIGNED_IN - PLATFORM:
        token = world.tokens(persona)
        listed = httpx.get(
            f"{stack.gateway_url}/identity/v1/organisations",
            headers={"authorization": f"Bearer {token}"},
        ).json()["items"]
        assert [item["id"] for item in listed] == [world.org_of(persona)], persona
    admin = {"authorization": f"Bearer {world.tokens('platform-admin')}"}
    seen: set[str] = set()
    cursor: str | None = None
    with httpx.Client(base_url=stack.gateway_url, headers=admin) as client:
        while True:
            page = client.get(
                "/identity/v1/organisations", params={"cursor": cursor} if cursor else {}
            ).json()
            seen |= {item["id"] for item in page["items"]}
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert {world.other_org, world.org_of("caseworker"), world.org_of("referrer")} <= seen
