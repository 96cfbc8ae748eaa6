from baton.errors import BatonError, Conflict, NotFound


class ConsentNotFound(NotFound):
    code = "consent-not-found"
    title = "Consent not found"


class ConsentWithdrawn(Conflict):
    code = "consent-withdrawn"
    title = "The consent was withdrawn"


class InvalidConsent(BatonError):
    code = "invalid-consent"
    status = 422
    title = "The consent does not hold together"
