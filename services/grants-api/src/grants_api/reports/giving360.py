"""A donor's grants as a 360Giving data package (standard 1.4), for open-data publication.

Each grant keeps 360Giving's field meaning: `id` is the grant's identifier (the
publisher's 360G prefix and the donor's reference), amounts are JSON numbers in the
grant's currency, `amountDisbursed` sums what was paid. Only awarded grants the
caller funds are published, never a draft.

Organisations: grants-api stores organisation ids, not registrations. 360Giving asks
for an org-id (a list prefix and an identifier from that list) and, for an
organisation without a registration number known to the publisher, "your 360Giving
prefix and any internal identifier you have for this organisation"
(standard.threesixtygiving.org, Identifiers). So an organisation is
`<identifier_prefix>-org-<uuid>`: stable (Baton's organisation id never changes),
unique, and clearly the publisher's own. Names: grants-api holds none, so a demo
organisation (`baton.stack.programme.ORGANISATIONS`) gets its demo name and any other
its id, until identity-api's names are joined in.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import OrgKind, Principal
from baton.authz import Forbidden
from baton.errors import NotFound
from baton.stack.programme import ORGANISATIONS
from grants_api.exceptions import ProgrammeNotFound
from grants_api.finances.summary import disbursed_by_grant
from grants_api.grants.models import Grant, GrantFunder
from grants_api.grants.service import funders_of
from grants_api.programmes.models import Programme
from grants_api.vocabulary import GrantStatus

DEMO_NAMES = {organisation.id: organisation.name for organisation in ORGANISATIONS}
# Names for the beneficiary countries the programmes work in; other codes stand alone.
COUNTRY_NAMES = {
    "AL": "Albania",
    "BA": "Bosnia and Herzegovina",
    "BG": "Bulgaria",
    "MK": "North Macedonia",
    "RO": "Romania",
    "RS": "Serbia",
    "XK": "Kosovo",
}
# User-assigned (ISO 3166-1 keeps it out): 360Giving's countryCode codelist refuses it.
OUTSIDE_COUNTRY_CODELIST = frozenset({"XK"})

# 360Giving numbers are JSON numbers. numeric(14, 2) has at most 14 significant digits,
# which a double's shortest representation gives back digit for digit.
Number = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class ExportDonorsOnly(Forbidden):
    code = "export-donors-only"
    title = "Only donors publish their grants"


class NoGrantsToExport(NotFound):
    code = "no-grants-to-export"
    title = "No awarded grant of yours to publish"


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True)


class Organization360(_Camel):
    id: str = Field(description="`<prefix>-org-<organisation uuid>`")
    name: str


class Dates360(_Camel):
    start_date: date
    end_date: date | None = None


class Location360(_Camel):
    country_code: str | None = None
    name: str


class GrantProgramme360(_Camel):
    code: str = Field(description="The programme's id")
    title: str | None = None


class Grant360(_Camel):
    id: str
    title: str
    description: str
    currency: str
    amount_applied_for: Number | None = None
    amount_awarded: Number
    amount_disbursed: Number
    award_date: date
    planned_dates: list[Dates360]
    actual_dates: list[Dates360] | None = None
    recipient_organization: list[Organization360]
    funding_organization: list[Organization360]
    beneficiary_location: list[Location360] | None = None
    grant_programme: list[GrantProgramme360] | None = None
    date_modified: datetime
    data_source: str


class Publisher360(_Camel):
    identifier: str
    name: str


class Package360(_Camel):
    grants: list[Grant360] = Field(min_length=1)
    version: Literal["1.4"] = "1.4"
    title: str
    issued: date
    modified: datetime
    publisher: Publisher360


def organisation_identifier(prefix: str, organisation_id: uuid.UUID) -> str:
    return f"{prefix}-org-{organisation_id}"


def organisation(prefix: str, organisation_id: uuid.UUID) -> Organization360:
    return Organization360(
        id=organisation_identifier(prefix, organisation_id),
        name=DEMO_NAMES.get(organisation_id, str(organisation_id)),
    )


def location(country: str) -> Location360:
    name = COUNTRY_NAMES.get(country, country)
    if country in OUTSIDE_COUNTRY_CODELIST:
        return Location360(name=name)
    return Location360(country_code=country, name=name)


async def funded_grants(
    session: AsyncSession, principal: Principal, programme_id: uuid.UUID | None
) -> Sequence[Grant]:
    """The awarded grants the caller's organisation funds (in the programme, if one)."""
    query = select(Grant).where(
        col(Grant.status) != GrantStatus.draft,
        col(Grant.amount_awarded).is_not(None),
        col(Grant.award_date).is_not(None),
        col(Grant.id).in_(
            select(col(GrantFunder.grant_id)).where(
                col(GrantFunder.organisation_id) == principal.org_id
            )
        ),
    )
    if programme_id is not None:
        query = query.where(col(Grant.programme_id) == programme_id)
    return (
        await session.scalars(query.order_by(col(Grant.award_date), col(Grant.identifier)))
    ).all()


async def _require_programme(session: AsyncSession, programme_id: uuid.UUID) -> None:
    """404 unless the caller may read the programme.

    Row-level security shows a programme to its funders and to the parties of its
    grants: a co-funder of grants in another donor's programme narrows to it too.
    """
    found = await session.scalar(select(col(Programme.id)).where(col(Programme.id) == programme_id))
    if found is None:
        raise ProgrammeNotFound()


async def _programme_names(session: AsyncSession, grants: Sequence[Grant]) -> dict[uuid.UUID, str]:
    # Whoever funds a grant reads its programme (row-level security): the title is known.
    ids = {grant.programme_id for grant in grants if grant.programme_id is not None}
    if not ids:
        return {}
    rows = await session.execute(
        select(col(Programme.id), col(Programme.name)).where(col(Programme.id).in_(ids))
    )
    return {row[0]: row[1] for row in rows}


def _grant(
    grant: Grant,
    prefix: str,
    funders: list[GrantFunder],
    disbursed: Decimal,
    programmes: dict[uuid.UUID, str],
    data_source: str,
) -> Grant360:
    # The query keeps only grants with both.
    assert grant.amount_awarded is not None
    assert grant.award_date is not None
    actual = (
        [Dates360(start_date=grant.actual_start, end_date=grant.actual_end)]
        if grant.actual_start is not None
        else None
    )
    programme = (
        [GrantProgramme360(code=str(grant.programme_id), title=programmes.get(grant.programme_id))]
        if grant.programme_id is not None
        else None
    )
    return Grant360(
        id=grant.identifier,
        title=grant.title,
        # 360Giving requires a description; a grant without one is described by its title.
        description=grant.description or grant.title,
        currency=grant.currency,
        amount_applied_for=grant.amount_applied_for,
        amount_awarded=grant.amount_awarded,
        amount_disbursed=disbursed,
        award_date=grant.award_date,
        planned_dates=[Dates360(start_date=grant.planned_start, end_date=grant.planned_end)],
        actual_dates=actual,
        recipient_organization=[organisation(prefix, grant.recipient_organisation_id)],
        funding_organization=[organisation(prefix, funder.organisation_id) for funder in funders],
        beneficiary_location=[location(c) for c in grant.beneficiary_countries] or None,
        grant_programme=programme,
        date_modified=grant.updated_at,
        data_source=data_source,
    )


async def package(
    session: AsyncSession,
    principal: Principal,
    prefix: str,
    programme_id: uuid.UUID | None,
    data_source: str,
) -> Package360:
    """The 360Giving package of the caller's grants; 404 when there is none to publish."""
    if principal.org_kind is not OrgKind.donor:
        raise ExportDonorsOnly("Only a donor's grant managers and viewers publish its grants.")
    if programme_id is not None:
        await _require_programme(session, programme_id)
    grants = await funded_grants(session, principal, programme_id)
    if not grants:
        # The package schema asks for at least one grant (`minItems: 1`).
        raise NoGrantsToExport("No awarded grant funded by your organisation matches.")
    ids = [grant.id for grant in grants]
    funders = await funders_of(session, ids)
    disbursed = await disbursed_by_grant(session, ids)
    programmes = await _programme_names(session, grants)
    now = datetime.now(UTC)
    publisher = organisation(prefix, principal.org_id)
    return Package360(
        grants=[
            _grant(
                grant,
                prefix,
                funders[grant.id],
                disbursed.get(grant.id, Decimal("0.00")),
                programmes,
                data_source,
            )
            for grant in grants
        ],
        title=f"Grants funded by {publisher.name}",
        issued=now.date(),
        modified=now,
        publisher=Publisher360(identifier=publisher.id, name=publisher.name),
    )
