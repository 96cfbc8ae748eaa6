"""Errors of the funding mix; each has a stable code and names no one."""

from __future__ import annotations

from baton.authz import Forbidden
from baton.errors import NotFound
from grants_api.exceptions import Refused


class FundingYearNotFound(NotFound):
    """Also the answer for a year the caller may not see: existence is not revealed."""

    code = "funding-year-not-found"
    title = "Funding year not found"


class FundingMixNotYours(Forbidden):
    code = "funding-mix-not-yours"
    title = "An organisation keeps its own funding mix only"


class FundingYearOutOfRange(Refused):
    code = "funding-year-out-of-range"
    title = "A funding year lies between 1990 and next year"


class FundingEntryRepeated(Refused):
    code = "funding-entry-repeated"
    title = "A year lists each source, kind and currency once"


class FundingYearsReversed(Refused):
    code = "funding-years-reversed"
    title = "year_from comes on or before year_to"
