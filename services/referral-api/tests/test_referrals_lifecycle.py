"""The lifecycle: each step by the right party from the right status, nothing else."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from baton.testing_issuer import Caller, CallerFactory
from referral_factories import (
    DECISIONS,
    PLANTED,
    REFERRALS,
    WORK,
    Parties,
    etag,
    parties,
    step,
    submit,
    walk,
)

ACTIONS = ("submit", "cancel", "provide-info", *sorted(WORK), *sorted(DECISIONS))
# How to reach each status from a fresh submission (on-hold three ways).
STATES: dict[str, tuple[str, ...]] = {
    "draft": (),
    "requested": (),
    "received": ("acknowledge",),
    "accepted": ("acknowledge", "accept"),
    "in-progress": ("acknowledge", "accept", "start"),
    "on-hold-before-acceptance": ("acknowledge", "request-info"),
    "on-hold-after-acceptance": ("acknowledge", "accept", "hold"),
    "on-hold-forwarded": ("acknowledge", "forward"),
    "completed": ("acknowledge", "accept", "start", "complete"),
    "rejected": ("reject",),
    "cancelled": ("cancel",),
    "failed": ("acknowledge", "accept", "fail"),
    "entered-in-error": (),
}
# Written out by hand from the issue, not derived from the code under test.
LEGAL = {
    "draft": {"submit", "cancel"},
    "requested": {"cancel", "acknowledge", "accept", "reject", "forward", "request-info"},
    "received": {"cancel", "accept", "reject", "forward", "request-info", "hold"},
    "accepted": {"start", "hold", "fail"},
    "in-progress": {"hold", "complete", "fail"},
    "on-hold-before-acceptance": {"cancel", "accept", "reject", "forward", "provide-info"},
    "on-hold-after-acceptance": {"start", "fail"},
}
LEADS_TO = {
    "submit": "requested",
    "cancel": "cancelled",
    "acknowledge": "received",
    "accept": "accepted",
    "reject": "rejected",
    "forward": "requested",  # the answer is the child referral
    "request-info": "on-hold",
    "start": "in-progress",
    "hold": "on-hold",
    "complete": "completed",
    "fail": "failed",
    "provide-info": "received",
}
REFERRER_STEPS = frozenset({"submit", "cancel", "provide-info"})
# What each persona's role permits, and which side of the referral it is on.
PERMITTED = {
    "referrer": REFERRER_STEPS,
    "caseworker": WORK,
    "manager": WORK | DECISIONS | REFERRER_STEPS,
    "auditor": frozenset(),
    "stranger": WORK | DECISIONS | REFERRER_STEPS,
}
# None: neither party.
SIDE: dict[str, str | None] = {
    "referrer": "referrer",
    "caseworker": "recipient",
    "manager": "recipient",
    "auditor": "recipient",
    "stranger": None,
}


async def in_state(referrals: httpx.AsyncClient, people: Parties, state: str) -> dict[str, Any]:
    draft = state == "draft"
    created = await submit(
        referrals, people.referrer, people.recipient, status="draft" if draft else "requested"
    )
    if state == "entered-in-error":
        response = await step(
            referrals,
            people.referrer,
            created["id"],
            "cancel",
            {"reason_code": "entered_in_error"},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())
    await walk(referrals, people, created["id"], *STATES[state])
    response = await referrals.get(f"{REFERRALS}/{created['id']}", headers=people.referrer.headers)
    return dict(response.json())


def expected(persona: str, action: str, state: str) -> int | None:
    """The status an illegal call gets; None when the call is legal."""
    if action not in PERMITTED[persona]:
        return 403
    side = SIDE[persona]
    if side is None or (state == "draft" and side == "recipient"):
        return 404
    if side != ("referrer" if action in REFERRER_STEPS else "recipient"):
        return 403
    if action not in LEGAL.get(state, set()):
        return 409
    return None


def _personas(caller: CallerFactory, people: Parties) -> dict[str, Caller]:
    return {
        "referrer": people.referrer,
        "caseworker": people.caseworker,
        "manager": people.manager,
        "auditor": caller("ngo", ["auditor"], org_id=people.recipient),
        "stranger": caller("ngo", ["case_manager"]),
    }


@pytest.mark.parametrize("state", list(STATES))
async def test_every_illegal_step_for_every_role_is_refused(
    referrals: httpx.AsyncClient, caller: CallerFactory, state: str
) -> None:
    people = parties(caller)
    referral = await in_state(referrals, people, state)
    version = await etag(referrals, people.referrer, referral["id"])
    wrong: list[tuple[str, str, int, int]] = []
    tried = 0
    for persona, who in _personas(caller, people).items():
        for action in ACTIONS:
            status = expected(persona, action, state)
            if status is None:
                continue
            response = await step(referrals, who, referral["id"], action, version=version)
            tried += 1
            if response.status_code != status:
                wrong.append((persona, action, status, response.status_code))
            elif status == 409:
                # The problem names the status the referral is in.
                assert f"`{referral['status']}`" in response.json()["detail"]
    assert wrong == []
    assert tried >= len(ACTIONS) * 3
    # Nothing moved.
    assert await etag(referrals, people.referrer, referral["id"]) == version


LEGAL_STEPS = [(state, action) for state, actions in LEGAL.items() for action in sorted(actions)]


@pytest.mark.parametrize(("state", "action"), LEGAL_STEPS)
async def test_each_legal_step_moves_the_referral(
    referrals: httpx.AsyncClient, caller: CallerFactory, state: str, action: str
) -> None:
    people = parties(caller)
    referral = await in_state(referrals, people, state)
    who = people.referrer if action in REFERRER_STEPS else None
    who = who or (people.caseworker if action in WORK else people.manager)
    response = await step(referrals, who, referral["id"], action)
    assert response.status_code == (201 if action == "forward" else 200), response.text
    assert response.json()["status"] == LEADS_TO[action]


async def test_the_referrer_follows_every_step_in_the_timeline(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient)
    rid = referral["id"]
    await step(referrals, people.caseworker, rid, "acknowledge")
    await step(referrals, people.caseworker, rid, "request-info")
    held = (await referrals.get(f"{REFERRALS}/{rid}", headers=people.referrer.headers)).json()
    assert (held["status"], held["business_status"]) == ("on-hold", "awaiting-information")
    await step(referrals, people.manager, rid, "accept")
    await step(referrals, people.caseworker, rid, "start")
    await step(referrals, people.caseworker, rid, "hold", {"reason_code": "medical_treatment"})
    await step(referrals, people.caseworker, rid, "start")
    done = await step(referrals, people.caseworker, rid, "complete")
    assert done.json()["status"] == "completed"

    timeline = await referrals.get(f"{REFERRALS}/{rid}/timeline", headers=people.referrer.headers)
    assert timeline.status_code == 200
    entries = timeline.json()["items"]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in entries] == [
        ("submitted", None, "requested"),
        ("acknowledge", "requested", "received"),
        ("request-info", "received", "on-hold"),
        ("accept", "on-hold", "accepted"),
        ("start", "accepted", "in-progress"),
        ("hold", "in-progress", "on-hold"),
        ("start", "on-hold", "in-progress"),
        ("complete", "in-progress", "completed"),
    ]
    assert entries[2]["reason_code"] == "risk_assessment"
    assert entries[5]["reason_code"] == "medical_treatment"
    assert entries[1]["actor"] == people.caseworker.subject
    assert entries[3]["actor"] == people.manager.subject
    assert entries[3]["actor_organisation_id"] == str(people.recipient)
    same = await referrals.get(f"{REFERRALS}/{rid}/timeline", headers=people.manager.headers)
    assert same.json() == timeline.json()

    # One thin event per step, in the same transaction: ids, status and codes only.
    events = await superuser.fetch(
        "SELECT payload FROM outbox_message WHERE topic = 'referral.event' "
        "AND payload->>'referral_id' = $1 ORDER BY created_at",
        rid,
    )
    payloads = [json.loads(row["payload"]) for row in events]
    assert [p["event_type"] for p in payloads] == [
        "referral.requested",
        "referral.received",
        "referral.on-hold",
        "referral.accepted",
        "referral.in-progress",
        "referral.on-hold",
        "referral.in-progress",
        "referral.completed",
    ]
    assert set(payloads[2]) == {
        "event_type",
        "referral_id",
        "status",
        "business_status",
        "occurred_at",
        "organisation_ids",
    }
    assert payloads[2]["business_status"] == "awaiting-information"
    assert payloads[0]["organisation_ids"] == [str(people.referrer.org_id), str(people.recipient)]
    assert not any(value in str(payloads) for value in PLANTED)


async def test_steps_that_end_a_referral_need_a_reason_code(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient)
    for body in ({}, {"reason_code": "she did not like us"}):
        response = await step(referrals, people.manager, referral["id"], "reject", body)
        assert response.status_code == 422
        assert "did not like" not in response.text
    ended = await step(
        referrals, people.referrer, referral["id"], "cancel", {"reason_code": "entered_in_error"}
    )
    assert ended.json()["status"] == "entered-in-error"


async def test_steps_need_the_version_they_were_based_on(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient)
    path = f"{REFERRALS}/{referral['id']}/acknowledge"
    missing = await referrals.post(path, headers=people.caseworker.headers)
    assert missing.status_code == 428
    stale = await referrals.post(path, headers=people.caseworker.with_headers(if_match='"7"'))
    assert stale.status_code == 412
    assert stale.headers["etag"] == '"1"'


async def test_a_step_retried_with_its_idempotency_key_is_taken_once(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient)
    key = f"accept-{uuid.uuid4()}"
    first = await step(referrals, people.manager, referral["id"], "accept", idempotency_key=key)
    again = await step(
        referrals, people.manager, referral["id"], "accept", version='"1"', idempotency_key=key
    )
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"
    timeline = await referrals.get(
        f"{REFERRALS}/{referral['id']}/timeline", headers=people.manager.headers
    )
    assert [e["action"] for e in timeline.json()["items"]] == ["submitted", "accept"]


async def test_lists_show_what_was_sent_and_received(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    routine = await submit(
        referrals, people.referrer, people.recipient, priority="routine", urgency_reason=None
    )
    urgent = await submit(referrals, people.referrer, people.recipient)
    await step(referrals, people.caseworker, urgent["id"], "acknowledge")

    async def ids(who: Caller, **query: str) -> list[str]:
        response = await referrals.get(REFERRALS, params=query, headers=who.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    both = [routine["id"], urgent["id"]]
    assert await ids(people.referrer) == both
    assert await ids(people.referrer, role="sent") == both
    assert await ids(people.referrer, role="received") == []
    assert await ids(people.manager, role="received") == both
    assert await ids(people.manager, status="received") == [urgent["id"]]
    assert await ids(people.manager, priority="routine") == [routine["id"]]
    first = await referrals.get(REFERRALS, params={"limit": 1}, headers=people.manager.headers)
    cursor = first.json()["next_cursor"]
    second = await ids(people.manager, limit="1", cursor=cursor)
    assert [first.json()["items"][0]["id"], *second] == both


async def test_a_forward_completes_as_transferred_when_the_next_provider_accepts(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = parties(caller)
    parent = await submit(referrals, people.referrer, people.recipient)
    next_ngo = caller("ngo", ["case_manager"])
    forwarded = await step(
        referrals,
        people.manager,
        parent["id"],
        "forward",
        {"recipient_organisation_id": str(next_ngo.org_id)},
    )
    assert forwarded.status_code == 201, forwarded.text
    child = forwarded.json()
    assert child["parent_referral_id"] == parent["id"]
    assert child["referrer_organisation_id"] == str(people.recipient)
    assert child["recipient_organisation_id"] == str(next_ngo.org_id)
    assert child["status"] == "requested"
    assert child["requested_services"] == parent["requested_services"]
    assert child["consent"] == parent["consent"]
    waiting = await referrals.get(f"{REFERRALS}/{parent['id']}", headers=people.referrer.headers)
    assert (waiting.json()["status"], waiting.json()["business_status"]) == (
        "on-hold",
        "forwarded",
    )
    # The first referrer never sees the child; the packet was sealed anew for it.
    hidden = await referrals.get(f"{REFERRALS}/{child['id']}", headers=people.referrer.headers)
    assert hidden.status_code == 404
    keys = await superuser.fetch(
        "SELECT wrapped_key, ciphertext FROM referral_packet WHERE referral_id = ANY($1)",
        [uuid.UUID(parent["id"]), uuid.UUID(child["id"])],
    )
    assert len(keys) == 2
    assert keys[0]["wrapped_key"] != keys[1]["wrapped_key"]

    accepted = await step(referrals, next_ngo, child["id"], "accept")
    assert accepted.status_code == 200, accepted.text
    done = await referrals.get(f"{REFERRALS}/{parent['id']}", headers=people.referrer.headers)
    assert (done.json()["status"], done.json()["business_status"]) == ("completed", "transferred")
    timeline = await referrals.get(
        f"{REFERRALS}/{parent['id']}/timeline", headers=people.referrer.headers
    )
    last = timeline.json()["items"][-1]
    assert (last["action"], last["to_status"], last["actor"]) == ("transferred", "completed", None)
    event = await superuser.fetchval(
        "SELECT payload->>'event_type' FROM outbox_message WHERE topic = 'referral.event' "
        "AND payload->>'referral_id' = $1 AND payload->>'business_status' = 'transferred'",
        parent["id"],
    )
    assert event == "referral.completed"


async def test_a_declined_forward_comes_back_to_decide_again(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    parent = await submit(referrals, people.referrer, people.recipient)
    next_ngo = caller("ngo", ["case_manager"])
    child = await step(
        referrals,
        people.manager,
        parent["id"],
        "forward",
        {"recipient_organisation_id": str(next_ngo.org_id), "referrer_reference": "FWD-1"},
    )
    assert child.json()["referrer_reference"] == "FWD-1"
    rejected = await step(referrals, next_ngo, child.json()["id"], "reject")
    assert rejected.json()["status"] == "rejected"
    back = await referrals.get(f"{REFERRALS}/{parent['id']}", headers=people.manager.headers)
    assert (back.json()["status"], back.json()["business_status"]) == (
        "received",
        "forward-declined",
    )
    accepted = await step(referrals, people.manager, parent["id"], "accept")
    assert accepted.json()["status"] == "accepted"
