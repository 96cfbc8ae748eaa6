"""Authorization matrix: every endpoint, every persona, own/other organisation -> status.

Each endpoint is listed once in ENDPOINTS with who may call it; the expected status
of every (persona, organisation) pair follows from that, through the gateway and
at the service directly (both walls must agree). An endpoint a service publishes
in its OpenAPI document but that is missing here fails
`test_every_endpoint_is_in_the_matrix`: later issues add theirs to ENDPOINTS and,
for new kinds of object, a placeholder to `World`.
"""

from __future__ import annotations

import string
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import httpx
import pytest

from baton.stack.personas import PersonaCredentials, PersonaTokens
from baton.stack.programme import NGO_TIRANA
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
    "referral-service",
    "grants-service",
)
# Baton's own services: no role, one narrow scope each (cases:intake, cases:stats).
SERVICE_CLIENTS = frozenset({"referral-service", "grants-service"})
SIGNED_IN = frozenset(PERSONAS) - {ANONYMOUS} - SERVICE_CLIENTS
DONORS = frozenset({"grant-manager", "donor-viewer"})
PLATFORM = frozenset({"platform-admin"})
# NGO staff: case work and identities; managers also assign, close and erase.
CASE_STAFF = frozenset({"caseworker", "case-manager", "other-ngo-caseworker"})
CASE_MANAGERS = frozenset({"case-manager"})
AUDITORS = frozenset({"auditor", "platform-admin"})
# Statistics: case managers (their own organisation), platform staff, the grants service.
STATISTICS_READERS = frozenset({"case-manager", "platform-admin", "grants-service"})
# The matrix's own organisation gets a caseworker client, to hold its own records.
MATRIX_CASEWORKER = "matrix-caseworker"


class Scope(StrEnum):
    own = "own"  # an object of the caller's organisation
    other = "other"  # an object of an organisation the caller does not belong to
    any = "any"  # the endpoint names no organisation's object


# (organisation id, ids already chosen for earlier placeholders) -> an object's id.
Maker = Callable[[str, dict[str, str]], str]


@dataclass
class World:
    """What the matrix acts on: an organisation no persona belongs to, and objects."""

    tokens: PersonaTokens
    gateway_url: str
    other_org: str
    # Placeholder in an OpenAPI path -> maker of an id of that organisation's object,
    # given the ids already chosen for the placeholders before it in the path.
    objects: dict[str, Maker] = field(default_factory=dict)
    # The same, made anew for each call: for endpoints that change or erase the object.
    fresh_objects: dict[str, Maker] = field(default_factory=dict)
    # Organisation id -> the persona that creates its records.
    record_keepers: dict[str, str] = field(default_factory=dict)
    _kept: dict[tuple[str, str], str] = field(default_factory=dict)

    def org_of(self, persona: str) -> str:
        return self.tokens.persona(persona).organisation_id

    def path(self, template: str, persona: str, scope: Scope, *, fresh: bool = False) -> str:
        own = scope is Scope.own and persona != ANONYMOUS
        org = self.org_of(persona) if own else self.other_org
        makers = {**self.objects, **self.fresh_objects} if fresh else self.objects
        made: dict[str, str] = {}
        # In path order: a service id must belong to the case id before it.
        for name in dict.fromkeys(n for _, n, _, _ in string.Formatter().parse(template) if n):
            made[name] = makers[name](org, made)
        return template.format(**made)

    def _create(self, org: str, path: str, body: dict[str, Any]) -> str:
        keeper = self.record_keepers.get(org)
        if keeper is None:
            return str(uuid.uuid4())  # nobody there keeps records: any id is not found
        response = httpx.post(
            self.gateway_url + path,
            json=body,
            headers={"authorization": f"Bearer {self.tokens(keeper)}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def new_beneficiary(self, org: str) -> str:
        return self._create(org, "/cases/v1/beneficiaries", _beneficiary_body(with_identity=True))

    def new_case(self, org: str) -> str:
        return self._create(org, "/cases/v1/cases", _case_body(self.new_beneficiary(org)))

    def new_service(self, org: str, case_id: str) -> str:
        return self._create(org, f"/cases/v1/cases/{case_id}/services", _service_body())

    def new_family_member(self, org: str, beneficiary_id: str) -> str:
        path = f"/cases/v1/beneficiaries/{beneficiary_id}/family-members"
        return self._create(org, path, _family_member_body())

    def new_consent(self, org: str, beneficiary_id: str) -> str:
        return self._create(
            org, f"/cases/v1/beneficiaries/{beneficiary_id}/consents", _consent_body()
        )

    def new_note(self, org: str, case_id: str) -> str:
        return self._create(org, f"/cases/v1/cases/{case_id}/notes", _note_body())

    def new_assessment(self, org: str, case_id: str) -> str:
        return self._create(org, f"/cases/v1/cases/{case_id}/assessments", _assessment_body())

    def kept(self, kind: str, org: str, make: Callable[[str], str]) -> str:
        key = (kind, org)
        if key not in self._kept:
            self._kept[key] = make(org)
        return self._kept[key]


def _identity() -> dict[str, Any]:
    return {
        "given_names": "Matrix",
        "family_names": "Person",
        "date_of_birth": "1990-01-01",
        "documents": [{"type": "passport", "status": "missing"}],
    }


def _beneficiary_body(with_identity: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"sex": "male", "is_child": False, "countries_of_origin": ["MK"]}
    if with_identity:
        body["identity"] = _identity()
    return body


def _service_body(*_: Any) -> dict[str, Any]:
    return {"service_type": "medical", "cost_amount": "120.00", "cost_currency": "EUR"}


def _assessment_body(*_: Any) -> dict[str, Any]:
    return {"assessed_on": date.today().isoformat(), "scores": {"safety": 3}}


def _family_member_body(*_: Any) -> dict[str, Any]:
    return {
        "relationship": "child",
        "sex": "female",
        "age_group": "child",
        "services_received": ["education"],
        "identity": {"given_names": "Matrix", "family_names": "Child"},
    }


def _consent_body(*_: Any) -> dict[str, Any]:
    return {"type": "data_processing", "given_on": "2026-11-01", "language": "mk"}


def _note_body(*_: Any) -> dict[str, Any]:
    return {"category": "general", "text": "Matrix note"}


def _intake_body(world: World, _: str) -> dict[str, Any]:
    return {
        "referral_id": str(uuid.uuid4()),
        "organisation_id": world.other_org,
        "beneficiary": {"sex": "male", "is_child": False},
        "case": {"assistance_started_on": "2026-09-01"},
    }


def _case_body(beneficiary_id: str) -> dict[str, Any]:
    return {
        "beneficiary_id": beneficiary_id,
        "assistance_started_on": "2026-09-01",
        "exploitation_forms": ["labour"],
    }


# (world, persona) -> request body.
Body = Callable[[World, str], dict[str, Any]]


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
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # The call changes its object: every (persona, scope) gets a new one.
    fresh: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


def _new_organisation(_: World, __: str) -> dict[str, Any]:
    return {"name": f"Matrix NGO {uuid.uuid4().hex[:8]}", "kind": "ngo", "country": "XK"}


def _new_client(world: World, _: str) -> dict[str, Any]:
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
        body=lambda *_: {},
    ),
    # identity-api: API clients (platform administrators only).
    Endpoint("GET", "/identity/v1/clients", PLATFORM),
    Endpoint("POST", "/identity/v1/clients", PLATFORM, 201, body=_new_client),
    Endpoint("GET", "/identity/v1/clients/{client_uuid}", PLATFORM),
    Endpoint("PATCH", "/identity/v1/clients/{client_uuid}", PLATFORM, body=lambda *_: {}),
    Endpoint("POST", "/identity/v1/clients/{client_uuid}/secret-rotations", PLATFORM, 201),
    # cases-api: beneficiaries and identities (NGO staff of the record's organisation).
    Endpoint("GET", "/cases/v1/beneficiaries", CASE_STAFF),
    Endpoint(
        "POST", "/cases/v1/beneficiaries", CASE_STAFF, 201, body=lambda *_: _beneficiary_body()
    ),
    Endpoint(
        "POST",
        "/cases/v1/beneficiaries/search",
        CASE_STAFF,
        body=lambda *_: {k: v for k, v in _identity().items() if k != "documents"},
    ),
    Endpoint("GET", "/cases/v1/beneficiaries/{beneficiary_id}", CASE_STAFF, scoped=True),
    Endpoint(
        "PATCH",
        "/cases/v1/beneficiaries/{beneficiary_id}",
        CASE_STAFF,
        scoped=True,
        fresh=True,
        body=lambda *_: {"languages": ["mk"]},
        headers={"if-match": '"1"'},
    ),
    Endpoint(
        "GET",
        "/cases/v1/beneficiaries/{beneficiary_id}/identity",
        CASE_STAFF,
        scoped=True,
        params={"purpose": "case_management"},
    ),
    Endpoint(
        "PUT",
        "/cases/v1/beneficiaries/{beneficiary_id}/identity",
        CASE_STAFF,
        scoped=True,
        fresh=True,
        body=lambda *_: _identity(),
        headers={"if-match": '"1"'},
    ),
    Endpoint(
        "DELETE",
        "/cases/v1/beneficiaries/{beneficiary_id}/identity",
        CASE_MANAGERS,
        204,
        scoped=True,
        fresh=True,
    ),
    # cases-api: cases.
    Endpoint("GET", "/cases/v1/cases", CASE_STAFF),
    Endpoint(
        "POST",
        "/cases/v1/cases",
        CASE_STAFF,
        201,
        body=lambda world, persona: _case_body(
            world.objects["beneficiary_id"](world.org_of(persona), {})
            if persona != ANONYMOUS
            else str(uuid.uuid4())
        ),
    ),
    Endpoint("GET", "/cases/v1/cases/{case_id}", CASE_STAFF, scoped=True),
    Endpoint(
        "PATCH",
        "/cases/v1/cases/{case_id}",
        CASE_STAFF,
        scoped=True,
        fresh=True,
        body=lambda *_: {"risk_level": "high"},
        headers={"if-match": '"1"'},
    ),
    *(
        Endpoint(
            "POST",
            f"/cases/v1/cases/{{case_id}}/{action}",
            CASE_MANAGERS,
            scoped=True,
            fresh=True,
            body=body,
            headers={"if-match": '"1"'},
        )
        for action, body in (
            ("assignment", lambda *_: {"assigned_to": "matrix-worker"}),
            ("phase-override", lambda *_: {"phase": "crisis", "reason": "Renewed threats"}),
            ("closure", lambda *_: {"outcome": "reintegrated", "closed_on": "2026-11-01"}),
        )
    ),
    # cases-api: the re/integration plan's services and monitoring assessments.
    Endpoint("GET", "/cases/v1/cases/{case_id}/services", CASE_STAFF, scoped=True),
    Endpoint(
        "POST",
        "/cases/v1/cases/{case_id}/services",
        CASE_STAFF,
        201,
        scoped=True,
        body=_service_body,
    ),
    Endpoint("GET", "/cases/v1/cases/{case_id}/services/{service_id}", CASE_STAFF, scoped=True),
    Endpoint(
        "PATCH",
        "/cases/v1/cases/{case_id}/services/{service_id}",
        CASE_STAFF,
        scoped=True,
        fresh=True,
        body=lambda *_: {"status": "in_progress", "started_on": "2026-09-02"},
        headers={"if-match": '"1"'},
    ),
    Endpoint("GET", "/cases/v1/cases/{case_id}/assessments", CASE_STAFF, scoped=True),
    Endpoint(
        "POST",
        "/cases/v1/cases/{case_id}/assessments",
        CASE_STAFF,
        201,
        scoped=True,
        body=_assessment_body,
    ),
    Endpoint("GET", "/cases/v1/cases/{case_id}/assessments/progress", CASE_STAFF, scoped=True),
    Endpoint(
        "GET", "/cases/v1/cases/{case_id}/assessments/{assessment_id}", CASE_STAFF, scoped=True
    ),
    # cases-api: family members, consents, case notes.
    Endpoint(
        "POST",
        "/cases/v1/beneficiaries/{beneficiary_id}/family-members",
        CASE_STAFF,
        201,
        scoped=True,
        body=_family_member_body,
    ),
    Endpoint(
        "GET", "/cases/v1/beneficiaries/{beneficiary_id}/family-members", CASE_STAFF, scoped=True
    ),
    Endpoint(
        "GET",
        "/cases/v1/beneficiaries/{beneficiary_id}/family-members/{secondary_id}",
        CASE_STAFF,
        scoped=True,
        params={"include": "identity", "purpose": "case_management"},
    ),
    Endpoint(
        "PATCH",
        "/cases/v1/beneficiaries/{beneficiary_id}/family-members/{secondary_id}",
        CASE_STAFF,
        scoped=True,
        fresh=True,
        body=lambda *_: {"age_group": "adult"},
        headers={"if-match": '"1"'},
    ),
    Endpoint(
        "POST",
        "/cases/v1/beneficiaries/{beneficiary_id}/consents",
        CASE_STAFF,
        201,
        scoped=True,
        body=_consent_body,
    ),
    Endpoint("GET", "/cases/v1/beneficiaries/{beneficiary_id}/consents", CASE_STAFF, scoped=True),
    Endpoint(
        "GET",
        "/cases/v1/beneficiaries/{beneficiary_id}/consents/{consent_id}",
        CASE_STAFF,
        scoped=True,
    ),
    Endpoint(
        "POST",
        "/cases/v1/beneficiaries/{beneficiary_id}/consents/{consent_id}/withdrawal",
        CASE_STAFF,
        scoped=True,
        fresh=True,
        headers={"if-match": '"1"'},
    ),
    Endpoint(
        "POST", "/cases/v1/cases/{case_id}/notes", CASE_STAFF, 201, scoped=True, body=_note_body
    ),
    Endpoint(
        "GET",
        "/cases/v1/cases/{case_id}/notes",
        CASE_STAFF,
        scoped=True,
        params={"purpose": "case_management"},
    ),
    Endpoint(
        "GET",
        "/cases/v1/cases/{case_id}/notes/{note_id}",
        CASE_STAFF,
        scoped=True,
        params={"purpose": "case_management"},
    ),
    # cases-api: intake from an accepted referral (the referral service's scope only).
    Endpoint(
        "POST",
        "/cases/v1/intake/referrals",
        frozenset({"referral-service"}),
        201,
        body=_intake_body,
    ),
    # cases-api: suppressed statistics of the demo NGO the case manager works for.
    Endpoint(
        "GET",
        "/cases/v1/statistics",
        STATISTICS_READERS,
        params={
            "dimension": "sex",
            "period_start": "2007-01-01",
            "period_end": "2014-12-31",
            "organisation_id": str(NGO_TIRANA.id),
        },
    ),
    # cases-api: the audit log (its own organisation's; the platform's auditors: all).
    Endpoint("GET", "/cases/v1/audit-events", AUDITORS),
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
    created = api_client.json()
    tokens.personas[MATRIX_CASEWORKER] = PersonaCredentials(
        name=MATRIX_CASEWORKER,
        client_id=created["client_id"],
        client_secret=created["client_secret"],
        organisation_id=other_org,
        org_kind="ngo",
    )
    world = World(
        tokens=tokens,
        gateway_url=stack.gateway_url,
        other_org=other_org,
        record_keepers={
            tokens.persona(keeper).organisation_id: keeper
            for keeper in ("caseworker", "other-ngo-caseworker", MATRIX_CASEWORKER)
        },
    )
    world.objects = {
        "org_id": lambda org, _: org,
        "client_uuid": lambda _org, _: str(created["id"]),
        "beneficiary_id": lambda org, _: world.kept("beneficiary", org, world.new_beneficiary),
        "case_id": lambda org, _: world.kept("case", org, world.new_case),
        "service_id": lambda org, made: world.kept(
            "service", org, lambda o: world.new_service(o, made["case_id"])
        ),
        "assessment_id": lambda org, made: world.kept(
            "assessment", org, lambda o: world.new_assessment(o, made["case_id"])
        ),
    }
    world.objects |= {
        "secondary_id": lambda org, made: world.kept(
            "family member", org, lambda o: world.new_family_member(o, made["beneficiary_id"])
        ),
        "consent_id": lambda org, made: world.kept(
            "consent", org, lambda o: world.new_consent(o, made["beneficiary_id"])
        ),
        "note_id": lambda org, made: world.kept(
            "note", org, lambda o: world.new_note(o, made["case_id"])
        ),
    }
    # Fresh children are made under the fresh parent chosen before them in the path.
    world.fresh_objects = {
        "beneficiary_id": lambda org, _: world.new_beneficiary(org),
        "case_id": lambda org, _: world.new_case(org),
        "service_id": lambda org, made: world.new_service(org, made["case_id"]),
        "secondary_id": lambda org, made: world.new_family_member(org, made["beneficiary_id"]),
        "consent_id": lambda org, made: world.new_consent(org, made["beneficiary_id"]),
    }
    return world


def _direct_url(stack: Stack, public_path: str) -> str:
    route, _, rest = public_path.lstrip("/").partition("/")
    spec = next(spec for spec in SERVICES if spec.route == route)
    return f"{stack.service_url(spec)}/{rest}"


@pytest.mark.parametrize("via", ["gateway", "service"])
@pytest.mark.parametrize(("endpoint", "persona", "scope"), list(_cases()))
def test_authorization_matrix(
    stack: Stack, world: World, endpoint: Endpoint, persona: str, scope: Scope, via: str
) -> None:
    path = world.path(endpoint.path, persona, scope, fresh=endpoint.fresh)
    url = stack.gateway_url + path if via == "gateway" else _direct_url(stack, path)
    headers = dict(endpoint.headers)
    if persona != ANONYMOUS:
        headers["authorization"] = f"Bearer {world.tokens(persona)}"
    body = endpoint.body(world, persona) if endpoint.body is not None else None
    response = httpx.request(
        endpoint.method, url, headers=headers, params=endpoint.params, json=body, timeout=10
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
