"""The audit log for auditors: their organisation's events (the platform's: all)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from baton.auth import Principal
from baton.authz import Authorize, Permission
from baton.db import SessionDep
from baton.pagination import MAX_PAGE_SIZE, InvalidCursor
from cases_api.audit import service
from cases_api.audit.schemas import AuditEventPage, AuditEventRead

AuditReader = Annotated[Principal, Authorize(Permission.audit_read)]

router = APIRouter(prefix="/v1/audit-events", tags=["audit"])


def _after(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        value = int(cursor, 16)
    except ValueError as exc:
        raise InvalidCursor("The cursor is not one this API issued.") from exc
    if value < 0:
        raise InvalidCursor("The cursor is not one this API issued.")
    return value


@router.get("", response_model=AuditEventPage)
async def list_audit_events(
    session: SessionDep,
    principal: AuditReader,
    resource_id: Annotated[uuid.UUID | None, Query()] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    break_glass: Annotated[
        bool | None, Query(description="true: only what was done under break-glass access")
    ] = None,
    break_glass_id: Annotated[
        uuid.UUID | None, Query(description="Only what was done under this break-glass grant")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> AuditEventPage:
    """Who read or changed what, when, why, under which request id; oldest first."""
    rows = await service.list_events(
        session,
        principal,
        after_sequence=_after(cursor),
        limit=limit,
        resource_id=resource_id,
        action=action,
        break_glass=break_glass,
        break_glass_id=break_glass_id,
    )
    items = [
        AuditEventRead.model_validate({**row.model_dump(), "hash": row.hash.hex()})
        for row in rows[:limit]
    ]
    next_cursor = format(rows[limit - 1].sequence, "x") if len(rows) > limit else None
    return AuditEventPage(items=items, next_cursor=next_cursor)
