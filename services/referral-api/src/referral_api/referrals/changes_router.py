"""The referrer's changes: editing a draft, answering a request for information."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from baton import idempotency
from baton.concurrency import IfMatch, PreconditionFailed, PreconditionRequired, set_etag
from baton.errors import problem_responses
from baton.tenancy import TenantSessionDep
from baton.vault import ProtectedDataCorrupt, ProtectedDataUnavailable
from referral_api.referrals import changes, service
from referral_api.referrals.actions import RULE_PROBLEMS, STEP_PROBLEMS, Call
from referral_api.referrals.auth import Submitter, Vault
from referral_api.referrals.exceptions import (
    ConsentRecordRequired,
    EnvelopeInvalid,
    InvalidTransition,
    ReferralNotFound,
    WrongParty,
)
from referral_api.referrals.models import IdempotencyKey
from referral_api.referrals.schemas import ReferralRead, ReferralUpdate

router = APIRouter()


@router.patch(
    "/{referral_id}",
    response_model=ReferralRead,
    responses=problem_responses(
        ReferralNotFound,
        WrongParty,
        InvalidTransition,
        PreconditionFailed,
        PreconditionRequired,
        EnvelopeInvalid,
        ProtectedDataUnavailable,
        ProtectedDataCorrupt,
    ),
)
async def edit_draft(
    referral_id: uuid.UUID,
    data: ReferralUpdate,
    session: TenantSessionDep,
    principal: Submitter,
    version: IfMatch,
    vault: Vault,
    response: Response,
) -> ReferralRead:
    """Change a `draft` you have not sent yet (409 once it was sent).

    Fields left out keep their value; an object sent replaces the stored one
    whole; `packet` replaces the whole packet (null removes it). The submission
    rules (consent, cross-border, a child's guardian) are checked at `submit`,
    not here. If-Match carries the ETag you read.
    """
    referral = await changes.edit_draft(session, principal, vault, referral_id, data, version)
    set_etag(response, referral.version)
    return service.to_read(referral, principal)


@router.post(
    "/{referral_id}/provide-info",
    response_model=ReferralRead,
    responses=problem_responses(
        *STEP_PROBLEMS, *RULE_PROBLEMS, EnvelopeInvalid, ConsentRecordRequired
    ),
)
async def provide_information(
    referral_id: uuid.UUID, data: ReferralUpdate, principal: Submitter, call: Call
) -> ReferralRead | Response:
    """Answer the recipient's request for information (referrer): only while the referral
    is `on-hold` (`awaiting-information`); 409 otherwise.

    Send what changed, as in editing a draft: envelope fields, the packet (sealed
    anew). The consent on file may only narrow; to widen it, send the new consent
    record (a later `consent.recorded_at`). The rules of a submission apply again.
    The referral returns to its recipient to decide: `received`
    (`information-provided`). Retry with the same `Idempotency-Key` to get the
    first response again.
    """
    claim = await idempotency.claim(call.session, IdempotencyKey, principal, call.key, data)
    if claim.replay is not None:
        return claim.replay.response()
    referral = await changes.provide_information(
        call.session, principal, call.settings, call.vault, referral_id, data, call.version
    )
    read = service.to_read(referral, principal)
    set_etag(call.response, referral.version)
    await claim.remember(200, read, call.response.headers)
    return read
