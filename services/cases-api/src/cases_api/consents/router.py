"""Consents of a beneficiary: recorded, read, withdrawn; never edited."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from baton.auth import Principal
from baton.authz import Authorize, Permission
from baton.concurrency import IfMatch, PreconditionFailed, PreconditionRequired, set_etag
from baton.errors import problem_responses
from baton.pagination import Page, PageParams, page_of, page_params
from baton.tenancy import TenantSessionDep
from cases_api.beneficiaries.exceptions import BeneficiaryNotFound
from cases_api.consents import service
from cases_api.consents.exceptions import ConsentNotFound, ConsentWithdrawn, InvalidConsent
from cases_api.consents.schemas import ConsentCreate, ConsentRead, ConsentType

CaseReader = Annotated[Principal, Authorize(Permission.case_read)]
CaseWriter = Annotated[Principal, Authorize(Permission.case_write)]

router = APIRouter(prefix="/v1/beneficiaries/{beneficiary_id}/consents", tags=["consents"])


@router.post(
    "",
    status_code=201,
    response_model=ConsentRead,
    responses=problem_responses(BeneficiaryNotFound, InvalidConsent),
)
async def record_consent(
    beneficiary_id: uuid.UUID,
    data: ConsentCreate,
    session: TenantSessionDep,
    principal: CaseWriter,
    response: Response,
) -> ConsentRead:
    """Record a consent the person gave, or a legal basis used without it (with a note).

    `sharing` names the recipient organisation, `cross_border_transfer` the country;
    `scope` says what may go there. Audited.
    """
    consent = await service.record(session, principal, beneficiary_id, data)
    set_etag(response, consent.version)
    return ConsentRead.model_validate(consent)


@router.get(
    "",
    response_model=Page[ConsentRead],
    responses=problem_responses(BeneficiaryNotFound),
)
async def list_consents(
    beneficiary_id: uuid.UUID,
    session: TenantSessionDep,
    principal: CaseReader,
    params: Annotated[PageParams, Depends(page_params)],
    valid_on: Annotated[
        date | None,
        Query(description="Only consents that held on this day (given, not expired or withdrawn)"),
    ] = None,
    consent_type: Annotated[ConsentType | None, Query(alias="type")] = None,
) -> Page[ConsentRead]:
    """The beneficiary's consents, oldest first, withdrawn ones included unless `valid_on`."""
    rows = await service.list_for(
        session, principal, beneficiary_id, params, on_day=valid_on, consent_type=consent_type
    )
    return page_of(rows, params, [ConsentRead.model_validate(row) for row in rows])


@router.get(
    "/{consent_id}",
    response_model=ConsentRead,
    responses=problem_responses(ConsentNotFound),
)
async def read_consent(
    beneficiary_id: uuid.UUID,
    consent_id: uuid.UUID,
    session: TenantSessionDep,
    principal: CaseReader,
    response: Response,
) -> ConsentRead:
    """One consent, with its ETag (needed to withdraw it)."""
    consent = await service.get(session, principal, beneficiary_id, consent_id)
    set_etag(response, consent.version)
    return ConsentRead.model_validate(consent)


@router.post(
    "/{consent_id}/withdrawal",
    response_model=ConsentRead,
    responses=problem_responses(
        ConsentNotFound, ConsentWithdrawn, PreconditionFailed, PreconditionRequired
    ),
)
async def withdraw_consent(
    beneficiary_id: uuid.UUID,
    consent_id: uuid.UUID,
    session: TenantSessionDep,
    principal: CaseWriter,
    version: IfMatch,
    response: Response,
) -> ConsentRead:
    """The person withdraws the consent: final from now on (409 if already withdrawn). Audited."""
    consent = await service.withdraw(session, principal, beneficiary_id, consent_id, version)
    set_etag(response, consent.version)
    return ConsentRead.model_validate(consent)
