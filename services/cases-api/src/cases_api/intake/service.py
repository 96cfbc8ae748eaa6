"""Intake: a referral accepted by an organisation becomes its beneficiary and case, once.

The caller is the referral service's client, whose organisation is the platform;
everything is written in the receiving organisation, bound for row-level security.
The referral's id is the idempotency key: `case_file.referral_id` is unique, so a
repeated or concurrent intake of the same referral finds the first one's case.
The referrer's needs and risk summaries, when sent, become the case's first notes.
"""

from __future__ import annotations

import dataclasses
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.tenancy import bind_tenant, in_callers_organisation
from cases_api.audit import service as audit
from cases_api.beneficiaries import service as beneficiary_service
from cases_api.beneficiaries.models import BeneficiaryIdentity
from cases_api.beneficiaries.schemas import BeneficiaryCreate, DuplicateReport
from cases_api.cases import service as case_service
from cases_api.cases.models import Case
from cases_api.cases.schemas import CaseCreate
from cases_api.cases.service import ReflectionRules
from cases_api.intake.exceptions import ReferralAlreadyHasCase
from cases_api.intake.schemas import IntakeRead, ReferralIntake
from cases_api.notes import service as note_service
from cases_api.notes.schemas import NoteCategory, NoteCreate
from cases_api.protection import IdentityVault

REFERRAL_CONSTRAINT = "uq_case_file_referral_id"


def _violated_constraint(error: IntegrityError) -> str | None:
    # SQLAlchemy's asyncpg adapter keeps asyncpg's own error as the cause.
    cause = getattr(error.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None)
    return name if isinstance(name, str) else None


async def _duplicates(
    session: AsyncSession, receiver: Principal, beneficiary_id: uuid.UUID
) -> DuplicateReport:
    index = await session.scalar(
        select(col(BeneficiaryIdentity.blind_index)).where(
            col(BeneficiaryIdentity.beneficiary_id) == beneficiary_id
        )
    )
    if index is None:
        return DuplicateReport(possible_duplicates=[], known_elsewhere=False)
    return await beneficiary_service.duplicates(session, receiver, index, exclude=beneficiary_id)


async def _existing(
    session: AsyncSession, receiver: Principal, data: ReferralIntake
) -> IntakeRead | None:
    """The receiving organisation's case of this referral, if it has one."""
    case = await session.scalar(
        select(Case).where(
            col(Case.referral_id) == data.referral_id,
            in_callers_organisation(col(Case.organisation_id), receiver),
        )
    )
    if case is None:
        return None
    return IntakeRead(
        referral_id=data.referral_id,
        organisation_id=receiver.org_id,
        beneficiary_id=case.beneficiary_id,
        case_id=case.id,
        duplicates=await _duplicates(session, receiver, case.beneficiary_id),
    )


async def open_case(
    session: AsyncSession,
    principal: Principal,
    vault: IdentityVault,
    data: ReferralIntake,
    rules: ReflectionRules,
) -> tuple[IntakeRead, bool]:
    """Open the referral's beneficiary and case; True if opened now, False if before."""
    await bind_tenant(session, data.organisation_id)
    # The beneficiary and case services write in their caller's organisation; here
    # that is the receiving one, not the caller's own (the platform), which the audit
    # log keeps as the actor's organisation.
    receiver = dataclasses.replace(
        principal, org_id=data.organisation_id, token_org_id=principal.org_id
    )
    existing = await _existing(session, receiver, data)
    if existing is not None:
        return existing, False
    create = BeneficiaryCreate(**data.beneficiary.model_dump(), identity=data.identity)
    try:
        # A savepoint: if a concurrent intake of the same referral committed first, its
        # case wins and this one's beneficiary goes with the rolled-back savepoint.
        async with session.begin_nested():
            beneficiary, report = await beneficiary_service.create(session, receiver, vault, create)
            case = await case_service.create(
                session,
                receiver,
                CaseCreate(beneficiary_id=beneficiary.id, **data.case.model_dump()),
                rules,
                referral_id=data.referral_id,
            )
    except IntegrityError as error:
        if _violated_constraint(error) != REFERRAL_CONSTRAINT:
            raise
        existing = await _existing(session, receiver, data)
        if existing is None:
            # Another organisation's case: say so, and nothing about it.
            raise ReferralAlreadyHasCase(
                "This referral was taken in by another organisation."
            ) from None
        return existing, False
    # Case creation assigns the case to its caller, a service client here: the
    # receiving organisation's case manager assigns it.
    case.assigned_to = None
    await session.flush()
    # The referrer's summaries join the file as notes, sealed like every note.
    for category, summary in (
        (NoteCategory.general, data.needs_summary),
        (NoteCategory.safety, data.risk_summary),
    ):
        if summary is not None:
            await note_service.write(
                session, receiver, vault, case.id, NoteCreate(category=category, text=summary)
            )
    await audit.record(
        session,
        principal,
        organisation_id=data.organisation_id,
        action="intake.open",
        resource_type="case",
        resource_id=case.id,
    )
    intake = IntakeRead(
        referral_id=data.referral_id,
        organisation_id=data.organisation_id,
        beneficiary_id=beneficiary.id,
        case_id=case.id,
        duplicates=report,
    )
    return intake, True
