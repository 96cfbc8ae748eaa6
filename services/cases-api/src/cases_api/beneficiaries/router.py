"""Beneficiaries: records in the clear for case work, identities only on explicit request."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from baton import idempotency
from baton.auth import Principal
from baton.authz import Authorize, Permission
from baton.concurrency import (
    IfMatch,
    OptionalIfMatch,
    PreconditionFailed,
    PreconditionRequired,
    set_etag,
)
from baton.countries import CountryCode
from baton.errors import problem_responses
from baton.pagination import Page, PageParams, page_of, page_params
from baton.tenancy import TenantSessionDep
from cases_api.beneficiaries import service
from cases_api.beneficiaries.exceptions import (
    BeneficiaryNotFound,
    IdentityErased,
    IdentityNotRecorded,
)
from cases_api.beneficiaries.schemas import (
    BeneficiaryCreate,
    BeneficiaryCreated,
    BeneficiaryRead,
    BeneficiaryUpdate,
    DuplicateReport,
    Identity,
    IdentityRead,
    IdentitySearch,
)
from cases_api.identity_access import INCLUSION_ERRORS, IncludeIdentity
from cases_api.intake.models import IdempotencyKey
from cases_api.protection import (
    IdentityVault,
    ProtectedDataCorrupt,
    ProtectedDataUnavailable,
    get_vault,
)
from cases_api.vocabulary import AccessPurpose, Sex

CaseReader = Annotated[Principal, Authorize(Permission.case_read)]
CaseWriter = Annotated[Principal, Authorize(Permission.case_write)]
IdentityReader = Annotated[Principal, Authorize(Permission.case_read_identity)]
Eraser = Annotated[Principal, Authorize(Permission.case_erase)]
Vault = Annotated[IdentityVault, Depends(get_vault)]
Purpose = Annotated[
    AccessPurpose, Query(description="Why the identity is read; recorded in the audit log")
]
IDENTITY_ERRORS = (ProtectedDataUnavailable, ProtectedDataCorrupt)

router = APIRouter(prefix="/v1/beneficiaries", tags=["beneficiaries"])


def _read(beneficiary: object, *, has_identity: bool) -> BeneficiaryRead:
    read = BeneficiaryRead.model_validate(beneficiary)
    read.has_identity = has_identity
    return read


@router.post(
    "",
    status_code=201,
    response_model=BeneficiaryCreated,
    responses=problem_responses(*IDENTITY_ERRORS, *idempotency.IDEMPOTENCY_ERRORS),
)
async def create_beneficiary(
    data: BeneficiaryCreate,
    session: TenantSessionDep,
    principal: CaseWriter,
    key: idempotency.IdempotencyKeyHeader,
    vault: Vault,
    response: Response,
) -> BeneficiaryCreated | Response:
    """Register a person assisted by your organisation, with or without an identity.

    `duplicates` lists your organisation's beneficiaries with the same name and birth
    date (a person who came back, or a second referral), and says whether another
    organisation knows the person, without saying which.
    """
    claim = await idempotency.claim(session, IdempotencyKey, principal, key, data)
    if claim.replay is not None:
        return claim.replay.response()
    beneficiary, report = await service.create(session, principal, vault, data)
    set_etag(response, beneficiary.version)
    read = _read(beneficiary, has_identity=data.identity is not None)
    # Also what a retry gets again: attributes and ids, never the identity.
    created = BeneficiaryCreated(**read.model_dump(), duplicates=report)
    await claim.remember(201, created, response.headers)
    return created


@router.get("", response_model=Page[BeneficiaryRead])
async def list_beneficiaries(
    session: TenantSessionDep,
    principal: CaseReader,
    params: Annotated[PageParams, Depends(page_params)],
    is_child: Annotated[bool | None, Query()] = None,
    sex: Annotated[Sex | None, Query()] = None,
    nationality: Annotated[CountryCode | None, Query()] = None,
) -> Page[BeneficiaryRead]:
    """Your organisation's beneficiaries, oldest first; never identities."""
    rows = await service.list_for(
        session, principal, params, is_child=is_child, sex=sex, nationality=nationality
    )
    with_identity = await service.with_identity_flags(session, rows)
    items = [_read(row, has_identity=row.id in with_identity) for row in rows]
    return page_of(rows, params, items)


@router.post(
    "/search",
    response_model=DuplicateReport,
    responses=problem_responses(*IDENTITY_ERRORS),
)
async def search_beneficiaries(
    query: IdentitySearch, session: TenantSessionDep, principal: IdentityReader, vault: Vault
) -> DuplicateReport:
    """Find a person by name and birth date (in the body, never in a URL). Audited."""
    return await service.search(session, principal, vault, query)


@router.get(
    "/{beneficiary_id}",
    response_model=BeneficiaryRead,
    responses=problem_responses(
        BeneficiaryNotFound, IdentityErased, *INCLUSION_ERRORS, *IDENTITY_ERRORS
    ),
)
async def read_beneficiary(
    beneficiary_id: uuid.UUID,
    session: TenantSessionDep,
    principal: CaseReader,
    vault: Vault,
    response: Response,
    inclusion: IncludeIdentity,
) -> BeneficiaryRead:
    """One beneficiary of your organisation; another organisation's is not found."""
    beneficiary = await service.get(session, principal, beneficiary_id)
    read = _read(beneficiary, has_identity=await service.has_identity(session, beneficiary.id))
    if inclusion.purpose is not None:
        read.identity, _ = await service.read_identity(
            session, principal, vault, beneficiary, inclusion.purpose
        )
    set_etag(response, beneficiary.version)
    return read


@router.patch(
    "/{beneficiary_id}",
    response_model=BeneficiaryRead,
    responses=problem_responses(BeneficiaryNotFound, PreconditionFailed, PreconditionRequired),
)
async def update_beneficiary(
    beneficiary_id: uuid.UUID,
    data: BeneficiaryUpdate,
    session: TenantSessionDep,
    principal: CaseWriter,
    version: IfMatch,
    response: Response,
) -> BeneficiaryRead:
    """Correct non-identifying attributes; send the ETag you read in If-Match."""
    beneficiary = await service.update(session, principal, beneficiary_id, data, version)
    set_etag(response, beneficiary.version)
    return _read(beneficiary, has_identity=await service.has_identity(session, beneficiary.id))


@router.get(
    "/{beneficiary_id}/identity",
    response_model=IdentityRead,
    responses=problem_responses(
        BeneficiaryNotFound, IdentityNotRecorded, IdentityErased, *IDENTITY_ERRORS
    ),
)
async def read_identity(
    beneficiary_id: uuid.UUID,
    session: TenantSessionDep,
    principal: IdentityReader,
    vault: Vault,
    purpose: Purpose,
    response: Response,
) -> IdentityRead:
    """The decrypted identity. Every read is written to the audit log with its purpose."""
    beneficiary = await service.get(session, principal, beneficiary_id)
    identity, version = await service.read_identity(session, principal, vault, beneficiary, purpose)
    set_etag(response, version)
    return IdentityRead(beneficiary_id=beneficiary.id, version=version, identity=identity)


@router.put(
    "/{beneficiary_id}/identity",
    response_model=DuplicateReport,
    responses=problem_responses(
        BeneficiaryNotFound,
        IdentityErased,
        PreconditionFailed,
        PreconditionRequired,
        *IDENTITY_ERRORS,
    ),
)
async def replace_identity(
    beneficiary_id: uuid.UUID,
    identity: Identity,
    session: TenantSessionDep,
    principal: IdentityReader,
    vault: Vault,
    version: OptionalIfMatch,
    response: Response,
) -> DuplicateReport:
    """Record the identity, or correct it (then If-Match must carry its ETag).

    While the person has a restricted case, only its caseworker (or a break-glass
    holder) may: 403 `case-restricted` otherwise."""
    new_version, report = await service.replace_identity(
        session, principal, vault, beneficiary_id, identity, version
    )
    set_etag(response, new_version)
    return report


@router.delete(
    "/{beneficiary_id}/identity",
    status_code=204,
    responses=problem_responses(BeneficiaryNotFound, IdentityErased),
)
async def erase_identity(
    beneficiary_id: uuid.UUID, session: TenantSessionDep, principal: Eraser
) -> Response:
    """Erase the identity for good (crypto-shredding): its key is destroyed.

    Names, birth date, contacts, documents and encrypted notes become unreadable;
    the non-identifying attributes and the cases stay, so statistics do not change.
    """
    await service.erase_identity(session, principal, beneficiary_id)
    return Response(status_code=204)
