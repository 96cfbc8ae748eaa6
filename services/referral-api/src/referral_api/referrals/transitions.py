"""Steps of the lifecycle: who takes them, from where, and what follows from each.

Acceptance arms the first-contact clock and queues the hand-off; a referral that
ends without one queues the purge of its packet. A forward sends a child referral
(the envelope copied, the packet re-sealed for it) and waits: when the child is
accepted the parent completes as `transferred`; when it is declined the parent
returns to its recipient to decide again.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.concurrency import check_version
from baton.db import utcnow
from baton.tenancy import bind_tenant
from baton.vault import EnvelopeVault
from referral_api.config import ReferralSettings
from referral_api.referrals import clocks, events, handoff, packets
from referral_api.referrals import service as referral_service
from referral_api.referrals.exceptions import RecipientInvalid, WrongParty
from referral_api.referrals.lifecycle import STEPS, Action, Party, check, target_of
from referral_api.referrals.models import Referral
from referral_api.referrals.schemas import ForwardRequest
from referral_api.referrals.vocabulary import BusinessStatus, ReferralStatus

DECISIONS = frozenset({Action.accept, Action.reject, Action.forward})
# Steps that tell the referrer the referral was seen.
SEEN = DECISIONS | {Action.acknowledge, Action.request_info}
# Ends without a hand-off: the packet is purged after the retention window.
UNHANDED_ENDS = frozenset(
    {ReferralStatus.rejected, ReferralStatus.cancelled, ReferralStatus.entered_in_error}
)


async def take_step(
    session: AsyncSession,
    principal: Principal,
    settings: ReferralSettings,
    vault: EnvelopeVault,
    referral: Referral,
    action: Action,
    reason_code: str | None,
) -> None:
    """Move `referral` (locked, version checked) and write what the step implies."""
    step = check(
        action,
        ReferralStatus(referral.status),
        referral.business_status,
        accepted=referral.accepted_at is not None,
    )
    from_status, now = referral.status, utcnow()
    if action is Action.submit:
        packet = await referral_service.sealed_packet(session, vault, referral)
        await referral_service.submit(session, settings, referral, packet)
    else:
        referral.status = target_of(step, reason_code)
        referral.business_status = step.business_status
    if action in SEEN and referral.acknowledged_at is None:
        referral.acknowledged_at = now
    if action in DECISIONS:
        referral.decided_at = now
    if action is Action.accept:
        referral.accepted_at = now
        await clocks.arm_on_acceptance(session, settings, referral, now)
        await handoff.schedule_handoff(session, referral)
    if action is Action.start and referral.first_contact_at is None:
        referral.first_contact_at = now
    referral.version += 1
    referral.updated_at = now
    await events.record(
        session,
        referral,
        action=action.value,
        actor=principal,
        from_status=from_status,
        reason_code=reason_code,
    )
    if referral.status in UNHANDED_ENDS:
        await handoff.schedule_purge(session, settings, referral)
    if referral.parent_referral_id is not None:
        await _settle_parent(session, principal, settings, referral)


async def transition(
    session: AsyncSession,
    principal: Principal,
    settings: ReferralSettings,
    vault: EnvelopeVault,
    referral_id: uuid.UUID,
    action: Action,
    version: int,
    reason_code: str | None = None,
) -> Referral:
    """Take `action`: 404 for strangers, 403 for the wrong party, 412 if changed, 409 if
    the status does not allow it."""
    party = STEPS[action].party
    referral = await locked_for(session, principal, referral_id, party, version, f"`{action}` it")
    await take_step(session, principal, settings, vault, referral, action, reason_code)
    return referral


async def locked_for(
    session: AsyncSession,
    principal: Principal,
    referral_id: uuid.UUID,
    party: Party,
    version: int,
    verb: str,
) -> Referral:
    """The referral, locked: 404 for strangers, 403 unless the caller is `party`, 412 if
    it changed since `version` was read."""
    referral = await referral_service.get(session, principal, referral_id, lock=True)
    own = Party.referrer if referral_service.is_referrer(principal, referral) else Party.recipient
    if own is not party:
        raise WrongParty(f"Only the {party} of a referral may {verb}.")
    check_version(version, referral.version)
    return referral


async def forward(
    session: AsyncSession,
    principal: Principal,
    settings: ReferralSettings,
    vault: EnvelopeVault,
    referral_id: uuid.UUID,
    data: ForwardRequest,
    version: int,
) -> Referral:
    """Send the referral on to another provider; returns the child referral."""
    if data.recipient_organisation_id == principal.org_id:
        raise RecipientInvalid("Forward to another organisation than your own.")
    parent = await transition(
        session, principal, settings, vault, referral_id, Action.forward, version
    )
    child = Referral(
        referrer_organisation_id=principal.org_id,
        recipient_organisation_id=data.recipient_organisation_id,
        parent_referral_id=parent.id,
        referrer_reference=data.referrer_reference or f"forward-of-{parent.id}",
        status=ReferralStatus.draft,
        priority=parent.priority,
        envelope=dict(parent.envelope),
        created_by=principal.subject,
        has_packet=parent.has_packet,
    )
    await referral_service.insert(session, child)
    packet = await referral_service.sealed_packet(session, vault, parent)
    if packet is not None:
        # Under the child's own key, bound to the child and its two organisations.
        session.add(packets.seal(vault, child, packet))
    await referral_service.submit(session, settings, child, packet)
    await events.record(session, child, action="submitted", actor=principal, from_status=None)
    return child


@asynccontextmanager
async def _acting_for(
    session: AsyncSession, org_id: uuid.UUID, then: uuid.UUID
) -> AsyncIterator[None]:
    """Bind another organisation for a step the service takes on its own (same transaction)."""
    await bind_tenant(session, org_id)
    try:
        yield
    finally:
        await bind_tenant(session, then)


async def _settle_parent(
    session: AsyncSession, principal: Principal, settings: ReferralSettings, child: Referral
) -> None:
    """A forward's child was accepted or declined: the parent follows.

    The parent belongs to the forwarding organisation (the child's referrer) and the
    first referrer; the caller may be neither, so the service acts for the former.
    """
    if child.status == ReferralStatus.accepted:
        status, business, action = (
            ReferralStatus.completed,
            BusinessStatus.transferred,
            "transferred",
        )
    elif child.status in UNHANDED_ENDS:
        status, business, action = (
            ReferralStatus.received,
            BusinessStatus.forward_declined,
            "forward-declined",
        )
    else:
        return
    async with _acting_for(session, child.referrer_organisation_id, principal.org_id):
        parent = await session.scalar(
            select(Referral)
            .where(
                col(Referral.id) == child.parent_referral_id,
                col(Referral.recipient_organisation_id) == child.referrer_organisation_id,
                col(Referral.business_status) == BusinessStatus.forwarded,
            )
            .with_for_update()
        )
        if parent is None:
            return
        from_status = parent.status
        parent.status, parent.business_status = status, business
        parent.version += 1
        parent.updated_at = utcnow()
        await events.record(session, parent, action=action, actor=None, from_status=from_status)
        if status == ReferralStatus.completed:
            await handoff.schedule_purge(session, settings, parent)
