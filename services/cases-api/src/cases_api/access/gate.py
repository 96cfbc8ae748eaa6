"""Who reads what a restricted case protects: its beneficiary's identity and its notes.

A restricted case admits its assigned caseworker, and the holder of an open
break-glass grant on it; everyone else of the organisation gets `case-restricted`.
Reads admitted under a grant are audited with the grant's id. Kept apart from the
break-glass service so the identity and notes services can ask without a cycle.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.tenancy import in_callers_organisation
from cases_api.access.exceptions import CaseRestricted
from cases_api.access.models import BreakGlassGrant
from cases_api.cases.models import Case


def _open_grant_of_caller(principal: Principal, case_id: Any) -> Select[uuid.UUID]:
    """The caller's open grant on `case_id` (a value or a column); expiry is judged by
    the database's clock."""
    return select(col(BreakGlassGrant.id)).where(
        in_callers_organisation(col(BreakGlassGrant.organisation_id), principal),
        col(BreakGlassGrant.case_id) == case_id,
        col(BreakGlassGrant.holder) == principal.subject,
        col(BreakGlassGrant.closed_at).is_(None),
        col(BreakGlassGrant.expires_at) > func.now(),
    )


async def open_grant_id(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID
) -> uuid.UUID | None:
    grant_id: uuid.UUID | None = await session.scalar(_open_grant_of_caller(principal, case_id))
    return grant_id


async def admit_case(session: AsyncSession, principal: Principal, case: Case) -> uuid.UUID | None:
    """None if the caller reads the case's protected data outright, else the grant it
    is read under; `CaseRestricted` if neither."""
    if case.restricted_reason is None or case.assigned_to == principal.subject:
        return None
    grant_id = await open_grant_id(session, principal, case.id)
    if grant_id is None:
        raise CaseRestricted()
    return grant_id


async def admit_beneficiary(
    session: AsyncSession, principal: Principal, beneficiary_id: uuid.UUID
) -> list[uuid.UUID | None]:
    """The identity is restricted while any of the person's cases is: every restricted
    case must admit the caller. Returns what to audit each read under: the grants it
    needed (rarely more than one), or `[None]` when it needed none."""
    restricted = await session.scalars(
        select(Case).where(
            in_callers_organisation(col(Case.organisation_id), principal),
            col(Case.beneficiary_id) == beneficiary_id,
            col(Case.restricted_reason).is_not(None),
        )
    )
    grants = {await admit_case(session, principal, case) for case in restricted.all()}
    needed = sorted(grant for grant in grants if grant is not None)
    return [*needed] if needed else [None]


async def closed_to_caller(
    session: AsyncSession, principal: Principal, beneficiary_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of these people whose identity a restricted case closes to the caller, as
    `admit_beneficiary` judges one person, in one query (a common name matches many)."""
    if not beneficiary_ids:
        return set()
    grant_held = _open_grant_of_caller(principal, col(Case.id)).exists()
    closed = await session.scalars(
        select(col(Case.beneficiary_id))
        .distinct()
        .where(
            in_callers_organisation(col(Case.organisation_id), principal),
            col(Case.beneficiary_id).in_(beneficiary_ids),
            col(Case.restricted_reason).is_not(None),
            col(Case.assigned_to).is_distinct_from(principal.subject),
            ~grant_held,
        )
    )
    return set(closed.all())
