from baton.errors import BatonError, Conflict, NotFound


class CaseNotFound(NotFound):
    code = "case-not-found"
    title = "Case not found"


class CaseClosed(Conflict):
    code = "case-closed"
    title = "The case is closed"


class ReferralAlreadyHasCase(Conflict):
    code = "referral-already-has-case"
    title = "A case was already opened from this referral"


class InvalidCaseDates(BatonError):
    code = "invalid-case-dates"
    status = 422
    title = "The dates of the case do not fit together"
