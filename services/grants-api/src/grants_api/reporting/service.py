"""Reporting requirements of a grant and the reports submitted against them.

The managing donor sets what is owed (an interim and a final report come with the
award, more may be added) and reviews what arrives: accepts it, or sends it back
with a comment. The recipient NGO submits; every party of the grant reads.

A requirement is stored `due`, `submitted`, `accepted` or `revision_requested`;
it shows `overdue` while due or sent back and past its `due_on` (UTC). Every
submission is kept, so a report sent back and submitted again shows both.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.concurrency import check_version
from baton.db import utcnow
from baton.pagination import PageParams, paginate
from grants_api.access import party, require_manager, require_recipient, visible_grant
from grants_api.exceptions import GrantNotInStatus
from grants_api.grants.models import Grant
from grants_api.reporting.exceptions import (
    RequirementAccepted,
    RequirementNotFound,
    RequirementNotOpen,
    RequirementNotSubmitted,
)
from grants_api.reporting.models import ReportingRequirement, ReportSubmission
from grants_api.reporting.schemas import (
    ComplianceItem,
    ReportingCompliance,
    RequirementCreate,
    RequirementRead,
    RequirementUpdate,
    SubmissionCreate,
)
from grants_api.screening import screen
from grants_api.vocabulary import GrantStatus, RequirementStatus

# Stored states in which the recipient may (still, or again) submit.
OPEN = frozenset({RequirementStatus.due, RequirementStatus.revision_requested})
# Grants that take new requirements: awarded and not yet finished.
REQUIRING = frozenset({GrantStatus.awarded, GrantStatus.active})
REVIEW_OUTCOMES = frozenset({RequirementStatus.accepted, RequirementStatus.revision_requested})


def today_utc() -> date:
    return utcnow().date()


def shown_status(stored: str, due_on: date, today: date) -> RequirementStatus:
    """The status a requirement shows: its stored one, or `overdue`."""
    status = RequirementStatus(stored)
    if status in OPEN and due_on < today:
        return RequirementStatus.overdue
    return status


def shows(status: RequirementStatus, today: date) -> sa.ColumnElement[bool]:
    """SQL for "the requirement shows `status` today" (as `shown_status` says)."""
    stored = col(ReportingRequirement.status)
    due_on = col(ReportingRequirement.due_on)
    if status == RequirementStatus.overdue:
        return sa.and_(stored.in_(OPEN), due_on < today)
    if status in OPEN:
        return sa.and_(stored == status, due_on >= today)
    return stored == status


def was_late(due_on: date, first_submitted_at: datetime | None) -> bool:
    """Whether the first report came after the day it was due (UTC)."""
    return first_submitted_at is not None and first_submitted_at.astimezone(UTC).date() > due_on


async def first_submissions(
    session: AsyncSession, requirement_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, datetime]:
    """When the first report of each requirement came (those with none are absent)."""
    if not requirement_ids:
        return {}
    rows = await session.execute(
        select(col(ReportSubmission.requirement_id), func.min(col(ReportSubmission.submitted_at)))
        .where(col(ReportSubmission.requirement_id).in_(requirement_ids))
        .group_by(col(ReportSubmission.requirement_id))
    )
    return dict(rows.all())


async def to_reads(
    session: AsyncSession, requirements: Sequence[ReportingRequirement]
) -> list[RequirementRead]:
    today = today_utc()
    firsts = await first_submissions(session, [r.id for r in requirements])
    return [
        RequirementRead(
            **r.model_dump(exclude={"status"}),
            status=shown_status(r.status, r.due_on, today),
            submitted_late=was_late(r.due_on, firsts.get(r.id)),
        )
        for r in requirements
    ]


async def to_read(session: AsyncSession, requirement: ReportingRequirement) -> RequirementRead:
    return (await to_reads(session, [requirement]))[0]


async def _requirement(
    session: AsyncSession, grant: Grant, requirement_id: uuid.UUID, *, lock: bool = False
) -> ReportingRequirement:
    query = select(ReportingRequirement).where(
        col(ReportingRequirement.id) == requirement_id,
        col(ReportingRequirement.grant_id) == grant.id,
    )
    if lock:
        query = query.with_for_update()
    requirement = await session.scalar(query)
    if requirement is None:
        raise RequirementNotFound()
    return requirement


async def _to_change(
    session: AsyncSession,
    principal: Principal,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    version: int,
    require: Callable[[Grant, Principal], None],
) -> ReportingRequirement:
    """The requirement, locked, if the caller's organisation plays the part `require`
    checks in the grant and the requirement is still at `version` (If-Match)."""
    grant = await visible_grant(session, principal, grant_id)
    require(grant, principal)
    requirement = await _requirement(session, grant, requirement_id, lock=True)
    check_version(version, requirement.version)
    return requirement


async def list_for_grant(
    session: AsyncSession, principal: Principal, grant_id: uuid.UUID, params: PageParams
) -> Sequence[ReportingRequirement]:
    grant = await visible_grant(session, principal, grant_id)
    query = select(ReportingRequirement).where(col(ReportingRequirement.grant_id) == grant.id)
    return (await session.scalars(_paginated(query, params))).all()


async def get(
    session: AsyncSession, principal: Principal, grant_id: uuid.UUID, requirement_id: uuid.UUID
) -> ReportingRequirement:
    grant = await visible_grant(session, principal, grant_id)
    return await _requirement(session, grant, requirement_id)


async def create(
    session: AsyncSession, principal: Principal, grant_id: uuid.UUID, data: RequirementCreate
) -> ReportingRequirement:
    grant = await visible_grant(session, principal, grant_id, lock=True)
    require_manager(grant, principal)
    if grant.status not in REQUIRING:
        raise GrantNotInStatus(
            f"The grant is {grant.status}; reporting is required of awarded or active grants."
        )
    requirement = ReportingRequirement(
        grant_id=grant.id, kind=data.kind, due_on=data.due_on, status=RequirementStatus.due
    )
    session.add(requirement)
    await session.flush()
    return requirement


async def change_due_on(
    session: AsyncSession,
    principal: Principal,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    data: RequirementUpdate,
    version: int,
) -> ReportingRequirement:
    requirement = await _to_change(
        session, principal, grant_id, requirement_id, version, require_manager
    )
    if requirement.status == RequirementStatus.accepted:
        raise RequirementAccepted("The report was accepted: its due date stays as it was.")
    if requirement.due_on != data.due_on:
        requirement.due_on = data.due_on
        requirement.version += 1
        await session.flush()
    return requirement


async def submit(
    session: AsyncSession,
    principal: Principal,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    data: SubmissionCreate,
    version: int,
) -> ReportingRequirement:
    requirement = await _to_change(
        session, principal, grant_id, requirement_id, version, require_recipient
    )
    if requirement.status not in OPEN:
        raise RequirementNotOpen(
            f"The requirement is {requirement.status}; a report is submitted while it is "
            "due or sent back for revision."
        )
    screen({"narrative": data.narrative})
    now = utcnow()
    session.add(
        ReportSubmission(
            requirement_id=requirement.id,
            grant_id=requirement.grant_id,
            period_start=data.period_start,
            period_end=data.period_end,
            narrative=data.narrative,
            figures=data.figures,
            submitted_by=principal.subject,
            submitted_at=now,
        )
    )
    # The latest review stays readable: it says what this submission answers.
    requirement.status = RequirementStatus.submitted
    requirement.submitted_at = now
    requirement.version += 1
    await session.flush()
    return requirement


async def submissions(
    session: AsyncSession,
    principal: Principal,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    params: PageParams,
) -> Sequence[ReportSubmission]:
    """The requirement's submissions, oldest first (paged on `submitted_at`, `id`)."""
    grant = await visible_grant(session, principal, grant_id)
    requirement = await _requirement(session, grant, requirement_id)
    query = select(ReportSubmission).where(col(ReportSubmission.requirement_id) == requirement.id)
    return (
        await session.scalars(
            paginate(query, params, col(ReportSubmission.submitted_at), col(ReportSubmission.id))
        )
    ).all()


async def review(
    session: AsyncSession,
    principal: Principal,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    outcome: RequirementStatus,
    comment: str | None,
    version: int,
) -> ReportingRequirement:
    """Accept the submitted report, or send it back (`revision_requested`) with a comment."""
    assert outcome in REVIEW_OUTCOMES
    requirement = await _to_change(
        session, principal, grant_id, requirement_id, version, require_manager
    )
    if requirement.status != RequirementStatus.submitted:
        shown = shown_status(requirement.status, requirement.due_on, today_utc())
        raise RequirementNotSubmitted(
            f"The requirement is {shown}; a report is reviewed once it is submitted."
        )
    screen({"comment": comment})
    requirement.status = outcome
    requirement.reviewed_at = utcnow()
    requirement.reviewed_by = principal.subject
    requirement.review_comment = comment
    requirement.version += 1
    await session.flush()
    return requirement


async def list_for(
    session: AsyncSession,
    principal: Principal,
    params: PageParams,
    *,
    status: RequirementStatus | None = None,
    due_before: date | None = None,
    grant_id: uuid.UUID | None = None,
) -> Sequence[ReportingRequirement]:
    """Requirements of every grant the caller's organisation is a party of, oldest first."""
    query = (
        select(ReportingRequirement)
        .join(Grant, col(Grant.id) == col(ReportingRequirement.grant_id))
        .where(party(col(Grant.party_organisation_ids), principal))
    )
    if status is not None:
        query = query.where(shows(status, today_utc()))
    if due_before is not None:
        query = query.where(col(ReportingRequirement.due_on) < due_before)
    if grant_id is not None:
        query = query.where(col(ReportingRequirement.grant_id) == grant_id)
    return (await session.scalars(_paginated(query, params))).all()


def _paginated(query: sa.Select[ReportingRequirement], params: PageParams) -> sa.Select[Any]:
    return paginate(
        query, params, col(ReportingRequirement.created_at), col(ReportingRequirement.id)
    )


async def compliance(
    session: AsyncSession, grant_ids: Sequence[uuid.UUID], today: date
) -> ReportingCompliance:
    """Where the reporting of `grant_ids` stands on `today`: one item per requirement
    (earliest due first) and the counts by the status each shows then.

    For the donor reports. It checks no access: the caller passes grants it has
    already found visible (row-level security still applies to the session).
    `submitted_late` counts requirements whose first report came after `due_on`,
    whatever their status now.
    """
    rows: Sequence[sa.Row[ReportingRequirement, str]] = []
    if grant_ids:
        rows = (
            await session.execute(
                select(ReportingRequirement, col(Grant.identifier))
                .join(Grant, col(Grant.id) == col(ReportingRequirement.grant_id))
                .where(col(ReportingRequirement.grant_id).in_(grant_ids))
                .order_by(
                    col(ReportingRequirement.due_on),
                    col(ReportingRequirement.created_at),
                    col(ReportingRequirement.id),
                )
            )
        ).all()
    firsts = await first_submissions(session, [r.id for r, _ in rows])
    items = [
        ComplianceItem(
            requirement_id=r.id,
            grant_id=r.grant_id,
            grant_identifier=identifier,
            kind=r.kind,
            due_on=r.due_on,
            status=shown_status(r.status, r.due_on, today),
            submitted_at=r.submitted_at,
            first_submitted_at=firsts.get(r.id),
            submitted_late=was_late(r.due_on, firsts.get(r.id)),
        )
        for r, identifier in rows
    ]
    by_status = {
        status: sum(1 for i in items if i.status == status) for status in RequirementStatus
    }
    return ReportingCompliance(
        requirements=len(items),
        accepted=by_status[RequirementStatus.accepted],
        submitted=by_status[RequirementStatus.submitted],
        due=by_status[RequirementStatus.due],
        overdue=by_status[RequirementStatus.overdue],
        revision_requested=by_status[RequirementStatus.revision_requested],
        submitted_late=sum(1 for i in items if i.submitted_late),
        items=items,
    )
