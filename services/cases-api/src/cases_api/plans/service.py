"""Plan services of a case: planned, started, delivered or cancelled; one organisation's.

Every query names the caller's organisation (row-level security checks it again
underneath). A service belongs to a case: the case is looked up first, so another
organisation's case, or a service of another case, is simply not found.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.concurrency import check_version
from baton.db import utcnow
from baton.pagination import PageParams, paginate
from baton.tenancy import get_owned, in_callers_organisation
from cases_api.audit import service as audit
from cases_api.cases import service as case_service
from cases_api.cases.exceptions import CaseClosed
from cases_api.cases.models import Case
from cases_api.plans.exceptions import (
    CaseServiceNotFound,
    InvalidServiceDates,
    InvalidServiceTransition,
    ServiceFinal,
)
from cases_api.plans.models import TRANSITIONS, CaseService, ServiceStatus
from cases_api.plans.schemas import CaseServiceCreate, CaseServiceRead, CaseServiceUpdate
from cases_api.vocabulary import CaseStatus

# Clearable by sending null; the others keep their value when null is sent.
NOT_CLEARABLE = frozenset({"service_type", "status"})


def to_read(service: CaseService) -> CaseServiceRead:
    return CaseServiceRead.model_validate(service)


def latest_today() -> date:
    """Today where it is latest (UTC+14): a date is in the future only if it is everywhere."""
    return (utcnow() + timedelta(hours=14)).date()


async def _open_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> Case:
    # Locked for the rest of the transaction: a closure cannot slip in between.
    case = await case_service.get(session, principal, case_id, lock=True)
    if case.status == CaseStatus.closed:
        raise CaseClosed("A closed case takes no new services and its services do not change.")
    return case


async def _find(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    service_id: uuid.UUID,
    *,
    lock: bool = False,
) -> CaseService:
    return await get_owned(
        session,
        CaseService,
        principal,
        CaseServiceNotFound(),
        lock=lock,
        id=service_id,
        case_id=case_id,
    )


async def get(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, service_id: uuid.UUID
) -> CaseService:
    await case_service.get(session, principal, case_id)
    return await _find(session, principal, case_id, service_id)


def _check_dates(service: CaseService, case: Case) -> None:
    if (
        service.planned_start is not None
        and service.planned_end is not None
        and service.planned_end < service.planned_start
    ):
        raise InvalidServiceDates("The planned end comes before the planned start.")
    if service.status == ServiceStatus.planned and service.started_on is not None:
        raise InvalidServiceDates("A planned service has not started: move it to in_progress.")
    if service.status == ServiceStatus.delivered and service.delivered_on is None:
        raise InvalidServiceDates("A delivered service needs `delivered_on`.")
    if service.status != ServiceStatus.delivered and service.delivered_on is not None:
        raise InvalidServiceDates("Only a delivered service has `delivered_on`.")
    for actual in (service.started_on, service.delivered_on):
        if actual is not None and actual > latest_today():
            raise InvalidServiceDates("A service cannot have started or been delivered yet.")
        if actual is not None and actual < case.assistance_started_on:
            raise InvalidServiceDates("A service cannot start before the case's assistance did.")
    if (
        service.started_on is not None
        and service.delivered_on is not None
        and service.delivered_on < service.started_on
    ):
        raise InvalidServiceDates("A service cannot be delivered before it started.")


def _own_provider(service: CaseService, principal: Principal) -> None:
    if service.provider_organisation_id == principal.org_id:
        service.provider_organisation_id = None


async def _audit(
    session: AsyncSession, principal: Principal, service: CaseService, action: str
) -> None:
    await audit.record(
        session,
        principal,
        organisation_id=service.organisation_id,
        action=action,
        resource_type="case_service",
        resource_id=service.id,
    )


async def create(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, data: CaseServiceCreate
) -> CaseService:
    case = await _open_case(session, principal, case_id)
    service = CaseService(
        organisation_id=principal.org_id,
        case_id=case.id,
        beneficiary_id=case.beneficiary_id,
        status=ServiceStatus.planned,
        **data.model_dump(),
    )
    _own_provider(service, principal)
    _check_dates(service, case)
    session.add(service)
    await session.flush()
    await _audit(session, principal, service, "service.create")
    return service


async def update(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    service_id: uuid.UUID,
    data: CaseServiceUpdate,
    version: int,
) -> CaseService:
    case = await _open_case(session, principal, case_id)
    service = await _find(session, principal, case.id, service_id, lock=True)
    check_version(version, service.version)
    current = ServiceStatus(service.status)
    if not TRANSITIONS[current]:
        raise ServiceFinal(f"The service is {current.value}; record a new one if needed.")
    if data.status not in (None, current, *TRANSITIONS[current]):
        allowed = ", ".join(sorted(status.value for status in TRANSITIONS[current]))
        raise InvalidServiceTransition(f"A {current.value} service can become: {allowed}.")
    changes = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None and field in NOT_CLEARABLE:
            continue
        setattr(service, field, value)
    # Naming a provider one way replaces a provider named the other way.
    if changes.get("provider_organisation_id") is not None:
        service.provider_name = None
    if changes.get("provider_name") is not None:
        service.provider_organisation_id = None
    _own_provider(service, principal)
    _check_dates(service, case)
    service.version += 1
    service.updated_at = utcnow()
    await _audit(session, principal, service, "service.update")
    await session.flush()
    return service


async def list_for(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    params: PageParams,
    *,
    status: str | None = None,
    service_type: str | None = None,
) -> Sequence[CaseService]:
    await case_service.get(session, principal, case_id)
    query = select(CaseService).where(
        col(CaseService.case_id) == case_id,
        in_callers_organisation(col(CaseService.organisation_id), principal),
    )
    if status is not None:
        query = query.where(col(CaseService.status) == status)
    if service_type is not None:
        query = query.where(col(CaseService.service_type) == service_type)
    query = paginate(query, params, col(CaseService.created_at), col(CaseService.id))
    return (await session.scalars(query)).all()
