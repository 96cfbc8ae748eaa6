"""Typed factories for referral tests (a module, since conftest cannot be imported)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from baton.testing_issuer import Caller, CallerFactory

# Values planted in packets; tests assert they never appear where they must not.
PLANTED_GIVEN = "Dardana"
PLANTED_FAMILY = "Qerimaj"
PLANTED_BIRTH_DATE = "1999-03-14"
PLANTED_CONTACT = "+38970555017"
PLANTED_NEEDS = "Needs a shelter place near Struga"
PLANTED_RISK = "Recruiter still phones the family"
PLANTED = (PLANTED_GIVEN, PLANTED_FAMILY, PLANTED_BIRTH_DATE, PLANTED_CONTACT, PLANTED_NEEDS)
REFERRALS = "/v1/referrals"


def packet() -> dict[str, Any]:
    return {
        "identity": {
            "given_names": PLANTED_GIVEN,
            "family_names": PLANTED_FAMILY,
            "date_of_birth": PLANTED_BIRTH_DATE,
            "nationality": "MK",
        },
        "safe_contact": {"channel": "phone", "details": PLANTED_CONTACT},
        "needs_summary": PLANTED_NEEDS,
        "risk_summary": PLANTED_RISK,
    }


def consent(
    scope: Sequence[str] = ("identity", "contact", "needs", "risk"), **changes: Any
) -> dict[str, Any]:
    return {
        "basis": "consent",
        "scope": list(scope),
        "recorded_at": "2026-11-20T10:00:00Z",
        "recorded_by": "officer-4711",
        **changes,
    }


def referral_body(recipient: uuid.UUID, **changes: Any) -> dict[str, Any]:
    """A referral that can be submitted: consent recorded, an adult, one country."""
    body: dict[str, Any] = {
        "recipient_organisation_id": str(recipient),
        "referrer_reference": f"POL-{uuid.uuid4().hex[:10]}",
        "priority": "urgent",
        "urgency_reason": "exploiter_nearby",
        "requested_services": ["accommodation", "psychological"],
        "jurisdiction": "MK",
        "identification_stage": "presumed",
        "reflection_period": {"starts_on": "2026-11-20"},
        "safety": {"immediate_danger": False, "do_not_contact_via": ["workplace"]},
        "language": "sq",
        "interpreter_needed": True,
        "handover": {"proposed_at": "2026-11-21T09:00:00Z", "location_type": "police_station"},
        "consent": consent(),
        "sex": "female",
        "countries_of_origin": ["AL"],
        "exploitation_forms": ["sexual"],
        "referral_source": "police",
        "packet": packet(),
    }
    return {**body, **changes}


@dataclass(frozen=True)
class Parties:
    """A police referrer and the NGO that receives: its caseworker and its case manager."""

    referrer: Caller
    caseworker: Caller
    manager: Caller

    @property
    def recipient(self) -> uuid.UUID:
        return self.manager.org_id


def parties(caller: CallerFactory) -> Parties:
    ngo = uuid.uuid4()
    return Parties(
        referrer=caller("government", ["referrer"]),
        caseworker=caller("ngo", ["caseworker"], org_id=ngo),
        manager=caller("ngo", ["case_manager"], org_id=ngo),
    )


async def submit(
    client: httpx.AsyncClient, referrer: Caller, recipient: uuid.UUID, **changes: Any
) -> dict[str, Any]:
    response = await client.post(
        REFERRALS, json=referral_body(recipient, **changes), headers=referrer.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def etag(client: httpx.AsyncClient, caller: Caller, referral_id: str) -> str:
    response = await client.get(f"{REFERRALS}/{referral_id}", headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


# The recipient's daily handling (caseworkers); accept, reject and forward are decisions.
WORK = frozenset({"acknowledge", "request-info", "start", "hold", "complete", "fail"})
DECISIONS = frozenset({"accept", "reject", "forward"})

# The body each step needs; the others take none.
STEP_BODIES: dict[str, dict[str, Any]] = {
    "reject": {"reason_code": "no_capacity"},
    "cancel": {"reason_code": "person_declined"},
    "hold": {"reason_code": "awaiting_capacity"},
    "fail": {"reason_code": "lost_contact"},
    "request-info": {"reason_code": "risk_assessment"},
    # The referrer's answer may change nothing but the status.
    "provide-info": {},
}


async def step(
    client: httpx.AsyncClient,
    caller: Caller,
    referral_id: str,
    action: str,
    body: dict[str, Any] | None = None,
    *,
    version: str | None = None,
    **headers: str,
) -> httpx.Response:
    """Take `action` with the referral's current ETag (read by `caller`) unless given."""
    if version is None:
        version = await etag(client, caller, referral_id)
    if body is None and action == "forward":
        body = {"recipient_organisation_id": str(uuid.uuid4())}
    return await client.post(
        f"{REFERRALS}/{referral_id}/{action}",
        json=body if body is not None else STEP_BODIES.get(action),
        headers=caller.with_headers(if_match=version, **headers),
    )


async def edit(
    client: httpx.AsyncClient,
    caller: Caller,
    referral_id: str,
    body: dict[str, Any],
    *,
    version: str | None = None,
) -> httpx.Response:
    """PATCH a draft with its current ETag (read by `caller`) unless given."""
    if version is None:
        version = await etag(client, caller, referral_id)
    return await client.patch(
        f"{REFERRALS}/{referral_id}", json=body, headers=caller.with_headers(if_match=version)
    )


async def awaiting_information(
    client: httpx.AsyncClient, people: Parties, **changes: Any
) -> dict[str, Any]:
    """A referral its recipient asked information about (`on-hold`, version 2)."""
    created = await submit(client, people.referrer, people.recipient, **changes)
    asked = await step(client, people.caseworker, created["id"], "request-info")
    assert asked.status_code == 200, asked.text
    answer: dict[str, Any] = asked.json()
    return answer


async def walk(
    client: httpx.AsyncClient, people: Parties, referral_id: str, *actions: str
) -> dict[str, Any]:
    """Take each step as the party it belongs to; returns the last answer."""
    by_action = dict.fromkeys(("submit", "cancel", "provide-info"), people.referrer)
    by_action |= dict.fromkeys(WORK, people.caseworker)
    answer: dict[str, Any] = {}
    for action in actions:
        caller = by_action.get(action, people.manager)
        response = await step(client, caller, referral_id, action)
        assert response.status_code in (200, 201), (action, response.text)
        answer = response.json()
    return answer


async def deliver(
    app: FastAPI, superuser: asyncpg.Connection, message_id: uuid.UUID, *, rounds: int = 50
) -> asyncpg.Record:
    """Run the outbox until `message_id` was tried once more; returns its row then.

    The test database is shared: messages of other tests may be due before it.
    """
    before = await superuser.fetchval(
        "SELECT attempts FROM outbox_message WHERE id = $1", message_id
    )
    for _ in range(rounds):
        await app.state.outbox.run_once()
        row = await superuser.fetchrow("SELECT * FROM outbox_message WHERE id = $1", message_id)
        assert row is not None
        if row["attempts"] > before:
            return row
    raise AssertionError("the outbox never reached the message")


async def message_of(
    superuser: asyncpg.Connection, topic: str, referral_id: str, **payload: str
) -> asyncpg.Record:
    """The one outbox message of `topic` for the referral (and these payload values)."""
    conditions = "".join(f" AND payload->>'{key}' = ${i + 3}" for i, key in enumerate(payload))
    rows = await superuser.fetch(
        f"SELECT * FROM outbox_message WHERE topic = $1 AND payload->>'referral_id' = $2"
        f"{conditions} ORDER BY created_at",
        topic,
        referral_id,
        *payload.values(),
    )
    assert len(rows) == 1, rows
    return rows[0]


async def make_due(superuser: asyncpg.Connection, message_id: uuid.UUID) -> None:
    """Bring a scheduled message forward, ahead of whatever else is due."""
    await superuser.execute(
        "UPDATE outbox_message SET available_at = now() - interval '1 day' WHERE id = $1",
        message_id,
    )
