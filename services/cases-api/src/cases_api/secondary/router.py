"""Family members assisted alongside a beneficiary; their identities only on explicit request."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from baton.auth import Principal
from baton.authz import Authorize, Permission
from baton.concurrency import IfMatch, PreconditionFailed, PreconditionRequired, set_etag
from baton.errors import problem_responses
from baton.pagination import Page, PageParams, page_of, page_params
from baton.tenancy import TenantSessionDep
from cases_api.beneficiaries import service as beneficiary_service
from cases_api.beneficiaries.exceptions import (
    BeneficiaryNotFound,
    IdentityErased,
    IdentityNotRecorded,
)
from cases_api.identity_access import INCLUSION_ERRORS, IncludeIdentity
from cases_api.protection import (
    IdentityVault,
    ProtectedDataCorrupt,
    ProtectedDataUnavailable,
    get_vault,
)
from cases_api.secondary import service
from cases_api.secondary.exceptions import FamilyMemberNotFound
from cases_api.secondary.schemas import SecondaryCreate, SecondaryRead, SecondaryUpdate

CaseReader = Annotated[Principal, Authorize(Permission.case_read)]
CaseWriter = Annotated[Principal, Authorize(Permission.case_write)]
Vault = Annotated[IdentityVault, Depends(get_vault)]
IDENTITY_ERRORS = (ProtectedDataUnavailable, ProtectedDataCorrupt)

router = APIRouter(
    prefix="/v1/beneficiaries/{beneficiary_id}/family-members", tags=["secondary beneficiaries"]
)


@router.post(
    "",
    status_code=201,
    response_model=SecondaryRead,
    responses=problem_responses(BeneficiaryNotFound, IdentityErased, *IDENTITY_ERRORS),
)
async def create_family_member(
    beneficiary_id: uuid.UUID,
    data: SecondaryCreate,
    session: TenantSessionDep,
    principal: CaseWriter,
    vault: Vault,
    response: Response,
) -> SecondaryRead:
    """Record a family member your organisation assists because of this beneficiary.

    The identity is optional and stored encrypted with the beneficiary's key: erasing
    the beneficiary's identity erases it too.
    """
    secondary, primary = await service.create(session, principal, vault, beneficiary_id, data)
    set_etag(response, secondary.version)
    return service.to_read(secondary, primary)


@router.get(
    "",
    response_model=Page[SecondaryRead],
    responses=problem_responses(BeneficiaryNotFound),
)
async def list_family_members(
    beneficiary_id: uuid.UUID,
    session: TenantSessionDep,
    principal: CaseReader,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[SecondaryRead]:
    """The beneficiary's family members, oldest first; never identities."""
    primary = await beneficiary_service.get(session, principal, beneficiary_id)
    rows = await service.list_for(session, principal, primary.id, params)
    return page_of(rows, params, [service.to_read(row, primary) for row in rows])


@router.get(
    "/{secondary_id}",
    response_model=SecondaryRead,
    responses=problem_responses(
        BeneficiaryNotFound,
        FamilyMemberNotFound,
        IdentityNotRecorded,
        IdentityErased,
        *INCLUSION_ERRORS,
        *IDENTITY_ERRORS,
    ),
)
async def read_family_member(
    beneficiary_id: uuid.UUID,
    secondary_id: uuid.UUID,
    session: TenantSessionDep,
    principal: CaseReader,
    vault: Vault,
    response: Response,
    inclusion: IncludeIdentity,
) -> SecondaryRead:
    """One family member; with `include=identity`, a read written to the audit log."""
    primary = await beneficiary_service.get(session, principal, beneficiary_id)
    secondary = await service.get(session, principal, primary.id, secondary_id)
    read = service.to_read(secondary, primary)
    if inclusion.purpose is not None:
        read.identity = await service.read_identity(
            session, principal, vault, primary, secondary, inclusion.purpose
        )
    set_etag(response, secondary.version)
    return read


@router.patch(
    "/{secondary_id}",
    response_model=SecondaryRead,
    responses=problem_responses(
        BeneficiaryNotFound,
        FamilyMemberNotFound,
        IdentityErased,
        PreconditionFailed,
        PreconditionRequired,
        *IDENTITY_ERRORS,
    ),
)
async def update_family_member(
    beneficiary_id: uuid.UUID,
    secondary_id: uuid.UUID,
    data: SecondaryUpdate,
    session: TenantSessionDep,
    principal: CaseWriter,
    vault: Vault,
    version: IfMatch,
    response: Response,
) -> SecondaryRead:
    """Correct the family member; send the ETag you read in If-Match.

    `identity` replaces the recorded identity (`null` removes it); it is never
    echoed back.
    """
    secondary, primary = await service.update(
        session, principal, vault, beneficiary_id, secondary_id, data, version
    )
    set_etag(response, secondary.version)
    return service.to_read(secondary, primary)
