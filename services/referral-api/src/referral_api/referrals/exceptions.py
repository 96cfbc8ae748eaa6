"""Errors of referrals, each with a stable code; none names the person."""

from __future__ import annotations

from baton.authz import Forbidden
from baton.errors import BatonError, Conflict, NotFound


class ReferralNotFound(NotFound):
    code = "referral-not-found"
    title = "Referral not found"


class WrongParty(Forbidden):
    code = "referral-wrong-party"
    title = "The other party of the referral takes this step"


class InvalidTransition(Conflict):
    code = "referral-invalid-transition"
    title = "This step is not possible in the referral's current status"


class ReferrerReferenceTaken(Conflict):
    code = "referrer-reference-taken"
    title = "Your organisation already has a referral with this reference"


class RecipientNotAccepting(Conflict):
    code = "recipient-not-accepting"
    title = "The recipient's directory entry says it takes no referrals now"


class _Refused(BatonError):
    status = 422


class ConsentRequired(_Refused):
    code = "consent-required"
    title = "No consent or legal basis is recorded"


class CrossBorderConsentRequired(_Refused):
    code = "cross-border-consent-required"
    title = "A cross-border referral needs the person's cross-border consent"


class ReturnRiskAssessmentRequired(_Refused):
    code = "return-risk-assessment-required"
    title = "A return to a country of origin needs a recorded risk assessment"


class GuardianRequired(_Refused):
    code = "guardian-required"
    title = "A child's referral needs a recorded guardian"


class ConsentRecordRequired(_Refused):
    code = "consent-record-required"
    title = "A consent on file may only narrow; anything more needs a new consent record"


class EnvelopeInvalid(_Refused):
    code = "envelope-invalid"
    title = "The envelope with these changes would not be valid"


class ContactChannelUnsafe(_Refused):
    code = "contact-channel-unsafe"
    title = "The safe contact channel is one the person must not be contacted through"


class RecipientInvalid(_Refused):
    code = "recipient-invalid"
    title = "A referral goes to another organisation"


class PacketNotReleased(Forbidden):
    code = "packet-not-released"
    title = "The person packet is released to the recipient only after acceptance"


class PacketNotRecorded(NotFound):
    code = "packet-not-recorded"
    title = "This referral carries no person packet"


class PacketPurged(BatonError):
    code = "packet-purged"
    status = 410
    title = "The person packet was purged after the hand-off"
