"""The field's vocabularies (../shared/domain.md), as referral-api stores and serves them.

Those that travel to cases-api (service types, forms of exploitation) come from
`baton.vocabulary`: services never import each other, they share the contract.
"""

from __future__ import annotations

from enum import StrEnum

from baton.vocabulary import ExploitationForm as ExploitationForm
from baton.vocabulary import ServiceType as ServiceType


class TargetGroup(StrEnum):
    """Whom a provider's service is for; children are girls and boys (under 18)."""

    women = "women"
    men = "men"
    girls = "girls"
    boys = "boys"
    families = "families"
