"""Case work: open, update, assign, override the phase, close; all within one organisation."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.concurrency import check_version
from baton.db import Database, utcnow
from baton.pagination import PageParams, paginate
from baton.reads import read_owned
from baton.tenancy import get_owned, in_callers_organisation
from cases_api.audit import service as audit
from cases_api.beneficiaries import service as beneficiary_service
from cases_api.cases.exceptions import CaseClosed, CaseNotFound, InvalidCaseDates
from cases_api.cases.models import Case
from cases_api.cases.phases import derived_phase, phase_expression
from cases_api.cases.schemas import (
    Assignment,
    CaseCreate,
    CaseRead,
    CaseUpdate,
    Closure,
    PhaseOverride,
    ReflectionPeriod,
)
from cases_api.vocabulary import CaseStatus


@dataclass(frozen=True)
class ReflectionRules:
    """Reflection-period length per jurisdiction, and the minimum elsewhere."""

    days_by_country: Mapping[str, int]
    default_days: int

    def days(self, jurisdiction: str) -> int:
        return self.days_by_country.get(jurisdiction, self.default_days)


def to_read(case: Case, today: date | None = None) -> CaseRead:
    return read_of(case.model_dump(), today)


def read_of(values: Mapping[str, Any], today: date | None = None) -> CaseRead:
    """The answer for a case's column values (an ORM record's or a driver row's)."""
    derived = derived_phase(values["assistance_started_on"], today or utcnow().date())
    return CaseRead.model_validate(
        {**values, "derived_phase": derived, "phase": values["phase_override"] or derived}
    )


async def read(database: Database, principal: Principal, case_id: uuid.UUID) -> CaseRead:
    """One case by id on the lean read path (baton.reads): no ORM, one round trip."""
    row = await read_owned(database, Case, case_id, principal)
    if row is None:
        raise CaseNotFound()
    return read_of(dict(row))


async def get(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, *, lock: bool = False
) -> Case:
    return await get_owned(session, Case, principal, CaseNotFound(), lock=lock, id=case_id)


def _apply_reflection(case: Case, reflection: ReflectionPeriod, rules: ReflectionRules) -> None:
    days = rules.days(reflection.jurisdiction)
    case.reflection_jurisdiction = reflection.jurisdiction
    case.reflection_started_on = reflection.started_on
    case.reflection_days = days
    case.reflection_ends_on = reflection.started_on + timedelta(days=days)
    case.reflection_informed_by = reflection.informed_by
    case.reflection_informed_at = reflection.informed_at


async def _audit(session: AsyncSession, principal: Principal, case: Case, action: str) -> None:
    await audit.record(
        session,
        principal,
        organisation_id=case.organisation_id,
        action=action,
        resource_type="case",
        resource_id=case.id,
    )


async def create(
    session: AsyncSession,
    principal: Principal,
    data: CaseCreate,
    rules: ReflectionRules,
    *,
    referral_id: uuid.UUID | None = None,
) -> Case:
    # The beneficiary must be one of the caller's: another organisation's is not found.
    await beneficiary_service.get(session, principal, data.beneficiary_id)
    case = Case(
        organisation_id=principal.org_id,
        beneficiary_id=data.beneficiary_id,
        status=CaseStatus.open,
        assistance_started_on=data.assistance_started_on,
        exploitation_forms=sorted(set(data.exploitation_forms)),
        identification_stage=data.identification_stage,
        referral_source=data.referral_source,
        referral_id=referral_id,
        risk_level=data.risk_level,
        assigned_to=principal.subject,
    )
    if data.reflection is not None:
        _apply_reflection(case, data.reflection, rules)
    session.add(case)
    await session.flush()
    await _audit(session, principal, case, "case.create")
    return case


async def _editable(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, version: int
) -> Case:
    # Locked, so two updates based on the same version cannot both pass the check.
    case = await get(session, principal, case_id, lock=True)
    check_version(version, case.version)
    if case.status == CaseStatus.closed:
        raise CaseClosed("A closed case cannot change; open a new case if the person returns.")
    return case


async def _saved(session: AsyncSession, principal: Principal, case: Case, action: str) -> Case:
    case.version += 1
    case.updated_at = utcnow()
    await _audit(session, principal, case, action)
    await session.flush()
    return case


async def update(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    data: CaseUpdate,
    version: int,
    rules: ReflectionRules,
) -> Case:
    case = await _editable(session, principal, case_id, version)
    changes = data.model_dump(exclude_unset=True, exclude={"reflection"})
    if changes.get("status") == CaseStatus.closed:
        raise InvalidCaseDates("Close a case with POST /v1/cases/{case_id}/closure.")
    for field, value in changes.items():
        if value is None and field != "referral_source":
            continue
        if field == "exploitation_forms":
            value = sorted(set(value))
        setattr(case, field, value)
    if data.reflection is not None:
        _apply_reflection(case, data.reflection, rules)
    return await _saved(session, principal, case, "case.update")


async def assign(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    data: Assignment,
    version: int,
) -> Case:
    case = await _editable(session, principal, case_id, version)
    case.assigned_to = data.assigned_to
    return await _saved(session, principal, case, "case.assign")


async def override_phase(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    data: PhaseOverride,
    version: int,
) -> Case:
    case = await _editable(session, principal, case_id, version)
    if data.phase is not None and data.reason is None:
        raise InvalidCaseDates("Overriding the phase needs a reason.")
    case.phase_override = data.phase
    case.phase_override_reason = data.reason if data.phase is not None else None
    case.phase_override_by = principal.subject if data.phase is not None else None
    case.phase_override_at = utcnow() if data.phase is not None else None
    return await _saved(session, principal, case, "case.phase_override")


async def close(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, data: Closure, version: int
) -> Case:
    case = await _editable(session, principal, case_id, version)
    if data.closed_on < case.assistance_started_on:
        raise InvalidCaseDates("A case cannot close before assistance started.")
    case.status = CaseStatus.closed
    case.outcome = data.outcome
    case.closed_on = data.closed_on
    case.closed_by = principal.subject
    return await _saved(session, principal, case, "case.close")


@dataclass(frozen=True)
class CaseFilters:
    status: str | None = None
    phase: str | None = None
    exploitation_form: str | None = None
    assigned_to: str | None = None
    risk_level: str | None = None
    outcome: str | None = None
    beneficiary_id: uuid.UUID | None = None
    started_from: date | None = None
    started_to: date | None = None
    closed_from: date | None = None
    closed_to: date | None = None


async def list_for(
    session: AsyncSession, principal: Principal, params: PageParams, filters: CaseFilters
) -> Sequence[Case]:
    query = select(Case).where(in_callers_organisation(col(Case.organisation_id), principal))
    equal = {
        col(Case.status): filters.status,
        col(Case.assigned_to): filters.assigned_to,
        col(Case.risk_level): filters.risk_level,
        col(Case.outcome): filters.outcome,
        col(Case.beneficiary_id): filters.beneficiary_id,
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
    if filters.phase is not None:
        query = query.where(phase_expression(utcnow().date()) == filters.phase)
    if filters.exploitation_form is not None:
        query = query.where(col(Case.exploitation_forms).contains([filters.exploitation_form]))
    if filters.started_from is not None:
        query = query.where(col(Case.assistance_started_on) >= filters.started_from)
    if filters.started_to is not None:
        query = query.where(col(Case.assistance_started_on) <= filters.started_to)
    if filters.closed_from is not None:
        query = query.where(col(Case.closed_on) >= filters.closed_from)
    if filters.closed_to is not None:
        query = query.where(col(Case.closed_on) <= filters.closed_to)
    query = paginate(query, params, col(Case.created_at), col(Case.id))
    return (await session.scalars(query)).all()
