from baton.errors import NotFound


class OrganisationNotFound(NotFound):
    code = "organisation-not-found"
    title = "Organisation not found"
