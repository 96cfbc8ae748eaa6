"""Intake: the referral service opens a case in the organisation that accepted a referral."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from baton.auth import Principal
from baton.authz import Authorize, Permission
from baton.db import SessionDep
from baton.errors import problem_responses
from cases_api.cases.router import reflection_rules
from cases_api.cases.service import ReflectionRules
from cases_api.intake import service
from cases_api.intake.exceptions import ReferralAlreadyHasCase
from cases_api.intake.schemas import IntakeRead, ReferralIntake
from cases_api.protection import (
    IdentityVault,
    ProtectedDataCorrupt,
    ProtectedDataUnavailable,
    get_vault,
)

# The `cases:intake` scope of the referral service's client; no person's role has it.
IntakeClient = Annotated[Principal, Authorize(Permission.case_intake)]
Vault = Annotated[IdentityVault, Depends(get_vault)]
Rules = Annotated[ReflectionRules, Depends(reflection_rules)]

router = APIRouter(prefix="/v1/intake", tags=["intake"])


@router.post(
    "/referrals",
    status_code=201,
    response_model=IntakeRead,
    responses={
        200: {"model": IntakeRead, "description": "This referral's case was opened before"},
        **problem_responses(ReferralAlreadyHasCase, ProtectedDataUnavailable, ProtectedDataCorrupt),
    },
)
async def open_referral_case(
    data: ReferralIntake,
    # Not TenantSessionDep: the case opens in the receiving organisation, not the caller's.
    session: SessionDep,
    principal: IntakeClient,
    vault: Vault,
    rules: Rules,
    response: Response,
) -> IntakeRead:
    """Open a beneficiary and a case for a referral the receiving organisation accepted.

    For the referral service only (scope `cases:intake`). Idempotent on `referral_id`:
    201 when the case is opened, 200 with the same ids when it was opened before
    (also when two requests race); 409 when another organisation took the referral.
    The identity the referrer released is stored encrypted and never returned.
    """
    intake, opened = await service.open_case(session, principal, vault, data, rules)
    if not opened:
        response.status_code = 200
    return intake
