"""The steps of a referral's lifecycle, one endpoint each, all guarded by If-Match.

The referrer submits and cancels; the recipient acknowledges, decides (accept,
reject, forward: case managers) and works (request information, start, hold,
complete, fail: caseworkers). A step of the other party is 403, a step the
status does not allow 409 naming the status, a stranger's referral 404.
Each honours `Idempotency-Key`, so a partner may retry a step that timed out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from baton import idempotency
from baton.auth import Principal
from baton.concurrency import IfMatch, PreconditionFailed, PreconditionRequired, set_etag
from baton.errors import BatonError, problem_responses
from baton.tenancy import TenantSessionDep
from baton.vault import EnvelopeVault, ProtectedDataCorrupt, ProtectedDataUnavailable
from referral_api.config import ReferralSettings
from referral_api.referrals import service, transitions
from referral_api.referrals.auth import Decider, Settings, Submitter, Vault, Worker
from referral_api.referrals.exceptions import (
    ConsentRequired,
    ContactChannelUnsafe,
    CrossBorderConsentRequired,
    GuardianRequired,
    InvalidTransition,
    RecipientInvalid,
    RecipientNotAccepting,
    ReferralNotFound,
    ReferrerReferenceTaken,
    ReturnRiskAssessmentRequired,
    WrongParty,
)
from referral_api.referrals.lifecycle import Action
from referral_api.referrals.models import IdempotencyKey
from referral_api.referrals.schemas import (
    CancelRequest,
    FailRequest,
    ForwardRequest,
    HoldRequest,
    InformationRequest,
    ReferralRead,
    RejectRequest,
)

# Tuples, documented with one `problem_responses` call per route: merging its dicts
# would keep only the last problem of each status.
STEP_PROBLEMS: tuple[type[BatonError], ...] = (
    ReferralNotFound,
    WrongParty,
    InvalidTransition,
    PreconditionFailed,
    PreconditionRequired,
    *idempotency.IDEMPOTENCY_ERRORS,
)
# What the submission rules refuse, and a packet that cannot be opened to check them.
RULE_PROBLEMS: tuple[type[BatonError], ...] = (
    ConsentRequired,
    CrossBorderConsentRequired,
    ReturnRiskAssessmentRequired,
    GuardianRequired,
    ContactChannelUnsafe,
    ProtectedDataUnavailable,
    ProtectedDataCorrupt,
)
STEP_ERRORS = problem_responses(*STEP_PROBLEMS)


@dataclass
class StepCall:
    """What every step needs besides its caller and body."""

    session: AsyncSession
    key: idempotency.RequestKey | None
    version: int
    vault: EnvelopeVault
    settings: ReferralSettings
    response: Response

    async def take(
        self,
        action: Action,
        referral_id: uuid.UUID,
        principal: Principal,
        body: BaseModel | None = None,
    ) -> ReferralRead | Response:
        claim = await idempotency.claim(self.session, IdempotencyKey, principal, self.key, body)
        if claim.replay is not None:
            return claim.replay.response()
        referral = await transitions.transition(
            self.session,
            principal,
            self.settings,
            self.vault,
            referral_id,
            action,
            self.version,
            getattr(body, "reason_code", None),
        )
        read = service.to_read(referral, principal)
        set_etag(self.response, referral.version)
        await claim.remember(200, read, self.response.headers)
        return read


async def _step_call(
    session: TenantSessionDep,
    key: idempotency.IdempotencyKeyHeader,
    version: IfMatch,
    vault: Vault,
    settings: Settings,
    response: Response,
) -> StepCall:
    return StepCall(session, key, version, vault, settings, response)


Call = Annotated[StepCall, Depends(_step_call)]

router = APIRouter()


@router.post(
    "/{referral_id}/submit",
    response_model=ReferralRead,
    responses=problem_responses(*STEP_PROBLEMS, *RULE_PROBLEMS, RecipientNotAccepting),
)
async def submit_draft(
    referral_id: uuid.UUID, principal: Submitter, call: Call
) -> ReferralRead | Response:
    """Submit a draft (referrer): the rules of a direct submission apply, and a recipient
    whose directory entry takes no referrals refuses it (409 `recipient-not-accepting`)."""
    return await call.take(Action.submit, referral_id, principal)


@router.post("/{referral_id}/cancel", response_model=ReferralRead, responses=STEP_ERRORS)
async def cancel_referral(
    referral_id: uuid.UUID, data: CancelRequest, principal: Submitter, call: Call
) -> ReferralRead | Response:
    """Withdraw the referral before acceptance (referrer), with a reason code;
    `entered_in_error` ends it `entered-in-error`."""
    return await call.take(Action.cancel, referral_id, principal, data)


@router.post("/{referral_id}/acknowledge", response_model=ReferralRead, responses=STEP_ERRORS)
async def acknowledge_referral(
    referral_id: uuid.UUID, principal: Worker, call: Call
) -> ReferralRead | Response:
    """Say the referral was received (recipient): stops the acknowledgement clock."""
    return await call.take(Action.acknowledge, referral_id, principal)


@router.post("/{referral_id}/accept", response_model=ReferralRead, responses=STEP_ERRORS)
async def accept_referral(
    referral_id: uuid.UUID, principal: Decider, call: Call
) -> ReferralRead | Response:
    """Take the person in (recipient's case managers).

    The case is then opened in cases-api (the hand-off, retried until it
    succeeds), the packet is released within the consent, and the first-contact
    clock starts.
    """
    return await call.take(Action.accept, referral_id, principal)


@router.post("/{referral_id}/reject", response_model=ReferralRead, responses=STEP_ERRORS)
async def reject_referral(
    referral_id: uuid.UUID, data: RejectRequest, principal: Decider, call: Call
) -> ReferralRead | Response:
    """Decline the referral (recipient's case managers), with a reason code."""
    return await call.take(Action.reject, referral_id, principal, data)


@router.post("/{referral_id}/request-info", response_model=ReferralRead, responses=STEP_ERRORS)
async def request_information(
    referral_id: uuid.UUID, data: InformationRequest, principal: Worker, call: Call
) -> ReferralRead | Response:
    """Ask the referrer for what is missing before deciding: `on-hold`,
    `awaiting-information`."""
    return await call.take(Action.request_info, referral_id, principal, data)


@router.post("/{referral_id}/start", response_model=ReferralRead, responses=STEP_ERRORS)
async def start_referral(
    referral_id: uuid.UUID, principal: Worker, call: Call
) -> ReferralRead | Response:
    """The first contact happened, the work starts (or resumes after a hold)."""
    return await call.take(Action.start, referral_id, principal)


@router.post("/{referral_id}/hold", response_model=ReferralRead, responses=STEP_ERRORS)
async def hold_referral(
    referral_id: uuid.UUID, data: HoldRequest, principal: Worker, call: Call
) -> ReferralRead | Response:
    """Pause the referral (recipient), with a reason code."""
    return await call.take(Action.hold, referral_id, principal, data)


@router.post("/{referral_id}/complete", response_model=ReferralRead, responses=STEP_ERRORS)
async def complete_referral(
    referral_id: uuid.UUID, principal: Worker, call: Call
) -> ReferralRead | Response:
    """The referral did what it was for (recipient)."""
    return await call.take(Action.complete, referral_id, principal)


@router.post("/{referral_id}/fail", response_model=ReferralRead, responses=STEP_ERRORS)
async def fail_referral(
    referral_id: uuid.UUID, data: FailRequest, principal: Worker, call: Call
) -> ReferralRead | Response:
    """The referral could not be carried out after acceptance, with a reason code."""
    return await call.take(Action.fail, referral_id, principal, data)


@router.post(
    "/{referral_id}/forward",
    status_code=201,
    response_model=ReferralRead,
    responses=problem_responses(
        *STEP_PROBLEMS, RecipientInvalid, RecipientNotAccepting, ReferrerReferenceTaken
    ),
)
async def forward_referral(
    referral_id: uuid.UUID, data: ForwardRequest, principal: Decider, call: Call
) -> ReferralRead | Response:
    """Send the referral on to another provider (recipient's case managers).

    Returns the new child referral, which you sent: its envelope is this one's, its
    packet re-sealed for it; a provider whose directory entry takes no referrals
    refuses it (409 `recipient-not-accepting`). This referral waits `on-hold`
    (`forwarded`) and completes as `transferred` when the child is accepted, or
    comes back to you (`forward-declined`) when it is not.
    """
    claim = await idempotency.claim(call.session, IdempotencyKey, principal, call.key, data)
    if claim.replay is not None:
        return claim.replay.response()
    child = await transitions.forward(
        call.session, principal, call.settings, call.vault, referral_id, data, call.version
    )
    read = service.to_read(child, principal)
    set_etag(call.response, child.version)
    await claim.remember(201, read, call.response.headers)
    return read
