"""A grant's life: `award`, `activate`, `close`, `terminate`, each by the managing donor.

draft → awarded → active → closed; awarded or active → terminated (with a reason).
The award makes the amount binding, fixes the funders' shares and sets the default
reporting requirements (an interim and a final report).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from baton.auth import Principal
from baton.concurrency import check_version
from baton.db import utcnow
from grants_api.access import require_manager, visible_grant
from grants_api.config import GrantsSettings
from grants_api.exceptions import GrantNotInStatus
from grants_api.grants import service
from grants_api.grants.exceptions import AwardAmountRequired
from grants_api.grants.models import Grant
from grants_api.grants.schemas import (
    ActivateRequest,
    AwardRequest,
    CloseRequest,
    TerminateRequest,
)
from grants_api.reporting.defaults import create_default_requirements
from grants_api.screening import screen
from grants_api.vocabulary import GrantStatus


async def _step(
    session: AsyncSession,
    principal: Principal,
    grant_id: uuid.UUID,
    version: int,
    allowed_from: Collection[GrantStatus],
    action: str,
) -> Grant:
    grant = await visible_grant(session, principal, grant_id, lock=True)
    require_manager(grant, principal)
    check_version(version, grant.version)
    if grant.status not in allowed_from:
        raise GrantNotInStatus(
            f"The grant is {grant.status}; `{action}` needs it "
            + " or ".join(sorted(allowed_from))
            + "."
        )
    return grant


def _advance(grant: Grant, status: GrantStatus) -> None:
    now = utcnow()
    grant.status = status
    grant.version += 1
    grant.updated_at = now
    if status in service.FINISHED:
        grant.closed_at = now


async def _advance_dated(session: AsyncSession, grant: Grant, status: GrantStatus) -> Grant:
    """Move the grant whose actual dates the step set on to `status`, if the dates hold."""
    service.check_dates(grant)
    _advance(grant, status)
    await session.flush()
    return grant


async def award(
    session: AsyncSession,
    principal: Principal,
    settings: GrantsSettings,
    grant_id: uuid.UUID,
    data: AwardRequest,
    version: int,
) -> Grant:
    grant = await _step(session, principal, grant_id, version, {GrantStatus.draft}, "award")
    if data.amount_awarded is not None:
        grant.amount_awarded = data.amount_awarded
    if grant.amount_awarded is None:
        raise AwardAmountRequired("Give `amount_awarded` (here or in the draft).")
    grant.award_date = data.award_date
    await service.sync_funders(session, grant, await service.co_funders_of(session, grant))
    _advance(grant, GrantStatus.awarded)
    await create_default_requirements(session, settings, grant)
    await session.flush()
    return grant


async def activate(
    session: AsyncSession,
    principal: Principal,
    grant_id: uuid.UUID,
    data: ActivateRequest,
    version: int,
) -> Grant:
    grant = await _step(session, principal, grant_id, version, {GrantStatus.awarded}, "activate")
    grant.actual_start = data.actual_start or grant.planned_start
    return await _advance_dated(session, grant, GrantStatus.active)


async def close(
    session: AsyncSession,
    principal: Principal,
    grant_id: uuid.UUID,
    data: CloseRequest,
    version: int,
) -> Grant:
    grant = await _step(session, principal, grant_id, version, {GrantStatus.active}, "close")
    grant.actual_end = data.actual_end or grant.planned_end
    return await _advance_dated(session, grant, GrantStatus.closed)


async def terminate(
    session: AsyncSession,
    principal: Principal,
    grant_id: uuid.UUID,
    data: TerminateRequest,
    version: int,
) -> Grant:
    allowed = {GrantStatus.awarded, GrantStatus.active}
    grant = await _step(session, principal, grant_id, version, allowed, "terminate")
    screen({"reason": data.reason})
    before: dict[str, Any] = {"status": grant.status, "actual_end": grant.actual_end}
    grant.actual_end = data.actual_end or utcnow().date()
    if grant.actual_start is None or grant.actual_end < grant.actual_start:
        grant.actual_start = min(grant.planned_start, grant.actual_end)
    await _advance_dated(session, grant, GrantStatus.terminated)
    changes = {
        "status": {"before": before["status"], "after": GrantStatus.terminated.value},
        "actual_end": {
            "before": _iso(before["actual_end"]),
            "after": _iso(grant.actual_end),
        },
    }
    await service.record_amendment(session, principal, grant, data.reason, changes)
    return grant


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
