"""A donor report as one flat CSV table, for a spreadsheet.

Columns: section, subject, dimension, value, metric, amount_or_count, currency,
suppressed (what each section puts in them is documented on the endpoints, see
`CSV_LAYOUT`). A count cases-api suppressed is written as the word `suppressed`,
never as 0 or left for a spreadsheet to read as 0. Cells a spreadsheet could take
for a formula are prefixed with `'` (CSV injection); plain numbers are left as they
are, since a number is never a formula and a prefixed one would stop being a number.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from decimal import Decimal

from grants_api.reports.schemas import (
    DonorReport,
    MoneyFigures,
    OutcomesAvailable,
    SecondaryAvailable,
    StatisticsTable,
)

COLUMNS = (
    "section",
    "subject",
    "dimension",
    "value",
    "metric",
    "amount_or_count",
    "currency",
    "suppressed",
)
SUPPRESSED = "suppressed"
TOTAL = "total"
RECIPIENTS = "recipients"

CSV_LAYOUT = """\
One row per figure, columns `section,subject,dimension,value,metric,amount_or_count,\
currency,suppressed`:

| section | subject | dimension | value | metric | amount_or_count |
| --- | --- | --- | --- | --- | --- |
| `report` | the grant's identifier or the programme's id | | the text | `subject_type`, `name`, \
`period_start`, `period_end`, `currency`, `generated_at` | |
| `finances` | a grant's identifier, or `total` (one per currency) | | | `awarded`, \
`disbursed_in_period`, `disbursed_to_date`, `spent_in_period`, `spent_to_date`, \
`remaining_to_disburse`, `balance` | the amount (empty: not awarded yet) |
| `finances` | same | `budget_category` | the category | `budgeted`, `spent_in_period`, \
`spent_to_date`, `remaining` | the amount |
| `finances` | same | `funder` | the funder's organisation id | `amount` (its share) or \
`share` (of the awarded amount, 0 to 1) | the amount or the fraction |
| `outcomes`, `secondary_beneficiaries` | `recipients` | the table's dimension (`sex`...) \
| the category (`female`...) | the unit (`persons`...) | the count, or `suppressed` |
| same | `recipients` | the dimension | | `total` | the table's total, or `suppressed` |
| `outcomes` | `recipients` | | | `persons_assisted` | distinct persons, or `suppressed` |
| `outcomes` | `recipients` | | the reason when empty | `reintegrated_share` | 0 to 1 |
| `outcomes` | `recipients` | | an NGO's organisation id | `organisation_id` | |
| `outcomes`, `secondary_beneficiaries` | | | `unavailable` / the reason | `status` / \
`reason` | (cases-api could not answer: no figure at all, never zeros) |
| `funding_mix` | an NGO's organisation id | the year | the source | `cash` or `in_kind` \
| the amount |
| `reporting_compliance` | `total` | | | `requirements`, `accepted`, `submitted`, `due`, \
`overdue`, `revision_requested`, `submitted_late` | the count |
| `reporting_requirement` | the grant's identifier | the report's kind | the day it is due \
| its status (`overdue` computed), or `submitted_late` | 1 |

`suppressed` is `primary` or `complementary` for a suppressed cell, `suppressed` for a \
withheld total or number of persons, empty otherwise. Money is in `currency`, never \
summed across currencies.
"""

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Row = tuple[str, str, str, str, str, str, str, str]


def safe_cell(text: str) -> str:
    """The text, prefixed with `'` if a spreadsheet would run it as a formula."""
    if _NUMBER.fullmatch(text):
        return text
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _row(
    section: str,
    subject: str = "",
    dimension: str = "",
    value: str = "",
    metric: str = "",
    amount_or_count: str = "",
    currency: str = "",
    suppressed: str = "",
) -> Row:
    return (section, subject, dimension, value, metric, amount_or_count, currency, suppressed)


def _amount(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def _money(subject: str, figures: MoneyFigures) -> Iterator[Row]:
    currency = figures.currency
    for metric, amount in (
        ("awarded", figures.awarded),
        ("disbursed_in_period", figures.disbursed_in_period),
        ("disbursed_to_date", figures.disbursed_to_date),
        ("spent_in_period", figures.spent_in_period),
        ("spent_to_date", figures.spent_to_date),
        ("remaining_to_disburse", figures.remaining_to_disburse),
        ("balance", figures.balance),
    ):
        yield _row(
            "finances", subject, metric=metric, amount_or_count=_amount(amount), currency=currency
        )
    for line in figures.by_category:
        for metric, amount in (
            ("budgeted", line.budgeted),
            ("spent_in_period", line.spent_in_period),
            ("spent_to_date", line.spent_to_date),
            ("remaining", line.remaining),
        ):
            yield _row(
                "finances", subject, "budget_category", line.category, metric, str(amount), currency
            )
    for funder in figures.funders:
        organisation = str(funder.organisation_id)
        yield _row(
            "finances", subject, "funder", organisation, "amount", str(funder.amount), currency
        )
        yield _row("finances", subject, "funder", organisation, "share", _amount(funder.share))


def _count(count: int | None) -> str:
    return SUPPRESSED if count is None else str(count)


def _table(section: str, table: StatisticsTable) -> Iterator[Row]:
    dimension = " x ".join(table.dimensions)
    for cell in table.cells:
        value = " x ".join(cell.values[name] for name in table.dimensions if name in cell.values)
        yield _row(
            section,
            RECIPIENTS,
            dimension,
            value,
            table.unit,
            _count(cell.count),
            suppressed=cell.suppressed or ("" if cell.count is not None else SUPPRESSED),
        )
    for margin in table.margins:
        yield _row(
            section,
            RECIPIENTS,
            margin.dimension,
            margin.value,
            "margin",
            _count(margin.count),
            suppressed=SUPPRESSED if margin.count is None else "",
        )
    yield _row(
        section,
        RECIPIENTS,
        dimension,
        metric=TOTAL,
        amount_or_count=_count(table.total),
        suppressed=SUPPRESSED if table.total is None else "",
    )


def _unavailable(section: str, reason: str) -> Iterator[Row]:
    yield _row(section, value="unavailable", metric="status")
    yield _row(section, value=reason, metric="reason")


def _outcomes(report: DonorReport) -> Iterator[Row]:
    outcomes = report.outcomes
    if not isinstance(outcomes, OutcomesAvailable):
        yield from _unavailable("outcomes", outcomes.reason)
        yield from _unavailable("secondary_beneficiaries", outcomes.reason)
        return
    for organisation in outcomes.organisation_ids:
        yield _row("outcomes", RECIPIENTS, value=str(organisation), metric="organisation_id")
    yield _row(
        "outcomes",
        RECIPIENTS,
        metric="persons_assisted",
        amount_or_count=_count(outcomes.persons),
        suppressed=SUPPRESSED if outcomes.persons is None else "",
    )
    yield _row(
        "outcomes",
        RECIPIENTS,
        value=outcomes.reintegrated_share_reason or "",
        metric="reintegrated_share",
        amount_or_count=_amount(outcomes.reintegrated_share),
    )
    for table in outcomes.tables:
        yield from _table("outcomes", table)
    secondary = outcomes.secondary_beneficiaries
    if isinstance(secondary, SecondaryAvailable):
        yield from _table("secondary_beneficiaries", secondary.table)
    else:
        yield from _unavailable("secondary_beneficiaries", secondary.reason)


def rows(report: DonorReport) -> Iterator[Row]:
    """Every figure of the report, one row each, in the report's order."""
    subject = report.subject.identifier or str(report.subject.id)
    for metric, text in (
        ("subject_type", report.subject.type.value),
        ("name", report.subject.name),
        ("period_start", report.period.start.isoformat()),
        ("period_end", report.period.end.isoformat()),
        ("currency", report.currency),
        ("generated_at", report.generated_at.isoformat()),
    ):
        yield _row("report", subject, value=text, metric=metric)
    for grant in report.finances.grants:
        yield from _money(grant.identifier, grant)
    for totals in report.finances.totals:
        yield from _money(TOTAL, totals)
    yield from _outcomes(report)
    for year in report.funding_mix:
        for line in year.lines:
            yield _row(
                "funding_mix",
                str(year.organisation_id),
                str(year.year),
                line.source,
                line.kind,
                str(line.amount),
                line.currency,
            )
    compliance = report.reporting_compliance
    for metric, count in (
        ("requirements", compliance.requirements),
        ("accepted", compliance.accepted),
        ("submitted", compliance.submitted),
        ("due", compliance.due),
        ("overdue", compliance.overdue),
        ("revision_requested", compliance.revision_requested),
        ("submitted_late", compliance.submitted_late),
    ):
        yield _row("reporting_compliance", TOTAL, metric=metric, amount_or_count=str(count))
    for item in compliance.items:
        due_on = item.due_on.isoformat()
        yield _row(
            "reporting_requirement", item.grant_identifier, item.kind, due_on, item.status, "1"
        )
        if item.submitted_late:
            yield _row(
                "reporting_requirement",
                item.grant_identifier,
                item.kind,
                due_on,
                "submitted_late",
                "1",
            )


def render(report: DonorReport) -> str:
    """The report as CSV text (RFC 4180), header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in rows(report):
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()


def filename(report: DonorReport) -> str:
    """`grant-report-<identifier>-<start>-<end>.csv`, in characters every system keeps."""
    name = report.subject.identifier or str(report.subject.id)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    period = f"{report.period.start.isoformat()}-{report.period.end.isoformat()}"
    return f"{report.subject.type.value}-report-{slug}-{period}.csv"
