"""Family members of a beneficiary: attributes for case work and statistics, identity sealed.

An identity is sealed with the primary beneficiary's data key and bound to the
family member's own id: a ciphertext copied onto another member does not open,
and erasing the primary's identity (destroying its key) erases theirs as well.
Every query runs in the caller's organisation; row-level security is the second wall.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.concurrency import check_version
from baton.db import utcnow
from baton.pagination import PageParams, paginate
from baton.tenancy import get_owned, in_callers_organisation
from cases_api.access import gate as access_gate
from cases_api.audit import service as audit
from cases_api.beneficiaries import service as beneficiary_service
from cases_api.beneficiaries.exceptions import IdentityErased, IdentityNotRecorded
from cases_api.beneficiaries.models import Beneficiary
from cases_api.protection import IdentityVault
from cases_api.secondary.exceptions import FamilyMemberNotFound
from cases_api.secondary.models import SecondaryBeneficiary
from cases_api.secondary.schemas import (
    SecondaryCreate,
    SecondaryIdentity,
    SecondaryRead,
    SecondaryUpdate,
)
from cases_api.vocabulary import AccessPurpose

SECONDARY_IDENTITY = "secondary-identity"


def to_read(secondary: SecondaryBeneficiary, primary: Beneficiary) -> SecondaryRead:
    readable = secondary.ciphertext is not None and primary.erased_at is None
    return SecondaryRead.model_validate(
        {**secondary.model_dump(exclude={"ciphertext"}), "has_identity": readable}
    )


async def get(
    session: AsyncSession,
    principal: Principal,
    beneficiary_id: uuid.UUID,
    secondary_id: uuid.UUID,
    *,
    lock: bool = False,
) -> SecondaryBeneficiary:
    return await get_owned(
        session,
        SecondaryBeneficiary,
        principal,
        FamilyMemberNotFound(),
        lock=lock,
        id=secondary_id,
        beneficiary_id=beneficiary_id,
    )


def _seal(
    vault: IdentityVault,
    data_key: bytes,
    secondary: SecondaryBeneficiary,
    identity: SecondaryIdentity,
) -> bytes:
    return vault.seal(
        data_key,
        SECONDARY_IDENTITY,
        secondary.id,
        secondary.organisation_id,
        identity.model_dump(mode="json"),
    )


async def _audit(
    session: AsyncSession,
    principal: Principal,
    secondary: SecondaryBeneficiary,
    action: str,
    grants: list[uuid.UUID | None],
    purpose: AccessPurpose | None = None,
) -> None:
    """One event per break-glass grant the access needed (`[None]`: it needed none)."""
    for grant_id in grants:
        await audit.record(
            session,
            principal,
            organisation_id=secondary.organisation_id,
            action=action,
            resource_type="secondary_beneficiary",
            resource_id=secondary.id,
            purpose=None if purpose is None else purpose.value,
            break_glass_id=grant_id,
        )


async def _admit_identity_write(
    session: AsyncSession, principal: Principal, primary: Beneficiary, writes_identity: bool
) -> list[uuid.UUID | None]:
    """A family member's identity is protected by the primary's restricted cases, for
    writing as for reading; other changes need no admission. What to audit under."""
    if not writes_identity:
        return [None]
    return await access_gate.admit_beneficiary(session, principal, primary.id)


async def create(
    session: AsyncSession,
    principal: Principal,
    vault: IdentityVault,
    beneficiary_id: uuid.UUID,
    data: SecondaryCreate,
) -> tuple[SecondaryBeneficiary, Beneficiary]:
    # Locked when sealing: an erasure cannot slip in between, nor two data keys be made.
    primary = await beneficiary_service.get(
        session, principal, beneficiary_id, lock=data.identity is not None
    )
    grants = await _admit_identity_write(session, principal, primary, data.identity is not None)
    secondary = SecondaryBeneficiary(
        organisation_id=primary.organisation_id,
        beneficiary_id=primary.id,
        **data.model_dump(exclude={"identity"}),
    )
    if data.identity is not None:
        data_key = await beneficiary_service.sealing_key(session, vault, primary)
        secondary.ciphertext = _seal(vault, data_key, secondary, data.identity)
    session.add(secondary)
    await session.flush()
    await _audit(session, principal, secondary, "secondary.create", grants)
    return secondary, primary


async def update(
    session: AsyncSession,
    principal: Principal,
    vault: IdentityVault,
    beneficiary_id: uuid.UUID,
    secondary_id: uuid.UUID,
    data: SecondaryUpdate,
    expected_version: int,
) -> tuple[SecondaryBeneficiary, Beneficiary]:
    """Change attributes and/or the identity (`identity: null` removes it)."""
    replaces_identity = "identity" in data.model_fields_set
    primary = await beneficiary_service.get(
        session, principal, beneficiary_id, lock=replaces_identity
    )
    grants = await _admit_identity_write(session, principal, primary, replaces_identity)
    secondary = await get(session, principal, beneficiary_id, secondary_id, lock=True)
    check_version(expected_version, secondary.version)
    for field, value in data.model_dump(exclude_unset=True, exclude={"identity"}).items():
        if value is not None:  # every attribute is required: null leaves it as it is
            setattr(secondary, field, value)
    if replaces_identity:
        if data.identity is None:
            secondary.ciphertext = None
        else:
            data_key = await beneficiary_service.sealing_key(session, vault, primary)
            secondary.ciphertext = _seal(vault, data_key, secondary, data.identity)
    secondary.version += 1
    secondary.updated_at = utcnow()
    await _audit(session, principal, secondary, "secondary.update", grants)
    await session.flush()
    return secondary, primary


async def read_identity(
    session: AsyncSession,
    principal: Principal,
    vault: IdentityVault,
    primary: Beneficiary,
    secondary: SecondaryBeneficiary,
    purpose: AccessPurpose,
) -> SecondaryIdentity:
    """Decrypt the member's identity and record the read in the audit log."""
    # A family member's name points to the person: restricted as the person's own is.
    grants = await access_gate.admit_beneficiary(session, principal, primary.id)
    if primary.erased_at is not None:
        raise IdentityErased()
    if secondary.ciphertext is None:
        raise IdentityNotRecorded()
    document = vault.open(
        await beneficiary_service.opening_key(session, vault, primary),
        SECONDARY_IDENTITY,
        secondary.id,
        secondary.organisation_id,
        secondary.ciphertext,
    )
    await _audit(session, principal, secondary, "secondary_identity.read", grants, purpose)
    return SecondaryIdentity.model_validate(document)


async def list_for(
    session: AsyncSession, principal: Principal, beneficiary_id: uuid.UUID, params: PageParams
) -> Sequence[SecondaryBeneficiary]:
    query = select(SecondaryBeneficiary).where(
        col(SecondaryBeneficiary.beneficiary_id) == beneficiary_id,
        in_callers_organisation(col(SecondaryBeneficiary.organisation_id), principal),
    )
    query = paginate(
        query, params, col(SecondaryBeneficiary.created_at), col(SecondaryBeneficiary.id)
    )
    return (await session.scalars(query)).all()
