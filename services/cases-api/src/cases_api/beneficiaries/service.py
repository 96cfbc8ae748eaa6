"""Beneficiaries and their identities: every query runs in the caller's organisation.

Row-level security binds the same organisation underneath (`TenantSessionDep`);
the explicit filters here are the first wall, not the only one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.concurrency import PreconditionRequired, check_version
from baton.crypto import normalise_name
from baton.db import utcnow
from baton.pagination import PageParams, paginate
from baton.tenancy import get_owned, in_callers_organisation
from cases_api.access import gate as access_gate
from cases_api.audit import service as audit
from cases_api.beneficiaries.exceptions import (
    BeneficiaryNotFound,
    IdentityErased,
    IdentityNotRecorded,
)
from cases_api.beneficiaries.models import Beneficiary, BeneficiaryIdentity, BeneficiaryKey
from cases_api.beneficiaries.schemas import (
    BeneficiaryCreate,
    BeneficiaryUpdate,
    DuplicateReport,
    Identity,
    IdentitySearch,
)
from cases_api.protection import IdentityVault
from cases_api.vocabulary import AccessPurpose

IDENTITY = "identity"


def _index_parts(given: str, family: str | None, born: object) -> tuple[str, str]:
    return normalise_name(f"{given} {family or ''}"), str(born)


def identity_index(vault: IdentityVault, identity: Identity) -> bytes | None:
    if identity.date_of_birth is None:
        return None
    return vault.blind_index(
        *_index_parts(identity.given_names, identity.family_names, identity.date_of_birth)
    )


async def get(
    session: AsyncSession, principal: Principal, beneficiary_id: uuid.UUID, *, lock: bool = False
) -> Beneficiary:
    return await get_owned(
        session, Beneficiary, principal, BeneficiaryNotFound(), lock=lock, id=beneficiary_id
    )


async def has_identity(session: AsyncSession, beneficiary_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(func.count())
        .select_from(BeneficiaryIdentity)
        .where(col(BeneficiaryIdentity.beneficiary_id) == beneficiary_id)
    )
    return bool(found)


async def _matches(
    session: AsyncSession, principal: Principal, index: bytes, exclude: uuid.UUID | None
) -> list[uuid.UUID]:
    """The organisation's people with this blind index, restricted ones included."""
    query = select(col(BeneficiaryIdentity.beneficiary_id)).where(
        col(BeneficiaryIdentity.blind_index) == index,
        in_callers_organisation(col(BeneficiaryIdentity.organisation_id), principal),
    )
    if exclude is not None:
        query = query.where(col(BeneficiaryIdentity.beneficiary_id) != exclude)
    return sorted((await session.scalars(query)).all())


async def _report(
    session: AsyncSession, principal: Principal, index: bytes, matches: list[uuid.UUID]
) -> DuplicateReport:
    # A restricted person's id would link the name the caller typed to the case
    # records: the caller learns only that such a match exists.
    closed = await access_gate.closed_to_caller(session, principal, matches)
    named = [person for person in matches if person not in closed]
    # SECURITY DEFINER: answers across organisations with yes or no, never which.
    elsewhere = await session.scalar(select(func.identity_known_elsewhere(index, principal.org_id)))
    sharing = await organisations_sharing(session, principal, index) if elsewhere else []
    return DuplicateReport(
        possible_duplicates=named,
        restricted_match=len(named) < len(matches),
        known_elsewhere=bool(elsewhere),
        known_at=sorted(sharing),
    )


async def duplicates(
    session: AsyncSession,
    principal: Principal,
    index: bytes,
    *,
    exclude: uuid.UUID | None = None,
) -> DuplicateReport:
    return await _report(
        session, principal, index, await _matches(session, principal, index, exclude)
    )


async def organisations_sharing(
    session: AsyncSession, principal: Principal, blind_index: bytes
) -> list[uuid.UUID]:
    """Organisations that know this person and whom the person allowed to tell the caller.

    Through the SECURITY DEFINER function `identity_shared_with`: a valid `sharing`
    consent of the person's own (not another legal basis), naming the caller's
    organisation, with `identity` in its scope.
    """
    rows = await session.scalars(
        select(func.identity_shared_with(blind_index, principal.org_id, type_=sa.Uuid))
    )
    return list(rows.all())


async def create(
    session: AsyncSession, principal: Principal, vault: IdentityVault, data: BeneficiaryCreate
) -> tuple[Beneficiary, DuplicateReport]:
    beneficiary = Beneficiary(
        organisation_id=principal.org_id, **data.model_dump(exclude={"identity"})
    )
    session.add(beneficiary)
    await session.flush()
    report = DuplicateReport(possible_duplicates=[], known_elsewhere=False)
    if data.identity is not None:
        index = await _store_identity(session, vault, beneficiary, data.identity)
        if index is not None:
            report = await duplicates(session, principal, index, exclude=beneficiary.id)
    await audit.record(
        session,
        principal,
        organisation_id=principal.org_id,
        action="beneficiary.create",
        resource_type="beneficiary",
        resource_id=beneficiary.id,
    )
    return beneficiary, report


async def _data_key(
    session: AsyncSession, vault: IdentityVault, beneficiary: Beneficiary
) -> bytes | None:
    row = await session.get(BeneficiaryKey, beneficiary.id)
    return None if row is None else vault.data_key(row)


async def sealing_key(
    session: AsyncSession, vault: IdentityVault, beneficiary: Beneficiary
) -> bytes:
    """The data key to seal the beneficiary's data with (identity, notes, family):
    created if there is none yet, never anew after erasure."""
    if beneficiary.erased_at is not None:
        raise IdentityErased()
    data_key = await _data_key(session, vault, beneficiary)
    if data_key is None:
        data_key, row = vault.new_key(beneficiary.id, beneficiary.organisation_id)
        session.add(row)
    return data_key


async def opening_key(
    session: AsyncSession, vault: IdentityVault, beneficiary: Beneficiary
) -> bytes:
    """The data key to open the beneficiary's sealed data; without it all of it is gone."""
    data_key = None if beneficiary.erased_at else await _data_key(session, vault, beneficiary)
    if data_key is None:
        raise IdentityErased()
    return data_key


async def _store_identity(
    session: AsyncSession, vault: IdentityVault, beneficiary: Beneficiary, identity: Identity
) -> bytes | None:
    """Encrypt and store (or replace) the identity; returns its blind index."""
    data_key = await _data_key(session, vault, beneficiary)
    if data_key is None:
        data_key, key_row = vault.new_key(beneficiary.id, beneficiary.organisation_id)
        session.add(key_row)
    ciphertext = vault.seal(
        data_key,
        IDENTITY,
        beneficiary.id,
        beneficiary.organisation_id,
        identity.model_dump(mode="json"),
    )
    index = identity_index(vault, identity)
    stored = await session.get(BeneficiaryIdentity, beneficiary.id, with_for_update=True)
    if stored is None:
        stored = BeneficiaryIdentity(
            beneficiary_id=beneficiary.id,
            organisation_id=beneficiary.organisation_id,
            ciphertext=ciphertext,
            blind_index=index,
        )
        session.add(stored)
    else:
        stored.ciphertext = ciphertext
        stored.blind_index = index
        stored.version += 1
        stored.updated_at = utcnow()
    await session.flush()
    return index


async def _audit_identity(
    session: AsyncSession,
    principal: Principal,
    beneficiary: Beneficiary,
    action: str,
    grants: list[uuid.UUID | None],
    purpose: AccessPurpose | None = None,
) -> None:
    """One event per break-glass grant the access needed (`[None]`: it needed none)."""
    for grant_id in grants:
        await audit.record(
            session,
            principal,
            organisation_id=beneficiary.organisation_id,
            action=action,
            resource_type="beneficiary",
            resource_id=beneficiary.id,
            purpose=None if purpose is None else purpose.value,
            break_glass_id=grant_id,
        )


async def read_identity(
    session: AsyncSession,
    principal: Principal,
    vault: IdentityVault,
    beneficiary: Beneficiary,
    purpose: AccessPurpose,
) -> tuple[Identity, int]:
    """Decrypt the identity and record the read in the audit log (same transaction)."""
    grants = await access_gate.admit_beneficiary(session, principal, beneficiary.id)
    if beneficiary.erased_at is not None:
        raise IdentityErased()
    stored = await session.get(BeneficiaryIdentity, beneficiary.id)
    if stored is None:
        raise IdentityNotRecorded()
    data_key = await _data_key(session, vault, beneficiary)
    if data_key is None:
        raise IdentityErased()
    document = vault.open(
        data_key, IDENTITY, beneficiary.id, beneficiary.organisation_id, stored.ciphertext
    )
    await _audit_identity(session, principal, beneficiary, "identity.read", grants, purpose)
    return Identity.model_validate(document), stored.version


async def replace_identity(
    session: AsyncSession,
    principal: Principal,
    vault: IdentityVault,
    beneficiary_id: uuid.UUID,
    identity: Identity,
    expected_version: int | None,
) -> tuple[int, DuplicateReport]:
    """Record or correct the identity; an existing one needs its version (If-Match).

    A restricted person's identity is as closed to writers as to readers: overwriting
    it is tampering with what the restriction protects."""
    beneficiary = await get(session, principal, beneficiary_id, lock=True)
    grants = await access_gate.admit_beneficiary(session, principal, beneficiary.id)
    if beneficiary.erased_at is not None:
        raise IdentityErased()
    stored = await session.get(BeneficiaryIdentity, beneficiary.id, with_for_update=True)
    if stored is not None:
        if expected_version is None:
            raise PreconditionRequired("An identity is on record: send its ETag in If-Match.")
        check_version(expected_version, stored.version)
    index = await _store_identity(session, vault, beneficiary, identity)
    await _audit_identity(session, principal, beneficiary, "identity.write", grants)
    stored = await session.get(BeneficiaryIdentity, beneficiary.id)
    assert stored is not None
    report = DuplicateReport(possible_duplicates=[], known_elsewhere=False)
    if index is not None:
        report = await duplicates(session, principal, index, exclude=beneficiary.id)
    return stored.version, report


async def search(
    session: AsyncSession, principal: Principal, vault: IdentityVault, query: IdentitySearch
) -> DuplicateReport:
    index = vault.blind_index(
        *_index_parts(query.given_names, query.family_names, query.date_of_birth)
    )
    matches = await _matches(session, principal, index, None)
    report = await _report(session, principal, index, matches)
    for beneficiary_id in matches:
        # A match tells the caller this person is on record: that is an identity lookup,
        # logged for restricted people too (who looked for them is what matters there).
        await audit.record(
            session,
            principal,
            organisation_id=principal.org_id,
            action="identity.match",
            resource_type="beneficiary",
            resource_id=beneficiary_id,
            purpose=AccessPurpose.duplicate_review.value,
        )
    return report


async def erase_identity(
    session: AsyncSession, principal: Principal, beneficiary_id: uuid.UUID
) -> None:
    """Crypto-shred: destroy the data key and the blind index; attributes stay for statistics."""
    beneficiary = await get(session, principal, beneficiary_id, lock=True)
    if beneficiary.erased_at is not None:
        raise IdentityErased()
    key_row = await session.get(BeneficiaryKey, beneficiary.id)
    if key_row is not None:
        await session.delete(key_row)
    stored = await session.get(BeneficiaryIdentity, beneficiary.id)
    if stored is not None:
        await session.delete(stored)
    beneficiary.erased_at = utcnow()
    beneficiary.updated_at = beneficiary.erased_at
    beneficiary.version += 1
    await audit.record(
        session,
        principal,
        organisation_id=beneficiary.organisation_id,
        action="identity.erase",
        resource_type="beneficiary",
        resource_id=beneficiary.id,
        purpose=AccessPurpose.data_subject_request.value,
    )
    await session.flush()


async def update(
    session: AsyncSession,
    principal: Principal,
    beneficiary_id: uuid.UUID,
    data: BeneficiaryUpdate,
    expected_version: int,
) -> Beneficiary:
    beneficiary = await get(session, principal, beneficiary_id, lock=True)
    check_version(expected_version, beneficiary.version)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field in {"sex", "is_child"}:
            continue
        setattr(beneficiary, field, value)
    beneficiary.version += 1
    beneficiary.updated_at = utcnow()
    await audit.record(
        session,
        principal,
        organisation_id=beneficiary.organisation_id,
        action="beneficiary.update",
        resource_type="beneficiary",
        resource_id=beneficiary.id,
    )
    await session.flush()
    return beneficiary


async def list_for(
    session: AsyncSession,
    principal: Principal,
    params: PageParams,
    *,
    is_child: bool | None = None,
    sex: str | None = None,
    nationality: str | None = None,
) -> Sequence[Beneficiary]:
    query = select(Beneficiary).where(
        in_callers_organisation(col(Beneficiary.organisation_id), principal)
    )
    if is_child is not None:
        query = query.where(col(Beneficiary.is_child) == is_child)
    if sex is not None:
        query = query.where(col(Beneficiary.sex) == sex)
    if nationality is not None:
        query = query.where(col(Beneficiary.nationality) == nationality)
    query = paginate(query, params, col(Beneficiary.created_at), col(Beneficiary.id))
    return (await session.scalars(query)).all()


async def with_identity_flags(
    session: AsyncSession, beneficiaries: Sequence[Beneficiary]
) -> set[uuid.UUID]:
    """Which of these beneficiaries have an identity on record."""
    if not beneficiaries:
        return set()
    rows = await session.scalars(
        select(col(BeneficiaryIdentity.beneficiary_id)).where(
            col(BeneficiaryIdentity.beneficiary_id).in_([b.id for b in beneficiaries])
        )
    )
    return set(rows.all())
