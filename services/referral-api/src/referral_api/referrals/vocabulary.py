"""The vocabularies of referrals: statuses, priorities, reason codes; never free text.
Service types and forms of exploitation are the service's shared words, in
`referral_api.vocabulary`.
"""

from __future__ import annotations

from enum import StrEnum

from baton.vocabulary import IdentificationStage as IdentificationStage
from baton.vocabulary import ReferralSource as ReferralSource
from baton.vocabulary import Sex as Sex


class ReferralStatus(StrEnum):
    """FHIR Task status names."""

    draft = "draft"
    requested = "requested"
    received = "received"
    accepted = "accepted"
    in_progress = "in-progress"
    completed = "completed"
    rejected = "rejected"
    on_hold = "on-hold"
    failed = "failed"
    cancelled = "cancelled"
    entered_in_error = "entered-in-error"


# No action leaves these.
TERMINAL_STATUSES = frozenset(
    {
        ReferralStatus.completed,
        ReferralStatus.rejected,
        ReferralStatus.failed,
        ReferralStatus.cancelled,
        ReferralStatus.entered_in_error,
    }
)


class BusinessStatus(StrEnum):
    """Finer meaning next to the FHIR status."""

    awaiting_information = "awaiting-information"
    information_provided = "information-provided"  # the referrer answered: decide again
    forwarded = "forwarded"  # a child referral went to another provider; waiting for it
    forward_declined = "forward-declined"  # that provider said no: decide again
    transferred = "transferred"  # the child referral was accepted


class Priority(StrEnum):
    routine = "routine"
    urgent = "urgent"
    immediate = "immediate"


class UrgencyReason(StrEnum):
    immediate_danger = "immediate_danger"
    medical_emergency = "medical_emergency"
    child_at_risk = "child_at_risk"
    exploiter_nearby = "exploiter_nearby"
    pending_deportation = "pending_deportation"
    other = "other"


class ContactChannel(StrEnum):
    phone = "phone"
    sms = "sms"
    email = "email"
    home_visit = "home_visit"
    workplace = "workplace"
    family = "family"


class GuardianType(StrEnum):
    parent = "parent"
    legal_guardian = "legal_guardian"
    guardianship_authority = "guardianship_authority"
    institution = "institution"
    other = "other"


class HandoverLocation(StrEnum):
    police_station = "police_station"
    ngo_office = "ngo_office"
    shelter = "shelter"
    hospital = "hospital"
    border_crossing = "border_crossing"
    other = "other"


class ConsentBasis(StrEnum):
    consent = "consent"
    legal_obligation = "legal_obligation"
    vital_interest = "vital_interest"
    child_protection = "child_protection"


class FieldGroup(StrEnum):
    """What of the person packet a consent covers."""

    identity = "identity"  # name, date of birth, nationality
    contact = "contact"  # the safe contact channel
    needs = "needs"  # the needs summary
    risk = "risk"  # the risk summary


class RejectReason(StrEnum):
    no_capacity = "no_capacity"
    outside_mandate = "outside_mandate"
    not_eligible = "not_eligible"
    safety_concern = "safety_concern"
    person_declined = "person_declined"
    duplicate = "duplicate"
    other = "other"


class CancelReason(StrEnum):
    person_declined = "person_declined"
    person_unreachable = "person_unreachable"
    referred_elsewhere = "referred_elsewhere"
    no_longer_needed = "no_longer_needed"
    duplicate = "duplicate"
    # Never should have existed: the referral ends `entered-in-error`.
    entered_in_error = "entered_in_error"
    other = "other"


class HoldReason(StrEnum):
    awaiting_capacity = "awaiting_capacity"
    person_unreachable = "person_unreachable"
    safety_assessment = "safety_assessment"
    medical_treatment = "medical_treatment"
    legal_proceedings = "legal_proceedings"
    other = "other"


class FailReason(StrEnum):
    lost_contact = "lost_contact"
    person_declined = "person_declined"
    person_left = "person_left"
    safety_incident = "safety_incident"
    returned_to_exploiter = "returned_to_exploiter"
    other = "other"


class InformationNeeded(StrEnum):
    """What `request-info` asks the referrer for."""

    consent_scope = "consent_scope"
    needs_assessment = "needs_assessment"
    risk_assessment = "risk_assessment"
    guardian = "guardian"
    handover = "handover"
    other = "other"
