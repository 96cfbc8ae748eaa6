"""The hand-off to cases-api, and the purge of the person packet after it.

On acceptance a `referral.handoff` message is written with the step. Its handler
opens the case through cases-api's intake (idempotent on the referral id: a
repeat after a crash finds the same case), stores the case reference, logs the
release, and schedules `referral.purge` after the retention window. The purge
deletes the packet's ciphertext with its wrapped key: nobody can read it again.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.db import utcnow
from baton.http import TokenRequestFailed
from baton.outbox import Handler, Permanent, RetryLater, enqueue
from baton.tenancy import bind_tenant
from referral_api.config import ReferralSettings
from referral_api.outbox import OutboxMessage
from referral_api.referrals import clocks, events, packets
from referral_api.referrals.envelope import Envelope
from referral_api.referrals.models import PacketDisclosure, Referral, ReferralPacket
from referral_api.referrals.schemas import PersonPacket
from referral_api.referrals.vocabulary import ContactChannel, FieldGroup, Priority

if TYPE_CHECKING:
    from referral_api.worker import WorkerContext

HANDOFF_TOPIC = "referral.handoff"
PURGE_TOPIC = "referral.purge"
INTAKE_PATH = "/v1/intake/referrals"
# Who the disclosure log names for the release to cases-api.
INTAKE_SUBJECT = "referral-api:intake"
PHONE_CHANNELS = frozenset({ContactChannel.phone, ContactChannel.sms})
CASES_PHONE_LENGTH = 40


def _ids(referral: Referral) -> dict[str, str]:
    # The recipient's organisation: the handlers act for it (row-level security).
    return {
        "referral_id": str(referral.id),
        "organisation_id": str(referral.recipient_organisation_id),
    }


async def schedule_handoff(session: AsyncSession, referral: Referral) -> None:
    await enqueue(session, OutboxMessage, HANDOFF_TOPIC, _ids(referral))


async def schedule_purge(
    session: AsyncSession, settings: ReferralSettings, referral: Referral
) -> None:
    if not referral.has_packet:
        return
    due = utcnow() + timedelta(days=settings.packet_retention_days)
    await enqueue(session, OutboxMessage, PURGE_TOPIC, _ids(referral), available_at=due)


def _risk_level(envelope: Envelope) -> str:
    if envelope.safety.immediate_danger or envelope.priority == Priority.immediate:
        return "critical"
    return "high" if envelope.priority == Priority.urgent else "medium"


def intake_body(
    referral: Referral, envelope: Envelope, packet: PersonPacket | None
) -> tuple[dict[str, Any], list[FieldGroup]]:
    """cases-api's `ReferralIntake`, and the field groups of the packet it releases."""
    scope = envelope.consent.scope if envelope.consent is not None else []
    released = packets.within(packet, scope) if packet is not None else PersonPacket()
    person, contact = released.identity, released.safe_contact
    identity: dict[str, Any] | None = None
    groups: list[FieldGroup] = []
    if person is not None:
        identity = person.model_dump(mode="json", exclude={"nationality"}, exclude_none=True)
        groups.append(FieldGroup.identity)
        if (
            contact is not None
            and contact.channel in PHONE_CHANNELS
            and len(contact.details) <= CASES_PHONE_LENGTH
        ):
            identity["phone"] = contact.details
            groups.append(FieldGroup.contact)
    # Summaries released within the consent join the case as its first notes.
    if released.needs_summary is not None:
        groups.append(FieldGroup.needs)
    if released.risk_summary is not None:
        groups.append(FieldGroup.risk)
    born = person.date_of_birth if person is not None else None
    reflection = envelope.reflection_period
    accepted_on = (referral.accepted_at or utcnow()).date()
    body = {
        "referral_id": str(referral.id),
        "organisation_id": str(referral.recipient_organisation_id),
        "beneficiary": {
            "sex": envelope.sex,
            "birth_year": born.year if born is not None else None,
            "is_child": envelope.is_child,
            "nationality": person.nationality if person is not None else None,
            "countries_of_origin": envelope.countries_of_origin,
            "languages": [envelope.language] if envelope.language else [],
        },
        "identity": identity,
        "needs_summary": released.needs_summary,
        "risk_summary": released.risk_summary,
        "case": {
            "assistance_started_on": accepted_on.isoformat(),
            "exploitation_forms": envelope.exploitation_forms,
            "identification_stage": envelope.identification_stage,
            "referral_source": envelope.referral_source,
            "risk_level": _risk_level(envelope),
            "reflection": None
            if reflection is None
            else {"jurisdiction": envelope.jurisdiction, "started_on": str(reflection.starts_on)},
        },
    }
    return body, groups


async def _call_intake(context: WorkerContext, referral: Referral, body: dict[str, Any]) -> Any:
    """cases-api's answer; what is worth retrying raises RetryLater, the rest Permanent."""
    if context.cases is None:
        raise RetryLater("intake not configured")
    headers = {"Idempotency-Key": str(referral.id)}
    try:
        response = await context.cases.post(INTAKE_PATH, json=body, headers=headers)
    except TokenRequestFailed as exc:
        if exc.status is not None and 400 <= exc.status < 500:
            raise Permanent(f"the intake client was refused a token ({exc.status})") from exc
        raise RetryLater("token endpoint unavailable") from exc
    except httpx.TransportError as exc:
        raise RetryLater(f"cases-api unreachable ({type(exc).__name__})") from exc
    status = response.status_code
    if status >= 500 or status == 429:
        raise RetryLater(f"cases-api answered {status}")
    # 409: another organisation's case holds this referral id; retrying cannot help.
    if status >= 400:
        raise Permanent(f"cases-api refused the intake ({status})")
    return response.json()


def handlers(context: WorkerContext) -> dict[str, Handler]:
    async def on_handoff(session: AsyncSession, _: uuid.UUID, payload: dict[str, Any]) -> None:
        await bind_tenant(session, uuid.UUID(payload["organisation_id"]))
        referral = await session.get(Referral, uuid.UUID(payload["referral_id"]))
        if referral is None or referral.accepted_at is None:
            raise Permanent("no accepted referral to hand off")
        if referral.case_id is not None:
            return  # handed off before: a repeated delivery
        row = await session.get(ReferralPacket, referral.id)
        packet = packets.open_packet(context.vault, row) if row is not None else None
        body, released = intake_body(referral, Envelope.model_validate(referral.envelope), packet)
        intake = await _call_intake(context, referral, body)
        referral.case_id = uuid.UUID(intake["case_id"])
        referral.beneficiary_id = uuid.UUID(intake["beneficiary_id"])
        referral.handed_off_at = utcnow()
        if released:
            consent = Envelope.model_validate(referral.envelope).consent
            session.add(
                PacketDisclosure(
                    referral_id=referral.id,
                    referrer_organisation_id=referral.referrer_organisation_id,
                    recipient_organisation_id=referral.recipient_organisation_id,
                    subject=INTAKE_SUBJECT,
                    field_groups=[group.value for group in released],
                    consent_basis=consent.basis if consent is not None else "none",
                )
            )
        await events.record(
            session,
            referral,
            action="handed-off",
            actor=None,
            from_status=referral.status,
            event_type="referral.handed-off",
        )
        await schedule_purge(session, context.settings, referral)

    async def on_purge(session: AsyncSession, _: uuid.UUID, payload: dict[str, Any]) -> None:
        await bind_tenant(session, uuid.UUID(payload["organisation_id"]))
        referral = await session.get(Referral, uuid.UUID(payload["referral_id"]))
        if referral is None or referral.packet_purged_at is not None:
            return
        await session.execute(
            delete(ReferralPacket).where(col(ReferralPacket.referral_id) == referral.id)
        )
        referral.packet_purged_at = utcnow()
        await session.flush()

    return {**clocks.handlers(context), HANDOFF_TOPIC: on_handoff, PURGE_TOPIC: on_purge}
