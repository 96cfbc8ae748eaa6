"""The reporting a grant owes from its award: an interim report and a final one.

The interim report falls due `interim_report_due_days` after the midpoint of the
grant's planned period, the final one `final_report_due_days` after its planned
end. Awarding twice (a retried action) adds nothing: a kind the grant already has
is not added again.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from grants_api.config import GrantsSettings
from grants_api.grants.models import Grant
from grants_api.reporting.models import ReportingRequirement
from grants_api.vocabulary import ReportKind, RequirementStatus


def default_due_dates(settings: GrantsSettings, grant: Grant) -> dict[ReportKind, date]:
    """When the interim and final reports of `grant` fall due."""
    # The midpoint rounds down to a whole day (an odd number of days has no middle day).
    midpoint = grant.planned_start + timedelta(
        days=(grant.planned_end - grant.planned_start).days // 2
    )
    return {
        ReportKind.interim: midpoint + timedelta(days=settings.interim_report_due_days),
        ReportKind.final: grant.planned_end + timedelta(days=settings.final_report_due_days),
    }


async def create_default_requirements(
    session: AsyncSession, settings: GrantsSettings, grant: Grant
) -> list[ReportingRequirement]:
    """Add the interim and final requirements `grant` lacks; returns those added (status `due`)."""
    existing = set(
        await session.scalars(
            select(col(ReportingRequirement.kind)).where(
                col(ReportingRequirement.grant_id) == grant.id
            )
        )
    )
    added = [
        ReportingRequirement(
            grant_id=grant.id, kind=kind, due_on=due_on, status=RequirementStatus.due
        )
        for kind, due_on in default_due_dates(settings, grant).items()
        if kind not in existing
    ]
    session.add_all(added)
    await session.flush()
    return added
