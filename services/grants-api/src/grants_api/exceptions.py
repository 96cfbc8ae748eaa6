"""Errors every part of grants-api may raise; each has a stable code and names no one."""

from __future__ import annotations

from baton.errors import BatonError, Conflict, NotFound


class GrantNotFound(NotFound):
    code = "grant-not-found"
    title = "Grant not found"


class ProgrammeNotFound(NotFound):
    code = "programme-not-found"
    title = "Programme not found"


class GrantNotInStatus(Conflict):
    code = "grant-invalid-status"
    title = "This is not possible in the grant's current status"


class Refused(BatonError):
    """A well-formed request refused by one of grants-api's rules: 422, with its own code."""

    status = 422


class IdentifierInText(Refused):
    code = "identifier-in-text"
    title = "The text holds what looks like a personal identifier"
