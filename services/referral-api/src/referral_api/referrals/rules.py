"""What a referral needs before it can be submitted: a lawful basis, and for the
person's protection, consent across borders, a risk assessment for returns and a
guardian for a child. Problems name what is missing, never the person.
"""

from __future__ import annotations

from referral_api.referrals.envelope import Consent, Envelope
from referral_api.referrals.exceptions import (
    ConsentRecordRequired,
    ConsentRequired,
    ContactChannelUnsafe,
    CrossBorderConsentRequired,
    GuardianRequired,
    ReturnRiskAssessmentRequired,
)
from referral_api.referrals.schemas import PersonPacket


def is_return(envelope: Envelope, packet: PersonPacket | None) -> bool:
    """A cross-border referral to one of the person's countries of origin (or nationality)."""
    if envelope.cross_border is None:
        return False
    destination = envelope.cross_border.destination_country
    nationality = packet.identity.nationality if packet and packet.identity else None
    return destination in envelope.countries_of_origin or destination == nationality


def check_submittable(envelope: Envelope, packet: PersonPacket | None) -> None:
    """Raise the first rule the referral breaks (422 with a stable code)."""
    consent = envelope.consent
    if consent is None:
        raise ConsentRequired(
            "Record the person's consent or the legal basis in `consent` "
            "(basis, scope, recorded_at, recorded_by) before submitting."
        )
    if envelope.cross_border is not None:
        if not consent.cross_border_consent:
            raise CrossBorderConsentRequired(
                "Record the person's consent to a cross-border referral "
                "(`consent.cross_border_consent`)."
            )
        if is_return(envelope, packet) and not envelope.return_risk_assessment_recorded:
            raise ReturnRiskAssessmentRequired(
                "This referral returns the person to a country of origin: record the return "
                "risk assessment (`return_risk_assessment_recorded`)."
            )
    if envelope.is_child:
        guardian = envelope.guardian
        if guardian is None or not guardian.recorded:
            raise GuardianRequired("Record the child's guardian (`guardian.recorded`).")
        if guardian.organisation_id is None and guardian.type is None:
            raise GuardianRequired(
                "Name the guardian's organisation or type (`guardian.organisation_id` or "
                "`guardian.type`), not the guardian's name."
            )
    contact = packet.safe_contact if packet is not None else None
    if contact is not None and contact.channel in envelope.safety.do_not_contact_via:
        raise ContactChannelUnsafe(
            "The packet's safe contact channel is listed in `safety.do_not_contact_via`."
        )


def _narrows(before: Consent, after: Consent) -> bool:
    """The same record, covering no more than it did."""
    return (
        (after.basis, after.recorded_at, after.recorded_by)
        == (before.basis, before.recorded_at, before.recorded_by)
        and set(after.scope) <= set(before.scope)
        and (before.cross_border_consent or not after.cross_border_consent)
    )


def check_consent_change(before: Consent | None, after: Consent | None) -> None:
    """After submission a consent on file may narrow (the person withdrew part of it);
    a wider scope, a cross-border consent or another basis is a new record, recorded
    after the one on file. A record is never rewritten."""
    if before is None or after is None or after == before:
        return
    if after.recorded_at > before.recorded_at or _narrows(before, after):
        return
    raise ConsentRecordRequired(
        "To widen the consent, send the new consent record with a `consent.recorded_at` "
        "later than the one on file; the consent on file may only narrow."
    )
