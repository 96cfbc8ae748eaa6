"""The timeline of a referral, and the thin events webhooks deliver, written together.

Every step writes a `referral_event` row and, in the same transaction, an outbox
message of topic `referral.event` for both organisations: ids, status and codes
only, never the envelope or the packet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from baton.auth import Principal
from baton.db import utcnow
from baton.outbox import enqueue
from referral_api.outbox import OutboxMessage
from referral_api.referrals.models import Referral, ReferralEvent
from referral_api.referrals.vocabulary import ReferralStatus

EVENT_TOPIC = "referral.event"

# Every `event_type` a `referral.event` message carries: one per status a step leads
# to, and the service's own steps.
EVENT_TYPES = frozenset(
    {f"referral.{status}" for status in ReferralStatus if status != ReferralStatus.draft}
    | {"referral.escalated", "referral.handed-off"}
)


async def record(
    session: AsyncSession,
    referral: Referral,
    *,
    action: str,
    actor: Principal | None,
    from_status: str | None,
    reason_code: str | None = None,
    event_type: str | None = None,
) -> ReferralEvent:
    """Add the timeline entry of a step taken on `referral` (already changed), and its event.

    `actor` None: the service itself (a clock, the hand-off). The event type is the
    new status unless named.
    """
    now = utcnow()
    entry = ReferralEvent(
        referral_id=referral.id,
        referrer_organisation_id=referral.referrer_organisation_id,
        recipient_organisation_id=referral.recipient_organisation_id,
        actor=actor.subject if actor is not None else None,
        actor_organisation_id=actor.org_id if actor is not None else None,
        action=action,
        from_status=from_status,
        to_status=referral.status,
        business_status=referral.business_status,
        reason_code=reason_code,
        created_at=now,
    )
    session.add(entry)
    if referral.submitted_at is not None:
        # A draft is the referrer's alone: the recipient hears nothing of it, even cancelled.
        await enqueue(session, OutboxMessage, EVENT_TOPIC, _event(referral, event_type, now))
    await session.flush()
    return entry


def _event(referral: Referral, event_type: str | None, now: datetime) -> dict[str, Any]:
    return {
        "event_type": event_type or f"referral.{referral.status}",
        "referral_id": str(referral.id),
        "status": referral.status,
        "business_status": referral.business_status,
        "occurred_at": now.isoformat(),
        "organisation_ids": [
            str(referral.referrer_organisation_id),
            str(referral.recipient_organisation_id),
        ],
    }
