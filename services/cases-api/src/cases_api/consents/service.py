"""Consents: recorded, listed, withdrawn; and whether sharing is allowed on a given day.

A consent is valid on a day when it was given on or before it, expires after it
(`expires_on` is the first day it no longer holds) and was not withdrawn by the
end of it (UTC). Every query runs in the caller's organisation; row-level
security is the second wall.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.concurrency import check_version
from baton.db import utcnow
from baton.pagination import PageParams, paginate
from baton.tenancy import get_owned, in_callers_organisation
from cases_api.audit import service as audit
from cases_api.beneficiaries import service as beneficiary_service
from cases_api.consents.exceptions import ConsentNotFound, ConsentWithdrawn, InvalidConsent
from cases_api.consents.models import Consent
from cases_api.consents.schemas import ConsentCreate, ConsentType

# Time zones run up to UTC+14: "today" somewhere may be tomorrow in UTC.
_CLOCK_SLACK = timedelta(days=1)


def valid_on(day: date) -> ColumnElement[bool]:
    """The SQL condition: the consent holds on `day`."""
    end_of_day = datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
    return and_(
        col(Consent.given_on) <= day,
        or_(col(Consent.expires_on).is_(None), col(Consent.expires_on) > day),
        or_(col(Consent.withdrawn_at).is_(None), col(Consent.withdrawn_at) >= end_of_day),
    )


async def _audit(
    session: AsyncSession, principal: Principal, consent: Consent, action: str
) -> None:
    await audit.record(
        session,
        principal,
        organisation_id=consent.organisation_id,
        action=action,
        resource_type="consent",
        resource_id=consent.id,
    )


async def get(
    session: AsyncSession,
    principal: Principal,
    beneficiary_id: uuid.UUID,
    consent_id: uuid.UUID,
    *,
    lock: bool = False,
) -> Consent:
    return await get_owned(
        session,
        Consent,
        principal,
        ConsentNotFound(),
        lock=lock,
        id=consent_id,
        beneficiary_id=beneficiary_id,
    )


async def record(
    session: AsyncSession, principal: Principal, beneficiary_id: uuid.UUID, data: ConsentCreate
) -> Consent:
    beneficiary = await beneficiary_service.get(session, principal, beneficiary_id)
    if data.given_on > utcnow().date() + _CLOCK_SLACK:
        raise InvalidConsent("A consent cannot be given in the future.")
    if data.recipient_organisation_id == principal.org_id:
        raise InvalidConsent("The recipient is another organisation than yours.")
    consent = Consent(
        organisation_id=beneficiary.organisation_id,
        beneficiary_id=beneficiary.id,
        recorded_by=principal.subject,
        **data.model_dump(),
    )
    session.add(consent)
    await session.flush()
    await _audit(session, principal, consent, "consent.record")
    return consent


async def withdraw(
    session: AsyncSession,
    principal: Principal,
    beneficiary_id: uuid.UUID,
    consent_id: uuid.UUID,
    expected_version: int,
) -> Consent:
    """Withdraw for good: a person who agrees again gives a new consent."""
    consent = await get(session, principal, beneficiary_id, consent_id, lock=True)
    if consent.withdrawn_at is not None:
        raise ConsentWithdrawn("A withdrawn consent is final; record a new one if given again.")
    check_version(expected_version, consent.version)
    consent.withdrawn_at = utcnow()
    consent.withdrawn_by = principal.subject
    consent.version += 1
    await _audit(session, principal, consent, "consent.withdraw")
    await session.flush()
    return consent


async def list_for(
    session: AsyncSession,
    principal: Principal,
    beneficiary_id: uuid.UUID,
    params: PageParams,
    *,
    on_day: date | None = None,
    consent_type: ConsentType | None = None,
) -> Sequence[Consent]:
    await beneficiary_service.get(session, principal, beneficiary_id)
    query = select(Consent).where(
        col(Consent.beneficiary_id) == beneficiary_id,
        in_callers_organisation(col(Consent.organisation_id), principal),
    )
    if on_day is not None:
        query = query.where(valid_on(on_day))
    if consent_type is not None:
        query = query.where(col(Consent.type) == consent_type)
    query = paginate(query, params, col(Consent.created_at), col(Consent.id))
    return (await session.scalars(query)).all()


async def sharing_allowed(
    session: AsyncSession,
    principal: Principal,
    beneficiary_id: uuid.UUID,
    recipient_org_id: uuid.UUID,
    scope_items: Iterable[str],
    on_date: date,
) -> bool:
    """Whether the caller may share these items of the beneficiary with the recipient.

    Valid `sharing` records naming the recipient must cover every item between them;
    a record made on another legal basis (vital interest, child protection...) counts
    as the person's consent does.
    """
    scopes = await session.scalars(
        select(col(Consent.scope)).where(
            in_callers_organisation(col(Consent.organisation_id), principal),
            col(Consent.beneficiary_id) == beneficiary_id,
            col(Consent.type) == ConsentType.sharing,
            col(Consent.recipient_organisation_id) == recipient_org_id,
            valid_on(on_date),
        )
    )
    granted = [set(scope) for scope in scopes.all()]
    if not granted:
        return False
    return {str(item) for item in scope_items} <= set().union(*granted)
