"""The field's vocabularies (../shared/domain.md), as referral-api stores and serves them.

The same values as cases-api's, defined again here: services never import each
other, they agree on the words.
"""

from __future__ import annotations

from enum import StrEnum


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


class ExploitationForm(StrEnum):
    sexual = "sexual"
    labour = "labour"
    begging = "begging"
    criminal_activities = "criminal_activities"
    organ_removal = "organ_removal"
    forced_marriage = "forced_marriage"
    other = "other"


class TargetGroup(StrEnum):
    """Whom a provider's service is for; children are girls and boys (under 18)."""

    women = "women"
    men = "men"
    girls = "girls"
    boys = "boys"
    families = "families"
