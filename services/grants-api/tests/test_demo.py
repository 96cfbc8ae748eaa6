"""The demo programme: loaded once, with the programme's exact totals, co-funding from
2011 only, money flows and reports that hold together, funding mixes that diversify,
no identifying text, and every row visible to its parties only."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from baton.db import Database
from baton.money import convert
from baton.stack.databases import ServiceDatabase
from baton.stack.programme import DEVELOPMENT_AGENCY, FOUNDATION, NGOS
from baton.testing import run_service_command
from baton.testing_issuer import CallerFactory
from grants_api.config import GrantsSettings
from grants_api.demo.load import load_demo
from grants_api.demo.programme import PROGRAMME_ID, DemoGrants, generate
from grants_api.grants.models import Grant
from grants_api.reporting.defaults import default_due_dates
from grants_api.screening import identifier_kind

NGO_IDS = {ngo.id for ngo in NGOS}
DEMO_GRANTS = "SELECT * FROM grant_award WHERE programme_id = $1 ORDER BY planned_start, id"
# Tables about a grant, with the demo's rows picked through their grant.
GRANT_CHILDREN = (
    "grant_funder",
    "tranche",
    "disbursement",
    "budget_line",
    "expenditure",
    "reporting_requirement",
    "report_submission",
)
DONOR_SOURCES = {"international_donor", "foundation"}


@pytest.fixture
async def demo(grants_settings: GrantsSettings) -> DemoGrants:
    """The demo in the test database (the first call loads it; later ones add nothing)."""
    programme = generate(grants_settings)
    database = Database(grants_settings, application_name="grants-tests-demo")
    try:
        await load_demo(database.sessionmaker, grants_settings, programme)
    finally:
        await database.dispose()
    return programme


async def _grants(connection: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(await connection.fetch(DEMO_GRANTS, PROGRAMME_ID))


async def _children(connection: asyncpg.Connection, table: str) -> list[asyncpg.Record]:
    query = (
        f"SELECT * FROM {table} WHERE grant_id IN "
        "(SELECT id FROM grant_award WHERE programme_id = $1)"
    )
    return list(await connection.fetch(query, PROGRAMME_ID))


def _by_grant(rows: list[asyncpg.Record]) -> dict[uuid.UUID, list[asyncpg.Record]]:
    grouped: dict[uuid.UUID, list[asyncpg.Record]] = defaultdict(list)
    for row in rows:
        grouped[row["grant_id"]].append(row)
    return grouped


def _co_funded(grant: asyncpg.Record) -> bool:
    return DEVELOPMENT_AGENCY.id in grant["party_organisation_ids"]


def _years(grant: asyncpg.Record) -> int:
    return int(grant["planned_end"].year - grant["planned_start"].year + 1)


async def _counts(superuser: asyncpg.Connection) -> dict[str, int]:
    counts = {table: len(await _children(superuser, table)) for table in GRANT_CHILDREN}
    counts["grant_award"] = len(await _grants(superuser))
    counts["programme"] = await superuser.fetchval(
        "SELECT count(*) FROM programme WHERE id = $1", PROGRAMME_ID
    )
    for table in ("funding_year", "funding_entry"):
        counts[table] = await superuser.fetchval(
            f"SELECT count(*) FROM {table} WHERE organisation_id = ANY($1::uuid[])",
            list(NGO_IDS),
        )
    return counts


def _seed_command(env: dict[str, str]) -> dict[str, Any]:
    """`python -m grants_api seed-demo` as an operator runs it: its JSON report."""
    run = run_service_command("grants_api", ["seed-demo"], env)
    assert run.code == 0, run.stderr
    return run.report


async def test_seeding_again_adds_nothing(
    demo: DemoGrants,
    superuser: asyncpg.Connection,
    service_databases: dict[str, ServiceDatabase],
) -> None:
    loaded = await _counts(superuser)
    assert loaded["programme"] == 1
    assert loaded["grant_award"] == len(demo.rows("grant_award"))
    for table in GRANT_CHILDREN:
        assert loaded[table] == len(demo.rows(table)) > 0, table
    assert loaded["funding_year"] == len(NGOS) * 8 == len(demo.rows("funding_year"))
    env = {
        "GRANTS_DATABASE_URL": service_databases["grants"].runtime_url,
        "GRANTS_ENVIRONMENT": "test",
    }
    report = await asyncio.to_thread(_seed_command, env)
    assert report == {"programmes_added": 0, "grants_added": 0, "funding_years_added": 0}
    assert await _counts(superuser) == loaded
    # The same seed makes the same rows, ids included.
    assert generate(GrantsSettings.model_validate({"database_url": "postgresql://x/y"})) == demo


@pytest.mark.usefixtures("demo")
async def test_the_programme_totals_are_exact(superuser: asyncpg.Connection) -> None:
    programme = await superuser.fetchrow("SELECT * FROM programme WHERE id = $1", PROGRAMME_ID)
    assert programme is not None
    assert programme["name"] == "Trafficking Victims Re/integration Programme (demo)"
    assert programme["managing_organisation_id"] == FOUNDATION.id
    assert programme["funder_organisation_ids"] == [FOUNDATION.id, DEVELOPMENT_AGENCY.id]
    assert len(programme["countries"]) == 7
    assert (programme["period_start"], programme["period_end"]) == (
        date(2007, 1, 1),
        date(2014, 12, 31),
    )
    grants = await _grants(superuser)
    alone = [grant for grant in grants if not _co_funded(grant)]
    co_funded = [grant for grant in grants if _co_funded(grant)]
    assert sum(grant["amount_awarded"] for grant in alone) == Decimal("875000.00")
    assert sum(grant["amount_awarded"] for grant in co_funded) == Decimal("763870.00")
    assert sum(grant["amount_awarded"] for grant in grants) == Decimal("1638870.00")
    # The foundation alone in 2007-2011; the development agency only from 2011.
    assert all(date(2007, 1, 1) <= grant["planned_start"] for grant in alone)
    assert all(grant["planned_end"] <= date(2011, 12, 31) for grant in alone)
    assert all(date(2011, 1, 1) <= grant["planned_start"] for grant in co_funded)
    assert all(grant["planned_end"] <= date(2014, 12, 31) for grant in co_funded)
    # About EUR 25,000 per organisation and year.
    for group in (alone, co_funded):
        per_year = sum(g["amount_awarded"] for g in group) / sum(_years(g) for g in group)
        assert Decimal(22_000) <= per_year <= Decimal(28_000)
    assert all(_years(grant) in (1, 2) for grant in grants)
    identifiers = [grant["identifier"] for grant in grants]
    assert len(set(identifiers)) == len(identifiers)
    assert all(identifier.startswith("360G-baton-") for identifier in identifiers)
    assert {grant["status"] for grant in grants} == {"closed"}
    assert all(grant["actual_end"] and grant["closed_at"] for grant in grants)


@pytest.mark.usefixtures("demo")
async def test_every_ngo_has_grants_and_shares_add_up(superuser: asyncpg.Connection) -> None:
    grants = await _grants(superuser)
    recipients = Counter(grant["recipient_organisation_id"] for grant in grants)
    assert set(recipients) == NGO_IDS
    assert {g["recipient_organisation_id"] for g in grants if _co_funded(g)} == NGO_IDS
    funders = _by_grant(await _children(superuser, "grant_funder"))
    for grant in grants:
        shares = {row["organisation_id"]: row["amount"] for row in funders[grant["id"]]}
        assert sum(shares.values()) == grant["amount_awarded"]
        expected = {FOUNDATION.id, DEVELOPMENT_AGENCY.id} if _co_funded(grant) else {FOUNDATION.id}
        assert set(shares) == expected
        assert all(amount > 0 for amount in shares.values())
        assert grant["managing_organisation_id"] == FOUNDATION.id
        assert set(grant["party_organisation_ids"]) == {grant["recipient_organisation_id"]} | (
            expected
        )
        country = next(ngo.country for ngo in NGOS if ngo.id == grant["recipient_organisation_id"])
        assert grant["beneficiary_countries"] == [country]


@pytest.mark.usefixtures("demo")
async def test_money_flows_hold_together(superuser: asyncpg.Connection) -> None:
    grants = {grant["id"]: grant for grant in await _grants(superuser)}
    tranches = _by_grant(await _children(superuser, "tranche"))
    paid = _by_grant(await _children(superuser, "disbursement"))
    budgets = _by_grant(await _children(superuser, "budget_line"))
    spent = _by_grant(await _children(superuser, "expenditure"))
    local = []
    for grant_id, grant in grants.items():
        award = grant["amount_awarded"]
        assert sum(row["amount"] for row in tranches[grant_id]) == award
        assert sum(row["amount"] for row in paid[grant_id]) == award
        assert {row["tranche_id"] for row in paid[grant_id]} == {
            row["id"] for row in tranches[grant_id]
        }
        assert sum(row["amount"] for row in budgets[grant_id]) == award
        assert {row["category"] for row in budgets[grant_id]} == {
            "services",
            "staff",
            "office_and_running_costs",
            "other",
        }
        reported = sum(row["amount"] for row in spent[grant_id])
        assert award * Decimal("0.94") <= reported <= award
        halves = {(row["period_start"], row["period_end"]) for row in spent[grant_id]}
        assert len(halves) == 2 * _years(grant)
        for row in paid[grant_id]:
            assert grant["planned_start"] <= row["disbursed_on"]
            if row["paid_currency"] is not None:
                local.append(row)
                assert convert(row["paid_amount"], row["exchange_rate"]) == row["amount"]
                assert row["rate_date"] <= row["disbursed_on"]
    assert 3 <= len(local) <= len(grants) // 2
    assert {row["paid_currency"] for row in local} <= {"MKD", "RSD", "RON", "BGN", "ALL", "BAM"}


@pytest.mark.usefixtures("demo")
async def test_reports_are_mostly_on_time_some_late_a_few_sent_back(
    grants_settings: GrantsSettings, superuser: asyncpg.Connection
) -> None:
    grants = {grant["id"]: grant for grant in await _grants(superuser)}
    requirements = await _children(superuser, "reporting_requirement")
    submissions = defaultdict(list)
    for row in await _children(superuser, "report_submission"):
        submissions[row["requirement_id"]].append(row)
    assert Counter(row["grant_id"] for row in requirements) == dict.fromkeys(grants, 2)
    late = 0
    for requirement in requirements:
        grant = grants[requirement["grant_id"]]
        start, end = grant["planned_start"], grant["planned_end"]
        if requirement["kind"] == "interim":
            midpoint = start + timedelta(days=(end - start).days // 2)
            due = midpoint + timedelta(days=grants_settings.interim_report_due_days)
        else:
            assert requirement["kind"] == "final"
            due = end + timedelta(days=grants_settings.final_report_due_days)
        assert requirement["due_on"] == due
        # The same dates the service sets on award.
        planned = Grant.model_construct(planned_start=start, planned_end=end)
        assert default_due_dates(grants_settings, planned)[requirement["kind"]] == due
        assert requirement["status"] == "accepted"
        sent = sorted(submissions[requirement["id"]], key=lambda row: row["submitted_at"])
        assert sent
        assert sent[-1]["submitted_at"] == requirement["submitted_at"]
        assert requirement["reviewed_at"] > requirement["submitted_at"]
        late += sent[0]["submitted_at"].date() > requirement["due_on"]
    sent_back = [r for r in requirements if len(submissions[r["id"]]) == 2]
    assert 2 <= len(sent_back) <= 6
    assert all("revision" in (r["review_comment"] or "") for r in sent_back)
    assert 0.05 <= late / len(requirements) <= 0.35
    finals = [
        json.loads(submissions[r["id"]][0]["figures"]) for r in requirements if r["kind"] == "final"
    ]
    assert sum(figures["persons_assisted"] for figures in finals) == 1_711
    assert sum(figures["family_members_assisted"] for figures in finals) == 1_179


@pytest.mark.usefixtures("demo")
async def test_funding_mixes_diversify_and_the_grant_is_partial(
    superuser: asyncpg.Connection,
) -> None:
    entries = await superuser.fetch(
        "SELECT * FROM funding_entry WHERE organisation_id = ANY($1::uuid[])", list(NGO_IDS)
    )
    budgets: dict[tuple[uuid.UUID, int], Decimal] = defaultdict(Decimal)
    donors: dict[int, Decimal] = defaultdict(Decimal)
    totals: dict[int, Decimal] = defaultdict(Decimal)
    by_source: dict[tuple[uuid.UUID, int, str, str], Decimal] = {}
    for entry in entries:
        budgets[(entry["organisation_id"], entry["year"])] += entry["amount"]
        totals[entry["year"]] += entry["amount"]
        if entry["source"] in DONOR_SOURCES:
            donors[entry["year"]] += entry["amount"]
        key = (entry["organisation_id"], entry["year"], entry["source"], entry["kind"])
        by_source[key] = entry["amount"]
    assert len(budgets) == len(NGOS) * 8
    assert all(Decimal(35_000) <= budget <= Decimal(350_000) for budget in budgets.values())
    shares = {year: donors[year] / totals[year] for year in totals}
    assert shares[2014] < shares[2007] - Decimal("0.2")
    assert shares[2007] > Decimal("0.6")
    later = [key for key in by_source if key[1] == 2014]
    assert any(key[2] == "social_enterprise" for key in later)
    assert not any(key[2] == "social_enterprise" and key[1] == 2007 for key in by_source)
    in_kind = sum(v for k, v in by_source.items() if k[2] == "private_sector" and k[3] == "in_kind")
    company_cash = sum(
        v for k, v in by_source.items() if k[2] == "private_sector" and k[3] == "cash"
    )
    assert in_kind > 3 * company_cash > 0
    # The programme's grant is part of the foundation money, and never all of the budget.
    grants = await _grants(superuser)
    for grant in grants:
        yearly = grant["amount_awarded"] / _years(grant)
        for year in range(grant["planned_start"].year, grant["planned_end"].year + 1):
            ngo = grant["recipient_organisation_id"]
            donor_money = by_source[(ngo, year, "foundation", "cash")]
            donor_money += by_source[(ngo, year, "international_donor", "cash")]
            assert donor_money >= yearly - 1
            assert yearly < budgets[(ngo, year)] * Decimal("0.8")


@pytest.mark.usefixtures("demo")
async def test_no_stored_text_fails_the_identifier_screen(superuser: asyncpg.Connection) -> None:
    of_grants = "grant_id IN (SELECT id FROM grant_award WHERE programme_id = $1)"
    demo_rows: dict[str, tuple[str, Any]] = {
        "programme": ("id = $1", PROGRAMME_ID),
        "grant_award": ("programme_id = $1", PROGRAMME_ID),
        "grant_amendment": (of_grants, PROGRAMME_ID),
        **dict.fromkeys(GRANT_CHILDREN, (of_grants, PROGRAMME_ID)),
        "funding_year": ("organisation_id = ANY($1::uuid[])", list(NGO_IDS)),
        "funding_entry": ("organisation_id = ANY($1::uuid[])", list(NGO_IDS)),
    }
    tables = await superuser.fetch(
        "SELECT DISTINCT table_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND data_type IN ('character varying', 'text', 'jsonb') "
        "AND table_name NOT IN ('alembic_version', 'idempotency_key')"
    )
    assert {row["table_name"] for row in tables} <= set(demo_rows)
    checked = 0
    for table, (where, argument) in demo_rows.items():
        for row in await superuser.fetch(f"SELECT * FROM {table} WHERE {where}", argument):
            for column, value in row.items():
                if isinstance(value, str):
                    assert identifier_kind(value) is None, (table, column, value)
                    checked += 1
    assert checked > 5_000
    for submission in await _children(superuser, "report_submission"):
        figures = json.loads(submission["figures"])
        assert set(figures) == {"persons_assisted", "family_members_assisted"}
        assert all(isinstance(number, int) and number >= 0 for number in figures.values())


async def _bound(runtime: asyncpg.Connection, organisation: uuid.UUID) -> None:
    await runtime.execute("SELECT set_config('baton.org_id', $1, false)", str(organisation))


@pytest.mark.usefixtures("demo")
async def test_rows_show_to_their_parties_only(
    runtime: asyncpg.Connection, superuser: asyncpg.Connection
) -> None:
    grants = await _grants(superuser)
    ngo = NGOS[3].id
    own = {grant["id"] for grant in grants if grant["recipient_organisation_id"] == ngo}
    assert own
    await _bound(runtime, ngo)
    visible = await runtime.fetch("SELECT * FROM grant_award")
    assert all(ngo in row["party_organisation_ids"] for row in visible)
    assert {row["id"] for row in visible if row["programme_id"] == PROGRAMME_ID} == own
    for table in GRANT_CHILDREN:
        rows = await runtime.fetch(f"SELECT grant_id FROM {table}")
        assert {row["grant_id"] for row in rows} & {g["id"] for g in grants} == own, table
    years = await runtime.fetch("SELECT DISTINCT organisation_id FROM funding_year")
    assert [row["organisation_id"] for row in years] == [ngo]
    # An NGO reads the programme it holds a grant in, never changes it.
    assert await runtime.fetchval("SELECT count(*) FROM programme") == 1

    await _bound(runtime, DEVELOPMENT_AGENCY.id)
    co_funded = {grant["id"] for grant in grants if _co_funded(grant)}
    visible = await runtime.fetch(
        "SELECT id FROM grant_award WHERE programme_id = $1", PROGRAMME_ID
    )
    assert {row["id"] for row in visible} == co_funded
    assert await runtime.fetchval("SELECT count(*) FROM programme WHERE id = $1", PROGRAMME_ID)
    # A donor reads the funding mix of the NGOs it funds.
    funded = await runtime.fetch("SELECT DISTINCT organisation_id FROM funding_year")
    assert {row["organisation_id"] for row in funded} & NGO_IDS == {
        grant["recipient_organisation_id"] for grant in grants if _co_funded(grant)
    }

    await _bound(runtime, uuid.uuid4())
    for table in ("programme", "grant_award", *GRANT_CHILDREN, "funding_year"):
        assert await runtime.fetchval(f"SELECT count(*) FROM {table}") == 0, table

    await _bound(runtime, FOUNDATION.id)
    visible = await runtime.fetch(
        "SELECT id FROM grant_award WHERE programme_id = $1", PROGRAMME_ID
    )
    assert {row["id"] for row in visible} == {grant["id"] for grant in grants}


@pytest.mark.usefixtures("demo")
async def test_the_api_shows_demo_rows_to_their_parties(
    grants: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
) -> None:
    foundation = caller("donor", ["grant_manager"], org_id=FOUNDATION.id)
    agency = caller("donor", ["donor_viewer"], org_id=DEVELOPMENT_AGENCY.id)
    for donor in (foundation, agency):
        answer = await grants.get(f"/v1/programmes/{PROGRAMME_ID}", headers=donor.headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["name"] == "Trafficking Victims Re/integration Programme (demo)"
    [first, *_] = [g for g in await _grants(superuser) if not _co_funded(g)]
    recipient = caller("ngo", ["case_manager"], org_id=first["recipient_organisation_id"])
    other_ngo = next(ngo.id for ngo in NGOS if ngo.id != first["recipient_organisation_id"])
    outsider = caller("ngo", ["case_manager"], org_id=other_ngo)
    path = f"/v1/grants/{first['id']}"
    shown = await grants.get(path, headers=recipient.headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["identifier"] == first["identifier"]
    assert (await grants.get(path, headers=outsider.headers)).status_code == 404
    assert (await grants.get(path, headers=agency.headers)).status_code == 404
