from baton.errors import BatonError, Conflict, NotFound


class ClientNotFound(NotFound):
    code = "client-not-found"
    title = "API client not found"


class ClientIdTaken(Conflict):
    code = "client-id-taken"
    title = "Client id already in use"


class InvalidClientGrant(BatonError):
    """Roles, scopes or audiences that the client's organisation may not hold."""

    code = "invalid-client-grant"
    status = 422
    title = "Roles, scopes or audiences not allowed"
