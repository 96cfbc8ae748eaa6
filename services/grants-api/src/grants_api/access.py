"""Who may see and do what with a grant: its parties, checked on the object.

A grant is visible to its recipient NGO and to each funder; anyone else gets the
same 404 as for a grant that does not exist. Among the parties, the managing donor
changes the grant and its money, the recipient reports on it, co-funders read.
Row-level security holds the same line underneath.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.authz import Authorize, Forbidden, Permission
from baton.tenancy import tenant_filter
from grants_api.exceptions import GrantNotFound
from grants_api.grants.models import Grant

GrantReader = Annotated[Principal, Authorize(Permission.grant_read)]
GrantManager = Annotated[Principal, Authorize(Permission.grant_manage)]
ReportSubmitter = Annotated[Principal, Authorize(Permission.grant_report_submit)]
ReportReviewer = Annotated[Principal, Authorize(Permission.grant_report_review)]


class NotTheManagingFunder(Forbidden):
    code = "grant-not-managed-by-you"
    title = "Only the donor that manages the grant does this"


class NotTheRecipient(Forbidden):
    code = "grant-not-received-by-you"
    title = "Only the organisation that receives the grant does this"


async def visible_grant(
    session: AsyncSession, principal: Principal, grant_id: uuid.UUID, *, lock: bool = False
) -> Grant:
    """The grant if the caller's organisation is one of its parties; 404 otherwise."""
    query = select(Grant).where(
        col(Grant.id) == grant_id,
        party(col(Grant.party_organisation_ids), principal),
    )
    if lock:
        query = query.with_for_update()
    grant = await session.scalar(query)
    if grant is None:
        raise GrantNotFound()
    return grant


def party(organisations: Any, principal: Principal) -> sa.ColumnElement[bool]:
    """The caller's organisation is in this uuid[] column (as the row-level policies say)."""
    return tenant_filter(sa.literal(principal.org_id, sa.Uuid) == sa.any_(organisations))


def require_manager(grant: Grant, principal: Principal) -> None:
    if grant.managing_organisation_id != principal.org_id:
        raise NotTheManagingFunder()


def require_recipient(grant: Grant, principal: Principal) -> None:
    if grant.recipient_organisation_id != principal.org_id:
        raise NotTheRecipient()


def is_funder(grant: Grant, principal: Principal) -> bool:
    return principal.org_id != grant.recipient_organisation_id and (
        principal.org_id in grant.party_organisation_ids
    )
