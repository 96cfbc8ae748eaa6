"""Webhook endpoints of your organisation and their deliveries (Standard Webhooks).

Every referral status change of your organisation's referrals is sent, signed,
to your endpoints subscribed to its type: headers `webhook-id`,
`webhook-timestamp`, `webhook-signature`; body
`{"type", "timestamp", "data": {"referral_id", "status", "business_status"}}`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from baton.auth import Principal
from baton.authz import Authorize, Permission
from baton.concurrency import IfMatch, PreconditionFailed, PreconditionRequired, set_etag
from baton.errors import problem_responses
from baton.pagination import Page, PageParams, page_of, page_params
from baton.tenancy import TenantSessionDep
from baton.vault import EnvelopeVault, ProtectedDataCorrupt, ProtectedDataUnavailable
from referral_api.config import ReferralSettings
from referral_api.webhooks import service
from referral_api.webhooks.exceptions import (
    WebhookDeliveryNotFound,
    WebhookDeliveryNotReplayable,
    WebhookEndpointNotFound,
    WebhookTargetRefused,
)
from referral_api.webhooks.models import DeliveryStatus, WebhookEndpoint
from referral_api.webhooks.schemas import (
    SecretRotation,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)
from referral_api.webhooks.service import TargetRules

WebhookManager = Annotated[Principal, Authorize(Permission.webhook_manage)]
SECRET_ERRORS = (ProtectedDataUnavailable, ProtectedDataCorrupt)
UPDATE_ERRORS = (WebhookEndpointNotFound, PreconditionFailed, PreconditionRequired)


async def get_vault(request: Request) -> EnvelopeVault:
    vault: EnvelopeVault = request.app.state.vault
    return vault


async def target_rules(request: Request) -> TargetRules:
    settings: ReferralSettings = request.app.state.settings
    return TargetRules(settings.allow_private_webhook_targets, settings.webhook_timeout_seconds)


Vault = Annotated[EnvelopeVault, Depends(get_vault)]
Rules = Annotated[TargetRules, Depends(target_rules)]

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhooks"])


def _answer(response: Response, endpoint: WebhookEndpoint) -> WebhookEndpointRead:
    set_etag(response, endpoint.version)
    return WebhookEndpointRead.model_validate(endpoint)


def _with_secret(
    response: Response, endpoint: WebhookEndpoint, secret: str
) -> WebhookEndpointWithSecret:
    read = _answer(response, endpoint)
    return WebhookEndpointWithSecret(**read.model_dump(), secret=secret)


@router.post(
    "",
    status_code=201,
    response_model=WebhookEndpointWithSecret,
    responses=problem_responses(WebhookTargetRefused, *SECRET_ERRORS),
)
async def create_webhook_endpoint(
    data: WebhookEndpointCreate,
    session: TenantSessionDep,
    principal: WebhookManager,
    vault: Vault,
    rules: Rules,
    response: Response,
) -> WebhookEndpointWithSecret:
    """Register an endpoint for your organisation's referral events.

    The signing secret is in this response only: it is stored encrypted and never
    shown again (rotate it if lost). No `Idempotency-Key`: a stored response would
    keep the secret; a retry after a lost response registers a second endpoint,
    which you can delete.
    """
    endpoint, secret = await service.create(session, principal, vault, data, rules)
    return _with_secret(response, endpoint, secret)


@router.get("", response_model=Page[WebhookEndpointRead])
async def list_webhook_endpoints(
    session: TenantSessionDep,
    principal: WebhookManager,
    params: Annotated[PageParams, Depends(page_params)],
    active: Annotated[bool | None, Query()] = None,
) -> Page[WebhookEndpointRead]:
    """Your organisation's endpoints, oldest first; never their secrets."""
    rows = await service.list_for(session, principal, params, active=active)
    return page_of(rows, params, [WebhookEndpointRead.model_validate(row) for row in rows])


@router.get(
    "/{endpoint_id}",
    response_model=WebhookEndpointRead,
    responses=problem_responses(WebhookEndpointNotFound),
)
async def read_webhook_endpoint(
    endpoint_id: uuid.UUID,
    session: TenantSessionDep,
    principal: WebhookManager,
    response: Response,
) -> WebhookEndpointRead:
    """One endpoint of your organisation, with its ETag; never its secret."""
    return _answer(response, await service.get(session, principal, endpoint_id))


@router.patch(
    "/{endpoint_id}",
    response_model=WebhookEndpointRead,
    responses=problem_responses(*UPDATE_ERRORS, WebhookTargetRefused),
)
async def update_webhook_endpoint(
    endpoint_id: uuid.UUID,
    data: WebhookEndpointUpdate,
    session: TenantSessionDep,
    principal: WebhookManager,
    version: IfMatch,
    rules: Rules,
    response: Response,
) -> WebhookEndpointRead:
    """Change the URL, the event types or whether it is active; If-Match carries the ETag."""
    endpoint = await service.update(session, principal, endpoint_id, data, version, rules)
    return _answer(response, endpoint)


@router.delete(
    "/{endpoint_id}", status_code=204, responses=problem_responses(WebhookEndpointNotFound)
)
async def delete_webhook_endpoint(
    endpoint_id: uuid.UUID, session: TenantSessionDep, principal: WebhookManager
) -> Response:
    """Remove the endpoint with its secrets and deliveries; nothing more is sent to it."""
    await service.delete(session, principal, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/secret-rotations",
    status_code=201,
    response_model=WebhookEndpointWithSecret,
    responses=problem_responses(WebhookEndpointNotFound, *SECRET_ERRORS),
)
async def rotate_webhook_secret(
    endpoint_id: uuid.UUID,
    session: TenantSessionDep,
    principal: WebhookManager,
    vault: Vault,
    response: Response,
    data: SecretRotation | None = None,
) -> WebhookEndpointWithSecret:
    """A new secret, shown once. The previous one keeps signing for the grace period
    (each delivery then carries both signatures); a secret older than that stops now."""
    grace = timedelta(seconds=(data or SecretRotation()).grace_period_seconds)
    endpoint, secret = await service.rotate_secret(session, principal, vault, endpoint_id, grace)
    return _with_secret(response, endpoint, secret)


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=Page[WebhookDeliveryRead],
    responses=problem_responses(WebhookEndpointNotFound),
)
async def list_webhook_deliveries(
    endpoint_id: uuid.UUID,
    session: TenantSessionDep,
    principal: WebhookManager,
    params: Annotated[PageParams, Depends(page_params)],
    status: Annotated[DeliveryStatus | None, Query()] = None,
) -> Page[WebhookDeliveryRead]:
    """What was sent to the endpoint, oldest first: `failed` ones are being retried,
    `dead` ones will not be unless replayed."""
    rows = await service.list_deliveries(session, principal, endpoint_id, params, status=status)
    return page_of(rows, params, [WebhookDeliveryRead.model_validate(row) for row in rows])


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=WebhookDeliveryRead,
    responses=problem_responses(
        WebhookEndpointNotFound, WebhookDeliveryNotFound, WebhookDeliveryNotReplayable
    ),
)
async def replay_webhook_delivery(
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
    session: TenantSessionDep,
    principal: WebhookManager,
) -> WebhookDeliveryRead:
    """Send a failed or dead delivery again, now, with a fresh round of retries.

    The event keeps its `webhook-id`, so a receiver that did get it can tell."""
    delivery = await service.replay(session, principal, endpoint_id, delivery_id)
    return WebhookDeliveryRead.model_validate(delivery)
