"""The field's vocabularies (../shared/domain.md), as cases-api stores and serves them."""

from __future__ import annotations

from enum import StrEnum

from baton.vocabulary import ExploitationForm as ExploitationForm
from baton.vocabulary import IdentificationStage as IdentificationStage
from baton.vocabulary import ReferralSource as ReferralSource
from baton.vocabulary import ServiceType as ServiceType
from baton.vocabulary import Sex as Sex


class AgeGroup(StrEnum):
    child = "child"
    adult = "adult"


class Phase(StrEnum):
    crisis = "crisis"
    transition = "transition"
    reintegration = "reintegration"


class CaseStatus(StrEnum):
    open = "open"
    active = "active"
    closed = "closed"


class CaseOutcome(StrEnum):
    reintegrated = "reintegrated"
    in_progress = "in_progress"
    declined_assistance = "declined_assistance"
    lost_contact = "lost_contact"
    retrafficked = "retrafficked"
    transferred = "transferred"
    relocated = "relocated"
    deceased = "deceased"


class RiskLevel(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class DocumentType(StrEnum):
    passport = "passport"
    national_id = "national_id"
    residence_permit = "residence_permit"
    birth_certificate = "birth_certificate"
    other = "other"


class DocumentStatus(StrEnum):
    held = "held"  # the person holds it
    missing = "missing"  # lost, never had, or whereabouts unknown
    confiscated = "confiscated"  # taken away, typically by the exploiter


class AccessPurpose(StrEnum):
    """Why identity data is being read; recorded in the audit log with every read."""

    case_management = "case_management"
    safety = "safety"
    legal_assistance = "legal_assistance"
    referral = "referral"
    duplicate_review = "duplicate_review"
    data_subject_request = "data_subject_request"


class RestrictionReason(StrEnum):
    """Why a case is restricted to its assigned caseworker; never a name, so in the clear."""

    high_profile = "high_profile"  # a public figure, or a case the press follows
    staff_relative = "staff_relative"  # the person is related to a member of staff
    insider_contact = "insider_contact"  # the exploiters have contacts inside the organisation
    other = "other"
