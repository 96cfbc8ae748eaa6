"""Clocks: deadlines by priority, stored and scheduled; a missed one is escalated, loudly."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from baton.testing_issuer import CallerFactory
from referral_api.config import ReferralSettings
from referral_api.referrals.clocks import acknowledge_deadline, add_working_days
from referral_api.referrals.clocks import decision_deadline as decision_due
from referral_factories import (
    REFERRALS,
    awaiting_information,
    deliver,
    make_due,
    message_of,
    parties,
    step,
    submit,
)

FRIDAY = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_working_days_skip_the_weekend() -> None:
    weekdays = [1, 2, 3, 4, 5]
    assert add_working_days(FRIDAY, 2, weekdays) == FRIDAY + timedelta(days=4)  # Tuesday
    saturday = FRIDAY + timedelta(days=1)
    assert add_working_days(saturday, 1, weekdays) == saturday + timedelta(days=2)
    assert add_working_days(FRIDAY, 1, [1, 2, 3, 4, 5, 6]) == saturday
    with pytest.raises(ValueError, match="working day"):
        add_working_days(FRIDAY, 1, [])


def test_deadlines_follow_the_priority() -> None:
    settings = ReferralSettings.model_validate({"database_url": "postgresql+asyncpg://x/y"})
    assert acknowledge_deadline(settings, "immediate", FRIDAY) == FRIDAY + timedelta(hours=1)
    assert acknowledge_deadline(settings, "urgent", FRIDAY) == FRIDAY + timedelta(hours=4)
    assert acknowledge_deadline(settings, "routine", FRIDAY) == FRIDAY + timedelta(days=4)
    assert decision_due(settings, "immediate", FRIDAY) == FRIDAY + timedelta(hours=4)
    assert decision_due(settings, "routine", FRIDAY) == FRIDAY + timedelta(hours=120)


async def _escalations(superuser: asyncpg.Connection, referral_id: str) -> list[str]:
    rows = await superuser.fetch(
        "SELECT payload FROM outbox_message WHERE topic = 'referral.event' "
        "AND payload->>'referral_id' = $1 AND payload->>'event_type' = 'referral.escalated'",
        referral_id,
    )
    return [json.loads(row["payload"])["status"] for row in rows]


async def _missed(
    app: FastAPI, superuser: asyncpg.Connection, referral_id: str, clock: str
) -> None:
    """Let the clock's deadline pass, and the worker see it."""
    message = await message_of(superuser, "referral.deadline", referral_id, clock=clock)
    await make_due(superuser, message["id"])
    row = await deliver(app, superuser, message["id"])
    assert row["processed_at"] is not None, row["last_error"]


async def test_submission_stores_and_schedules_the_deadlines(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient, priority="immediate")
    submitted = _at(referral["submitted_at"])
    assert _at(referral["acknowledge_due_at"]) - submitted == timedelta(hours=1)
    assert _at(referral["decision_due_at"]) - submitted == timedelta(hours=4)
    assert referral["first_contact_due_at"] is None
    for clock, due in (
        ("acknowledge", referral["acknowledge_due_at"]),
        ("decision", referral["decision_due_at"]),
    ):
        message = await message_of(superuser, "referral.deadline", referral["id"], clock=clock)
        assert message["available_at"] == _at(due)
        assert json.loads(message["payload"])["organisation_id"] == str(people.recipient)

    accepted = await step(referrals, people.manager, referral["id"], "accept")
    body = accepted.json()
    assert _at(body["first_contact_due_at"]) - _at(body["accepted_at"]) == timedelta(hours=48)
    message = await message_of(
        superuser, "referral.deadline", referral["id"], clock="first_contact"
    )
    assert message["available_at"] == _at(body["first_contact_due_at"])


async def test_a_missed_acknowledgement_is_escalated(
    referrals: httpx.AsyncClient,
    referral_app: FastAPI,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient)
    await _missed(referral_app, superuser, referral["id"], "acknowledge")
    timeline = await referrals.get(
        f"{REFERRALS}/{referral['id']}/timeline", headers=people.referrer.headers
    )
    last = timeline.json()["items"][-1]
    assert (last["action"], last["reason_code"], last["actor"]) == (
        "escalated",
        "acknowledge",
        None,
    )
    assert (last["from_status"], last["to_status"]) == ("requested", "requested")
    assert await _escalations(superuser, referral["id"]) == ["requested"]


async def test_a_step_taken_in_time_stops_its_clock(
    referrals: httpx.AsyncClient,
    referral_app: FastAPI,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient)
    await step(referrals, people.caseworker, referral["id"], "acknowledge")
    await _missed(referral_app, superuser, referral["id"], "acknowledge")
    assert await _escalations(superuser, referral["id"]) == []
    # Acknowledged, but not decided: that clock still rings.
    await _missed(referral_app, superuser, referral["id"], "decision")
    assert await _escalations(superuser, referral["id"]) == ["received"]


async def test_first_contact_after_acceptance_has_its_own_clock(
    referrals: httpx.AsyncClient,
    referral_app: FastAPI,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
) -> None:
    people = parties(caller)
    late = await submit(referrals, people.referrer, people.recipient)
    on_time = await submit(referrals, people.referrer, people.recipient)
    for referral in (late, on_time):
        await step(referrals, people.manager, referral["id"], "accept")
    await step(referrals, people.caseworker, on_time["id"], "start")
    for referral in (late, on_time):
        await _missed(referral_app, superuser, referral["id"], "first_contact")
    assert await _escalations(superuser, late["id"]) == ["accepted"]
    assert await _escalations(superuser, on_time["id"]) == []


async def test_a_withdrawn_referral_is_not_escalated(
    referrals: httpx.AsyncClient,
    referral_app: FastAPI,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient)
    await step(referrals, people.referrer, referral["id"], "cancel")
    await _missed(referral_app, superuser, referral["id"], "acknowledge")
    assert await _escalations(superuser, referral["id"]) == []


async def _deadline_messages(
    superuser: asyncpg.Connection, referral_id: str, clock: str
) -> list[asyncpg.Record]:
    rows = await superuser.fetch(
        "SELECT * FROM outbox_message WHERE topic = 'referral.deadline' "
        "AND payload->>'referral_id' = $1 AND payload->>'clock' = $2 ORDER BY available_at",
        referral_id,
        clock,
    )
    return list(rows)


async def test_a_raised_priority_brings_the_running_clocks_forward(
    referrals: httpx.AsyncClient,
    referral_app: FastAPI,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
) -> None:
    people = parties(caller)
    asked = await awaiting_information(referrals, people, priority="routine")
    before = _at(asked["decision_due_at"])
    answered = await step(
        referrals,
        people.referrer,
        asked["id"],
        "provide-info",
        {"priority": "immediate", "urgency_reason": "immediate_danger"},
        version='"2"',
    )
    assert answered.status_code == 200, answered.text
    body = answered.json()
    answered_at = _at(body["updated_at"])
    # Four hours to decide from the moment the danger was said, not five days.
    decision = _at(body["decision_due_at"])
    assert decision < before
    assert abs(decision - (answered_at + timedelta(hours=4))) < timedelta(seconds=5)
    if body["acknowledged_at"] is None:
        acknowledge = _at(body["acknowledge_due_at"])
        assert abs(acknowledge - (answered_at + timedelta(hours=1))) < timedelta(seconds=5)

    # Ordered by when they ring: the new deadline comes first.
    current, replaced = await _deadline_messages(superuser, asked["id"], "decision")
    assert current["available_at"] == decision
    assert replaced["available_at"] == before
    # The replaced deadline's message stays quiet; the new one rings.
    for message in (replaced, current):
        await make_due(superuser, message["id"])
        row = await deliver(referral_app, superuser, message["id"])
        assert row["processed_at"] is not None, row["last_error"]
    assert await _escalations(superuser, asked["id"]) == ["received"]


async def test_a_lowered_priority_never_moves_a_deadline_later(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = parties(caller)
    asked = await awaiting_information(referrals, people, priority="immediate")
    answered = await step(
        referrals,
        people.referrer,
        asked["id"],
        "provide-info",
        {"priority": "routine", "urgency_reason": None},
        version='"2"',
    )
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["priority"] == "routine"
    assert body["decision_due_at"] == asked["decision_due_at"]
    assert body["acknowledge_due_at"] == asked["acknowledge_due_at"]
    assert len(await _deadline_messages(superuser, asked["id"], "decision")) == 1
