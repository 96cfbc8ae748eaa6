from baton.errors import BatonError, Conflict, NotFound


class CaseServiceNotFound(NotFound):
    code = "service-not-found"
    title = "Service not found"


class ServiceFinal(Conflict):
    code = "service-final"
    title = "A delivered or cancelled service does not change"


class InvalidServiceTransition(Conflict):
    code = "invalid-service-transition"
    title = "The service cannot move to this status from its current one"


class InvalidServiceDates(BatonError):
    code = "invalid-service-dates"
    status = 422
    title = "The dates of the service do not fit together"
