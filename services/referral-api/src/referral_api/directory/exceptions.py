from baton.errors import BatonError, Conflict, NotFound


class ProviderNotFound(NotFound):
    code = "provider-not-found"
    title = "Provider not found"


class ProviderServiceNotFound(NotFound):
    code = "provider-service-not-found"
    title = "This provider offers no such service"


class NotYourDirectoryEntry(BatonError):
    """Entries are visible to every reader, so a stranger's write is refused, not hidden."""

    code = "not-your-directory-entry"
    status = 403
    title = "This directory entry is kept by another organisation"


class ProviderExists(Conflict):
    code = "provider-exists"
    title = "This organisation already has a directory entry"


class ProviderOrganisationInvalid(BatonError):
    code = "provider-organisation-invalid"
    status = 422
    title = "A directory entry belongs to an NGO, never to the platform"


class RegionOutsideCountry(BatonError):
    code = "region-outside-country"
    status = 422
    title = "Regions served must lie in the provider's country"


class TooManyServices(Conflict):
    code = "too-many-services"
    title = "This provider lists as many services as an entry may hold"


class UnknownParameter(BatonError):
    code = "unknown-parameter"
    status = 422
    title = "The capacity check takes only its documented parameters"
