"""Intake: a referral opens one beneficiary and one case in the receiving organisation."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from cases_api.cases.schemas import CaseCreate
from cases_api.intake.schemas import IntakeCase
from cases_factories import (
    PLANTED_DOCUMENT,
    PLANTED_FAMILY,
    PLANTED_PHONE,
    Caller,
    CallerFactory,
    identity,
    new_beneficiary,
)

INTAKE = "/v1/intake/referrals"


@pytest.fixture
def referral_service(caller: CallerFactory) -> Caller:
    """The referral service's client: the platform's organisation, scope `cases:intake`."""
    return caller("platform", [], scope="cases:intake")


def intake_body(
    organisation_id: uuid.UUID,
    referral_id: uuid.UUID | None = None,
    with_identity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "referral_id": str(referral_id or uuid.uuid4()),
        "organisation_id": str(organisation_id),
        "beneficiary": {
            "sex": "female",
            "birth_year": 1994,
            "is_child": False,
            "nationality": "AL",
            "countries_of_origin": ["AL"],
            "countries_of_exploitation": ["IT"],
            "languages": ["sq"],
        },
        "identity": with_identity,
        "case": {
            "assistance_started_on": "2026-10-01",
            "exploitation_forms": ["sexual"],
            "identification_stage": "identified",
            "referral_source": "police",
            "risk_level": "high",
            "reflection": {"jurisdiction": "BE", "started_on": "2026-10-01"},
        },
    }


async def _count(superuser: asyncpg.Connection, table: str, org_id: uuid.UUID) -> int:
    count: int = await superuser.fetchval(
        f"SELECT count(*) FROM {table} WHERE organisation_id = $1", org_id
    )
    return count


async def test_a_referral_opens_a_beneficiary_and_a_case_in_the_receiving_organisation(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    referral_service: Caller,
    superuser: asyncpg.Connection,
) -> None:
    manager = caller("ngo", ["case_manager"])
    body = intake_body(manager.org_id, with_identity=identity())
    response = await cases.post(INTAKE, json=body, headers=referral_service.headers)
    assert response.status_code == 201, response.text
    opened = response.json()
    assert set(opened) == {
        "referral_id",
        "organisation_id",
        "beneficiary_id",
        "case_id",
        "duplicates",
    }
    assert opened["referral_id"] == body["referral_id"]
    assert opened["organisation_id"] == str(manager.org_id)
    for planted in (PLANTED_FAMILY, PLANTED_PHONE, PLANTED_DOCUMENT):
        assert planted not in response.text

    # The receiving organisation's staff see it as their own, through the normal API.
    case = await cases.get(f"/v1/cases/{opened['case_id']}", headers=manager.headers)
    assert case.status_code == 200, case.text
    read = case.json()
    assert read["referral_id"] == body["referral_id"]
    assert read["beneficiary_id"] == opened["beneficiary_id"]
    assert read["assigned_to"] is None
    assert read["risk_level"] == "high"
    assert read["reflection_ends_on"] is not None
    identity_read = await cases.get(
        f"/v1/beneficiaries/{opened['beneficiary_id']}/identity",
        params={"purpose": "case_management"},
        headers=manager.headers,
    )
    assert identity_read.status_code == 200
    assert identity_read.json()["identity"]["family_names"] == PLANTED_FAMILY

    # Sealed, not stored in the clear.
    ciphertext = await superuser.fetchval(
        "SELECT ciphertext FROM beneficiary_identity WHERE beneficiary_id = $1",
        uuid.UUID(opened["beneficiary_id"]),
    )
    assert PLANTED_FAMILY.encode() not in ciphertext

    # Audited: the real caller (the platform's client) opened it in the receiving org.
    event = await superuser.fetchrow(
        "SELECT actor, actor_organisation_id, organisation_id, resource_type "
        "FROM audit_event WHERE action = 'intake.open' AND resource_id = $1",
        uuid.UUID(opened["case_id"]),
    )
    assert event is not None
    assert event["actor"] == referral_service.subject
    assert event["actor_organisation_id"] == referral_service.org_id
    assert event["organisation_id"] == manager.org_id
    assert event["resource_type"] == "case"
    # The records it created name the same actor's organisation, not the receiving one.
    actors = await superuser.fetch(
        "SELECT action, actor_organisation_id FROM audit_event "
        "WHERE resource_id = ANY($1::uuid[]) AND action IN ('beneficiary.create', 'case.create')",
        [uuid.UUID(opened["beneficiary_id"]), uuid.UUID(opened["case_id"])],
    )
    assert sorted(row["action"] for row in actors) == ["beneficiary.create", "case.create"]
    assert {row["actor_organisation_id"] for row in actors} == {referral_service.org_id}
    # Nothing landed in the caller's own organisation.
    assert await _count(superuser, "beneficiary", referral_service.org_id) == 0


async def test_the_same_referral_again_returns_the_first_intake(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    referral_service: Caller,
    superuser: asyncpg.Connection,
) -> None:
    worker = caller("ngo", ["caseworker"])
    body = intake_body(worker.org_id)
    first = await cases.post(INTAKE, json=body, headers=referral_service.headers)
    again = await cases.post(INTAKE, json=body, headers=referral_service.headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert await _count(superuser, "beneficiary", worker.org_id) == 1
    assert await _count(superuser, "case_file", worker.org_id) == 1


async def test_concurrent_intakes_of_one_referral_open_one_case(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    referral_service: Caller,
    superuser: asyncpg.Connection,
) -> None:
    worker = caller("ngo", ["caseworker"])
    body = intake_body(worker.org_id, with_identity=identity(given=f"Race{worker.org_id.hex}"))
    responses = await asyncio.gather(
        *(cases.post(INTAKE, json=body, headers=referral_service.headers) for _ in range(5))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 200, 200, 201], [r.text for r in responses]
    assert len({(r.json()["beneficiary_id"], r.json()["case_id"]) for r in responses}) == 1
    assert await _count(superuser, "beneficiary", worker.org_id) == 1
    assert await _count(superuser, "beneficiary_identity", worker.org_id) == 1
    assert await _count(superuser, "case_file", worker.org_id) == 1
    opened = await superuser.fetchval(
        "SELECT count(*) FROM audit_event WHERE action = 'intake.open' AND organisation_id = $1",
        worker.org_id,
    )
    assert opened == 1


async def test_a_referral_taken_in_elsewhere_is_a_conflict_that_reveals_nothing(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    referral_service: Caller,
    superuser: asyncpg.Connection,
) -> None:
    first_ngo, second_ngo = caller("ngo", ["caseworker"]), caller("ngo", ["caseworker"])
    referral_id = uuid.uuid4()
    first = await cases.post(
        INTAKE, json=intake_body(first_ngo.org_id, referral_id), headers=referral_service.headers
    )
    assert first.status_code == 201
    response = await cases.post(
        INTAKE,
        json=intake_body(second_ngo.org_id, referral_id, with_identity=identity()),
        headers=referral_service.headers,
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "referral-already-has-case"
    for secret in (str(first_ngo.org_id), first.json()["case_id"], first.json()["beneficiary_id"]):
        assert secret not in response.text
    assert PLANTED_FAMILY not in response.text
    # Nothing of the refused intake stayed behind.
    assert await _count(superuser, "beneficiary", second_ngo.org_id) == 0
    assert await _count(superuser, "beneficiary_key", second_ngo.org_id) == 0
    assert await _count(superuser, "case_file", first_ngo.org_id) == 1


async def test_possible_duplicates_in_the_receiving_organisation_are_reported(
    cases: httpx.AsyncClient, caller: CallerFactory, referral_service: Caller
) -> None:
    worker = caller("ngo", ["caseworker"])
    person = identity(given=f"Known{worker.org_id.hex[:8]}")
    known = await new_beneficiary(cases, worker, person)
    body = intake_body(worker.org_id, with_identity=person)
    first = await cases.post(INTAKE, json=body, headers=referral_service.headers)
    assert first.status_code == 201
    assert first.json()["duplicates"]["possible_duplicates"] == [known["id"]]
    again = await cases.post(INTAKE, json=body, headers=referral_service.headers)
    assert again.json()["duplicates"] == first.json()["duplicates"]


@pytest.mark.parametrize(
    ("org_kind", "roles", "scope"),
    [
        ("ngo", ["caseworker"], None),
        ("ngo", ["case_manager"], None),
        ("ngo", ["auditor"], None),
        ("government", ["referrer"], None),
        ("platform", ["platform_admin"], None),
        ("platform", [], "cases:stats"),
        ("donor", ["donor_viewer"], "cases:intake"),
        ("donor", ["grant_manager"], None),
    ],
)
async def test_only_the_intake_scope_may_open_cases(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    org_kind: str,
    roles: list[str],
    scope: str | None,
) -> None:
    intruder = caller(org_kind, roles, scope=scope)
    target = uuid.uuid4()
    response = await cases.post(INTAKE, json=intake_body(target), headers=intruder.headers)
    assert response.status_code == 403, response.text
    assert await _count(superuser, "beneficiary", target) == 0


async def test_an_anonymous_caller_is_refused(cases: httpx.AsyncClient) -> None:
    response = await cases.post(INTAKE, json=intake_body(uuid.uuid4()))
    assert response.status_code == 401


async def test_an_invalid_intake_is_refused_without_echoing_it(
    cases: httpx.AsyncClient, referral_service: Caller
) -> None:
    body = intake_body(uuid.uuid4(), with_identity=identity())
    body["case"]["beneficiary_id"] = str(uuid.uuid4())
    body["identity"]["date_of_birth"] = "Zhupaniqi-not-a-date"
    response = await cases.post(INTAKE, json=body, headers=referral_service.headers)
    assert response.status_code == 422
    locations = [error["location"] for error in response.json()["errors"]]
    assert ["body", "case", "beneficiary_id"] in locations
    assert PLANTED_FAMILY not in response.text


def test_intake_takes_every_field_of_a_case_but_the_beneficiary() -> None:
    assert set(IntakeCase.model_fields) == set(CaseCreate.model_fields) - {"beneficiary_id"}


async def test_the_referrers_summaries_become_sealed_notes_once(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    referral_service: Caller,
    superuser: asyncpg.Connection,
) -> None:
    manager = caller("ngo", ["case_manager"])
    needs, risk = "Needs a bed tonight in Durres", "Recruiter waits near the bus station"
    body = {**intake_body(manager.org_id), "needs_summary": needs, "risk_summary": risk}
    first = await cases.post(INTAKE, json=body, headers=referral_service.headers)
    assert first.status_code == 201, first.text
    assert needs not in first.text
    assert risk not in first.text
    again = await cases.post(INTAKE, json=body, headers=referral_service.headers)
    assert again.status_code == 200, again.text

    case_id = first.json()["case_id"]
    notes = await cases.get(
        f"/v1/cases/{case_id}/notes",
        params={"purpose": "case_management"},
        headers=manager.headers,
    )
    assert notes.status_code == 200, notes.text
    written = sorted((note["category"], note["text"]) for note in notes.json()["items"])
    assert written == [("general", needs), ("safety", risk)]
    assert {note["author"] for note in notes.json()["items"]} == {referral_service.subject}
    stored = await superuser.fetch(
        "SELECT ciphertext FROM case_note WHERE case_id = $1", uuid.UUID(case_id)
    )
    assert len(stored) == 2
    assert all(needs.encode() not in row["ciphertext"] for row in stored)
    assert all(risk.encode() not in row["ciphertext"] for row in stored)


async def test_an_intake_without_summaries_writes_no_note(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    referral_service: Caller,
    superuser: asyncpg.Connection,
) -> None:
    manager = caller("ngo", ["case_manager"])
    response = await cases.post(
        INTAKE, json=intake_body(manager.org_id), headers=referral_service.headers
    )
    assert response.status_code == 201, response.text
    assert await _count(superuser, "case_note", manager.org_id) == 0
