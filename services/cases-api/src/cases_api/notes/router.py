"""Case notes: written by case workers, read only by readers of identities, every read audited."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from baton.auth import Principal
from baton.authz import Authorize, Permission
from baton.errors import problem_responses
from baton.pagination import Page, PageParams, page_of, page_params
from baton.tenancy import TenantSessionDep
from cases_api.beneficiaries.exceptions import IdentityErased
from cases_api.cases.exceptions import CaseNotFound
from cases_api.notes import service
from cases_api.notes.exceptions import NoteNotFound
from cases_api.notes.schemas import NoteCategory, NoteCreate, NoteCreated, NoteRead
from cases_api.protection import (
    IdentityVault,
    ProtectedDataCorrupt,
    ProtectedDataUnavailable,
    get_vault,
)
from cases_api.vocabulary import AccessPurpose

CaseWriter = Annotated[Principal, Authorize(Permission.case_write)]
IdentityReader = Annotated[Principal, Authorize(Permission.case_read_identity)]
Vault = Annotated[IdentityVault, Depends(get_vault)]
Purpose = Annotated[
    AccessPurpose, Query(description="Why the notes are read; recorded in the audit log")
]
IDENTITY_ERRORS = (ProtectedDataUnavailable, ProtectedDataCorrupt)

router = APIRouter(prefix="/v1/cases/{case_id}/notes", tags=["notes"])


@router.post(
    "",
    status_code=201,
    response_model=NoteCreated,
    responses=problem_responses(CaseNotFound, IdentityErased, *IDENTITY_ERRORS),
)
async def write_note(
    case_id: uuid.UUID,
    data: NoteCreate,
    session: TenantSessionDep,
    principal: CaseWriter,
    vault: Vault,
) -> NoteCreated:
    """Add a note to the case, stored encrypted; the answer never repeats the text.

    Notes are never edited or deleted: correct one by writing another.
    """
    return NoteCreated.model_validate(await service.write(session, principal, vault, case_id, data))


@router.get(
    "",
    response_model=Page[NoteRead],
    responses=problem_responses(CaseNotFound, IdentityErased, *IDENTITY_ERRORS),
)
async def list_notes(
    case_id: uuid.UUID,
    session: TenantSessionDep,
    principal: IdentityReader,
    vault: Vault,
    purpose: Purpose,
    params: Annotated[PageParams, Depends(page_params)],
    category: Annotated[NoteCategory | None, Query()] = None,
) -> Page[NoteRead]:
    """The case's notes, oldest first, decrypted; each note returned is an audited read."""
    rows, reads = await service.read_page(
        session, principal, vault, case_id, params, purpose, category
    )
    return page_of(rows, params, reads)


@router.get(
    "/{note_id}",
    response_model=NoteRead,
    responses=problem_responses(CaseNotFound, NoteNotFound, IdentityErased, *IDENTITY_ERRORS),
)
async def read_note(
    case_id: uuid.UUID,
    note_id: uuid.UUID,
    session: TenantSessionDep,
    principal: IdentityReader,
    vault: Vault,
    purpose: Purpose,
) -> NoteRead:
    """One note, decrypted; the read is written to the audit log with its purpose."""
    return await service.read_one(session, principal, vault, case_id, note_id, purpose)
