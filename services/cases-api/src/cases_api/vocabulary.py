"""The field's vocabularies (../shared/domain.md), as cases-api stores and serves them."""

from __future__ import annotations

from enum import StrEnum


class Sex(StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"


class AgeGroup(StrEnum):
    child = "child"
    adult = "adult"


class ExploitationForm(StrEnum):
    sexual = "sexual"
    labour = "labour"
    begging = "begging"
    criminal_activities = "criminal_activities"
    organ_removal = "organ_removal"
    forced_marriage = "forced_marriage"
    other = "other"


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


class ReferralSource(StrEnum):
    police = "police"
    labour_inspection = "labour_inspection"
    social_services = "social_services"
    border_police = "border_police"
    ngo = "ngo"
    international_organisation = "international_organisation"
    self = "self"
    family = "family"
    other = "other"


class IdentificationStage(StrEnum):
    presumed = "presumed"  # signs of trafficking, not yet assessed by an authority
    identified = "identified"  # formally identified as a victim by the competent authority
    not_identified = "not_identified"  # assessed; not (yet) recognised


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


class ServiceType(StrEnum):
    accommodation = "accommodation"
    medical = "medical"
    psychological = "psychological"
    legal = "legal"
    education = "education"
    vocational_training = "vocational_training"
    economic_empowerment = "economic_empowerment"
    family_mediation = "family_mediation"
    case_monitoring = "case_monitoring"
    secondary_beneficiary_support = "secondary_beneficiary_support"
    documentation = "documentation"
    return_assistance = "return_assistance"
