from baton.errors import BatonError, NotFound


class AssessmentNotFound(NotFound):
    code = "assessment-not-found"
    title = "Assessment not found"


class NothingAssessed(BatonError):
    code = "assessment-without-scores"
    status = 422
    title = "An assessment scores at least one domain"


class InvalidAssessmentDate(BatonError):
    code = "invalid-assessment-date"
    status = 422
    title = "The assessment date does not fit the case"
