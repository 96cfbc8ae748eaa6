"""Submission: the envelope travels, the packet is sealed, the rules hold, retries are safe."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from baton import idempotency
from baton.testing import post_until_answered
from baton.testing_issuer import CallerFactory
from referral_factories import (
    PLANTED,
    PLANTED_FAMILY,
    REFERRALS,
    consent,
    parties,
    referral_body,
    step,
    submit,
)


def _leaks(text: str) -> list[str]:
    return [value for value in PLANTED if value in text]


async def test_a_submission_shows_the_envelope_and_seals_the_packet(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = parties(caller)
    response = await referrals.post(
        REFERRALS, json=referral_body(people.recipient), headers=people.referrer.headers
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["etag"] == '"1"'
    assert created["status"] == "requested"
    assert created["referrer_organisation_id"] == str(people.referrer.org_id)
    assert created["recipient_organisation_id"] == str(people.recipient)
    assert created["priority"] == "urgent"
    assert created["safety"]["do_not_contact_via"] == ["workplace"]
    assert created["consent"]["scope"] == ["contact", "identity", "needs", "risk"]
    assert created["packet_state"] == "sealed"
    assert "packet" not in created
    assert _leaks(response.text) == []

    # The recipient sees the envelope at once, and still no identity.
    seen = await referrals.get(f"{REFERRALS}/{created['id']}", headers=people.caseworker.headers)
    assert seen.status_code == 200
    assert seen.json()["requested_services"] == ["accommodation", "psychological"]
    assert _leaks(seen.text) == []

    row = await superuser.fetchrow(
        "SELECT * FROM referral_packet WHERE referral_id = $1", uuid.UUID(created["id"])
    )
    assert row is not None
    assert PLANTED_FAMILY.encode() not in row["ciphertext"]
    assert row["wrapped_key"]
    assert row["master_key_id"]
    envelope = await superuser.fetchval(
        "SELECT envelope::text FROM referral WHERE id = $1", uuid.UUID(created["id"])
    )
    assert _leaks(envelope) == []


async def test_a_draft_is_the_referrers_alone_until_submitted(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    # A draft may wait for the consent.
    draft = await submit(referrals, people.referrer, people.recipient, status="draft", consent=None)
    assert draft["status"] == "draft"
    assert draft["acknowledge_due_at"] is None
    path = f"{REFERRALS}/{draft['id']}"
    assert (await referrals.get(path, headers=people.manager.headers)).status_code == 404
    listed = await referrals.get(REFERRALS, headers=people.manager.headers)
    assert draft["id"] not in {item["id"] for item in listed.json()["items"]}

    refused = await step(referrals, people.referrer, draft["id"], "submit")
    assert refused.status_code == 422
    assert refused.json()["code"] == "consent-required"

    submitted = await submit(referrals, people.referrer, people.recipient, status="draft")
    sent = await step(referrals, people.referrer, submitted["id"], "submit")
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "requested"
    assert sent.json()["submitted_at"] is not None
    assert sent.headers["etag"] == '"2"'
    seen = await referrals.get(f"{REFERRALS}/{submitted['id']}", headers=people.manager.headers)
    assert seen.status_code == 200


async def _refused(
    referrals: httpx.AsyncClient, caller: CallerFactory, **changes: Any
) -> dict[str, Any]:
    people = parties(caller)
    body = referral_body(people.recipient, **changes)
    response = await referrals.post(REFERRALS, json=body, headers=people.referrer.headers)
    assert response.status_code == 422, response.text
    assert _leaks(response.text) == []
    problem: dict[str, Any] = response.json()
    return problem


async def test_no_submission_without_a_consent_or_legal_basis(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    problem = await _refused(referrals, caller, consent=None)
    assert problem["code"] == "consent-required"
    assert problem["type"] == "urn:baton:problem:consent-required"
    assert "`consent`" in problem["detail"]


@pytest.mark.parametrize("basis", ["legal_obligation", "vital_interest", "child_protection"])
async def test_a_legal_basis_stands_in_for_consent(
    referrals: httpx.AsyncClient, caller: CallerFactory, basis: str
) -> None:
    people = parties(caller)
    created = await submit(
        referrals, people.referrer, people.recipient, consent=consent(["needs"], basis=basis)
    )
    assert created["consent"]["basis"] == basis


async def test_cross_border_needs_the_persons_cross_border_consent(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    abroad = {"origin_country": "MK", "destination_country": "BE"}
    problem = await _refused(referrals, caller, cross_border=abroad)
    assert problem["code"] == "cross-border-consent-required"
    people = parties(caller)
    created = await submit(
        referrals,
        people.referrer,
        people.recipient,
        cross_border=abroad,
        consent=consent(cross_border_consent=True),
    )
    assert created["cross_border"] == abroad


@pytest.mark.parametrize(
    ("destination", "origins"),
    [("AL", ["AL"]), ("MK", [])],  # a country of origin; the person's nationality (packet)
)
async def test_a_return_needs_a_recorded_risk_assessment(
    referrals: httpx.AsyncClient, caller: CallerFactory, destination: str, origins: list[str]
) -> None:
    changes: dict[str, Any] = {
        "cross_border": {"origin_country": "BE", "destination_country": destination},
        "countries_of_origin": origins,
        "consent": consent(cross_border_consent=True),
    }
    problem = await _refused(referrals, caller, **changes)
    assert problem["code"] == "return-risk-assessment-required"
    people = parties(caller)
    await submit(
        referrals,
        people.referrer,
        people.recipient,
        return_risk_assessment_recorded=True,
        **changes,
    )


@pytest.mark.parametrize(
    "guardian",
    [None, {"recorded": False}, {"recorded": True}],
)
async def test_a_child_needs_a_recorded_guardian(
    referrals: httpx.AsyncClient, caller: CallerFactory, guardian: dict[str, Any] | None
) -> None:
    problem = await _refused(referrals, caller, is_child=True, guardian=guardian)
    assert problem["code"] == "guardian-required"


async def test_a_childs_guardian_is_an_organisation_or_a_type_never_a_name(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    guardian = {"recorded": True, "type": "guardianship_authority"}
    created = await submit(
        referrals, people.referrer, people.recipient, is_child=True, guardian=guardian
    )
    assert created["guardian"] == {**guardian, "organisation_id": None}
    named = {"recorded": True, "type": "parent", "name": "Someone"}
    response = await referrals.post(
        REFERRALS,
        json=referral_body(people.recipient, is_child=True, guardian=named),
        headers=people.referrer.headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation-failed"


async def test_the_safe_contact_channel_is_not_one_to_avoid(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    problem = await _refused(
        referrals, caller, safety={"immediate_danger": True, "do_not_contact_via": ["phone"]}
    )
    assert problem["code"] == "contact-channel-unsafe"


async def test_urgency_is_explained_by_a_code_never_free_text(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    for changes in ({"urgency_reason": None}, {"urgency_reason": "he is coming back"}):
        response = await referrals.post(
            REFERRALS,
            json=referral_body(people.recipient, **changes),
            headers=people.referrer.headers,
        )
        assert response.status_code == 422
        assert "coming back" not in response.text


async def test_a_referral_goes_to_another_organisation(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    response = await referrals.post(
        REFERRALS,
        json=referral_body(people.referrer.org_id),
        headers=people.referrer.headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "recipient-invalid"


async def test_the_referrers_reference_is_unique_in_its_organisation(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    reference = f"POL-{uuid.uuid4().hex[:8]}"
    first = await submit(referrals, people.referrer, people.recipient, referrer_reference=reference)
    again = await referrals.post(
        REFERRALS,
        json=referral_body(people.recipient, referrer_reference=reference),
        headers=people.referrer.headers,
    )
    assert again.status_code == 409
    problem = again.json()
    assert problem["code"] == "referrer-reference-taken"
    assert "`referrer_reference`" in problem["detail"]
    assert first["id"] in problem["detail"]
    assert _leaks(again.text) == []
    # Another referrer may use the same reference.
    other = caller("government", ["referrer"])
    await submit(referrals, other, people.recipient, referrer_reference=reference)


async def test_one_idempotency_key_three_submissions_one_referral(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = parties(caller)
    body = referral_body(people.recipient)
    headers = people.referrer.with_headers(idempotency_key=f"submit-{uuid.uuid4()}")
    answers = [await referrals.post(REFERRALS, json=body, headers=headers) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [201, 201, 201]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert answers[0].headers["etag"] == answers[2].headers["etag"]
    assert "idempotent-replayed" not in answers[0].headers
    assert answers[2].headers["idempotent-replayed"] == "true"
    count = await superuser.fetchval(
        "SELECT count(*) FROM referral WHERE referrer_organisation_id = $1",
        people.referrer.org_id,
    )
    assert count == 1
    # The stored response holds the envelope, never the packet.
    stored = await superuser.fetchval(
        "SELECT response_body::text FROM idempotency_key WHERE organisation_id = $1",
        people.referrer.org_id,
    )
    assert _leaks(stored) == []

    other = await referrals.post(REFERRALS, json={**body, "priority": "immediate"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency-key-reused"


async def test_concurrent_retries_with_one_key_make_one_referral(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = parties(caller)
    body = referral_body(people.recipient)
    headers = people.referrer.with_headers(idempotency_key=f"retry-{uuid.uuid4()}")
    # Retries that overlap the first are told to come back (409, Retry-After), as a
    # timed-out client's would be; coming back, they get the first answer.
    answers = await asyncio.gather(
        *(post_until_answered(referrals, REFERRALS, json=body, headers=headers) for _ in range(3))
    )
    assert [answer.status_code for answer in answers] == [201, 201, 201]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    count = await superuser.fetchval(
        "SELECT count(*) FROM referral WHERE referrer_organisation_id = $1",
        people.referrer.org_id,
    )
    assert count == 1


async def test_a_retry_while_the_first_submission_runs_is_told_to_come_back(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = parties(caller)
    key = f"slow-{uuid.uuid4()}"
    headers = people.referrer.with_headers(idempotency_key=key)
    # Hold the lock the first submission would hold while it works.
    lock = idempotency.in_progress_lock(
        "idempotency_key", people.referrer.org_id, people.referrer.subject, key
    )
    await superuser.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", lock)
    try:
        busy = await referrals.post(
            REFERRALS, json=referral_body(people.recipient), headers=headers
        )
    finally:
        await superuser.execute("SELECT pg_advisory_unlock_all()")
    assert busy.status_code == 409, busy.text
    assert busy.json()["code"] == "idempotency-key-in-progress"
    assert busy.headers["retry-after"] == "1"
    count = await superuser.fetchval(
        "SELECT count(*) FROM referral WHERE referrer_organisation_id = $1",
        people.referrer.org_id,
    )
    assert count == 0
    done = await referrals.post(REFERRALS, json=referral_body(people.recipient), headers=headers)
    assert done.status_code == 201, done.text


async def test_only_referrers_submit(referrals: httpx.AsyncClient, caller: CallerFactory) -> None:
    people = parties(caller)
    body = referral_body(people.recipient)
    for who in (people.caseworker, caller("donor", ["grant_manager"]), caller("ngo", ["auditor"])):
        response = await referrals.post(REFERRALS, json=body, headers=who.headers)
        assert response.status_code == 403, response.text
