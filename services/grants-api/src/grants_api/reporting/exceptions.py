"""Errors of reporting, each with a stable code; none repeats what a report says."""

from __future__ import annotations

from baton.errors import Conflict, NotFound


class RequirementNotFound(NotFound):
    code = "requirement-not-found"
    title = "Reporting requirement not found"


class RequirementNotOpen(Conflict):
    code = "requirement-not-open"
    title = "A report is submitted only while it is due or sent back for revision"


class RequirementNotSubmitted(Conflict):
    code = "requirement-not-submitted"
    title = "Only a submitted report is accepted or sent back"


class RequirementAccepted(Conflict):
    code = "requirement-accepted"
    title = "An accepted report's requirement no longer changes"
