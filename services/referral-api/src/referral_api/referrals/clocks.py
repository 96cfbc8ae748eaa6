"""Clocks: acknowledgement, decision and first-contact deadlines, and their escalation.

Each deadline is stored on the referral and scheduled as an outbox message due at
that moment (`referral.deadline`); its handler checks whether the step happened
and, if not, records an `escalated` timeline event and emits `referral.escalated`.
Nothing expires silently: a missed deadline is always said aloud.

When the referrer raises the priority (answering a request for information), a
clock still running is re-armed from that moment if the new priority asks for an
earlier deadline; a deadline never moves later. The message of the replaced
deadline is then superseded: its handler sees another deadline stored and stays quiet.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from baton.outbox import Handler, Permanent, enqueue
from baton.tenancy import bind_tenant
from referral_api.config import ReferralSettings
from referral_api.outbox import OutboxMessage
from referral_api.referrals import events
from referral_api.referrals.models import Referral
from referral_api.referrals.vocabulary import TERMINAL_STATUSES, Priority

if TYPE_CHECKING:
    from referral_api.worker import WorkerContext

DEADLINE_TOPIC = "referral.deadline"


class Clock(StrEnum):
    acknowledge = "acknowledge"
    decision = "decision"
    first_contact = "first_contact"


def add_working_days(start: datetime, days: int, working_days: Collection[int]) -> datetime:
    """The same time of day `days` working days after `start` (ISO weekdays, Monday = 1)."""
    if not working_days:
        raise ValueError("at least one weekday must be a working day")
    moment, counted = start, 0
    while counted < days:
        moment += timedelta(days=1)
        if moment.isoweekday() in working_days:
            counted += 1
    return moment


def acknowledge_deadline(settings: ReferralSettings, priority: str, now: datetime) -> datetime:
    minutes = settings.acknowledge_deadline_minutes.get(priority)
    if minutes is not None:
        return now + timedelta(minutes=minutes)
    return add_working_days(now, settings.routine_acknowledge_working_days, settings.working_days)


def decision_deadline(settings: ReferralSettings, priority: str, now: datetime) -> datetime:
    hours = settings.decision_deadline_hours.get(
        priority, settings.decision_deadline_hours.get(Priority.routine, 120)
    )
    return now + timedelta(hours=hours)


def first_contact_deadline(settings: ReferralSettings, now: datetime) -> datetime:
    return now + timedelta(hours=settings.first_contact_deadline_hours)


async def schedule(session: AsyncSession, referral: Referral, clock: Clock, due: datetime) -> None:
    """Wake the deadline handler at `due`; ids only in the message."""
    payload = {
        "referral_id": str(referral.id),
        "organisation_id": str(referral.recipient_organisation_id),
        "clock": clock.value,
        "due_at": due.isoformat(),
    }
    await enqueue(session, OutboxMessage, DEADLINE_TOPIC, payload, available_at=due)


async def arm_on_submission(
    session: AsyncSession, settings: ReferralSettings, referral: Referral, now: datetime
) -> None:
    referral.acknowledge_due_at = acknowledge_deadline(settings, referral.priority, now)
    referral.decision_due_at = decision_deadline(settings, referral.priority, now)
    await schedule(session, referral, Clock.acknowledge, referral.acknowledge_due_at)
    await schedule(session, referral, Clock.decision, referral.decision_due_at)


async def arm_on_acceptance(
    session: AsyncSession, settings: ReferralSettings, referral: Referral, now: datetime
) -> None:
    referral.first_contact_due_at = first_contact_deadline(settings, now)
    await schedule(session, referral, Clock.first_contact, referral.first_contact_due_at)


async def rearm_for_priority(
    session: AsyncSession, settings: ReferralSettings, referral: Referral, now: datetime
) -> None:
    """Bring forward the running clocks that the referral's (new) priority makes earlier."""
    running = (
        (Clock.acknowledge, referral.acknowledged_at, acknowledge_deadline),
        (Clock.decision, referral.decided_at, decision_deadline),
    )
    for clock, done, deadline in running:
        current = _due(referral, clock)
        if done is not None or current is None:
            continue
        due = deadline(settings, referral.priority, now)
        if due < current:
            setattr(referral, f"{clock.value}_due_at", due)
            await schedule(session, referral, clock, due)


def _due(referral: Referral, clock: Clock) -> datetime | None:
    due: datetime | None = getattr(referral, f"{clock.value}_due_at")
    return due


def superseded(referral: Referral, clock: Clock, payload: dict[str, Any]) -> bool:
    """Whether the message was for a deadline since replaced by an earlier one."""
    scheduled = payload.get("due_at")
    current = _due(referral, clock)
    if scheduled is None or current is None:
        return False  # scheduled before deadlines were named in messages
    return datetime.fromisoformat(scheduled) != current


def missed(referral: Referral, clock: Clock) -> bool:
    """Whether the step the clock waits for has still not happened (and still can)."""
    if referral.status in TERMINAL_STATUSES:
        return False
    done = {
        Clock.acknowledge: referral.acknowledged_at,
        Clock.decision: referral.decided_at,
        Clock.first_contact: referral.first_contact_at,
    }[clock]
    return done is None


def handlers(context: WorkerContext) -> dict[str, Handler]:  # noqa: ARG001
    async def on_deadline(session: AsyncSession, _: uuid.UUID, payload: dict[str, Any]) -> None:
        # The worker acts for the recipient, whose deadline it is (row-level security).
        await bind_tenant(session, uuid.UUID(payload["organisation_id"]))
        referral = await session.get(Referral, uuid.UUID(payload["referral_id"]))
        if referral is None:
            raise Permanent("referral not found")
        clock = Clock(payload["clock"])
        if missed(referral, clock) and not superseded(referral, clock, payload):
            await events.record(
                session,
                referral,
                action="escalated",
                actor=None,
                from_status=referral.status,
                reason_code=clock.value,
                event_type="referral.escalated",
            )

    return {DEADLINE_TOPIC: on_deadline}
