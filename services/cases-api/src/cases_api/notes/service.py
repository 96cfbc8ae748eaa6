"""Case notes: what was said and seen, sealed with the beneficiary's data key.

Notes are append-only; a correction is a new note. The file is a record of what
was known when: whoever reads it later (a review after re-trafficking, a court,
the person asking for their data) must see what was written that day and what
was corrected afterwards, not a text that quietly became another. Each note is
bound to its own id, so a ciphertext moved onto another note does not open;
erasing the beneficiary's identity destroys the key, and with it every note.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.pagination import PageParams, paginate
from baton.tenancy import get_owned, in_callers_organisation
from cases_api.access import gate as access_gate
from cases_api.audit import service as audit
from cases_api.beneficiaries import service as beneficiary_service
from cases_api.beneficiaries.exceptions import IdentityErased
from cases_api.beneficiaries.models import Beneficiary
from cases_api.cases import service as case_service
from cases_api.notes.exceptions import NoteNotFound
from cases_api.notes.models import CaseNote
from cases_api.notes.schemas import NoteCategory, NoteCreate, NoteRead
from cases_api.protection import IdentityVault
from cases_api.vocabulary import AccessPurpose

CASE_NOTE = "case-note"


async def _beneficiary_of(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, *, lock: bool = False
) -> Beneficiary:
    case = await case_service.get(session, principal, case_id)
    return await beneficiary_service.get(session, principal, case.beneficiary_id, lock=lock)


async def _readable(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID
) -> tuple[Beneficiary, uuid.UUID | None]:
    """The case's beneficiary, if the caller may read its notes (a restricted case admits
    its caseworker and break-glass holders), and the grant the reads are made under."""
    case = await case_service.get(session, principal, case_id)
    grant_id = await access_gate.admit_case(session, principal, case)
    return await beneficiary_service.get(session, principal, case.beneficiary_id), grant_id


async def _read(
    session: AsyncSession,
    principal: Principal,
    vault: IdentityVault,
    data_key: bytes,
    note: CaseNote,
    purpose: AccessPurpose,
    break_glass_id: uuid.UUID | None,
) -> NoteRead:
    document = vault.open(data_key, CASE_NOTE, note.id, note.organisation_id, note.ciphertext)
    await audit.record(
        session,
        principal,
        organisation_id=note.organisation_id,
        action="note.read",
        resource_type="case_note",
        resource_id=note.id,
        purpose=purpose.value,
        break_glass_id=break_glass_id,
    )
    return NoteRead.model_validate({**note.model_dump(), "text": document["text"]})


async def write(
    session: AsyncSession,
    principal: Principal,
    vault: IdentityVault,
    case_id: uuid.UUID,
    data: NoteCreate,
) -> CaseNote:
    # Locked: an erasure cannot slip in between, nor two data keys be made.
    beneficiary = await _beneficiary_of(session, principal, case_id, lock=True)
    data_key = await beneficiary_service.sealing_key(session, vault, beneficiary)
    note = CaseNote(
        organisation_id=beneficiary.organisation_id,
        case_id=case_id,
        beneficiary_id=beneficiary.id,
        author=principal.subject,
        category=data.category,
        ciphertext=b"",
    )
    note.ciphertext = vault.seal(
        data_key, CASE_NOTE, note.id, note.organisation_id, {"text": data.text}
    )
    session.add(note)
    await session.flush()
    await audit.record(
        session,
        principal,
        organisation_id=note.organisation_id,
        action="note.create",
        resource_type="case_note",
        resource_id=note.id,
    )
    return note


async def read_page(
    session: AsyncSession,
    principal: Principal,
    vault: IdentityVault,
    case_id: uuid.UUID,
    params: PageParams,
    purpose: AccessPurpose,
    category: NoteCategory | None = None,
) -> tuple[Sequence[CaseNote], list[NoteRead]]:
    """A page of notes, decrypted; one audit event per note returned."""
    beneficiary, grant_id = await _readable(session, principal, case_id)
    if beneficiary.erased_at is not None:
        raise IdentityErased()
    query = select(CaseNote).where(
        col(CaseNote.case_id) == case_id,
        in_callers_organisation(col(CaseNote.organisation_id), principal),
    )
    if category is not None:
        query = query.where(col(CaseNote.category) == category)
    rows = (
        await session.scalars(paginate(query, params, col(CaseNote.created_at), col(CaseNote.id)))
    ).all()
    # The extra row only tells whether a next page exists: it is not read, nor audited.
    returned = rows[: params.limit]
    if not returned:
        return rows, []
    data_key = await beneficiary_service.opening_key(session, vault, beneficiary)
    reads = [
        await _read(session, principal, vault, data_key, note, purpose, grant_id)
        for note in returned
    ]
    return rows, reads


async def read_one(
    session: AsyncSession,
    principal: Principal,
    vault: IdentityVault,
    case_id: uuid.UUID,
    note_id: uuid.UUID,
    purpose: AccessPurpose,
) -> NoteRead:
    beneficiary, grant_id = await _readable(session, principal, case_id)
    note = await get_owned(
        session, CaseNote, principal, NoteNotFound(), id=note_id, case_id=case_id
    )
    data_key = await beneficiary_service.opening_key(session, vault, beneficiary)
    return await _read(session, principal, vault, data_key, note, purpose, grant_id)
