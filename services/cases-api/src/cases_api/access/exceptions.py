from baton.errors import BatonError, Conflict, NotFound


class CaseRestricted(BatonError):
    code = "case-restricted"
    status = 403
    title = "The case is restricted"

    def __init__(self) -> None:
        super().__init__(
            "Only the caseworker assigned to this case reads its identity and notes. In an "
            "emergency a case manager may open time-boxed break-glass access to this case: "
            "POST /v1/cases/{case_id}/break-glass, with a justification; it is audited."
        )


class CaseNotRestricted(Conflict):
    code = "case-not-restricted"
    title = "The case is not restricted"


class BreakGlassAlreadyOpen(Conflict):
    code = "break-glass-already-open"
    title = "You already hold open break-glass access to this case"


class BreakGlassNotFound(NotFound):
    code = "break-glass-not-found"
    title = "Break-glass grant not found"


class BreakGlassNotHeld(BatonError):
    code = "break-glass-not-held"
    status = 403
    title = "Only the holder of break-glass access closes it"


class BreakGlassEnded(Conflict):
    code = "break-glass-ended"
    title = "The break-glass access has already ended"
