"""Referrals: submit, list, read; the packet, the timeline and the disclosure log.

The lifecycle's steps are in `actions.py`, the referrer's changes (a draft's edit,
an answer to a request for information) in `changes_router.py`, both included here.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from baton import idempotency
from baton.concurrency import set_etag
from baton.errors import problem_responses
from baton.pagination import Page, PageParams, page_of, page_params
from baton.tenancy import TenantSessionDep
from baton.vault import ProtectedDataCorrupt, ProtectedDataUnavailable
from referral_api.referrals import service
from referral_api.referrals.actions import router as actions_router
from referral_api.referrals.auth import Reader, Settings, Submitter, Vault
from referral_api.referrals.changes_router import router as changes_router
from referral_api.referrals.exceptions import (
    ConsentRequired,
    ContactChannelUnsafe,
    CrossBorderConsentRequired,
    GuardianRequired,
    PacketNotRecorded,
    PacketNotReleased,
    PacketPurged,
    RecipientInvalid,
    RecipientNotAccepting,
    ReferralNotFound,
    ReferrerReferenceTaken,
    ReturnRiskAssessmentRequired,
)
from referral_api.referrals.models import IdempotencyKey
from referral_api.referrals.schemas import (
    DisclosureRead,
    PacketRead,
    ReferralCreate,
    ReferralRead,
    TimelineEntry,
)
from referral_api.referrals.vocabulary import Priority, ReferralStatus

PROTECTED_DATA_ERRORS = (ProtectedDataUnavailable, ProtectedDataCorrupt)
SUBMISSION_ERRORS = (
    ConsentRequired,
    CrossBorderConsentRequired,
    ReturnRiskAssessmentRequired,
    GuardianRequired,
    ContactChannelUnsafe,
    RecipientInvalid,
)
Params = Annotated[PageParams, Depends(page_params)]


class Role(StrEnum):
    sent = "sent"
    received = "received"


router = APIRouter(prefix="/v1/referrals", tags=["referrals"])


@router.post(
    "",
    status_code=201,
    response_model=ReferralRead,
    responses=problem_responses(
        *SUBMISSION_ERRORS,
        RecipientNotAccepting,
        ReferrerReferenceTaken,
        *PROTECTED_DATA_ERRORS,
        *idempotency.IDEMPOTENCY_ERRORS,
    ),
)
async def submit_referral(
    data: ReferralCreate,
    session: TenantSessionDep,
    principal: Submitter,
    key: idempotency.IdempotencyKeyHeader,
    vault: Vault,
    settings: Settings,
    response: Response,
) -> ReferralRead | Response:
    """Refer a person to a provider, or save a `draft` to submit later.

    The envelope is visible to the recipient at once; the person packet is sealed
    and released to the recipient only after acceptance, within the consent's
    scope. Submission needs a recorded consent or legal basis (`consent-required`);
    a cross-border referral the person's cross-border consent, a return a recorded
    risk assessment, a child a recorded guardian. A recipient whose directory entry
    is inactive or takes no referrals refuses it (409 `recipient-not-accepting`);
    one with no entry does not. Retry with the same `Idempotency-Key` to get the
    first response again.
    """
    claim = await idempotency.claim(session, IdempotencyKey, principal, key, data)
    if claim.replay is not None:
        return claim.replay.response()
    referral = await service.create(session, principal, vault, settings, data)
    created = service.to_read(referral, principal)
    set_etag(response, referral.version)
    await claim.remember(201, created, response.headers)
    return created


@router.get("", response_model=Page[ReferralRead])
async def list_referrals(
    session: TenantSessionDep,
    principal: Reader,
    params: Params,
    status: Annotated[ReferralStatus | None, Query()] = None,
    role: Annotated[Role | None, Query(description="`sent` by you or `received`")] = None,
    priority: Annotated[Priority | None, Query()] = None,
) -> Page[ReferralRead]:
    """Your organisation's referrals, sent and received, oldest first."""
    rows = await service.list_for(
        session, principal, params, status=status, role=role, priority=priority
    )
    return page_of(rows, params, [service.to_read(row, principal) for row in rows])


@router.get(
    "/{referral_id}", response_model=ReferralRead, responses=problem_responses(ReferralNotFound)
)
async def read_referral(
    referral_id: uuid.UUID, session: TenantSessionDep, principal: Reader, response: Response
) -> ReferralRead:
    """The envelope and the status, with the ETag steps need in If-Match.

    The recipient also sees the case reference once the case is opened; the
    referrer never does.
    """
    referral = await service.get(session, principal, referral_id)
    set_etag(response, referral.version)
    return service.to_read(referral, principal)


@router.get(
    "/{referral_id}/timeline",
    response_model=Page[TimelineEntry],
    responses=problem_responses(ReferralNotFound),
)
async def read_timeline(
    referral_id: uuid.UUID, session: TenantSessionDep, principal: Reader, params: Params
) -> Page[TimelineEntry]:
    """Who moved the referral, when, from what to what and why (codes), oldest first."""
    rows = await service.timeline(session, principal, referral_id, params)
    return page_of(rows, params, [TimelineEntry.model_validate(row) for row in rows])


@router.get(
    "/{referral_id}/packet",
    response_model=PacketRead,
    responses=problem_responses(
        ReferralNotFound,
        PacketNotRecorded,
        PacketNotReleased,
        PacketPurged,
        *PROTECTED_DATA_ERRORS,
    ),
)
async def read_packet(
    referral_id: uuid.UUID, session: TenantSessionDep, principal: Reader, vault: Vault
) -> PacketRead:
    """The person packet: the referrer's own, whole, until it is purged; the recipient's
    after acceptance, only the field groups the consent covers. Each release to the
    recipient is written to the disclosure log. Purged packets are gone (410).
    """
    return await service.read_packet(session, principal, vault, referral_id)


@router.get(
    "/{referral_id}/disclosures",
    response_model=Page[DisclosureRead],
    responses=problem_responses(ReferralNotFound),
)
async def list_disclosures(
    referral_id: uuid.UUID, session: TenantSessionDep, principal: Reader, params: Params
) -> Page[DisclosureRead]:
    """Every release of the person packet: who read which field groups, under what basis."""
    rows = await service.disclosures(session, principal, referral_id, params)
    return page_of(rows, params, [DisclosureRead.model_validate(row) for row in rows])


router.include_router(actions_router)
router.include_router(changes_router)
