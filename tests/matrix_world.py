"""The authorization matrix's world: personas, the organisations and objects it acts on.

Each placeholder of an OpenAPI path has a maker that finds (or creates, through
the gateway, as the organisation's own keeper) an object of a given organisation.
"""

from __future__ import annotations

import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import httpx

from baton.stack.personas import PersonaCredentials, PersonaTokens
from baton.stack.runner import Stack

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
# Who lists a case's break-glass grants: its organisation's managers and auditors.
BREAK_GLASS_REVIEWERS = frozenset({"case-manager", "auditor"})
# Statistics: case managers (their own organisation), platform staff, the grants service.
STATISTICS_READERS = frozenset({"case-manager", "platform-admin", "grants-service"})
# Referrals: read (both parties), submit, work (acknowledge, start...), decide (accept...).
REFERRAL_READERS = frozenset({"caseworker", "case-manager", "other-ngo-caseworker", "referrer"})
REFERRAL_SUBMITTERS = frozenset({"referrer", "case-manager"})
REFERRAL_WORKERS = CASE_STAFF
REFERRAL_DECIDERS = CASE_MANAGERS
WEBHOOK_MANAGERS = frozenset({"case-manager", "referrer"})
DIRECTORY_READERS = REFERRAL_READERS | PLATFORM
DIRECTORY_KEEPERS = frozenset({"case-manager", "platform-admin"})
# Managers of their organisations, made by the matrix: they keep the records it acts on.
MATRIX_MANAGER = "matrix-manager"  # the matrix's own organisation
SKOPJE_MANAGER = "matrix-skopje-manager"  # other-ngo-caseworker's organisation


class Scope(StrEnum):
    own = "own"  # an object of the caller's organisation
    other = "other"  # an object of an organisation the caller does not belong to
    any = "any"  # the endpoint names no organisation's object


# (organisation id, ids already chosen for earlier placeholders) -> an object's id.
Maker = Callable[[str, dict[str, str]], str]
# The same for one endpoint only, which needs its object in a particular state.
EndpointMaker = Callable[["World", str, dict[str, str]], str]


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
    # Organisation id -> the persona that creates its records and takes its steps.
    keepers: dict[str, str] = field(default_factory=dict)
    # grants-api's makers (matrix_grants.GrantsWorld), once added.
    grants: Any = None
    _kept: dict[tuple[str, str], str] = field(default_factory=dict)

    def org_of(self, persona: str) -> str:
        return self.tokens.persona(persona).organisation_id

    def path(self, endpoint: Endpoint, persona: str, scope: Scope) -> str:
        own = scope is Scope.own and persona != ANONYMOUS
        org = self.org_of(persona) if own else self.other_org
        makers = {**self.objects, **self.fresh_objects} if endpoint.fresh else self.objects
        made: dict[str, str] = {}
        # In path order: a service id must belong to the case id before it.
        names = (n for _, n, _, _ in string.Formatter().parse(endpoint.path) if n)
        for name in dict.fromkeys(names):
            special = endpoint.makers.get(name)
            made[name] = special(self, org, made) if special else makers[name](org, made)
        return endpoint.path.format(**made)

    def call(self, keeper: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.tokens(keeper)}", **kwargs.pop("headers", {})}
        return httpx.request(method, self.gateway_url + path, headers=headers, timeout=10, **kwargs)

    def _create(self, org: str, path: str, body: dict[str, Any], keeper: str | None = None) -> str:
        keeper = keeper or self.keepers.get(org)
        if keeper == "referrer" and path.startswith("/cases/"):
            keeper = None  # the police keep no case records
        if keeper is None:
            return str(uuid.uuid4())  # nobody there keeps records: any id is not found
        response = self.call(keeper, "POST", path, json=body)
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

    def restricted_case(self, org: str) -> str:
        """A new case of `org`, restricted by its keeper (version 1 before that)."""
        case_id = self.new_case(org)
        keeper = self.keepers.get(org)
        if keeper is not None and keeper != "referrer":
            restricted = self.call(
                keeper,
                "POST",
                f"/cases/v1/cases/{case_id}/restriction",
                json={"reason": "high_profile"},
                headers={"if-match": '"1"'},
            )
            assert restricted.status_code == 200, restricted.text
        return case_id

    def break_glass_grant(self, org: str, case_id: str) -> str:
        """An open break-glass grant of `org`'s keeper on that restricted case."""
        path = f"/cases/v1/cases/{case_id}/break-glass"
        return self._create(org, path, _break_glass_body())

    def kept(self, kind: str, org: str, make: Callable[[str], str]) -> str:
        key = (kind, org)
        if key not in self._kept:
            self._kept[key] = make(org)
        return self._kept[key]

    # referral-api ------------------------------------------------------------------

    def sent_referral(self, org: str, *, draft: bool = False) -> str:
        """A referral `org` sent to the matrix's organisation (a draft, or requested)."""
        if org == self.other_org:
            return self.foreign_referral()
        return self._create(org, "/referrals/v1/referrals", _referral_body(self.other_org, draft))

    def awaiting_information(self, org: str) -> str:
        """A referral `org` sent, on which the matrix's organisation asked for information."""
        referral_id = self.sent_referral(org)
        if org == self.other_org or self.keepers.get(org) is None:
            return referral_id
        path = f"/referrals/v1/referrals/{referral_id}"
        etag = self.call(MATRIX_MANAGER, "GET", path).headers["etag"]
        asked = self.call(
            MATRIX_MANAGER,
            "POST",
            f"{path}/request-info",
            json={"reason_code": "risk_assessment"},
            headers={"if-match": etag},
        )
        assert asked.status_code == 200, asked.text
        return referral_id

    def received_referral(self, org: str, *steps: str) -> str:
        """A referral the police sent to `org`, taken through `steps` by `org`'s keeper."""
        if org == self.other_org:
            return self.foreign_referral()
        police = self.org_of("referrer")
        keeper = self.keepers.get(org)
        if org == police or keeper is None:
            return str(uuid.uuid4())
        referral_id = self._create(police, "/referrals/v1/referrals", _referral_body(org))
        for step in steps:
            path = f"/referrals/v1/referrals/{referral_id}"
            etag = self.call(keeper, "GET", path).headers["etag"]
            body = {"reason_code": "awaiting_capacity"} if step == "hold" else None
            done = self.call(
                keeper, "POST", f"{path}/{step}", json=body, headers={"if-match": etag}
            )
            assert done.status_code in (200, 201), done.text
        return referral_id

    def involving_referral(self, org: str) -> str:
        """A referral `org` is a party to: sent by the police, received by the others."""
        if org == self.org_of("referrer"):
            return self.sent_referral(org)
        return self.received_referral(org)

    def foreign_referral(self) -> str:
        """A referral between organisations no persona belongs to."""
        return self.kept(
            "foreign referral",
            self.other_org,
            lambda org: self._create(
                org, "/referrals/v1/referrals", _referral_body(str(uuid.uuid4()))
            ),
        )

    def provider(self, org: str) -> str:
        """The directory entry of `org` (the platform has none: the matrix's stands in)."""
        org = self.other_org if org == self.org_of("platform-admin") else org
        return self.kept("provider", org, self.new_provider)

    def new_provider(self, org: str) -> str:
        created = self.call(
            "platform-admin", "POST", "/referrals/v1/providers", json=_provider_body(org)
        )
        if created.status_code == 201:
            return str(created.json()["id"])
        # The demo data gave this organisation its entry already: find it.
        assert created.status_code == 409, created.text
        cursor: str | None = None
        while True:
            page = self.call(
                "platform-admin",
                "GET",
                "/referrals/v1/providers",
                params={"limit": 100, **({"cursor": cursor} if cursor else {})},
            ).json()
            for entry in page["items"]:
                if entry["organisation_id"] == org:
                    return str(entry["id"])
            cursor = page["next_cursor"]
            assert cursor is not None, f"no directory entry of {org}"

    def provider_service(self, org: str, provider_id: str) -> str:
        path = f"/referrals/v1/providers/{provider_id}/services"
        return self._create(org, path, _provider_service_body(), "platform-admin")

    def webhook_endpoint(self, org: str) -> str:
        return self._create(org, "/referrals/v1/webhook-endpoints", _webhook_body())


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


def _break_glass_body(*_: Any) -> dict[str, Any]:
    return {
        "justification": "Matrix emergency: the caseworker is unreachable",
        "duration_minutes": 5,
    }


def _intake_body(world: World, _: str) -> dict[str, Any]:
    return {
        "referral_id": str(uuid.uuid4()),
        "organisation_id": world.other_org,
        "beneficiary": {"sex": "male", "is_child": False},
        "case": {"assistance_started_on": "2026-09-01"},
    }


def _referral_body(recipient: str, draft: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "recipient_organisation_id": recipient,
        "referrer_reference": f"MATRIX-{uuid.uuid4().hex[:12]}",
        "priority": "urgent",
        "urgency_reason": "exploiter_nearby",
        "requested_services": ["accommodation"],
        "jurisdiction": "MK",
        "identification_stage": "presumed",
        "language": "mk",
        "consent": {
            "basis": "consent",
            "scope": ["identity", "needs"],
            "recorded_at": "2026-11-20T10:00:00Z",
            "recorded_by": "matrix-officer",
        },
        "sex": "female",
        "exploitation_forms": ["sexual"],
        "referral_source": "police",
        "packet": {
            "identity": {"given_names": "Matrix", "family_names": "Referral"},
            "needs_summary": "Matrix needs",
        },
    }
    if draft:
        body["status"] = "draft"
    return body


def _provider_body(org: str) -> dict[str, Any]:
    return {"organisation_id": org, "name": "Matrix provider", "country": "MK"}


def _provider_service_body(*_: Any) -> dict[str, Any]:
    return {
        "service_type": "accommodation",
        "target_groups": ["women"],
        "exploitation_forms": ["sexual"],
    }


def _webhook_body(*_: Any) -> dict[str, Any]:
    # A public address (no DNS), never called: the endpoint is inactive.
    return {
        "url": "https://93.184.215.14/matrix",
        "event_types": ["referral.accepted"],
        "active": False,
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
    # Placeholders whose object this endpoint makes itself (in the state it needs).
    makers: dict[str, EndpointMaker] = field(default_factory=dict)

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


def _manager_client(world: World, org: str, name: str) -> PersonaCredentials:
    """An API client with the case manager's role in `org`, registered as a persona."""
    created = world.call(
        "platform-admin",
        "POST",
        "/identity/v1/clients",
        json={
            "organisation_id": org,
            "name": f"Matrix {name}",
            "roles": ["case_manager"],
            "audiences": ["cases-api", "referral-api"],
        },
    )
    assert created.status_code == 201, created.text
    client = created.json()
    credentials = PersonaCredentials(
        name=name,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        organisation_id=org,
        org_kind="ngo",
    )
    world.tokens.personas[name] = credentials
    return credentials


def build_world(stack: Stack, tokens: PersonaTokens) -> World:
    """An organisation of the matrix's own, a manager in it and in NGO Skopje, objects."""
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
    world = World(tokens=tokens, gateway_url=stack.gateway_url, other_org=other_org)
    _manager_client(world, other_org, MATRIX_MANAGER)
    skopje = tokens.persona("other-ngo-caseworker").organisation_id
    _manager_client(world, skopje, SKOPJE_MANAGER)
    world.keepers = {
        tokens.persona("case-manager").organisation_id: "case-manager",
        tokens.persona("referrer").organisation_id: "referrer",
        skopje: SKOPJE_MANAGER,
        other_org: MATRIX_MANAGER,
    }
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
        "referral_id": lambda org, _: world.kept("referral", org, world.involving_referral),
        "provider_id": lambda org, _: world.provider(org),
        "provider_service_id": lambda org, made: world.kept(
            "provider service", org, lambda o: world.provider_service(o, made["provider_id"])
        ),
        "endpoint_id": lambda org, _: world.kept("webhook endpoint", org, world.webhook_endpoint),
        # Replaying needs a failed delivery; a made-up one is not found (404).
        "delivery_id": lambda _org, _: str(uuid.uuid4()),
    }
    # Fresh children are made under the fresh parent chosen before them in the path.
    world.fresh_objects = {
        "beneficiary_id": lambda org, _: world.new_beneficiary(org),
        "case_id": lambda org, _: world.new_case(org),
        "service_id": lambda org, made: world.new_service(org, made["case_id"]),
        "secondary_id": lambda org, made: world.new_family_member(org, made["beneficiary_id"]),
        "consent_id": lambda org, made: world.new_consent(org, made["beneficiary_id"]),
        # Others' entries hold at most 50 services: each call gets an entry of its own.
        "provider_id": lambda org, _: (
            world.provider(org) if org != other_org else world.new_provider(str(uuid.uuid4()))
        ),
        "provider_service_id": lambda org, made: world.provider_service(org, made["provider_id"]),
        "endpoint_id": lambda org, _: world.webhook_endpoint(org),
    }
    return world
