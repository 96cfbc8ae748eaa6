"""`include=identity` on a read: who may ask for it, and why, decided in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Query

from baton.auth import PrincipalDep
from baton.authz import Forbidden, Permission, permissions_of
from cases_api.beneficiaries.exceptions import PurposeRequired
from cases_api.vocabulary import AccessPurpose


@dataclass(frozen=True)
class IdentityInclusion:
    # Why the identity is read (written to the audit log); None: it was not asked for.
    purpose: AccessPurpose | None


async def _identity_inclusion(
    principal: PrincipalDep,
    include: Annotated[
        Literal["identity"] | None,
        Query(description="`identity` adds the decrypted identity (needs case:read_identity)"),
    ] = None,
    purpose: Annotated[
        AccessPurpose | None, Query(description="Required with include=identity")
    ] = None,
) -> IdentityInclusion:
    if include is None:
        return IdentityInclusion(purpose=None)
    if Permission.case_read_identity not in permissions_of(principal):
        raise Forbidden("This requires the `case:read_identity` permission.")
    if purpose is None:
        raise PurposeRequired()
    return IdentityInclusion(purpose=purpose)


IncludeIdentity = Annotated[IdentityInclusion, Depends(_identity_inclusion)]
INCLUSION_ERRORS = (Forbidden, PurposeRequired)
