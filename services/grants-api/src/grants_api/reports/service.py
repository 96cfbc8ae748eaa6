"""A donor report: a grant's or a programme's money, results, funding mix and reporting.

The grant report is for every party of the grant (its funders and the recipient
NGO); the programme report for the programme's funders, over the programme's
awarded grants the caller is a party of. Outcomes come from cases-api's suppressed
statistics for the recipient NGOs; everything else from grants-api's own tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import OrgKind, Principal
from baton.authz import Forbidden
from baton.http import ServiceClient
from grants_api.access import party, visible_grant
from grants_api.exceptions import Refused
from grants_api.grants.models import Grant
from grants_api.programmes import service as programmes
from grants_api.programmes.models import Programme
from grants_api.reports import figures
from grants_api.reports.figures import Period
from grants_api.reports.outcomes import outcomes
from grants_api.reports.schemas import (
    DonorReport,
    ReportPeriod,
    ReportSubject,
    SubjectType,
)
from grants_api.vocabulary import GrantStatus

# The span cases-api's statistics accept.
MAX_PERIOD_YEARS = 50


class InvalidReportPeriod(Refused):
    code = "invalid-report-period"
    title = "The report's period must run forward"


def report_period(
    default_start: date, default_end: date, start: date | None, end: date | None
) -> Period:
    """The period asked for, each end defaulting to the subject's own."""
    period = Period(start or default_start, end or default_end)
    if period.end < period.start:
        raise InvalidReportPeriod("`period_end` comes on or after `period_start`.")
    if period.end.year - period.start.year > MAX_PERIOD_YEARS:
        raise InvalidReportPeriod(f"A report spans at most {MAX_PERIOD_YEARS} years.")
    return period


class ProgrammeReportForFunders(Forbidden):
    code = "programme-report-funders-only"
    title = "A programme's report is for its funders"


async def visible_programme(
    session: AsyncSession, principal: Principal, programme_id: uuid.UUID
) -> Programme:
    """The programme if the caller's organisation funds it.

    An NGO never reads a programme's report (403, whichever programme: its own
    grant's report is its). A donor: 404 for a programme it cannot see; 403 for one
    it sees through a grant it co-funds without funding the programme.
    """
    if principal.org_kind is OrgKind.ngo:
        raise ProgrammeReportForFunders(
            "Your grant's own report is at /v1/grants/{grant_id}/report."
        )
    programme = await programmes.get(session, principal, programme_id)
    if not programmes.is_funder(programme, principal):
        raise ProgrammeReportForFunders(
            "Your grant's own report is at /v1/grants/{grant_id}/report."
        )
    return programme


async def programme_grants(
    session: AsyncSession, principal: Principal, programme_id: uuid.UUID
) -> Sequence[Grant]:
    """The programme's awarded grants (never drafts) the caller is a party of."""
    return (
        await session.scalars(
            select(Grant)
            .where(
                col(Grant.programme_id) == programme_id,
                col(Grant.status) != GrantStatus.draft,
                party(col(Grant.party_organisation_ids), principal),
            )
            .order_by(col(Grant.identifier))
        )
    ).all()


async def _report(
    session: AsyncSession,
    statistics: ServiceClient | None,
    subject: ReportSubject,
    currency: str,
    grants: Sequence[Grant],
    period: Period,
) -> DonorReport:
    finances = await figures.finances(session, grants, period)
    recipients = sorted({grant.recipient_organisation_id for grant in grants})
    funding = await figures.funding_mix(session, recipients, period)
    compliance = await figures.compliance(session, grants)
    # Last, and with the read transaction ended: waiting on another service holds no
    # pooled connection (32 reports at once ran grants-api's pool dry: 503s).
    await session.commit()
    results = await outcomes(statistics, recipients, period)
    return DonorReport(
        subject=subject,
        period=ReportPeriod(start=period.start, end=period.end),
        currency=currency,
        generated_at=datetime.now(UTC),
        finances=finances,
        outcomes=results,
        funding_mix=funding,
        reporting_compliance=compliance,
    )


async def grant_report(
    session: AsyncSession,
    principal: Principal,
    statistics: ServiceClient | None,
    grant_id: uuid.UUID,
    start: date | None,
    end: date | None,
) -> DonorReport:
    grant = await visible_grant(session, principal, grant_id)
    period = report_period(grant.planned_start, grant.planned_end, start, end)
    subject = ReportSubject(
        type=SubjectType.grant, id=grant.id, name=grant.title, identifier=grant.identifier
    )
    return await _report(session, statistics, subject, grant.currency, [grant], period)


async def programme_report(
    session: AsyncSession,
    principal: Principal,
    statistics: ServiceClient | None,
    programme_id: uuid.UUID,
    start: date | None,
    end: date | None,
) -> DonorReport:
    programme = await visible_programme(session, principal, programme_id)
    period = report_period(programme.period_start, programme.period_end, start, end)
    grants = await programme_grants(session, principal, programme_id)
    subject = ReportSubject(
        type=SubjectType.programme, id=programme.id, name=programme.name, identifier=None
    )
    return await _report(session, statistics, subject, programme.currency, grants, period)
