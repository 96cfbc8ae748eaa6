"""The field's vocabularies that travel between services (../shared/domain.md).

A referral's envelope becomes a case at intake, a directory's services match a
referral's requested ones: these values are a contract, so they live in one place.
"""

from __future__ import annotations

from enum import StrEnum


class Sex(StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"


class ExploitationForm(StrEnum):
    sexual = "sexual"
    labour = "labour"
    begging = "begging"
    criminal_activities = "criminal_activities"
    organ_removal = "organ_removal"
    forced_marriage = "forced_marriage"
    other = "other"


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
