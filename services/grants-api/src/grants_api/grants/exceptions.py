"""Errors of grants themselves; each has a stable code and names no one."""

from __future__ import annotations

from baton.errors import Conflict
from grants_api.exceptions import Refused


class GrantIdentifierTaken(Conflict):
    code = "grant-identifier-taken"
    title = "A grant with this identifier exists"


class FunderSharesExceedAward(Refused):
    code = "funder-shares-exceed-award"
    title = "The co-funders' shares leave nothing, or less than nothing, for the managing donor"


class RecipientInvalid(Refused):
    code = "recipient-invalid"
    title = "A grant's recipient is neither its managing donor nor one of its co-funders"


class AmendmentReasonRequired(Refused):
    code = "amendment-reason-required"
    title = "After the award, every change needs a reason"


class AwardAmountRequired(Refused):
    code = "award-amount-required"
    title = "An award needs the amount awarded"


class GrantDatesInvalid(Refused):
    code = "grant-dates-invalid"
    title = "A grant's periods must run forward"
