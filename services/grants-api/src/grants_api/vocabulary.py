"""grants-api's vocabularies (../shared/domain.md): grant states, budget categories,
reporting, and where an NGO's money comes from."""

from __future__ import annotations

from enum import StrEnum


class GrantStatus(StrEnum):
    draft = "draft"
    awarded = "awarded"
    active = "active"
    closed = "closed"
    terminated = "terminated"


class BudgetCategory(StrEnum):
    services = "services"
    staff = "staff"
    office_and_running_costs = "office_and_running_costs"
    other = "other"


class ReportKind(StrEnum):
    interim = "interim"
    final = "final"
    other = "other"


class RequirementStatus(StrEnum):
    """Stored states; `overdue` is computed (due or sent back, and past its date)."""

    due = "due"
    submitted = "submitted"
    accepted = "accepted"
    revision_requested = "revision_requested"
    overdue = "overdue"


# What is stored; `overdue` only ever appears on the way out.
STORED_REQUIREMENT_STATUSES = frozenset(RequirementStatus) - {RequirementStatus.overdue}


class FundingSource(StrEnum):
    government_national = "government_national"
    government_local = "government_local"
    private_sector = "private_sector"
    foundation = "foundation"
    international_donor = "international_donor"
    social_enterprise = "social_enterprise"
    individual_donations = "individual_donations"
    other = "other"


class FundingKind(StrEnum):
    cash = "cash"
    in_kind = "in_kind"
