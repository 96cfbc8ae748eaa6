"""Writing, reading and verifying the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import OrgKind, Principal
from baton.context import current_request_id
from cases_api.audit.chain import GENESIS_HASH, event_hash
from cases_api.audit.models import AuditEvent

# Appends are serialised so the chain has one order; the lock ends with the transaction.
_APPEND_LOCK = 0x6361_7365_7361_7564  # "casesaud"


async def record(
    session: AsyncSession,
    principal: Principal,
    *,
    organisation_id: uuid.UUID,
    action: str,
    resource_type: str,
    resource_id: uuid.UUID,
    purpose: str | None = None,
    break_glass_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Append an event in the caller's transaction: it commits or rolls back with the work."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    last = await session.scalar(
        select(AuditEvent).order_by(col(AuditEvent.sequence).desc()).limit(1)
    )
    previous_hash = last.hash if last is not None else GENESIS_HASH
    event = AuditEvent(
        sequence=(last.sequence + 1) if last is not None else 1,
        actor=principal.subject,
        actor_organisation_id=principal.own_org_id,
        organisation_id=organisation_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        purpose=purpose,
        request_id=current_request_id(),
        break_glass_id=break_glass_id,
        previous_hash=previous_hash,
        hash=b"",
    )
    event.hash = event_hash(event, previous_hash)
    session.add(event)
    await session.flush()
    return event


def sees_every_organisation(principal: Principal) -> bool:
    return principal.org_kind is OrgKind.platform


async def list_events(
    session: AsyncSession,
    principal: Principal,
    *,
    after_sequence: int,
    limit: int,
    resource_id: uuid.UUID | None = None,
    action: str | None = None,
    break_glass: bool | None = None,
    break_glass_id: uuid.UUID | None = None,
) -> Sequence[AuditEvent]:
    """Events the caller may see, oldest first, after a sequence number; one extra row.

    The read is itself an event (`audit.read`), so who looked at the log is on record too.
    """
    query = select(AuditEvent).where(col(AuditEvent.sequence) > after_sequence)
    if not sees_every_organisation(principal):
        query = query.where(col(AuditEvent.organisation_id) == principal.org_id)
    if resource_id is not None:
        query = query.where(col(AuditEvent.resource_id) == resource_id)
    if action is not None:
        query = query.where(col(AuditEvent.action) == action)
    if break_glass is not None:
        flagged = col(AuditEvent.break_glass_id).is_not(None)
        query = query.where(flagged if break_glass else ~flagged)
    if break_glass_id is not None:
        query = query.where(col(AuditEvent.break_glass_id) == break_glass_id)
    query = query.order_by(col(AuditEvent.sequence)).limit(limit + 1)
    events = (await session.scalars(query)).all()
    # Recorded after the query: a page never shows its own read. The resource is the
    # organisation whose log was read (for the platform: all of them, seen from its own).
    await record(
        session,
        principal,
        organisation_id=principal.org_id,
        action="audit.read",
        resource_type="audit_log",
        resource_id=principal.org_id,
    )
    return events


@dataclass(frozen=True)
class ChainReport:
    events_checked: int
    first_broken_sequence: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.first_broken_sequence is None


async def verify_chain(session: AsyncSession, batch_size: int = 5_000) -> ChainReport:
    """Recompute every hash in order; report the first event that does not fit."""
    expected_previous = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    while True:
        batch = (
            await session.scalars(
                select(AuditEvent)
                .where(col(AuditEvent.sequence) >= expected_sequence)
                .order_by(col(AuditEvent.sequence))
                .limit(batch_size)
            )
        ).all()
        if not batch:
            return ChainReport(events_checked=checked)
        for event in batch:
            if event.sequence != expected_sequence:
                return ChainReport(checked, expected_sequence, "missing event")
            if event.previous_hash != expected_previous:
                return ChainReport(checked, event.sequence, "previous hash does not match")
            if event.hash != event_hash(event, expected_previous):
                return ChainReport(checked, event.sequence, "event altered")
            expected_previous = event.hash
            expected_sequence += 1
            checked += 1
