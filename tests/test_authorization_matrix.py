"""Authorization matrix: every endpoint, every persona, own/other organisation -> status.

Each endpoint is listed once in ENDPOINTS with who may call it; the expected status
of every (persona, organisation) pair follows from that, through the gateway and
at the service directly (both walls must agree). An endpoint a service publishes
in its OpenAPI document but that is missing here fails
`test_every_endpoint_is_in_the_matrix`: later issues add theirs to ENDPOINTS and,
for new kinds of object, a placeholder to `World`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx
import pytest

from baton.stack.personas import PersonaTokens
from baton.stack.runner import Stack
from baton.stack.services import SERVICES

pytestmark = pytest.mark.e2e

ANONYMOUS = "anonymous"
PERSONAS = (
    ANONYMOUS,
    "caseworker",
    "case-manager",
    "other-ngo-caseworker",
    "referrer",
    "grant-manager",
    "donor-viewer",
    "auditor",
    "platform-admin",
)
SIGNED_IN = frozenset(PERSONAS) - {ANONYMOUS}
DONORS = frozenset({"grant-manager", "donor-viewer"})
PLATFORM = frozenset({"platform-admin"})


class Scope(StrEnum):
    own = "own"  # an object of the caller's organisation
    other = "other"  # an object of an organisation the caller does not belong to
    any = "any"  # the endpoint names no organisation's object


@dataclass
class World:
    """What the matrix acts on: an organisation no persona belongs to, and objects."""

    tokens: PersonaTokens
    other_org: str
    # Placeholder in an OpenAPI path -> (organisation id -> id of that organisation's object).
    objects: dict[str, Callable[[str], str]] = field(default_factory=dict)

    def org_of(self, persona: str) -> str:
        return self.tokens.persona(persona).organisation_id

    def path(self, template: str, persona: str, scope: Scope) -> str:
        own = scope is Scope.own and persona != ANONYMOUS
        org = self.org_of(persona) if own else self.other_org
        values = {name: object_of(org) for name, object_of in self.objects.items()}
        return template.format(**values)


Body = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # public path, placeholders named as in the service's OpenAPI document
    allowed: frozenset[str]  # personas that may call it on their own organisation's objects
    status: int = 200
    # Whether the path names an organisation's object (then own and other are both tried).
    scoped: bool = False
    # Allowed personas that may act on other organisations' objects as well.
    across_orgs: frozenset[str] = frozenset()
    # What the others get for another organisation's object: not found, so that
    # existence is not revealed.
    elsewhere: int = 404
    body: Body | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


def _new_organisation(_: World) -> dict[str, Any]:
    return {"name": f"Matrix NGO {uuid.uuid4().hex[:8]}", "kind": "ngo", "country": "XK"}


def _new_client(world: World) -> dict[str, Any]:
    return {
        "organisation_id": world.other_org,
        "name": "Matrix partner system",
        "roles": ["caseworker"],
        "audiences": ["cases-api"],
    }


ENDPOINTS: tuple[Endpoint, ...] = (
    # Every service: who am I here. cases and referrals serve no donor.
    Endpoint("GET", "/identity/v1/me", SIGNED_IN),
    Endpoint("GET", "/grants/v1/me", SIGNED_IN),
    Endpoint("GET", "/cases/v1/me", SIGNED_IN - DONORS),
    Endpoint("GET", "/referrals/v1/me", SIGNED_IN - DONORS),
    # identity-api: organisations.
    Endpoint("GET", "/identity/v1/organisations", SIGNED_IN),
    Endpoint(
        "GET",
        "/identity/v1/organisations/{org_id}",
        SIGNED_IN,
        scoped=True,
        across_orgs=PLATFORM,
    ),
    Endpoint("POST", "/identity/v1/organisations", PLATFORM, 201, body=_new_organisation),
    Endpoint(
        "PATCH",
        "/identity/v1/organisations/{org_id}",
        PLATFORM,
        scoped=True,
        across_orgs=PLATFORM,
        body=lambda _: {},
    ),
    # identity-api: API clients (platform administrators only).
    Endpoint("GET", "/identity/v1/clients", PLATFORM),
    Endpoint("POST", "/identity/v1/clients", PLATFORM, 201, body=_new_client),
    Endpoint("GET", "/identity/v1/clients/{client_uuid}", PLATFORM),
    Endpoint("PATCH", "/identity/v1/clients/{client_uuid}", PLATFORM, body=lambda _: {}),
    Endpoint("POST", "/identity/v1/clients/{client_uuid}/secret-rotations", PLATFORM, 201),
)

# Open without a token by design; tested in test_gateway.py and the identity tests.
PUBLIC = frozenset(
    {
        *(("GET", f"/{spec.route}/{leaf}") for spec in SERVICES for leaf in ("healthz", "readyz")),
        ("POST", "/identity/v1/oauth/token"),
        ("GET", "/identity/.well-known/openid-configuration"),
        ("GET", "/identity/.well-known/jwks.json"),
    }
)


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


@pytest.fixture(scope="module")
def world(stack: Stack, tokens: PersonaTokens) -> World:
    admin = {"authorization": f"Bearer {tokens('platform-admin')}"}
    with httpx.Client(base_url=stack.gateway_url, headers=admin, timeout=10) as client:
        organisation = client.post(
            "/identity/v1/organisations",
            json={"name": "Matrix other organisation", "kind": "ngo", "country": "MK"},
        )
        assert organisation.status_code == 201, organisation.text
        other_org = organisation.json()["id"]
        api_client = client.post(
            "/identity/v1/clients",
            json={
                "organisation_id": other_org,
                "name": "Matrix client",
                "roles": ["caseworker"],
                "audiences": ["cases-api"],
            },
        )
        assert api_client.status_code == 201, api_client.text
    client_uuid = api_client.json()["id"]
    return World(
        tokens=tokens,
        other_org=other_org,
        objects={"org_id": lambda org: org, "client_uuid": lambda _org: client_uuid},
    )


def _direct_url(stack: Stack, public_path: str) -> str:
    route, _, rest = public_path.lstrip("/").partition("/")
    spec = next(spec for spec in SERVICES if spec.route == route)
    return f"{stack.service_url(spec)}/{rest}"


@pytest.mark.parametrize("via", ["gateway", "service"])
@pytest.mark.parametrize(("endpoint", "persona", "scope"), list(_cases()))
def test_authorization_matrix(
    stack: Stack, world: World, endpoint: Endpoint, persona: str, scope: Scope, via: str
) -> None:
    path = world.path(endpoint.path, persona, scope)
    url = stack.gateway_url + path if via == "gateway" else _direct_url(stack, path)
    headers = {} if persona == ANONYMOUS else {"authorization": f"Bearer {world.tokens(persona)}"}
    body = endpoint.body(world) if endpoint.body is not None else None
    response = httpx.request(endpoint.method, url, headers=headers, json=body, timeout=10)
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


def test_every_endpoint_is_in_the_matrix(stack: Stack) -> None:
    published: set[tuple[str, str]] = set()
    for spec in SERVICES:
        document = httpx.get(f"{stack.gateway_url}/{spec.route}/openapi.json").json()
        for path, operations in document["paths"].items():
            for method in operations:
                published.add((method.upper(), f"/{spec.route}{path}"))
    in_matrix = {endpoint.key for endpoint in ENDPOINTS}
    assert published - PUBLIC - in_matrix == set(), "add these endpoints to ENDPOINTS"
    assert in_matrix - published == set(), "these matrix endpoints no longer exist"
