from baton.errors import BatonError, Conflict, NotFound


class BeneficiaryNotFound(NotFound):
    code = "beneficiary-not-found"
    title = "Beneficiary not found"


class IdentityNotRecorded(NotFound):
    code = "identity-not-recorded"
    title = "No identity is recorded for this beneficiary"


class IdentityErased(Conflict):
    code = "identity-erased"
    title = "This beneficiary's identity was erased"
    status = 410


class PurposeRequired(BatonError):
    code = "purpose-required"
    status = 422
    title = "Say why you read the identity"

    def __init__(self) -> None:
        super().__init__("Reading an identity needs `purpose`; it is written to the audit log.")
