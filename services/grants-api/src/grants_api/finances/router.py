"""HTTP endpoints of a grant's money: tranches, disbursements, budget, expenditure and
the summary. Every party of the grant reads them; the managing donor plans and pays,
the recipient NGO reports what it spent; anyone else gets 404 `grant-not-found`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from baton import idempotency
from baton.concurrency import IfMatch, PreconditionFailed, PreconditionRequired, set_etag
from baton.errors import BatonError, problem_responses
from baton.pagination import InvalidCursor, Page
from baton.tenancy import TenantSessionDep
from grants_api.access import (
    GrantManager,
    GrantReader,
    NotTheManagingFunder,
    NotTheRecipient,
    ReportSubmitter,
)
from grants_api.dependencies import Params
from grants_api.exceptions import GrantNotFound, GrantNotInStatus, IdentifierInText
from grants_api.finances import service, summary
from grants_api.finances.exceptions import (
    BudgetCategoryRepeated,
    BudgetExceedsAward,
    ConversionIncomplete,
    ConversionMismatch,
    ConversionSameCurrency,
    DisbursementAmountRequired,
    DisbursementExceedsAward,
    ExpenditureOutsideGrantPeriod,
    ExpenditurePeriodInvalid,
    TrancheDisbursed,
    TrancheNotFound,
    TranchesExceedAward,
)
from grants_api.finances.schemas import (
    BudgetRead,
    BudgetReplace,
    DisbursementCreate,
    DisbursementRead,
    ExpenditureCreate,
    ExpenditureRead,
    GrantFinances,
    TrancheCreate,
    TrancheList,
    TrancheRead,
)
from grants_api.idempotent import answer_once

router = APIRouter(prefix="/v1/grants/{grant_id}", tags=["finances"])

MANAGER_ERRORS: tuple[type[BatonError], ...] = (
    GrantNotFound,
    NotTheManagingFunder,
    GrantNotInStatus,
)


@router.get("/tranches", response_model=TrancheList, responses=problem_responses(GrantNotFound))
async def list_tranches(
    grant_id: uuid.UUID, session: TenantSessionDep, principal: GrantReader
) -> TrancheList:
    """The planned payments, by due date, each with what was disbursed against it.

    A grant has a handful of tranches, so they come whole in `items`, not in pages.
    """
    return await service.list_tranches(session, principal, grant_id)


@router.post(
    "/tranches",
    status_code=201,
    response_model=TrancheRead,
    responses=problem_responses(
        *MANAGER_ERRORS, TranchesExceedAward, IdentifierInText, *idempotency.IDEMPOTENCY_ERRORS
    ),
)
async def add_tranche(
    grant_id: uuid.UUID,
    data: TrancheCreate,
    session: TenantSessionDep,
    principal: GrantManager,
    key: idempotency.IdempotencyKeyHeader,
) -> TrancheRead | Response:
    """Plan a payment of a grant you manage (`awarded` or `active`).

    The tranches together stay within the amount awarded. Retry with the same
    `Idempotency-Key` to get the first response again.
    """
    return await answer_once(
        session,
        principal,
        key,
        data,
        lambda: service.add_tranche(session, principal, grant_id, data),
        status=201,
    )


@router.delete(
    "/tranches/{tranche_id}",
    status_code=204,
    responses=problem_responses(*MANAGER_ERRORS, TrancheNotFound, TrancheDisbursed),
)
async def remove_tranche(
    grant_id: uuid.UUID, tranche_id: uuid.UUID, session: TenantSessionDep, principal: GrantManager
) -> Response:
    """Take a planned payment off the plan; one a disbursement paid stays."""
    await service.remove_tranche(session, principal, grant_id, tranche_id)
    return Response(status_code=204)


@router.get(
    "/disbursements",
    response_model=Page[DisbursementRead],
    responses=problem_responses(GrantNotFound, InvalidCursor),
)
async def list_disbursements(
    grant_id: uuid.UUID, session: TenantSessionDep, principal: GrantReader, params: Params
) -> Page[DisbursementRead]:
    """The money paid, in the order it was recorded."""
    return await service.list_disbursements(session, principal, grant_id, params)


@router.post(
    "/disbursements",
    status_code=201,
    response_model=DisbursementRead,
    responses=problem_responses(
        *MANAGER_ERRORS,
        TrancheNotFound,
        DisbursementAmountRequired,
        ConversionIncomplete,
        ConversionSameCurrency,
        ConversionMismatch,
        DisbursementExceedsAward,
        IdentifierInText,
        *idempotency.IDEMPOTENCY_ERRORS,
    ),
)
async def add_disbursement(
    grant_id: uuid.UUID,
    data: DisbursementCreate,
    session: TenantSessionDep,
    principal: GrantManager,
    key: idempotency.IdempotencyKeyHeader,
) -> DisbursementRead | Response:
    """Record money paid on a grant you manage (`awarded` or `active`); never undone.

    A payment in another currency gives `paid_amount`, `paid_currency`,
    `exchange_rate` and `rate_date`; `amount` is then computed (rounded half-even to
    cents) or, if given, must agree to the cent. The disbursements together stay
    within the amount awarded. Retry with the same `Idempotency-Key` to get the
    first response again.
    """
    return await answer_once(
        session,
        principal,
        key,
        data,
        lambda: service.add_disbursement(session, principal, grant_id, data),
        status=201,
    )


@router.get("/budget", response_model=BudgetRead, responses=problem_responses(GrantNotFound))
async def read_budget(
    grant_id: uuid.UUID, session: TenantSessionDep, principal: GrantReader, response: Response
) -> BudgetRead:
    """The budget by category, with the ETag (`"0"` before any) a change needs in If-Match."""
    budget = await service.read_budget(session, principal, grant_id)
    set_etag(response, budget.version)
    return budget


@router.put(
    "/budget",
    response_model=BudgetRead,
    responses=problem_responses(
        *MANAGER_ERRORS,
        BudgetCategoryRepeated,
        BudgetExceedsAward,
        IdentifierInText,
        PreconditionRequired,
        PreconditionFailed,
    ),
)
async def replace_budget(
    grant_id: uuid.UUID,
    data: BudgetReplace,
    session: TenantSessionDep,
    principal: GrantManager,
    version: IfMatch,
    response: Response,
) -> BudgetRead:
    """Replace the whole budget of a grant you manage (If-Match: its ETag, `"0"` at first).

    One line per category at most; the lines together stay within the amount
    awarded. Closed and terminated grants keep theirs.
    """
    budget = await service.replace_budget(session, principal, grant_id, data, version)
    set_etag(response, budget.version)
    return budget


@router.get(
    "/expenditures",
    response_model=Page[ExpenditureRead],
    responses=problem_responses(GrantNotFound, InvalidCursor),
)
async def list_expenditures(
    grant_id: uuid.UUID, session: TenantSessionDep, principal: GrantReader, params: Params
) -> Page[ExpenditureRead]:
    """What the NGO reported spending, in the order it reported it."""
    return await service.list_expenditures(session, principal, grant_id, params)


@router.post(
    "/expenditures",
    status_code=201,
    response_model=ExpenditureRead,
    responses=problem_responses(
        GrantNotFound,
        NotTheRecipient,
        GrantNotInStatus,
        ExpenditurePeriodInvalid,
        ExpenditureOutsideGrantPeriod,
        IdentifierInText,
        *idempotency.IDEMPOTENCY_ERRORS,
    ),
)
async def add_expenditure(
    grant_id: uuid.UUID,
    data: ExpenditureCreate,
    session: TenantSessionDep,
    principal: ReportSubmitter,
    key: idempotency.IdempotencyKeyHeader,
) -> ExpenditureRead | Response:
    """Report what your NGO spent of a grant it receives, in a period, by category.

    The grant is `awarded` or `active`; the period lies within the grant's (planned,
    widened to the actual dates). Describe the spending, never a person. Retry with
    the same `Idempotency-Key` to get the first response again.
    """
    return await answer_once(
        session,
        principal,
        key,
        data,
        lambda: service.add_expenditure(session, principal, grant_id, data),
        status=201,
    )


@router.get("/finances", response_model=GrantFinances, responses=problem_responses(GrantNotFound))
async def read_finances(
    grant_id: uuid.UUID, session: TenantSessionDep, principal: GrantReader
) -> GrantFinances:
    """The grant's money at a glance: awarded, planned, disbursed, spent by category,
    the balance the NGO holds, how fast it goes and the next tranche due."""
    return await summary.read_finances(session, principal, grant_id)
