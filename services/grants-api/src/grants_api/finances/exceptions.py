"""Errors of a grant's money flows; each has a stable code and names no one."""

from __future__ import annotations

from baton.errors import Conflict, NotFound
from grants_api.exceptions import Refused


class TrancheNotFound(NotFound):
    code = "tranche-not-found"
    title = "Tranche not found"


class TrancheDisbursed(Conflict):
    code = "tranche-disbursed"
    title = "A disbursement names this tranche: it stays"


class TranchesExceedAward(Refused):
    code = "tranches-exceed-award"
    title = "The tranches would add up to more than the amount awarded"


class DisbursementExceedsAward(Refused):
    code = "disbursement-exceeds-award"
    title = "The disbursements would add up to more than the amount awarded"


class DisbursementAmountRequired(Refused):
    code = "disbursement-amount-required"
    title = "A disbursement needs its amount, or a conversion to compute it from"


class ConversionIncomplete(Refused):
    code = "conversion-incomplete"
    title = "A conversion needs paid_amount, paid_currency, exchange_rate and rate_date together"


class ConversionSameCurrency(Refused):
    code = "conversion-same-currency"
    title = "A payment in the grant's own currency needs no conversion"


class ConversionMismatch(Refused):
    code = "conversion-mismatch"
    title = "The amount is not the paid amount at the exchange rate"


class BudgetCategoryRepeated(Refused):
    code = "budget-category-repeated"
    title = "A budget has at most one line per category"


class BudgetExceedsAward(Refused):
    code = "budget-exceeds-award"
    title = "The budget adds up to more than the amount awarded"


class ExpenditurePeriodInvalid(Refused):
    code = "expenditure-period-invalid"
    title = "An expenditure's period must run forward"


class ExpenditureOutsideGrantPeriod(Refused):
    code = "expenditure-outside-grant-period"
    title = "An expenditure's period must lie within the grant's period"
