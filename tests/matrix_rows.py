"""The authorization matrix's rows: every endpoint and who may call it."""

from __future__ import annotations

import uuid
from typing import Any

from baton.stack.programme import NGO_TIRANA
from baton.stack.services import SERVICES
from matrix_grants import GRANT_ENDPOINTS
from matrix_world import (
    ANONYMOUS,
    AUDITORS,
    BREAK_GLASS_REVIEWERS,
    CASE_MANAGERS,
    CASE_STAFF,
    DIRECTORY_KEEPERS,
    DIRECTORY_READERS,
    DONORS,
    PLATFORM,
    REFERRAL_DECIDERS,
    REFERRAL_READERS,
    REFERRAL_SUBMITTERS,
    REFERRAL_WORKERS,
    SIGNED_IN,
    STATISTICS_READERS,
    WEBHOOK_MANAGERS,
    Body,
    Endpoint,
    EndpointMaker,
    World,
    _assessment_body,
    _beneficiary_body,
    _break_glass_body,
    _case_body,
    _consent_body,
    _family_member_body,
    _identity,
    _intake_body,
    _new_client,
    _new_organisation,
    _note_body,
    _provider_body,
    _provider_service_body,
    _referral_body,
    _service_body,
    _webhook_body,
)

# Personas of the organisations grants-api serves (NGOs and donors).
GRANTS_ORGS = SIGNED_IN - {"referrer"} - PLATFORM


def _reason(code: str) -> Body:
    return lambda *_: {"reason_code": code}


def _received_after(*steps: str) -> EndpointMaker:
    """A referral the organisation received, already taken through `steps`."""
    return lambda world, org, _: world.received_referral(org, *steps)


def _restricted_case(world: World, org: str, _: dict[str, str]) -> str:
    return world.restricted_case(org)


def _open_grant(world: World, org: str, made: dict[str, str]) -> str:
    return world.break_glass_grant(org, made["case_id"])


def _to_the_matrix(world: World, _: str) -> dict[str, Any]:
    return {"recipient_organisation_id": world.other_org}


ENDPOINTS: tuple[Endpoint, ...] = (
    # Every service: who am I here. cases and referrals serve no donor; grants serves
    # NGOs and donors only.
    Endpoint("GET", "/identity/v1/me", SIGNED_IN),
    Endpoint("GET", "/grants/v1/me", GRANTS_ORGS),
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
    # cases-api: restricted cases and break-glass access to them (case managers; the
    # grants' list for auditors too). Each call gets a restricted case of its own.
    Endpoint(
        "POST",
        "/cases/v1/cases/{case_id}/restriction",
        CASE_MANAGERS,
        scoped=True,
        fresh=True,
        body=lambda *_: {"reason": "staff_relative"},
        headers={"if-match": '"1"'},
    ),
    Endpoint(
        "POST",
        "/cases/v1/cases/{case_id}/break-glass",
        CASE_MANAGERS,
        201,
        scoped=True,
        body=_break_glass_body,
        makers={"case_id": _restricted_case},
    ),
    Endpoint("GET", "/cases/v1/cases/{case_id}/break-glass", BREAK_GLASS_REVIEWERS, scoped=True),
    Endpoint(
        "DELETE",
        "/cases/v1/cases/{case_id}/break-glass/{grant_id}",
        CASE_MANAGERS,
        204,
        scoped=True,
        makers={"case_id": _restricted_case, "grant_id": _open_grant},
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
    # cases-api: the same, of the family members those persons' cases assisted.
    Endpoint(
        "GET",
        "/cases/v1/statistics/secondary-beneficiaries",
        STATISTICS_READERS,
        params={
            "dimension": "relationship",
            "period_start": "2007-01-01",
            "period_end": "2014-12-31",
            "organisation_id": str(NGO_TIRANA.id),
        },
    ),
    # cases-api: the audit log (its own organisation's; the platform's auditors: all).
    Endpoint("GET", "/cases/v1/audit-events", AUDITORS),
    # referral-api: the provider directory (shared: no person's data, no address).
    Endpoint("GET", "/referrals/v1/providers", DIRECTORY_READERS),
    Endpoint(
        "GET",
        "/referrals/v1/providers/capacity",
        DIRECTORY_READERS,
        params={"service_type": "accommodation"},
    ),
    Endpoint(
        "POST",
        "/referrals/v1/providers",
        PLATFORM,
        201,
        body=lambda *_: _provider_body(str(uuid.uuid4())),
    ),
    Endpoint("GET", "/referrals/v1/providers/{provider_id}", DIRECTORY_READERS),
    Endpoint(
        "PATCH",
        "/referrals/v1/providers/{provider_id}",
        DIRECTORY_KEEPERS,
        scoped=True,
        across_orgs=PLATFORM,
        elsewhere=403,
        body=lambda *_: {},
        headers={"if-match": '"1"'},
    ),
    Endpoint(
        "POST",
        "/referrals/v1/providers/{provider_id}/services",
        DIRECTORY_KEEPERS,
        201,
        scoped=True,
        across_orgs=PLATFORM,
        elsewhere=403,
        body=_provider_service_body,
    ),
    Endpoint(
        "GET",
        "/referrals/v1/providers/{provider_id}/services/{provider_service_id}",
        DIRECTORY_READERS,
    ),
    Endpoint(
        "PATCH",
        "/referrals/v1/providers/{provider_id}/services/{provider_service_id}",
        DIRECTORY_KEEPERS,
        scoped=True,
        across_orgs=PLATFORM,
        elsewhere=403,
        fresh=True,
        body=lambda *_: {"eligibility": "Matrix"},
        headers={"if-match": '"1"'},
    ),
    Endpoint(
        "DELETE",
        "/referrals/v1/providers/{provider_id}/services/{provider_service_id}",
        DIRECTORY_KEEPERS,
        204,
        scoped=True,
        across_orgs=PLATFORM,
        elsewhere=403,
        fresh=True,
    ),
    Endpoint(
        "PUT",
        "/referrals/v1/providers/{provider_id}/services/{provider_service_id}/capacity",
        CASE_MANAGERS,
        scoped=True,
        elsewhere=403,
        fresh=True,
        body=lambda *_: {"places_total": 10, "places_free": 2},
    ),
    # referral-api: referrals, visible to their two organisations only.
    Endpoint(
        "POST",
        "/referrals/v1/referrals",
        REFERRAL_SUBMITTERS,
        201,
        body=lambda world, _: _referral_body(world.other_org),
    ),
    Endpoint("GET", "/referrals/v1/referrals", REFERRAL_READERS),
    *(
        Endpoint(
            "GET", f"/referrals/v1/referrals/{{referral_id}}{leaf}", REFERRAL_READERS, scoped=True
        )
        for leaf in ("", "/timeline", "/disclosures")
    ),
    Endpoint(
        "GET",
        "/referrals/v1/referrals/{referral_id}/packet",
        REFERRAL_READERS,
        scoped=True,
        # Released to the recipient once accepted; the referrer reads what it sent.
        makers={
            "referral_id": lambda world, org, _: (
                world.sent_referral(org)
                if org == world.org_of("referrer")
                else world.received_referral(org, "accept")
            )
        },
    ),
    Endpoint(
        "POST",
        "/referrals/v1/referrals/{referral_id}/submit",
        REFERRAL_SUBMITTERS,
        scoped=True,
        headers={"if-match": '"1"'},
        makers={"referral_id": lambda world, org, _: world.sent_referral(org, draft=True)},
    ),
    Endpoint(
        "PATCH",
        "/referrals/v1/referrals/{referral_id}",
        REFERRAL_SUBMITTERS,
        scoped=True,
        body=lambda *_: {"language": "sq"},
        headers={"if-match": '"1"'},
        makers={"referral_id": lambda world, org, _: world.sent_referral(org, draft=True)},
    ),
    Endpoint(
        "POST",
        "/referrals/v1/referrals/{referral_id}/provide-info",
        REFERRAL_SUBMITTERS,
        scoped=True,
        body=lambda *_: {},
        headers={"if-match": '"2"'},
        makers={"referral_id": lambda world, org, _: world.awaiting_information(org)},
    ),
    Endpoint(
        "POST",
        "/referrals/v1/referrals/{referral_id}/cancel",
        REFERRAL_SUBMITTERS,
        scoped=True,
        body=lambda *_: {"reason_code": "person_declined"},
        headers={"if-match": '"1"'},
        makers={"referral_id": lambda world, org, _: world.sent_referral(org)},
    ),
    *(
        Endpoint(
            "POST",
            f"/referrals/v1/referrals/{{referral_id}}/{action}",
            allowed,
            status,
            scoped=True,
            body=body,
            headers={"if-match": f'"{len(before) + 1}"'},
            makers={"referral_id": _received_after(*before)},
        )
        for action, allowed, status, before, body in (
            ("acknowledge", REFERRAL_WORKERS, 200, (), None),
            ("request-info", REFERRAL_WORKERS, 200, (), _reason("risk_assessment")),
            ("hold", REFERRAL_WORKERS, 200, ("acknowledge",), _reason("awaiting_capacity")),
            ("start", REFERRAL_WORKERS, 200, ("accept",), None),
            ("fail", REFERRAL_WORKERS, 200, ("accept",), _reason("lost_contact")),
            ("complete", REFERRAL_WORKERS, 200, ("accept", "start"), None),
            ("accept", REFERRAL_DECIDERS, 200, (), None),
            ("reject", REFERRAL_DECIDERS, 200, (), _reason("no_capacity")),
            ("forward", REFERRAL_DECIDERS, 201, (), _to_the_matrix),
        )
    ),
    # referral-api: webhook endpoints of the organisation (Standard Webhooks).
    Endpoint("POST", "/referrals/v1/webhook-endpoints", WEBHOOK_MANAGERS, 201, body=_webhook_body),
    Endpoint("GET", "/referrals/v1/webhook-endpoints", WEBHOOK_MANAGERS),
    Endpoint("GET", "/referrals/v1/webhook-endpoints/{endpoint_id}", WEBHOOK_MANAGERS, scoped=True),
    Endpoint(
        "PATCH",
        "/referrals/v1/webhook-endpoints/{endpoint_id}",
        WEBHOOK_MANAGERS,
        scoped=True,
        fresh=True,
        body=lambda *_: {"description": "matrix"},
        headers={"if-match": '"1"'},
    ),
    Endpoint(
        "DELETE",
        "/referrals/v1/webhook-endpoints/{endpoint_id}",
        WEBHOOK_MANAGERS,
        204,
        scoped=True,
        fresh=True,
    ),
    Endpoint(
        "POST",
        "/referrals/v1/webhook-endpoints/{endpoint_id}/secret-rotations",
        WEBHOOK_MANAGERS,
        201,
        scoped=True,
        fresh=True,
    ),
    Endpoint(
        "GET",
        "/referrals/v1/webhook-endpoints/{endpoint_id}/deliveries",
        WEBHOOK_MANAGERS,
        scoped=True,
    ),
    Endpoint(
        "POST",
        "/referrals/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay",
        WEBHOOK_MANAGERS,
        404,  # no failed delivery to replay: the own endpoint is found, the delivery is not
        scoped=True,
    ),
    # grants-api: programmes, grants, money flows, reporting, funding mix, reports.
    *GRANT_ENDPOINTS,
)

# Open without a token by design, so not rows above; tested in test_gateway.py and the
# identity tests. Each service's /metrics is open too, on its own port only (the
# gateway refuses it): see test_route_inventory.py.
PUBLIC = frozenset(
    {
        *(("GET", f"/{spec.route}/{leaf}") for spec in SERVICES for leaf in ("healthz", "readyz")),
        ("POST", "/identity/v1/oauth/token"),
        ("GET", "/identity/.well-known/openid-configuration"),
        ("GET", "/identity/.well-known/jwks.json"),
    }
)
