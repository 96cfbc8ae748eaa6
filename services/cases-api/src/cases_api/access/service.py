"""Restricting a case, and break-glass: one case manager's emergency access to one case.

A grant is opened for its caller on one case of the caller's organisation, for at
most four hours, and ends by itself: whether it is open is asked of the database's
clock at every read (`gate.open_grant_id`), so nothing has to run to close it.
Opening, closing and every read under it are in the audit log with the grant's id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.authz import Permission, permissions_of
from baton.concurrency import check_version
from baton.db import utcnow
from baton.pagination import PageParams, paginate
from baton.tenancy import get_owned, in_callers_organisation
from cases_api.access import gate
from cases_api.access.exceptions import (
    BreakGlassAlreadyOpen,
    BreakGlassEnded,
    BreakGlassNotFound,
    BreakGlassNotHeld,
    CaseNotRestricted,
    CaseRestricted,
)
from cases_api.access.models import BreakGlassGrant
from cases_api.access.schemas import BreakGlassOpen, BreakGlassRead, GrantState, RestrictionChange
from cases_api.audit import service as audit
from cases_api.beneficiaries import service as beneficiary_service
from cases_api.cases import service as case_service
from cases_api.cases.models import Case
from cases_api.protection import IdentityVault

BREAK_GLASS = "break-glass"


async def restrict(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    data: RestrictionChange,
    version: int,
) -> Case:
    """Restrict the case (a reason) or lift its restriction (none). Closed cases too:
    what they hold stays as sensitive after closure."""
    case = await case_service.get(session, principal, case_id, lock=True)
    check_version(version, case.version)
    case.restricted_reason = data.reason
    case.restricted_by = principal.subject if data.reason is not None else None
    case.restricted_at = utcnow() if data.reason is not None else None
    case.version += 1
    case.updated_at = utcnow()
    await audit.record(
        session,
        principal,
        organisation_id=case.organisation_id,
        action="case.restrict" if data.reason is not None else "case.unrestrict",
        resource_type="case",
        resource_id=case.id,
        purpose=data.reason,
    )
    await session.flush()
    return case


def state_of(grant: BreakGlassGrant, now: datetime) -> GrantState:
    if grant.closed_at is not None:
        return GrantState.closed
    return GrantState.open if grant.expires_at > now else GrantState.expired


def to_read(
    grant: BreakGlassGrant, now: datetime, justification: str | None = None
) -> BreakGlassRead:
    return BreakGlassRead.model_validate(
        {**grant.model_dump(), "state": state_of(grant, now), "justification": justification}
    )


async def _database_now(session: AsyncSession) -> datetime:
    now: datetime = (await session.execute(select(func.now()))).scalar_one()
    return now


async def open_grant(
    session: AsyncSession,
    principal: Principal,
    vault: IdentityVault,
    case_id: uuid.UUID,
    data: BreakGlassOpen,
) -> tuple[BreakGlassGrant, datetime]:
    # Locked: two opens by one caller at once cannot both find no open grant.
    case = await case_service.get(session, principal, case_id, lock=True)
    if case.restricted_reason is None:
        raise CaseNotRestricted("Break-glass opens restricted cases only; this one is not.")
    existing = await gate.open_grant_id(session, principal, case.id)
    if existing is not None:
        raise BreakGlassAlreadyOpen(
            f"Grant {existing} is still open; close it first to open another."
        )
    beneficiary = await beneficiary_service.get(session, principal, case.beneficiary_id, lock=True)
    data_key = await beneficiary_service.sealing_key(session, vault, beneficiary)
    now = await _database_now(session)
    grant = BreakGlassGrant(
        organisation_id=case.organisation_id,
        case_id=case.id,
        holder=principal.subject,
        ciphertext=b"",
        duration_minutes=data.duration_minutes,
        opened_at=now,
        expires_at=now + timedelta(minutes=data.duration_minutes),
    )
    grant.ciphertext = vault.seal(
        data_key, BREAK_GLASS, grant.id, grant.organisation_id, {"text": data.justification}
    )
    session.add(grant)
    await session.flush()
    await audit.record(
        session,
        principal,
        organisation_id=grant.organisation_id,
        action="break_glass.open",
        resource_type="case",
        resource_id=case.id,
        break_glass_id=grant.id,
    )
    return grant, now


async def close_grant(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, grant_id: uuid.UUID
) -> None:
    await case_service.get(session, principal, case_id)
    grant = await get_owned(
        session,
        BreakGlassGrant,
        principal,
        BreakGlassNotFound(),
        lock=True,
        id=grant_id,
        case_id=case_id,
    )
    if grant.holder != principal.subject:
        raise BreakGlassNotHeld("Break-glass access ends by itself, or by its holder.")
    now = await _database_now(session)
    if state_of(grant, now) is not GrantState.open:
        raise BreakGlassEnded()
    grant.closed_at = now
    await audit.record(
        session,
        principal,
        organisation_id=grant.organisation_id,
        action="break_glass.close",
        resource_type="case",
        resource_id=case_id,
        break_glass_id=grant.id,
    )
    await session.flush()


async def list_grants(
    session: AsyncSession,
    principal: Principal,
    vault: IdentityVault,
    case_id: uuid.UUID,
    params: PageParams,
) -> tuple[Sequence[BreakGlassGrant], list[BreakGlassRead]]:
    """The case's grants, oldest first. Justifications may name the person: they are
    opened only for whom may read the case's protected data now, each read audited."""
    case = await case_service.get(session, principal, case_id)
    query = select(BreakGlassGrant).where(
        in_callers_organisation(col(BreakGlassGrant.organisation_id), principal),
        col(BreakGlassGrant.case_id) == case.id,
    )
    rows = (
        await session.scalars(
            paginate(query, params, col(BreakGlassGrant.opened_at), col(BreakGlassGrant.id))
        )
    ).all()
    now = await _database_now(session)
    returned = rows[: params.limit]
    beneficiary = await beneficiary_service.get(session, principal, case.beneficiary_id)
    # After erasure the justifications went with the key: the grants themselves stay.
    if (
        not returned
        or beneficiary.erased_at is not None
        or not await _reads_protected(session, principal, case)
    ):
        return rows, [to_read(grant, now) for grant in returned]
    data_key = await beneficiary_service.opening_key(session, vault, beneficiary)
    reads = []
    for grant in returned:
        document = vault.open(
            data_key, BREAK_GLASS, grant.id, grant.organisation_id, grant.ciphertext
        )
        await audit.record(
            session,
            principal,
            organisation_id=grant.organisation_id,
            action="break_glass.justification_read",
            resource_type="case",
            resource_id=case.id,
            break_glass_id=grant.id,
        )
        reads.append(to_read(grant, now, document["text"]))
    return rows, reads


async def _reads_protected(session: AsyncSession, principal: Principal, case: Case) -> bool:
    if Permission.case_read_identity not in permissions_of(principal):
        return False
    try:
        await gate.admit_case(session, principal, case)
    except CaseRestricted:
        return False
    return True
