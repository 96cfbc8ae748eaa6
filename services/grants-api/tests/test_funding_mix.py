"""The funding mix: an NGO keeps its years, the donors that fund it read them.

Create, replace and read with exact totals and shares; If-Match on replacement
(428, 412) and on a racing first save; refusals (another organisation, a
caseworker, a repeated entry, a year out of range, an identifier in a description)
leave nothing behind; who sees what, through the API, through the service with
row-level security out of the way, and through row-level security alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from baton.auth import OrgKind, Principal
from baton.db import Database
from baton.pagination import PageParams
from baton.tenancy import bind_tenant
from baton.testing import with_and_without_organisation_filter
from baton.testing_issuer import Caller, CallerFactory
from grants_api.funding import service
from grants_api.funding.exceptions import FundingYearNotFound
from grants_factories import GrantParties, grant_parties, insert_grant

MIX = "/v1/funding-mix"
NEXT_YEAR = datetime.now(UTC).year + 1

# Shares 6.25 % round half up to 6.3; they add up to 100.1, as documented.
EUR_2011 = [
    {"source": "foundation", "kind": "cash", "amount": "1000.00", "currency": "EUR"},
    {"source": "private_sector", "kind": "in_kind", "amount": "250.50", "currency": "EUR"},
    {"source": "private_sector", "kind": "cash", "amount": "749.5", "currency": "EUR"},
    {
        "source": "government_local",
        "kind": "in_kind",
        "amount": "2000.00",
        "currency": "EUR",
        "description": "Municipal building, rent-free",
    },
    {"source": "international_donor", "kind": "cash", "amount": "12000.00", "currency": "EUR"},
    {"source": "social_enterprise", "kind": "cash", "amount": "350000.00", "currency": "ALL"},
    {"source": "individual_donations", "kind": "cash", "amount": "0.00", "currency": "USD"},
]
SMALL = [{"source": "foundation", "kind": "cash", "amount": "300.00", "currency": "EUR"}]


def url(organisation: uuid.UUID, year: int) -> str:
    return f"{MIX}/{organisation}/{year}"


async def put_year(
    client: httpx.AsyncClient,
    who: Caller,
    year: int,
    entries: list[dict[str, Any]],
    *,
    if_match: str | None = None,
    organisation: uuid.UUID | None = None,
) -> httpx.Response:
    headers = who.with_headers(if_match=if_match) if if_match else who.headers
    return await client.put(
        url(organisation or who.org_id, year), json={"entries": entries}, headers=headers
    )


async def funded(caller: CallerFactory, superuser: asyncpg.Connection) -> GrantParties:
    """A grant's world with an active, co-funded grant from the donor to the NGO."""
    parties = grant_parties(caller)
    await insert_grant(superuser, parties)
    return parties


async def years_listed(
    client: httpx.AsyncClient, who: Caller, **params: Any
) -> list[tuple[str, int]]:
    listed: list[tuple[str, int]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(MIX, params=query, headers=who.headers)
        assert response.status_code == 200, response.text
        listed += [(item["organisation_id"], item["year"]) for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return listed


async def stored_rows(superuser: asyncpg.Connection, organisation: uuid.UUID) -> tuple[int, int]:
    years = await superuser.fetchval(
        "SELECT count(*) FROM funding_year WHERE organisation_id = $1", organisation
    )
    entries = await superuser.fetchval(
        "SELECT count(*) FROM funding_entry WHERE organisation_id = $1", organisation
    )
    return years, entries


# Create, replace, read ------------------------------------------------------------------


async def test_an_ngo_creates_then_replaces_its_year_with_exact_totals_and_shares(
    grants: httpx.AsyncClient, caller: CallerFactory
) -> None:
    ngo = caller("ngo", ["case_manager"])
    created = await put_year(grants, ngo, 2011, EUR_2011)
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'

    read = await grants.get(url(ngo.org_id, 2011), headers=ngo.headers)
    assert read.status_code == 200, read.text
    assert read.headers["etag"] == '"1"'
    body = read.json()
    assert body == created.json()
    assert (body["organisation_id"], body["year"], body["version"]) == (str(ngo.org_id), 2011, 1)
    assert [(e["currency"], e["source"], e["kind"], e["amount"]) for e in body["entries"]] == [
        ("ALL", "social_enterprise", "cash", "350000.00"),
        ("EUR", "foundation", "cash", "1000.00"),
        ("EUR", "government_local", "in_kind", "2000.00"),
        ("EUR", "international_donor", "cash", "12000.00"),
        ("EUR", "private_sector", "cash", "749.50"),
        ("EUR", "private_sector", "in_kind", "250.50"),
        ("USD", "individual_donations", "cash", "0.00"),
    ]
    assert body["entries"][2]["description"] == "Municipal building, rent-free"
    assert body["totals"] == {
        "ALL": {
            "total": "350000.00",
            "cash": "350000.00",
            "in_kind": "0.00",
            "by_source": {"social_enterprise": "350000.00"},
        },
        "EUR": {
            "total": "16000.00",
            "cash": "13749.50",
            "in_kind": "2250.50",
            "by_source": {
                "foundation": "1000.00",
                "government_local": "2000.00",
                "international_donor": "12000.00",
                "private_sector": "1000.00",
            },
        },
        "USD": {
            "total": "0.00",
            "cash": "0.00",
            "in_kind": "0.00",
            "by_source": {"individual_donations": "0.00"},
        },
    }
    assert body["shares"] == {
        "ALL": {"social_enterprise": "100.0"},
        "EUR": {
            "foundation": "6.3",
            "government_local": "12.5",
            "international_donor": "75.0",
            "private_sector": "6.3",
        },
        "USD": {"individual_donations": "0.0"},
    }

    replaced = await put_year(grants, ngo, 2011, SMALL, if_match='"1"')
    assert replaced.status_code == 200, replaced.text
    assert replaced.headers["etag"] == '"2"'
    again = (await grants.get(url(ngo.org_id, 2011), headers=ngo.headers)).json()
    assert again == replaced.json()
    assert again["version"] == 2
    assert [(e["source"], e["amount"]) for e in again["entries"]] == [("foundation", "300.00")]
    assert again["totals"]["EUR"]["total"] == "300.00"
    assert again["shares"] == {"EUR": {"foundation": "100.0"}}

    cleared = await put_year(grants, ngo, 2011, [], if_match='"2"')
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["entries"], cleared.json()["totals"]) == ([], {})


async def test_replacing_needs_the_current_etag_and_a_refusal_changes_nothing(
    grants: httpx.AsyncClient, caller: CallerFactory
) -> None:
    ngo = caller("ngo", ["case_manager"])
    assert (await put_year(grants, ngo, 2012, EUR_2011)).status_code == 201
    assert (await put_year(grants, ngo, 2012, EUR_2011, if_match='"1"')).status_code == 200

    missing = await put_year(grants, ngo, 2012, SMALL)
    assert (missing.status_code, missing.json()["code"]) == (428, "precondition-required")
    stale = await put_year(grants, ngo, 2012, SMALL, if_match='"1"')
    assert (stale.status_code, stale.json()["code"]) == (412, "precondition-failed")
    assert stale.headers["etag"] == '"2"'
    weak = await put_year(grants, ngo, 2012, SMALL, if_match='W/"2"')
    assert (weak.status_code, weak.json()["code"]) == (412, "precondition-failed")

    read = await grants.get(url(ngo.org_id, 2012), headers=ngo.headers)
    assert read.headers["etag"] == '"2"'
    assert len(read.json()["entries"]) == len(EUR_2011)

    # An ETag for a year that has none yet names no version of it.
    blind = await put_year(grants, ngo, 2013, SMALL, if_match='"1"')
    assert (blind.status_code, blind.json()["code"]) == (412, "precondition-failed")
    absent = await grants.get(url(ngo.org_id, 2013), headers=ngo.headers)
    assert (absent.status_code, absent.json()["code"]) == (404, "funding-year-not-found")


async def test_two_first_saves_of_a_year_at_once_leave_the_first_and_answer_412(
    grants: httpx.AsyncClient,
    caller: CallerFactory,
    runtime: asyncpg.Connection,
    superuser: asyncpg.Connection,
) -> None:
    ngo = caller("ngo", ["case_manager"])
    async with runtime.transaction():
        await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(ngo.org_id))
        await runtime.execute(
            "INSERT INTO funding_year (organisation_id, year, version, updated_by, updated_at) "
            "VALUES ($1, 2014, 1, 'the-first', now())",
            ngo.org_id,
        )
        racing = asyncio.create_task(put_year(grants, ngo, 2014, SMALL))
        # The request finds no year yet and waits on the first save's key.
        for _ in range(100):
            waiting = await superuser.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO funding_year%'"
            )
            if waiting:
                break
            await asyncio.sleep(0.05)
        assert waiting == 1
    second = await racing
    assert (second.status_code, second.json()["code"]) == (412, "precondition-failed")
    assert (
        await superuser.fetchval(
            "SELECT updated_by FROM funding_year WHERE organisation_id = $1 AND year = 2014",
            ngo.org_id,
        )
        == "the-first"
    )
    assert await stored_rows(superuser, ngo.org_id) == (1, 0)


# Refusals -------------------------------------------------------------------------------


async def test_a_repeated_source_kind_and_currency_is_refused(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    ngo = caller("ngo", ["case_manager"])
    repeated = [*SMALL, {**SMALL[0], "amount": "5.00", "description": "second gift"}]
    refused = await put_year(grants, ngo, 2011, repeated)
    assert (refused.status_code, refused.json()["code"]) == (422, "funding-entry-repeated")
    assert "entries[1]" in refused.json()["detail"]
    assert await stored_rows(superuser, ngo.org_id) == (0, 0)

    # The same source and kind in another currency, or in kind, is another entry.
    distinct = [*SMALL, {**SMALL[0], "currency": "USD"}, {**SMALL[0], "kind": "in_kind"}]
    assert (await put_year(grants, ngo, 2011, distinct)).status_code == 201


async def test_the_year_lies_between_1990_and_next_year(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    ngo = caller("ngo", ["case_manager"])
    for year in (1989, NEXT_YEAR + 1):
        refused = await put_year(grants, ngo, year, SMALL)
        assert (refused.status_code, refused.json()["code"]) == (422, "funding-year-out-of-range")
    assert await stored_rows(superuser, ngo.org_id) == (0, 0)
    for year in (1990, NEXT_YEAR):
        assert (await put_year(grants, ngo, year, SMALL)).status_code == 201


async def test_entries_are_validated_and_bounded(
    grants: httpx.AsyncClient, caller: CallerFactory
) -> None:
    ngo = caller("ngo", ["case_manager"])
    bad_entries: list[dict[str, Any]] = [
        {**SMALL[0], "source": "lottery"},
        {**SMALL[0], "kind": "loan"},
        {**SMALL[0], "amount": "-1.00"},
        {**SMALL[0], "amount": "1.001"},
        {**SMALL[0], "currency": "EURO"},
        {**SMALL[0], "currency": "eur"},
        {**SMALL[0], "description": ""},
        {**SMALL[0], "beneficiary": "x"},
    ]
    for entry in bad_entries:
        refused = await put_year(grants, ngo, 2011, [entry])
        assert (refused.status_code, refused.json()["code"]) == (422, "validation-failed"), entry
    sources = ["foundation", "private_sector", "government_local", "other"]
    many = [
        {"source": sources[i % 4], "kind": "cash", "amount": "1.00", "currency": currency}
        for i, currency in enumerate(["EUR", "USD", "GBP", "CHF"] * 26)
    ]
    too_many = await put_year(grants, ngo, 2011, many[:101])
    assert (too_many.status_code, too_many.json()["code"]) == (422, "validation-failed")


async def test_an_identifier_in_a_description_is_refused_and_nothing_is_stored(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    ngo = caller("ngo", ["case_manager"])
    mailed = [*SMALL, {**SMALL[0], "kind": "in_kind", "description": "via jane.doe@example.org"}]
    refused = await put_year(grants, ngo, 2011, mailed)
    assert (refused.status_code, refused.json()["code"]) == (422, "identifier-in-text")
    assert "entries[1].description" in refused.json()["detail"]
    assert "jane.doe" not in refused.text
    assert await stored_rows(superuser, ngo.org_id) == (0, 0)

    # Replacing a stored year with such text leaves the stored year as it was.
    assert (await put_year(grants, ngo, 2011, SMALL)).status_code == 201
    refused = await put_year(grants, ngo, 2011, mailed, if_match='"1"')
    assert (refused.status_code, refused.json()["code"]) == (422, "identifier-in-text")
    assert await stored_rows(superuser, ngo.org_id) == (1, 1)
    assert (
        await superuser.fetchval(
            "SELECT version FROM funding_year WHERE organisation_id = $1", ngo.org_id
        )
        == 1
    )


async def test_only_the_ngos_own_case_managers_write_its_mix(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    parties = await funded(caller, superuser)
    ngo = parties.recipient.org_id

    foreign = await put_year(grants, parties.other_ngo, 2011, SMALL, organisation=ngo)
    assert (foreign.status_code, foreign.json()["code"]) == (403, "funding-mix-not-yours")
    for who in (parties.recipient_worker, parties.manager, parties.viewer, parties.cofunder):
        refused = await put_year(grants, who, 2011, SMALL, organisation=ngo)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), who.roles
    assert await stored_rows(superuser, ngo) == (0, 0)

    assert (await put_year(grants, parties.recipient, 2011, SMALL)).status_code == 201
    # Not even with the year's ETag.
    foreign = await put_year(
        grants, parties.other_ngo, 2011, EUR_2011, if_match='"1"', organisation=ngo
    )
    assert (foreign.status_code, foreign.json()["code"]) == (403, "funding-mix-not-yours")
    assert await stored_rows(superuser, ngo) == (1, 1)

    worker = await grants.get(url(ngo, 2011), headers=parties.recipient_worker.headers)
    assert (worker.status_code, worker.json()["code"]) == (403, "forbidden")
    listing = await grants.get(MIX, headers=parties.recipient_worker.headers)
    assert listing.status_code == 403

    government = caller("government", ["case_manager"])
    refused = await grants.get(MIX, headers=government.headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "organisation-kind-refused")


# Who reads ------------------------------------------------------------------------------


@with_and_without_organisation_filter
async def test_the_donors_funding_the_ngo_read_its_years_and_no_one_else_does(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    parties = await funded(caller, superuser)
    ngo = parties.recipient
    assert (await put_year(grants, ngo, 2011, EUR_2011)).status_code == 201
    assert (await put_year(grants, ngo, 2012, SMALL)).status_code == 201
    own = (await grants.get(url(ngo.org_id, 2011), headers=ngo.headers)).json()
    both = [(str(ngo.org_id), 2011), (str(ngo.org_id), 2012)]

    for reader in (parties.manager, parties.viewer, parties.cofunder, ngo):
        read = await grants.get(url(ngo.org_id, 2011), headers=reader.headers)
        assert read.status_code == 200, (reader.roles, read.text)
        assert read.json() == own
        assert read.headers["etag"] == '"1"'
        assert await years_listed(grants, reader) == both

    for stranger in (parties.other_donor, parties.other_ngo):
        hidden = await grants.get(url(ngo.org_id, 2011), headers=stranger.headers)
        absent = await grants.get(url(ngo.org_id, 1999), headers=stranger.headers)
        # The same answer as for a year that does not exist.
        same = ("status", "code", "title", "detail")
        assert [hidden.json().get(k) for k in same] == [absent.json().get(k) for k in same]
        assert (hidden.status_code, hidden.json()["code"]) == (404, "funding-year-not-found")
        assert await years_listed(grants, stranger) == []
        assert await years_listed(grants, stranger, organisation_id=str(ngo.org_id)) == []


async def test_a_draft_grant_does_not_open_the_ngos_mix_to_the_donor(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    parties = grant_parties(caller)
    await insert_grant(superuser, parties, status="draft")
    assert (await put_year(grants, parties.recipient, 2011, SMALL)).status_code == 201

    hidden = await grants.get(url(parties.recipient.org_id, 2011), headers=parties.manager.headers)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "funding-year-not-found")
    assert await years_listed(grants, parties.manager) == []

    await insert_grant(superuser, parties, status="closed")
    shown = await grants.get(url(parties.recipient.org_id, 2011), headers=parties.manager.headers)
    assert shown.status_code == 200


async def test_a_donor_follows_its_partners_over_the_years_page_by_page(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    first = await funded(caller, superuser)
    second = dataclasses.replace(first, recipient=caller("ngo", ["case_manager"]))
    await insert_grant(superuser, second, cofunded=Decimal("0"))
    unfunded = caller("ngo", ["case_manager"])
    for partner in (first.recipient, second.recipient, unfunded):
        for year in (2010, 2011, 2012):
            assert (await put_year(grants, partner, year, SMALL)).status_code == 201
    partners = sorted([str(first.recipient.org_id), str(second.recipient.org_id)])
    expected = [(partner, year) for partner in partners for year in (2010, 2011, 2012)]

    pages = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = (await grants.get(MIX, params=params, headers=first.manager.headers)).json()
        pages.append(len(page["items"]))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [4, 2]
    assert await years_listed(grants, first.manager, limit=4) == expected
    item = (await grants.get(MIX, headers=first.manager.headers)).json()["items"][0]
    assert item["totals"] == {
        "EUR": {
            "total": "300.00",
            "cash": "300.00",
            "in_kind": "0.00",
            "by_source": {"foundation": "300.00"},
        }
    }
    assert item["shares"] == {"EUR": {"foundation": "100.0"}}

    # The co-funder funds the first NGO only; the second NGO sees itself only.
    assert await years_listed(grants, first.cofunder) == [
        (str(first.recipient.org_id), year) for year in (2010, 2011, 2012)
    ]
    assert await years_listed(grants, second.recipient) == [
        (str(second.recipient.org_id), year) for year in (2010, 2011, 2012)
    ]

    only_second = await years_listed(
        grants,
        first.manager,
        organisation_id=str(second.recipient.org_id),
        year_from=2011,
        year_to=2012,
    )
    assert only_second == [
        (str(second.recipient.org_id), 2011),
        (str(second.recipient.org_id), 2012),
    ]
    assert await years_listed(grants, first.manager, organisation_id=str(unfunded.org_id)) == []
    assert await years_listed(grants, unfunded, year_to=2010) == [(str(unfunded.org_id), 2010)]

    reversed_years = await grants.get(
        MIX, params={"year_from": 2012, "year_to": 2011}, headers=first.manager.headers
    )
    assert (reversed_years.status_code, reversed_years.json()["code"]) == (
        422,
        "funding-years-reversed",
    )
    forged = await grants.get(MIX, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=unfunded.headers)
    assert (forged.status_code, forged.json()["code"]) == (400, "invalid-cursor")
    too_long = await grants.get(MIX, params={"limit": 101}, headers=unfunded.headers)
    assert too_long.status_code == 422


# The service underneath -----------------------------------------------------------------


def principal_of(who: Caller) -> Principal:
    return Principal(
        subject=who.subject or "test",
        org_id=who.org_id,
        org_kind=OrgKind(who.org_kind),
        roles=frozenset(who.roles),
        scopes=frozenset(),
        issuer="test",
        expires_at=0,
    )


@pytest.fixture
async def rls_free_session(postgres_admin_url: str) -> AsyncIterator[AsyncSession]:
    """A session as the superuser, whom row-level security does not hold back."""
    admin = urlsplit(postgres_admin_url)
    engine = create_async_engine(
        admin._replace(scheme="postgresql+asyncpg", path="/grants").geturl()
    )
    try:
        async with AsyncSession(engine) as session:
            yield session
    finally:
        await engine.dispose()


async def test_the_services_own_filter_holds_without_row_level_security(
    grants: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    rls_free_session: AsyncSession,
) -> None:
    parties = await funded(caller, superuser)
    ngo = parties.recipient.org_id
    assert (await put_year(grants, parties.recipient, 2011, SMALL)).status_code == 201
    params = PageParams(cursor=None, limit=100)

    for reader in (parties.manager, parties.cofunder, parties.recipient):
        found = await service.get(rls_free_session, principal_of(reader), ngo, 2011)
        assert found.organisation_id == ngo
        page = await service.list_years(rls_free_session, principal_of(reader), params)
        assert [(item.organisation_id, item.year) for item in page.items] == [(ngo, 2011)]
    for stranger in (parties.other_donor, parties.other_ngo):
        with pytest.raises(FundingYearNotFound):
            await service.get(rls_free_session, principal_of(stranger), ngo, 2011)
        page = await service.list_years(
            rls_free_session, principal_of(stranger), params, organisation_id=ngo
        )
        assert page.items == []


async def test_funding_mix_gives_a_report_the_years_its_caller_may_see(
    grants: httpx.AsyncClient,
    grants_app: FastAPI,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
) -> None:
    parties = await funded(caller, superuser)
    ngo = parties.recipient.org_id
    for year in (2009, 2010, 2011, 2012):
        assert (await put_year(grants, parties.recipient, year, SMALL)).status_code == 201
    stranger = caller("ngo", ["case_manager"])
    assert (await put_year(grants, stranger, 2011, SMALL)).status_code == 201
    database: Database = grants_app.state.database

    async def mix_for(viewer: uuid.UUID, year_from: int, year_to: int) -> list[tuple[Any, int]]:
        async with database.sessionmaker() as session, session.begin():
            await bind_tenant(session, viewer)
            lines = await service.funding_lines(session, [ngo, stranger.org_id], year_from, year_to)
            return list(dict.fromkeys((line.organisation_id, line.year) for line in lines))

    assert await mix_for(parties.manager.org_id, 2010, 2011) == [(ngo, 2010), (ngo, 2011)]
    assert await mix_for(parties.cofunder.org_id, 2012, 2030) == [(ngo, 2012)]
    assert await mix_for(ngo, 2009, 2009) == [(ngo, 2009)]
    assert await mix_for(stranger.org_id, 2000, 2030) == [(stranger.org_id, 2011)]
    assert await mix_for(parties.other_donor.org_id, 2000, 2030) == []
    async with database.sessionmaker() as session, session.begin():
        await bind_tenant(session, parties.manager.org_id)
        assert await service.funding_lines(session, [], 2000, 2030) == []
        detailed = await service.funding_lines(session, [ngo], 2011, 2011)
    assert sum(line.amount for line in detailed if line.currency == "EUR") == Decimal("300.00")


async def insert_year_as(
    runtime: asyncpg.Connection, bound: uuid.UUID, organisation: uuid.UUID, year: int
) -> None:
    """Write a year straight through the runtime login, acting for `bound`."""
    async with runtime.transaction():
        await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(bound))
        await runtime.execute(
            "INSERT INTO funding_year (organisation_id, year, version, updated_by, updated_at) "
            "VALUES ($1, $2, 1, 'test', now())",
            organisation,
            year,
        )


# Row-level security underneath ----------------------------------------------------------


async def test_row_level_security_keeps_the_mix_to_its_ngo_and_its_funders(
    grants: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    runtime: asyncpg.Connection,
) -> None:
    parties = await funded(caller, superuser)
    ngo = parties.recipient.org_id
    assert (await put_year(grants, parties.recipient, 2011, EUR_2011)).status_code == 201

    async def visible(org: uuid.UUID | None) -> tuple[int, int]:
        async with runtime.transaction():
            if org is not None:
                await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(org))
            years = await runtime.fetchval(
                "SELECT count(*) FROM funding_year WHERE organisation_id = $1", ngo
            )
            entries = await runtime.fetchval(
                "SELECT count(*) FROM funding_entry WHERE organisation_id = $1", ngo
            )
            return years, entries

    everything = (1, len(EUR_2011))
    assert await visible(ngo) == everything
    assert await visible(parties.manager.org_id) == everything
    assert await visible(parties.cofunder.org_id) == everything
    for outsider in (parties.other_ngo.org_id, parties.other_donor.org_id, uuid.uuid4(), None):
        assert await visible(outsider) == (0, 0)

    # Bound to the NGO, a row for another organisation is refused by WITH CHECK.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await insert_year_as(runtime, ngo, parties.other_ngo.org_id, 2011)
    # A funder reads but never writes the NGO's rows.
    async with runtime.transaction():
        await runtime.execute(
            "SELECT set_config('baton.org_id', $1, true)", str(parties.manager.org_id)
        )
        changed = await runtime.execute(
            "UPDATE funding_entry SET amount = 1 WHERE organisation_id = $1", ngo
        )
        assert changed == "UPDATE 0"
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await insert_year_as(runtime, parties.manager.org_id, ngo, 2015)
    assert await stored_rows(superuser, ngo) == everything
    assert await stored_rows(superuser, parties.other_ngo.org_id) == (0, 0)


async def test_row_level_security_opens_no_mix_through_a_draft_grant(
    grants: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    runtime: asyncpg.Connection,
) -> None:
    parties = grant_parties(caller)
    await insert_grant(superuser, parties, status="draft")
    assert (await put_year(grants, parties.recipient, 2011, SMALL)).status_code == 201

    async def seen_by_donor() -> int:
        async with runtime.transaction():
            await runtime.execute(
                "SELECT set_config('baton.org_id', $1, true)", str(parties.manager.org_id)
            )
            count: int = await runtime.fetchval(
                "SELECT count(*) FROM funding_entry WHERE organisation_id = $1",
                parties.recipient.org_id,
            )
            return count

    assert await seen_by_donor() == 0
    await insert_grant(superuser, parties, status="awarded")
    assert await seen_by_donor() > 0
