"""Referrals: submission, reading, the packet's release, the timeline and disclosures.

A referral belongs to two organisations. Every query here is limited to the
caller's organisation as referrer or (once submitted) recipient; row-level
security binds the same underneath (`TenantSessionDep`). Another organisation's
referral, or a draft addressed to the caller, is not found.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.db import utcnow
from baton.pagination import PageParams, paginate
from baton.tenancy import tenant_filter
from baton.vault import EnvelopeVault
from referral_api.config import ReferralSettings
from referral_api.directory.models import Provider
from referral_api.referrals import clocks, events, packets, rules
from referral_api.referrals.envelope import Envelope
from referral_api.referrals.exceptions import (
    PacketNotRecorded,
    PacketNotReleased,
    PacketPurged,
    RecipientInvalid,
    RecipientNotAccepting,
    ReferralNotFound,
    ReferrerReferenceTaken,
)
from referral_api.referrals.models import (
    PacketDisclosure,
    Referral,
    ReferralEvent,
    ReferralPacket,
)
from referral_api.referrals.schemas import (
    PacketRead,
    PacketState,
    PersonPacket,
    ReferralCreate,
    ReferralRead,
)
from referral_api.referrals.vocabulary import FieldGroup, ReferralStatus

REFERENCE_CONSTRAINT = "uq_referral_referrer_organisation_id_referrer_reference"
ENVELOPE_FIELDS = set(Envelope.model_fields)


def visible_to(org_id: uuid.UUID) -> Any:
    """The referrals an organisation may see: sent ones, and received ones once submitted."""
    # Row-level security admits both parties; that a recipient waits for the submission
    # is this query's alone, so only the party test goes under the tenancy switch.
    return or_(
        col(Referral.referrer_organisation_id) == org_id,
        and_(
            tenant_filter(col(Referral.recipient_organisation_id) == org_id),
            col(Referral.submitted_at).is_not(None),
        ),
    )


async def get(
    session: AsyncSession, principal: Principal, referral_id: uuid.UUID, *, lock: bool = False
) -> Referral:
    query = select(Referral).where(col(Referral.id) == referral_id, visible_to(principal.org_id))
    if lock:
        query = query.with_for_update()
    referral = await session.scalar(query)
    if referral is None:
        raise ReferralNotFound()
    return referral


def envelope_of(referral: Referral) -> Envelope:
    return Envelope.model_validate(referral.envelope)


def is_referrer(principal: Principal, referral: Referral) -> bool:
    return principal.org_id == referral.referrer_organisation_id


def to_read(referral: Referral, principal: Principal) -> ReferralRead:
    state = PacketState.none
    if referral.packet_purged_at is not None:
        state = PacketState.purged
    elif referral.has_packet:
        state = PacketState.sealed
    document = {**referral.envelope, **referral.model_dump(exclude={"envelope"})}
    if is_referrer(principal, referral):
        # The closed loop: the referrer follows the status, never the case.
        document |= {"case_id": None, "beneficiary_id": None}
    return ReferralRead.model_validate({**document, "packet_state": state})


async def insert(session: AsyncSession, referral: Referral) -> None:
    """Add the referral; 409 if its referrer already used the reference."""
    try:
        async with session.begin_nested():
            session.add(referral)
            await session.flush()
    except IntegrityError as error:
        constraint = getattr(getattr(error.orig, "__cause__", None), "constraint_name", None)
        if constraint != REFERENCE_CONSTRAINT:
            raise
        existing = await session.scalar(
            select(col(Referral.id)).where(
                col(Referral.referrer_organisation_id) == referral.referrer_organisation_id,
                col(Referral.referrer_reference) == referral.referrer_reference,
            )
        )
        raise ReferrerReferenceTaken(
            f"Referral {existing} of your organisation already has this `referrer_reference`; "
            "use another one, or read that referral."
        ) from None


async def check_recipient_accepts(session: AsyncSession, recipient: uuid.UUID) -> None:
    """409 if the recipient's directory entry is off the list or closed to referrals.

    No entry refuses nothing: a government may refer to any NGO, listed or not.
    The directory is shared and has no row-level security: a plain query reads it.
    """
    entry = (
        await session.execute(
            select(col(Provider.active), col(Provider.accepts_referrals)).where(
                col(Provider.organisation_id) == recipient
            )
        )
    ).one_or_none()
    if entry is not None and not (entry.active and entry.accepts_referrals):
        raise RecipientNotAccepting(
            "The recipient's directory entry says it takes no referrals now; "
            "choose a provider that does (`GET /v1/providers?accepts_referrals=true`)."
        )


async def submit(
    session: AsyncSession,
    settings: ReferralSettings,
    referral: Referral,
    packet: PersonPacket | None,
) -> None:
    """Check the recipient and the rules, and send the referral: the recipient sees it,
    the clocks run."""
    await check_recipient_accepts(session, referral.recipient_organisation_id)
    rules.check_submittable(envelope_of(referral), packet)
    now = utcnow()
    referral.status = ReferralStatus.requested
    referral.submitted_at = now
    await clocks.arm_on_submission(session, settings, referral, now)


async def create(
    session: AsyncSession,
    principal: Principal,
    vault: EnvelopeVault,
    settings: ReferralSettings,
    data: ReferralCreate,
) -> Referral:
    if data.recipient_organisation_id == principal.org_id:
        raise RecipientInvalid("Refer to another organisation than your own.")
    envelope = Envelope.model_validate(data.model_dump(include=ENVELOPE_FIELDS))
    referral = Referral(
        referrer_organisation_id=principal.org_id,
        recipient_organisation_id=data.recipient_organisation_id,
        referrer_reference=data.referrer_reference,
        status=ReferralStatus.draft,
        priority=envelope.priority,
        envelope=envelope.model_dump(mode="json"),
        created_by=principal.subject,
        has_packet=data.packet is not None,
    )
    await insert(session, referral)
    if data.packet is not None:
        session.add(packets.seal(vault, referral, data.packet))
    action = "created"
    if data.status == ReferralStatus.requested:
        await submit(session, settings, referral, data.packet)
        action = "submitted"
    await events.record(session, referral, action=action, actor=principal, from_status=None)
    return referral


async def list_for(
    session: AsyncSession,
    principal: Principal,
    params: PageParams,
    *,
    status: str | None = None,
    role: str | None = None,
    priority: str | None = None,
) -> Sequence[Referral]:
    query = select(Referral).where(visible_to(principal.org_id))
    if role == "sent":
        query = query.where(col(Referral.referrer_organisation_id) == principal.org_id)
    elif role == "received":
        query = query.where(col(Referral.recipient_organisation_id) == principal.org_id)
    if status is not None:
        query = query.where(col(Referral.status) == status)
    if priority is not None:
        query = query.where(col(Referral.priority) == priority)
    query = paginate(query, params, col(Referral.created_at), col(Referral.id))
    return (await session.scalars(query)).all()


async def sealed_packet(
    session: AsyncSession, vault: EnvelopeVault, referral: Referral
) -> PersonPacket | None:
    """The packet in the clear, for the service's own use (rules, forward, hand-off)."""
    row = await session.get(ReferralPacket, referral.id)
    return None if row is None else packets.open_packet(vault, row)


async def read_packet(
    session: AsyncSession, principal: Principal, vault: EnvelopeVault, referral_id: uuid.UUID
) -> PacketRead:
    """The referrer's own packet whole; the recipient's, after acceptance, within consent.

    Every release to the recipient is written to the disclosure log.
    """
    referral = await get(session, principal, referral_id)
    if referral.packet_purged_at is not None:
        raise PacketPurged("The packet was deleted after the hand-off; nobody can read it.")
    if not referral.has_packet:
        raise PacketNotRecorded()
    if is_referrer(principal, referral):
        if referral.handed_off_at is not None:
            # The closed loop tells the referrer the person was taken in; what it sent
            # now lives in the receiving organisation's case, not in the referrer's view.
            raise PacketNotReleased("After the hand-off the packet is the recipient's only.")
        if referral.parent_referral_id is not None:
            # A forward passes the packet on unread: only its new recipient may open it.
            raise PacketNotReleased("A forwarded packet is released to its new recipient only.")
        scope = sorted(FieldGroup)
    elif referral.accepted_at is None:
        raise PacketNotReleased("Accept the referral to receive the person packet.")
    else:
        consent = envelope_of(referral).consent
        scope = consent.scope if consent is not None else []
    packet = await sealed_packet(session, vault, referral)
    if packet is None:
        raise PacketPurged("The packet was deleted after the hand-off; nobody can read it.")
    if not is_referrer(principal, referral):
        await disclose(session, referral, principal.subject, scope)
    released = packets.within(packet, scope)
    return PacketRead(referral_id=referral.id, field_groups=scope, packet=released)


async def disclose(
    session: AsyncSession, referral: Referral, subject: str, groups: list[FieldGroup]
) -> None:
    consent = envelope_of(referral).consent
    session.add(
        PacketDisclosure(
            referral_id=referral.id,
            referrer_organisation_id=referral.referrer_organisation_id,
            recipient_organisation_id=referral.recipient_organisation_id,
            subject=subject,
            field_groups=[group.value for group in groups],
            consent_basis=consent.basis if consent is not None else "none",
        )
    )
    await session.flush()


async def timeline(
    session: AsyncSession, principal: Principal, referral_id: uuid.UUID, params: PageParams
) -> Sequence[ReferralEvent]:
    referral = await get(session, principal, referral_id)
    query = select(ReferralEvent).where(col(ReferralEvent.referral_id) == referral.id)
    query = paginate(query, params, col(ReferralEvent.created_at), col(ReferralEvent.id))
    return (await session.scalars(query)).all()


async def disclosures(
    session: AsyncSession, principal: Principal, referral_id: uuid.UUID, params: PageParams
) -> Sequence[PacketDisclosure]:
    referral = await get(session, principal, referral_id)
    query = select(PacketDisclosure).where(col(PacketDisclosure.referral_id) == referral.id)
    query = paginate(query, params, col(PacketDisclosure.created_at), col(PacketDisclosure.id))
    return (await session.scalars(query)).all()
