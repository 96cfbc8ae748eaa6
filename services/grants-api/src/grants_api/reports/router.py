"""HTTP endpoints of the donor reports and of the 360Giving export."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from baton.errors import problem_responses
from baton.tenancy import TenantSessionDep
from grants_api.access import GrantReader
from grants_api.dependencies import Settings, Statistics
from grants_api.exceptions import GrantNotFound, ProgrammeNotFound
from grants_api.reports import csv_export, giving360, service
from grants_api.reports.schemas import DonorReport, ReportFormat

router = APIRouter(prefix="/v1", tags=["donor reports"])

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
PeriodStart = Annotated[
    date | None, Query(description="First day reported; default: the planned start")
]
PeriodEnd = Annotated[date | None, Query(description="Last day reported; default: the planned end")]
Format = Annotated[
    ReportFormat | None,
    Query(
        alias="format",
        description="`json` or `csv`; without it, `Accept: text/csv` asks for CSV",
    ),
]
REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
}

REPORT_CONTENT = f"""
The report holds the period's money (awarded, disbursed and spent, by budget category
beside the budget, per funder's share, never summed across currencies), the results
(`outcomes`: cases-api's suppressed statistics for the recipient NGOs, one table per
dimension, copied as published: a suppressed cell has `count: null` and says
`primary` or `complementary`, it is never 0; `persons` and `reintegrated_share` are
null when suppressed, with the reason), the recipients' funding mix for the period's
years and the grants' reporting compliance. When cases-api cannot answer, `outcomes`
is `{{"status": "unavailable", "reason": ...}}`: no figure rather than a wrong one.

`format=csv` (or `Accept: text/csv`) gives the same figures as one CSV table.

{csv_export.CSV_LAYOUT}"""


@dataclass(frozen=True)
class ReportAsked:
    """What a report's caller asks for besides its subject: the period and the format."""

    period_start: date | None
    period_end: date | None
    csv: bool

    def answer(self, report: DonorReport) -> Any:
        """The report as JSON, or as a CSV file to download."""
        if not self.csv:
            return report
        return Response(
            content=csv_export.render(report),
            media_type=CSV_MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="{csv_export.filename(report)}"',
                "Cache-Control": "no-store",
            },
        )


async def _report_asked(
    request: Request,
    period_start: PeriodStart = None,
    period_end: PeriodEnd = None,
    report_format: Format = None,
) -> ReportAsked:
    if report_format is not None:
        csv = report_format is ReportFormat.csv
    else:
        csv = "text/csv" in request.headers.get("accept", "")
    return ReportAsked(period_start, period_end, csv)


Asked = Annotated[ReportAsked, Depends(_report_asked)]


@router.get(
    "/grants/{grant_id}/report",
    response_model=DonorReport,
    responses={
        **REPORT_RESPONSES,
        **problem_responses(GrantNotFound, service.InvalidReportPeriod),
    },
    description=(
        "The donor report of one grant, for any party of it (its funders and the "
        "recipient NGO; anyone else: 404). The period defaults to the grant's planned "
        "period.\n" + REPORT_CONTENT
    ),
)
async def grant_report(
    grant_id: uuid.UUID,
    session: TenantSessionDep,
    principal: GrantReader,
    statistics: Statistics,
    asked: Asked,
) -> Any:
    report = await service.grant_report(
        session, principal, statistics, grant_id, asked.period_start, asked.period_end
    )
    return asked.answer(report)


@router.get(
    "/programmes/{programme_id}/report",
    response_model=DonorReport,
    responses={
        **REPORT_RESPONSES,
        **problem_responses(
            ProgrammeNotFound, service.ProgrammeReportForFunders, service.InvalidReportPeriod
        ),
    },
    description=(
        "The donor report of a programme, for its funders (anyone else: 404): its "
        "awarded grants you are a party of, one row each, and their totals per "
        "currency and per funder. The period defaults to the programme's.\n" + REPORT_CONTENT
    ),
)
async def programme_report(
    programme_id: uuid.UUID,
    session: TenantSessionDep,
    principal: GrantReader,
    statistics: Statistics,
    asked: Asked,
) -> Any:
    report = await service.programme_report(
        session, principal, statistics, programme_id, asked.period_start, asked.period_end
    )
    return asked.answer(report)


@router.get(
    "/exports/360giving",
    response_model=giving360.Package360,
    response_model_exclude_none=True,
    responses=problem_responses(
        giving360.ExportDonorsOnly, ProgrammeNotFound, giving360.NoGrantsToExport
    ),
)
async def export_360giving(
    request: Request,
    session: TenantSessionDep,
    principal: GrantReader,
    settings: Settings,
    programme_id: Annotated[
        uuid.UUID | None, Query(description="Only the grants of this programme you fund")
    ] = None,
) -> giving360.Package360:
    """Your organisation's awarded grants as a 360Giving data package (standard 1.4).

    Donors only (an NGO: 403 `export-donors-only`): every grant your organisation
    funds, never a draft. Organisations are identified as
    `<publisher prefix>-org-<organisation id>`, as 360Giving asks for organisations
    without a registration number known to the publisher; demo organisations carry
    their demo names, others their id. No grant to publish: 404 `no-grants-to-export`
    (a 360Giving package holds at least one grant).
    """
    return await giving360.package(
        session, principal, settings.identifier_prefix, programme_id, str(request.url)
    )
