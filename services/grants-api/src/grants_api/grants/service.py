"""Grants: drafted and changed by the managing donor, read by every party.

The parties (`party_organisation_ids`) are the managing donor, the co-funders and
the recipient NGO; they change with the co-funders and nowhere else. After the
award every change is an amendment: what changed, from what to what, why, by whom.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.concurrency import check_version
from baton.db import utcnow
from baton.pagination import PageParams, paginate
from grants_api.access import party, require_manager, visible_grant
from grants_api.config import GrantsSettings
from grants_api.exceptions import GrantNotInStatus
from grants_api.grants.exceptions import (
    AmendmentReasonRequired,
    FunderSharesExceedAward,
    GrantDatesInvalid,
    GrantIdentifierTaken,
    RecipientInvalid,
)
from grants_api.grants.models import Grant, GrantAmendment, GrantFunder
from grants_api.grants.schemas import (
    FunderRead,
    FunderShare,
    GrantCreate,
    GrantRead,
    GrantUpdate,
)
from grants_api.programmes import service as programmes
from grants_api.screening import screen
from grants_api.vocabulary import GrantStatus

IDENTIFIER_CONSTRAINT = "uq_grant_award_identifier"
FINISHED = frozenset({GrantStatus.closed, GrantStatus.terminated})


def _check_parties(
    principal: Principal, recipient: uuid.UUID, co_funders: list[FunderShare]
) -> None:
    funders = {principal.org_id, *(share.organisation_id for share in co_funders)}
    if recipient in funders:
        raise RecipientInvalid("The recipient cannot also fund its own grant here.")


def check_dates(grant: Grant) -> None:
    if grant.planned_end < grant.planned_start:
        raise GrantDatesInvalid("planned_end comes on or after planned_start.")
    if grant.actual_start and grant.actual_end and grant.actual_end < grant.actual_start:
        raise GrantDatesInvalid("actual_end comes on or after actual_start.")


async def sync_funders(session: AsyncSession, grant: Grant, co_funders: list[FunderShare]) -> None:
    """Store the co-funders' shares and the managing donor's (what they leave of the award)."""
    if grant.amount_awarded is not None:
        left = grant.amount_awarded - sum((s.amount for s in co_funders), Decimal("0.00"))
        if left <= 0:
            raise FunderSharesExceedAward(
                f"The co-funders' shares add up to {grant.amount_awarded - left} "
                f"of {grant.amount_awarded} awarded."
            )
    await session.execute(delete(GrantFunder).where(col(GrantFunder.grant_id) == grant.id))
    for share in co_funders:
        session.add(
            GrantFunder(
                grant_id=grant.id, organisation_id=share.organisation_id, amount=share.amount
            )
        )
    if grant.amount_awarded is not None:
        session.add(
            GrantFunder(
                grant_id=grant.id, organisation_id=grant.managing_organisation_id, amount=left
            )
        )
    grant.party_organisation_ids = [
        grant.managing_organisation_id,
        *(s.organisation_id for s in co_funders),
        grant.recipient_organisation_id,
    ]
    await session.flush()


async def funders_of(
    session: AsyncSession, grant_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[GrantFunder]]:
    """Each grant's funders with their shares (the managing donor's too), largest first."""
    funders: dict[uuid.UUID, list[GrantFunder]] = {grant_id: [] for grant_id in grant_ids}
    if not funders:
        return funders
    rows = await session.scalars(
        select(GrantFunder)
        .where(col(GrantFunder.grant_id).in_(list(funders)))
        .order_by(col(GrantFunder.amount).desc(), col(GrantFunder.organisation_id))
    )
    for row in rows:
        funders[row.grant_id].append(row)
    return funders


async def co_funders_of(session: AsyncSession, grant: Grant) -> list[FunderShare]:
    return [
        FunderShare(organisation_id=row.organisation_id, amount=row.amount)
        for row in (await funders_of(session, [grant.id]))[grant.id]
        if row.organisation_id != grant.managing_organisation_id
    ]


async def create(
    session: AsyncSession, principal: Principal, settings: GrantsSettings, data: GrantCreate
) -> Grant:
    screen({"title": data.title, "description": data.description})
    _check_parties(principal, data.recipient_organisation_id, data.co_funders)
    if data.programme_id is not None:
        await programmes.get(session, principal, data.programme_id)
    grant = Grant(
        identifier=f"{settings.identifier_prefix}-{data.reference}",
        programme_id=data.programme_id,
        managing_organisation_id=principal.org_id,
        recipient_organisation_id=data.recipient_organisation_id,
        party_organisation_ids=[principal.org_id, data.recipient_organisation_id],
        title=data.title,
        description=data.description,
        currency=data.currency,
        amount_applied_for=data.amount_applied_for,
        amount_awarded=data.amount_awarded,
        planned_start=data.planned_start,
        planned_end=data.planned_end,
        beneficiary_countries=list(data.beneficiary_countries),
        status=GrantStatus.draft,
        created_by=principal.subject,
    )
    try:
        # A savepoint: the identifier is unique across every publisher's grants,
        # most of which this caller cannot see.
        async with session.begin_nested():
            session.add(grant)
            await session.flush()
    except IntegrityError as error:
        if IDENTIFIER_CONSTRAINT not in str(error.orig):
            raise
        raise GrantIdentifierTaken(
            f"The identifier {grant.identifier} is taken: use another reference."
        ) from None
    await sync_funders(session, grant, data.co_funders)
    return grant


async def list_for(
    session: AsyncSession,
    principal: Principal,
    params: PageParams,
    *,
    programme_id: uuid.UUID | None = None,
    recipient_organisation_id: uuid.UUID | None = None,
    status: GrantStatus | None = None,
    active_in_year: int | None = None,
) -> Sequence[Grant]:
    query = select(Grant).where(party(col(Grant.party_organisation_ids), principal))
    if programme_id is not None:
        query = query.where(col(Grant.programme_id) == programme_id)
    if recipient_organisation_id is not None:
        query = query.where(col(Grant.recipient_organisation_id) == recipient_organisation_id)
    if status is not None:
        query = query.where(col(Grant.status) == status)
    if active_in_year is not None:
        query = query.where(
            col(Grant.planned_start) <= date(active_in_year, 12, 31),
            func.coalesce(col(Grant.actual_end), col(Grant.planned_end))
            >= date(active_in_year, 1, 1),
        )
    return (
        await session.scalars(paginate(query, params, col(Grant.created_at), col(Grant.id)))
    ).all()


async def to_read(session: AsyncSession, grant: Grant) -> GrantRead:
    return (await to_reads(session, [grant]))[0]


async def to_reads(session: AsyncSession, grants: Sequence[Grant]) -> list[GrantRead]:
    funders = await funders_of(session, [grant.id for grant in grants])
    return [
        GrantRead.model_validate({**grant.model_dump(), "funders": _funder_reads(grant, funders)})
        for grant in grants
    ]


def _funder_reads(grant: Grant, funders: dict[uuid.UUID, list[GrantFunder]]) -> list[FunderRead]:
    """The grant's funders as a grant shows them: by organisation id."""
    return [
        FunderRead(
            organisation_id=row.organisation_id,
            amount=row.amount,
            managing=row.organisation_id == grant.managing_organisation_id,
        )
        for row in sorted(funders[grant.id], key=lambda row: row.organisation_id)
    ]


def _shown(value: Any) -> Any:
    """A value as the amendment history shows it (JSON)."""
    if isinstance(value, Decimal | date | uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return [_shown(item) for item in value]
    return value


async def record_amendment(
    session: AsyncSession,
    principal: Principal,
    grant: Grant,
    reason: str,
    changes: dict[str, dict[str, Any]],
) -> None:
    number = await session.scalar(
        select(func.count())
        .select_from(GrantAmendment)
        .where(col(GrantAmendment.grant_id) == grant.id)
    )
    session.add(
        GrantAmendment(
            grant_id=grant.id,
            number=int(number or 0) + 1,
            reason=reason,
            changes=changes,
            version_after=grant.version,
            changed_by=principal.subject,
        )
    )
    await session.flush()


async def update(
    session: AsyncSession,
    principal: Principal,
    grant_id: uuid.UUID,
    data: GrantUpdate,
    version: int,
) -> Grant:
    grant = await visible_grant(session, principal, grant_id, lock=True)
    require_manager(grant, principal)
    check_version(version, grant.version)
    if grant.status in FINISHED:
        raise GrantNotInStatus(f"The grant is {grant.status}: it no longer changes.")
    amending = grant.status != GrantStatus.draft
    if amending and data.reason is None:
        raise AmendmentReasonRequired("Say why the awarded grant changes (`reason`).")
    screen({"title": data.title, "description": data.description, "reason": data.reason})
    fields = data.model_dump(exclude_unset=True, exclude={"reason", "co_funders"})
    if data.programme_id is not None:
        await programmes.get(session, principal, data.programme_id)
    if amending and "amount_awarded" in fields and fields["amount_awarded"] is None:
        raise AmendmentReasonRequired("An awarded grant keeps an amount awarded.")
    changes: dict[str, dict[str, Any]] = {}
    for field, value in fields.items():
        before = getattr(grant, field)
        if before != value:
            changes[field] = {"before": _shown(before), "after": _shown(value)}
            setattr(grant, field, value)
    check_dates(grant)
    co_funders = await co_funders_of(session, grant)
    if data.co_funders is not None:
        _check_parties(principal, grant.recipient_organisation_id, data.co_funders)
        before_shares = {str(s.organisation_id): str(s.amount) for s in co_funders}
        after_shares = {str(s.organisation_id): str(s.amount) for s in data.co_funders}
        if before_shares != after_shares:
            changes["co_funders"] = {"before": before_shares, "after": after_shares}
        co_funders = data.co_funders
    if "amount_awarded" in changes or "co_funders" in changes:
        await sync_funders(session, grant, co_funders)
    if not changes:
        return grant
    grant.version += 1
    grant.updated_at = utcnow()
    if amending:
        assert data.reason is not None
        await record_amendment(session, principal, grant, data.reason, changes)
    await session.flush()
    return grant


async def amendments(
    session: AsyncSession, principal: Principal, grant_id: uuid.UUID, params: PageParams
) -> Sequence[GrantAmendment]:
    await visible_grant(session, principal, grant_id)
    query = select(GrantAmendment).where(col(GrantAmendment.grant_id) == grant_id)
    return (
        await session.scalars(
            paginate(query, params, col(GrantAmendment.changed_at), col(GrantAmendment.id))
        )
    ).all()
