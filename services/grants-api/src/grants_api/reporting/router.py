"""HTTP endpoints of the reporting: what a grant owes, the reports sent, their review.

Every party of a grant reads its requirements and reports; the managing donor
adds requirements, moves due dates and reviews; the recipient NGO submits.
A stranger's grant is 404, as a missing one. Steps carry `If-Match` (the
requirement's ETag) and honour `Idempotency-Key`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from baton import idempotency
from baton.auth import Principal
from baton.concurrency import IfMatch, PreconditionFailed, PreconditionRequired, set_etag
from baton.errors import BatonError, problem_responses
from baton.pagination import Page, page_of
from baton.tenancy import TenantSessionDep
from grants_api.access import (
    GrantManager,
    GrantReader,
    NotTheManagingFunder,
    NotTheRecipient,
    ReportReviewer,
    ReportSubmitter,
)
from grants_api.dependencies import Params
from grants_api.exceptions import GrantNotFound, GrantNotInStatus, IdentifierInText
from grants_api.idempotent import answer_once
from grants_api.reporting import service
from grants_api.reporting.exceptions import (
    RequirementAccepted,
    RequirementNotFound,
    RequirementNotOpen,
    RequirementNotSubmitted,
)
from grants_api.reporting.models import ReportingRequirement
from grants_api.reporting.schemas import (
    AcceptRequest,
    RequirementCreate,
    RequirementRead,
    RequirementUpdate,
    RevisionRequest,
    SubmissionCreate,
    SubmissionRead,
)
from grants_api.vocabulary import RequirementStatus

router = APIRouter(prefix="/v1", tags=["reporting"])

REQUIREMENTS = "/grants/{grant_id}/reporting-requirements"
REQUIREMENT = REQUIREMENTS + "/{requirement_id}"
# Tuples, each documented with one `problem_responses` call per route.
WRITE_ERRORS: tuple[type[BatonError], ...] = (
    GrantNotFound,
    RequirementNotFound,
    PreconditionRequired,
    PreconditionFailed,
)
REVIEW_ERRORS: tuple[type[BatonError], ...] = (
    *WRITE_ERRORS,
    NotTheManagingFunder,
    RequirementNotSubmitted,
    IdentifierInText,
    *idempotency.IDEMPOTENCY_ERRORS,
)


@dataclass
class StepCall:
    """What every step on a requirement needs besides its caller and body."""

    session: AsyncSession
    key: idempotency.RequestKey | None
    version: int
    response: Response

    async def take(
        self,
        principal: Principal,
        body: BaseModel | None,
        step: Callable[[], Awaitable[ReportingRequirement]],
    ) -> RequirementRead | Response:
        async def stepped() -> RequirementRead:
            requirement = await step()
            set_etag(self.response, requirement.version)
            return await service.to_read(self.session, requirement)

        return await answer_once(
            self.session, principal, self.key, body, stepped, response=self.response
        )

    async def review(
        self,
        principal: Principal,
        grant_id: uuid.UUID,
        requirement_id: uuid.UUID,
        body: BaseModel | None,
        outcome: RequirementStatus,
        comment: str | None,
    ) -> RequirementRead | Response:
        """Accept the submitted report or send it back (`outcome`), with `comment`."""
        return await self.take(
            principal,
            body,
            lambda: service.review(
                self.session, principal, grant_id, requirement_id, outcome, comment, self.version
            ),
        )


async def _step_call(
    session: TenantSessionDep,
    key: idempotency.IdempotencyKeyHeader,
    version: IfMatch,
    response: Response,
) -> StepCall:
    return StepCall(session, key, version, response)


Call = Annotated[StepCall, Depends(_step_call)]


@router.get(
    REQUIREMENTS,
    response_model=Page[RequirementRead],
    responses=problem_responses(GrantNotFound),
)
async def list_grant_requirements(
    grant_id: uuid.UUID, session: TenantSessionDep, principal: GrantReader, params: Params
) -> Page[RequirementRead]:
    """What the grant owes in reports, oldest first, each with its status today."""
    rows = await service.list_for_grant(session, principal, grant_id, params)
    return page_of(rows, params, await service.to_reads(session, rows[: params.limit]))


@router.post(
    REQUIREMENTS,
    status_code=201,
    response_model=RequirementRead,
    responses=problem_responses(
        GrantNotFound, NotTheManagingFunder, GrantNotInStatus, *idempotency.IDEMPOTENCY_ERRORS
    ),
)
async def create_requirement(
    grant_id: uuid.UUID,
    data: RequirementCreate,
    session: TenantSessionDep,
    principal: GrantManager,
    key: idempotency.IdempotencyKeyHeader,
    response: Response,
) -> RequirementRead | Response:
    """Ask for one more report (managing donor) of an awarded or active grant.

    The award already asks for an interim and a final report. Retry with the same
    `Idempotency-Key` to get the first response again.
    """

    async def create() -> RequirementRead:
        requirement = await service.create(session, principal, grant_id, data)
        set_etag(response, requirement.version)
        location = REQUIREMENT.format(grant_id=grant_id, requirement_id=requirement.id)
        response.headers["Location"] = router.prefix + location
        return await service.to_read(session, requirement)

    return await answer_once(session, principal, key, data, create, status=201, response=response)


@router.get(
    REQUIREMENT,
    response_model=RequirementRead,
    responses=problem_responses(GrantNotFound, RequirementNotFound),
)
async def read_requirement(
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    session: TenantSessionDep,
    principal: GrantReader,
    response: Response,
) -> RequirementRead:
    """One requirement, with the ETag its steps need in If-Match."""
    requirement = await service.get(session, principal, grant_id, requirement_id)
    set_etag(response, requirement.version)
    return await service.to_read(session, requirement)


@router.patch(
    REQUIREMENT,
    response_model=RequirementRead,
    responses=problem_responses(*WRITE_ERRORS, NotTheManagingFunder, RequirementAccepted),
)
async def change_requirement(
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    data: RequirementUpdate,
    session: TenantSessionDep,
    principal: GrantManager,
    version: IfMatch,
    response: Response,
) -> RequirementRead:
    """Move the due date (managing donor), until the report is accepted."""
    requirement = await service.change_due_on(
        session, principal, grant_id, requirement_id, data, version
    )
    set_etag(response, requirement.version)
    return await service.to_read(session, requirement)


@router.post(
    REQUIREMENT + "/submissions",
    response_model=RequirementRead,
    responses=problem_responses(
        *WRITE_ERRORS,
        NotTheRecipient,
        RequirementNotOpen,
        IdentifierInText,
        *idempotency.IDEMPOTENCY_ERRORS,
    ),
)
async def submit_report(
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    data: SubmissionCreate,
    principal: ReportSubmitter,
    call: Call,
) -> RequirementRead | Response:
    """Submit the report (recipient NGO) while it is due or sent back for revision.

    The narrative tells the work and its results and is refused if it seems to hold
    a personal identifier (422 `identifier-in-text`, naming the kind found);
    `figures` are aggregates only (non-negative numbers under snake_case names).
    Answers the requirement, now `submitted`, with its new ETag.
    """
    return await call.take(
        principal,
        data,
        lambda: service.submit(
            call.session, principal, grant_id, requirement_id, data, call.version
        ),
    )


@router.get(
    REQUIREMENT + "/submissions",
    response_model=Page[SubmissionRead],
    responses=problem_responses(GrantNotFound, RequirementNotFound),
)
async def list_submissions(
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    session: TenantSessionDep,
    principal: GrantReader,
    params: Params,
) -> Page[SubmissionRead]:
    """Every report submitted against the requirement, oldest first."""
    rows = await service.submissions(session, principal, grant_id, requirement_id, params)
    items = [SubmissionRead.model_validate(row) for row in rows]
    return page_of(rows, params, items, ordered_by="submitted_at")


@router.post(
    REQUIREMENT + "/accept",
    response_model=RequirementRead,
    responses=problem_responses(*REVIEW_ERRORS),
)
async def accept_report(
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    principal: ReportReviewer,
    call: Call,
    data: AcceptRequest | None = None,
) -> RequirementRead | Response:
    """Accept the submitted report (managing donor), with an optional comment."""
    comment = data.comment if data is not None else None
    return await call.review(
        principal, grant_id, requirement_id, data, RequirementStatus.accepted, comment
    )


@router.post(
    REQUIREMENT + "/request-revision",
    response_model=RequirementRead,
    responses=problem_responses(*REVIEW_ERRORS),
)
async def request_revision(
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    data: RevisionRequest,
    principal: ReportReviewer,
    call: Call,
) -> RequirementRead | Response:
    """Send the submitted report back (managing donor), saying what it lacks (`comment`,
    required). The recipient then submits again; both submissions are kept."""
    return await call.review(
        principal,
        grant_id,
        requirement_id,
        data,
        RequirementStatus.revision_requested,
        data.comment,
    )


@router.get("/reporting-requirements", response_model=Page[RequirementRead])
async def list_requirements(
    session: TenantSessionDep,
    principal: GrantReader,
    params: Params,
    status: Annotated[
        RequirementStatus | None, Query(description="As shown: `overdue` is computed")
    ] = None,
    due_before: Annotated[date | None, Query(description="Due strictly before this day")] = None,
    grant_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[RequirementRead]:
    """The requirements of every grant your organisation funds or receives, oldest first:
    a compliance dashboard."""
    rows = await service.list_for(
        session, principal, params, status=status, due_before=due_before, grant_id=grant_id
    )
    return page_of(rows, params, await service.to_reads(session, rows[: params.limit]))
