"""What the referrer changes after creating a referral: a draft before it is sent,
and its answer to the recipient's request for information.

Both take envelope fields and the person packet (replaced whole, sealed anew
under a fresh data key). A draft is the referrer's alone: it may hold anything,
and the submission rules run when it is submitted. An answer changes a referral
the recipient already sees, so the rules run again, and the consent on file may
only narrow unless a new consent record comes with it. Neither writes to the
disclosure log: the packet stays with its referrer, no one else read it.
"""

from __future__ import annotations

import uuid

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from baton.auth import Principal
from baton.db import utcnow
from baton.vault import EnvelopeVault
from referral_api.config import ReferralSettings
from referral_api.referrals import clocks, events, packets, rules, transitions
from referral_api.referrals import service as referral_service
from referral_api.referrals.envelope import Envelope
from referral_api.referrals.exceptions import EnvelopeInvalid, InvalidTransition
from referral_api.referrals.lifecycle import STEPS, Action, Party, check
from referral_api.referrals.models import Referral, ReferralPacket
from referral_api.referrals.schemas import PersonPacket, ReferralUpdate
from referral_api.referrals.vocabulary import ReferralStatus

ENVELOPE_FIELDS = frozenset(Envelope.model_fields)
# Fields an envelope may hold empty: null clears them; null leaves the others as they are.
CLEARABLE = frozenset(
    name for name, field in Envelope.model_fields.items() if field.default is None
)


def _reasons(error: ValidationError) -> str:
    # Field names and the validators' own messages; never the values (`input`).
    return "; ".join(
        f"`{'.'.join(str(part) for part in item['loc']) or 'envelope'}`: {item['msg']}"
        for item in error.errors()
    )


def _merged(referral: Referral, data: ReferralUpdate) -> Envelope:
    sent = data.model_dump(mode="json", exclude_unset=True, include=set(ENVELOPE_FIELDS))
    changes = {
        name: value for name, value in sent.items() if value is not None or name in CLEARABLE
    }
    try:
        return Envelope.model_validate({**referral.envelope, **changes})
    except ValidationError as error:
        raise EnvelopeInvalid(f"With these changes: {_reasons(error)}.") from None


async def _replace_packet(
    session: AsyncSession, vault: EnvelopeVault, referral: Referral, packet: PersonPacket | None
) -> None:
    row = await session.get(ReferralPacket, referral.id)
    if packet is None:
        if row is not None:
            await session.delete(row)
    elif row is None:
        session.add(packets.seal(vault, referral, packet))
    else:
        packets.reseal(vault, row, packet)
    referral.has_packet = packet is not None


async def _apply(
    session: AsyncSession, vault: EnvelopeVault, referral: Referral, data: ReferralUpdate
) -> Envelope:
    """Write the changes to the (locked) referral; returns the envelope now in force."""
    envelope = _merged(referral, data)
    referral.envelope = envelope.model_dump(mode="json")
    referral.priority = envelope.priority
    if "packet" in data.model_fields_set:
        await _replace_packet(session, vault, referral, data.packet)
    return envelope


async def edit_draft(
    session: AsyncSession,
    principal: Principal,
    vault: EnvelopeVault,
    referral_id: uuid.UUID,
    data: ReferralUpdate,
    version: int,
) -> Referral:
    """Change a draft (the referrer's); 409 once it was sent."""
    referral = await transitions.locked_for(
        session, principal, referral_id, Party.referrer, version, "edit it"
    )
    if referral.status != ReferralStatus.draft:
        raise InvalidTransition(
            f"The referral is `{referral.status}`; only a `draft` can be edited. "
            "Once sent, answer a request for information with `provide-info`."
        )
    await _apply(session, vault, referral, data)
    referral.version += 1
    referral.updated_at = utcnow()
    await events.record(
        session, referral, action="edited", actor=principal, from_status=referral.status
    )
    return referral


async def provide_information(
    session: AsyncSession,
    principal: Principal,
    settings: ReferralSettings,
    vault: EnvelopeVault,
    referral_id: uuid.UUID,
    data: ReferralUpdate,
    version: int,
) -> Referral:
    """Answer a request for information (the referrer's): the referral, changed, goes back
    to its recipient to decide (`received`, `information-provided`)."""
    party = STEPS[Action.provide_info].party
    referral = await transitions.locked_for(
        session, principal, referral_id, party, version, "`provide-info`"
    )
    # The status first: a change that could never be taken is 409, not 422.
    check(
        Action.provide_info,
        ReferralStatus(referral.status),
        referral.business_status,
        accepted=referral.accepted_at is not None,
    )
    consent_before = referral_service.envelope_of(referral).consent
    envelope = await _apply(session, vault, referral, data)
    rules.check_consent_change(consent_before, envelope.consent)
    if "packet" in data.model_fields_set:
        packet = data.packet
    else:
        packet = await referral_service.sealed_packet(session, vault, referral)
    rules.check_submittable(envelope, packet)
    await transitions.take_step(
        session, principal, settings, vault, referral, Action.provide_info, None
    )
    # A higher priority shortens the recipient's running clocks from now on.
    await clocks.rearm_for_priority(session, settings, referral, utcnow())
    return referral
