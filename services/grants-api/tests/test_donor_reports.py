"""Donor reports against a live cases-api and identity-api, over HTTP.

identity-api issues the grants service's token (scope `cases:stats`); cases-api (its
own app on the `cases` database) counts the recipient NGOs' persons. The report
carries the grant's exact money, cases-api's tables as published (a suppressed cell
stays suppressed, never 0) and not one identity value: the donor leak test.
"""

from __future__ import annotations

import asyncio
import csv
import io
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import SecretStr, ValidationError

from baton.auth import TrustedIssuer
from baton.stack.databases import ServiceDatabase
from baton.testing import serving, superuser_connection
from baton.testing_issuer import Caller, TestIssuer, caller_factory
from cases_api.config import CasesSettings
from cases_api.main import create_app as create_cases_app
from cases_factories import (
    PLANTED_BIRTH_DATE,
    PLANTED_DOCUMENT,
    PLANTED_FAMILY,
    PLANTED_GIVEN,
    PLANTED_PHONE,
    beneficiary_body,
    identity,
)
from family_factories import PLANTED_CHILD_NAME, family_member_body
from grants_api.config import GrantsSettings
from grants_api.main import create_app
from grants_api.reports.csv_export import COLUMNS, safe_cell
from grants_api.reports.schemas import StatisticsCell, StatisticsTable
from grants_factories import GrantParties, grant_parties, insert_grant
from identity_api.config import IdentitySettings
from identity_api.main import create_app as create_identity_app
from identity_factories import make_client, make_organisation
from report_factories import (
    insert_budget,
    insert_disbursement,
    insert_expenditure,
    insert_funding,
    insert_programme,
    insert_requirement,
)

ISSUER = "https://baton.test/identity"
YEAR_START, YEAR_END = date(2025, 1, 1), date(2025, 12, 31)
PLANTED = (
    PLANTED_GIVEN,
    PLANTED_FAMILY,
    PLANTED_BIRTH_DATE,
    PLANTED_PHONE,
    PLANTED_DOCUMENT,
    "Rruga e Durresit",
    PLANTED_CHILD_NAME,
    "2015-03-02",  # the child's birth date
)
# NGO A: ten persons, nine women and one man (a cell of one: suppressed, and its
# complement with it); five reintegrated by September, five still assisted.
PERSONS_A, MEN_A, REINTEGRATED_A = 10, 1, 5
PERSONS_B = 3


# Services ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def identity_url(
    service_databases: dict[str, ServiceDatabase],
    external_issuer: TestIssuer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    settings = IdentitySettings.model_validate(
        {
            "database_url": service_databases["identity"].runtime_url,
            "issuer": ISSUER,
            "root_path": "",
            "signing_keys_dir": str(tmp_path_factory.mktemp("reports-identity") / "keys"),
            "trusted_issuers": [external_issuer.trusted.model_dump(mode="json")],
        }
    )
    with serving(create_identity_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
async def stats_client(identity_url: str, external_issuer: TestIssuer) -> tuple[str, str]:
    """The grants service's client, of the platform's organisation, scope `cases:stats`."""
    claims = external_issuer.claims(
        org_id=uuid.uuid4(), org_kind="platform", roles=["platform_admin"]
    )
    admin = {"Authorization": f"Bearer {external_issuer.sign(claims)}"}
    async with httpx.AsyncClient(base_url=identity_url) as http:
        organisation = await make_organisation(http, admin, kind="platform")
        client = await make_client(
            http, admin, organisation["id"], [], scopes=["cases:stats"], audiences=["cases-api"]
        )
    return str(client["client_id"]), str(client["client_secret"])


@pytest.fixture(scope="module")
def cases_url(
    service_databases: dict[str, ServiceDatabase],
    external_issuer: TestIssuer,
    identity_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    keys: Path = tmp_path_factory.mktemp("reports-cases-keys")
    identity_api = TrustedIssuer(issuer=ISSUER, jwks_url=f"{identity_url}/.well-known/jwks.json")
    settings = CasesSettings.model_validate(
        {
            "database_url": service_databases["cases"].runtime_url,
            "trusted_issuers": [
                external_issuer.trusted.model_dump(mode="json"),
                identity_api.model_dump(mode="json"),
            ],
            "master_keys_dir": str(keys / "master"),
            "blind_index_key_file": str(keys / "blind-index.key"),
            "environment": "test",
            "root_path": "",
        }
    )
    with serving(create_cases_app(settings)) as url:
        yield url


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def _grants_client(settings: GrantsSettings) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


def _reading_cases(
    settings: GrantsSettings, cases_url: str, identity_url: str, client: tuple[str, str]
) -> GrantsSettings:
    return settings.model_copy(
        update={
            "cases_api_url": cases_url,
            "token_url": f"{identity_url}/v1/oauth/token",
            "stats_client_id": client[0],
            "stats_client_secret": SecretStr(client[1]),
        }
    )


@pytest.fixture
async def reporting(
    grants_settings: GrantsSettings,
    cases_url: str,
    identity_url: str,
    stats_client: tuple[str, str],
) -> AsyncIterator[httpx.AsyncClient]:
    """grants-api reading cases-api's statistics with its own client."""
    settings = _reading_cases(grants_settings, cases_url, identity_url, stats_client)
    async for client in _grants_client(settings):
        yield client


@pytest.fixture
async def cases_down(
    grants_settings: GrantsSettings, identity_url: str, stats_client: tuple[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """grants-api configured for a cases-api that nothing answers at."""
    settings = _reading_cases(grants_settings, _closed_port_url(), identity_url, stats_client)
    async for client in _grants_client(settings):
        yield client


# The world: persons in cases-api, money in grants-api ---------------------------------------


@dataclass(frozen=True)
class World:
    people: GrantParties
    ngo_b: Caller
    programme: uuid.UUID
    grant_a: uuid.UUID  # EUR 50,000 to NGO A, co-funded (20,000)
    grant_b: uuid.UUID  # EUR 30,000 to NGO B, the manager's alone
    grant_c: uuid.UUID  # USD 10,000 to NGO B, co-funded (4,000), overspent
    record_ids: tuple[str, ...]  # cases-api's ids of persons, cases, family members


async def _person(
    cases: httpx.AsyncClient, ngo: Caller, sex: str, outcome: str | None
) -> list[str]:
    body = beneficiary_body(identity(), sex=sex)
    beneficiary = await cases.post("/v1/beneficiaries", json=body, headers=ngo.headers)
    assert beneficiary.status_code == 201, beneficiary.text
    beneficiary_id = beneficiary.json()["id"]
    case = await cases.post(
        "/v1/cases",
        json={
            "beneficiary_id": beneficiary_id,
            "assistance_started_on": "2025-02-01",
            "exploitation_forms": ["sexual", "labour"],
            "referral_source": "police",
        },
        headers=ngo.headers,
    )
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]
    if outcome is not None:
        closed = await cases.post(
            f"/v1/cases/{case_id}/closure",
            json={"outcome": outcome, "closed_on": "2025-09-30"},
            headers=ngo.with_headers(if_match=case.headers["etag"]),
        )
        assert closed.status_code == 200, closed.text
    return [beneficiary_id, case_id]


async def _persons(cases_url: str, people: GrantParties, ngo_b: Caller) -> tuple[str, ...]:
    ngo_a = people.recipient
    ids: list[str] = []
    async with httpx.AsyncClient(base_url=cases_url) as cases:
        for index in range(PERSONS_A):
            sex = "male" if index < MEN_A else "female"
            outcome = "reintegrated" if index < REINTEGRATED_A else None
            ids += await _person(cases, ngo_a, sex, outcome)
        for _ in range(2):  # two children of the first person, named
            member = await cases.post(
                f"/v1/beneficiaries/{ids[0]}/family-members",
                json=family_member_body(),
                headers=ngo_a.headers,
            )
            assert member.status_code == 201, member.text
            ids.append(member.json()["id"])
        for _ in range(PERSONS_B):
            ids += await _person(cases, ngo_b, "female", None)
    return tuple(ids)


async def _money(superuser_url: str, people: GrantParties, ngo_b: Caller) -> World:
    async with superuser_connection(superuser_url, "grants") as superuser:
        programme = await insert_programme(
            superuser,
            people.manager.org_id,
            [people.cofunder.org_id],
            name="+Balkans programme",
            period_start=YEAR_START,
            period_end=YEAR_END,
        )
        period: dict[str, Any] = {
            "planned_start": YEAR_START,
            "planned_end": YEAR_END,
            "programme_id": programme,
        }
        grant_a = await insert_grant(superuser, people, **period)
        await insert_disbursement(superuser, grant_a, "20000.00", date(2025, 1, 15))
        await insert_disbursement(superuser, grant_a, "15000.00", date(2025, 7, 1))
        await insert_disbursement(superuser, grant_a, "10000.00", date(2026, 1, 15))
        await insert_budget(
            superuser,
            grant_a,
            services="30000.00",
            staff="15000.00",
            office_and_running_costs="5000.00",
        )
        first_half = (date(2025, 1, 1), date(2025, 6, 30))
        second_half = (date(2025, 7, 1), date(2025, 12, 31))
        await insert_expenditure(superuser, grant_a, "services", "8000.00", *first_half)
        await insert_expenditure(superuser, grant_a, "services", "9000.50", *second_half)
        await insert_expenditure(superuser, grant_a, "staff", "6000.00", *first_half)
        await insert_expenditure(
            superuser,
            grant_a,
            "office_and_running_costs",
            "1000.00",
            date(2026, 1, 1),
            date(2026, 3, 31),
        )
        await insert_requirement(
            superuser,
            grant_a,
            "interim",
            date(2025, 7, 31),
            "accepted",
            datetime(2025, 8, 5, 9, 0, tzinfo=UTC),
        )
        await insert_requirement(superuser, grant_a, "final", date(2026, 2, 28), "due")
        await insert_requirement(superuser, grant_a, "other", date(2099, 1, 31), "due")
        await insert_funding(
            superuser,
            people.recipient.org_id,
            2025,
            ("government_national", "in_kind", "12000.00"),
            ("private_sector", "cash", "3000.00"),
        )
        await insert_funding(
            superuser, people.recipient.org_id, 2024, ("foundation", "cash", "5000")
        )

        to_b = replace(people, recipient=ngo_b)
        grant_b = await insert_grant(
            superuser,
            to_b,
            awarded=Decimal("30000.00"),
            cofunded=Decimal(0),
            **period,
        )
        await insert_disbursement(superuser, grant_b, "10000.00", date(2025, 3, 1))
        grant_c = await insert_grant(
            superuser,
            to_b,
            awarded=Decimal("10000.00"),
            cofunded=Decimal("4000.00"),
            currency="USD",
            **period,
        )
        await insert_disbursement(superuser, grant_c, "2500.00", date(2025, 4, 1))
        await insert_expenditure(superuser, grant_c, "services", "3000.00", *first_half)
        # A draft in the programme is no part of its report.
        await insert_grant(superuser, to_b, status="draft", **period)
    return World(people, ngo_b, programme, grant_a, grant_b, grant_c, ())


@pytest.fixture(scope="module")
async def world(external_issuer: TestIssuer, postgres_admin_url: str, cases_url: str) -> World:
    make = caller_factory(external_issuer)
    people = grant_parties(make)
    ngo_b = make("ngo", ["case_manager"])
    money = await _money(postgres_admin_url, people, ngo_b)
    return replace(money, record_ids=await _persons(cases_url, people, ngo_b))


# Helpers ------------------------------------------------------------------------------------


async def _report(
    grants: httpx.AsyncClient, path: str, caller: Caller, **params: str
) -> httpx.Response:
    return await grants.get(path, params=params, headers=caller.headers)


def _grant_path(grant_id: uuid.UUID) -> str:
    return f"/v1/grants/{grant_id}/report"


def _programme_path(programme_id: uuid.UUID) -> str:
    return f"/v1/programmes/{programme_id}/report"


def _table(body: dict[str, Any], dimension: str) -> dict[str, Any]:
    tables = body["outcomes"]["tables"]
    table: dict[str, Any] = next(t for t in tables if t["dimensions"] == [dimension])
    return table


def _cell(table: dict[str, Any], value: str) -> dict[str, Any]:
    cell: dict[str, Any] = next(
        c for c in table["cells"] if next(iter(c["values"].values())) == value
    )
    return cell


def _csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(response.text))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    return list(reader)


def _find(rows: list[dict[str, str]], **match: str) -> list[dict[str, str]]:
    return [row for row in rows if all(row[key] == value for key, value in match.items())]


def _assert_no_identity(world: World, *responses: httpx.Response) -> None:
    for response in responses:
        for planted in (*PLANTED, *world.record_ids):
            assert planted not in response.text, f"{planted!r} leaked into a report"


def _assert_never_zero_when_suppressed(body: dict[str, Any]) -> None:
    for table in body["outcomes"]["tables"]:
        for cell in table["cells"]:
            if cell["suppressed"] is not None:
                assert cell["count"] is None


# The grant report ---------------------------------------------------------------------------


async def test_the_grant_report_has_exact_money_and_suppressed_outcomes(
    reporting: httpx.AsyncClient, world: World
) -> None:
    response = await _report(reporting, _grant_path(world.grant_a), world.people.manager)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject"]["type"] == "grant"
    assert body["period"] == {"start": "2025-01-01", "end": "2025-12-31"}  # the planned one
    assert body["currency"] == "EUR"
    (grant,) = body["finances"]["grants"]
    assert grant["awarded"] == "50000.00"
    assert grant["disbursed_in_period"] == "35000.00"
    assert grant["disbursed_to_date"] == "35000.00"
    assert grant["spent_in_period"] == "23000.50"
    assert grant["remaining_to_disburse"] == "15000.00"
    assert grant["balance"] == "11999.50"
    categories = {row["category"]: row for row in grant["by_category"]}
    assert categories["services"] == {
        "category": "services",
        "budgeted": "30000.00",
        "spent_in_period": "17000.50",
        "spent_to_date": "17000.50",
        "remaining": "12999.50",
    }
    assert categories["staff"]["spent_in_period"] == "6000.00"
    # Spent in 2026: not in this period.
    assert categories["office_and_running_costs"]["spent_in_period"] == "0.00"
    assert categories["other"]["budgeted"] == "0.00"
    assert [(f["organisation_id"], f["amount"], f["share"]) for f in grant["funders"]] == [
        (str(world.people.manager.org_id), "30000.00", "0.6000"),
        (str(world.people.cofunder.org_id), "20000.00", "0.4000"),
    ]
    (totals,) = body["finances"]["totals"]
    assert totals["currency"] == "EUR"
    assert totals["awarded"] == "50000.00"

    outcomes = body["outcomes"]
    assert outcomes["status"] == "available"
    assert outcomes["organisation_ids"] == [str(world.people.recipient.org_id)]
    assert outcomes["persons"] == PERSONS_A
    assert outcomes["reintegrated_share"] == "0.5000"
    by_sex = _table(body, "sex")
    assert by_sex["total"] == PERSONS_A
    # One man: suppressed; the women with him, or the total would give him away.
    assert _cell(by_sex, "male") == {
        "values": {"sex": "male"},
        "count": None,
        "suppressed": "primary",
    }
    assert _cell(by_sex, "female")["count"] is None
    assert _cell(by_sex, "female")["suppressed"] == "complementary"
    assert _cell(by_sex, "other") == {"values": {"sex": "other"}, "count": 0, "suppressed": None}
    assert _cell(_table(body, "age_group"), "adult")["count"] == PERSONS_A
    assert _cell(_table(body, "outcome"), "reintegrated")["count"] == REINTEGRATED_A
    assert [t["dimensions"] for t in outcomes["tables"]] == [
        ["sex"],
        ["age_group"],
        ["exploitation_form"],
        ["phase"],
        ["outcome"],
        ["service_type"],
    ]
    _assert_never_zero_when_suppressed(body)
    # Two family members: too few to publish anything but zeros.
    secondary = outcomes["secondary_beneficiaries"]
    assert secondary["status"] == "available"
    assert secondary["table"]["unit"] == "secondary_beneficiaries"
    assert _cell(secondary["table"], "female")["count"] is None
    assert _cell(secondary["table"], "female")["suppressed"] == "primary"

    assert body["funding_mix"] == [
        {
            "organisation_id": str(world.people.recipient.org_id),
            "year": 2025,
            "lines": [
                {
                    "source": "government_national",
                    "kind": "in_kind",
                    "amount": "12000.00",
                    "currency": "EUR",
                },
                {
                    "source": "private_sector",
                    "kind": "cash",
                    "amount": "3000.00",
                    "currency": "EUR",
                },
            ],
        }
    ]
    compliance = body["reporting_compliance"]
    assert {key: compliance[key] for key in ("requirements", "accepted", "due", "overdue")} == {
        "requirements": 3,
        "accepted": 1,
        "due": 1,
        "overdue": 1,
    }
    assert compliance["submitted_late"] == 1
    assert [item["status"] for item in compliance["items"]] == ["accepted", "overdue", "due"]
    _assert_no_identity(world, response)


async def test_the_period_narrows_the_money_and_the_counts(
    reporting: httpx.AsyncClient, world: World
) -> None:
    response = await _report(
        reporting,
        _grant_path(world.grant_a),
        world.people.cofunder,
        period_start="2025-07-01",
        period_end="2025-12-31",
    )

    assert response.status_code == 200, response.text
    (grant,) = response.json()["finances"]["grants"]
    assert grant["disbursed_in_period"] == "15000.00"
    assert grant["disbursed_to_date"] == "35000.00"
    assert grant["spent_in_period"] == "9000.50"
    assert grant["spent_to_date"] == "23000.50"


async def test_the_grant_report_as_csv(reporting: httpx.AsyncClient, world: World) -> None:
    response = await _report(
        reporting, _grant_path(world.grant_a), world.people.viewer, format="csv"
    )
    by_accept = await reporting.get(
        _grant_path(world.grant_a),
        headers=world.people.manager.with_headers(accept="text/csv"),
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="grant-report-360G-test-')
    assert disposition.endswith('-2025-01-01-2025-12-31.csv"')
    assert by_accept.headers["content-type"] == "text/csv; charset=utf-8"
    rows = _csv_rows(response)
    (name,) = _find(rows, section="report", metric="name")
    assert name["value"] == "Re/integration services"
    (awarded,) = _find(rows, section="finances", subject="total", metric="awarded")
    assert (awarded["amount_or_count"], awarded["currency"]) == ("50000.00", "EUR")
    (services,) = _find(
        rows, section="finances", subject="total", value="services", metric="spent_in_period"
    )
    assert services["amount_or_count"] == "17000.50"
    # Suppressed is written as such, never as 0.
    (male,) = _find(rows, section="outcomes", dimension="sex", value="male")
    assert (male["amount_or_count"], male["suppressed"]) == ("suppressed", "primary")
    (female,) = _find(rows, section="outcomes", dimension="sex", value="female")
    assert (female["amount_or_count"], female["suppressed"]) == ("suppressed", "complementary")
    (other,) = _find(rows, section="outcomes", dimension="sex", value="other")
    assert (other["amount_or_count"], other["suppressed"]) == ("0", "")
    (persons,) = _find(rows, section="outcomes", metric="persons_assisted")
    assert persons["amount_or_count"] == str(PERSONS_A)
    (share,) = _find(rows, section="outcomes", metric="reintegrated_share")
    assert share["amount_or_count"] == "0.5000"
    (secondary_female,) = _find(rows, section="secondary_beneficiaries", value="female")
    assert secondary_female["amount_or_count"] == "suppressed"
    for row in _find(rows, section="outcomes"):
        if row["suppressed"]:
            assert row["amount_or_count"] == "suppressed"
    (overdue,) = _find(rows, section="reporting_compliance", metric="overdue")
    assert overdue["amount_or_count"] == "1"
    assert _find(rows, section="reporting_requirement", metric="submitted_late") != []
    (in_kind,) = _find(rows, section="funding_mix", dimension="2025", metric="in_kind")
    assert in_kind["amount_or_count"] == "12000.00"
    assert _csv_rows(by_accept)[1:] != []
    _assert_no_identity(world, response, by_accept)


async def test_the_recipient_ngo_reads_its_grants_report(
    reporting: httpx.AsyncClient, world: World
) -> None:
    response = await _report(reporting, _grant_path(world.grant_a), world.people.recipient)

    assert response.status_code == 200, response.text
    assert response.json()["outcomes"]["persons"] == PERSONS_A
    _assert_no_identity(world, response)


async def test_the_grant_report_is_for_the_grants_parties_only(
    reporting: httpx.AsyncClient, world: World
) -> None:
    path = _grant_path(world.grant_a)
    other_donor = await _report(reporting, path, world.people.other_donor)
    other_ngo = await _report(reporting, path, world.people.other_ngo)
    # NGO B receives other grants of the programme, not this one.
    ngo_b = await _report(reporting, path, world.ngo_b)
    missing = await _report(reporting, _grant_path(uuid.uuid4()), world.people.manager)
    worker = await _report(reporting, path, world.people.recipient_worker)

    for refused in (other_donor, other_ngo, ngo_b, missing):
        assert refused.status_code == 404
        assert refused.json()["code"] == "grant-not-found"
    assert worker.status_code == 403
    assert worker.json()["code"] == "forbidden"


async def test_a_period_running_backwards_is_refused(
    reporting: httpx.AsyncClient, world: World
) -> None:
    response = await _report(
        reporting,
        _grant_path(world.grant_a),
        world.people.manager,
        period_start="2025-12-31",
        period_end="2025-01-01",
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid-report-period"


# The programme report ---------------------------------------------------------------------


async def test_the_programme_report_sums_per_currency_and_funder(
    reporting: httpx.AsyncClient, world: World
) -> None:
    json_response = await _report(reporting, _programme_path(world.programme), world.people.manager)
    csv_response = await _report(
        reporting, _programme_path(world.programme), world.people.manager, format="csv"
    )

    assert json_response.status_code == 200, json_response.text
    body = json_response.json()
    assert body["subject"]["name"] == "+Balkans programme"
    assert {row["grant_id"] for row in body["finances"]["grants"]} == {
        str(world.grant_a),
        str(world.grant_b),
        str(world.grant_c),
    }
    totals = {total["currency"]: total for total in body["finances"]["totals"]}
    assert set(totals) == {"EUR", "USD"}  # never added across currencies
    eur, usd = totals["EUR"], totals["USD"]
    assert (eur["grants"], eur["awarded"], eur["disbursed_in_period"]) == (
        2,
        "80000.00",
        "45000.00",
    )
    assert [(f["organisation_id"], f["amount"], f["share"]) for f in eur["funders"]] == [
        (str(world.people.manager.org_id), "60000.00", "0.7500"),
        (str(world.people.cofunder.org_id), "20000.00", "0.2500"),
    ]
    assert (usd["awarded"], usd["disbursed_in_period"], usd["balance"]) == (
        "10000.00",
        "2500.00",
        "-500.00",
    )
    assert [f["amount"] for f in usd["funders"]] == ["6000.00", "4000.00"]
    outcomes = body["outcomes"]
    assert sorted(outcomes["organisation_ids"]) == sorted(
        [str(world.people.recipient.org_id), str(world.ngo_b.org_id)]
    )
    assert outcomes["persons"] == PERSONS_A + PERSONS_B
    _assert_never_zero_when_suppressed(body)

    rows = _csv_rows(csv_response)
    (name,) = _find(rows, section="report", metric="name")
    assert name["value"] == "'+Balkans programme"  # no formula for a spreadsheet to run
    (balance,) = _find(rows, section="finances", subject="total", currency="USD", metric="balance")
    assert balance["amount_or_count"] == "-500.00"  # a number stays a number
    assert csv_response.headers["content-disposition"].startswith(
        f'attachment; filename="programme-report-{world.programme}-'
    )
    _assert_no_identity(world, json_response, csv_response)


async def test_a_cofunder_sees_the_programmes_grants_it_is_party_of(
    reporting: httpx.AsyncClient, world: World
) -> None:
    response = await _report(reporting, _programme_path(world.programme), world.people.cofunder)

    assert response.status_code == 200, response.text
    assert {row["grant_id"] for row in response.json()["finances"]["grants"]} == {
        str(world.grant_a),
        str(world.grant_c),
    }


async def test_the_programme_report_is_for_its_funders_only(
    reporting: httpx.AsyncClient, world: World
) -> None:
    path = _programme_path(world.programme)
    response = await _report(reporting, path, world.people.other_donor)
    assert response.status_code == 404
    assert response.json()["code"] == "programme-not-found"
    # A programme's report is never an NGO's, whichever NGO and programme.
    for recipient in (world.people.recipient, world.ngo_b, world.people.other_ngo):
        refused = await _report(reporting, path, recipient)
        assert refused.status_code == 403
        assert refused.json()["code"] == "programme-report-funders-only"
    worker = await _report(reporting, path, world.people.recipient_worker)
    assert worker.status_code == 403


# cases-api away -----------------------------------------------------------------------------


async def test_an_unreachable_cases_api_leaves_the_outcomes_unavailable(
    cases_down: httpx.AsyncClient, world: World
) -> None:
    response = await _report(cases_down, _grant_path(world.grant_a), world.people.manager)
    as_csv = await _report(
        cases_down, _grant_path(world.grant_a), world.people.manager, format="csv"
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcomes"]["status"] == "unavailable"
    assert "could not be reached" in body["outcomes"]["reason"]
    assert "persons" not in body["outcomes"]
    assert body["finances"]["grants"][0]["disbursed_in_period"] == "35000.00"
    rows = _csv_rows(as_csv)
    (status,) = _find(rows, section="outcomes", metric="status")
    assert status["value"] == "unavailable"
    assert _find(rows, section="outcomes", metric="persons_assisted") == []
    assert _find(rows, section="outcomes", metric="persons") == []


@pytest.fixture
async def one_connection(
    grants_settings: GrantsSettings,
    cases_url: str,
    identity_url: str,
    stats_client: tuple[str, str],
) -> AsyncIterator[httpx.AsyncClient]:
    """grants-api reading cases-api's statistics, with one pooled database connection."""
    narrow = grants_settings.model_copy(update={"database_pool_size": 1})
    async for client in _grants_client(
        _reading_cases(narrow, cases_url, identity_url, stats_client)
    ):
        yield client


async def test_a_report_waiting_on_cases_api_holds_no_database_connection(
    one_connection: httpx.AsyncClient, world: World, postgres_admin_url: str
) -> None:
    path = _grant_path(world.grant_a)
    async with superuser_connection(postgres_admin_url, "cases") as cases_db:
        async with cases_db.transaction():
            # cases-api can neither count nor check kept counts until this transaction ends.
            await cases_db.execute("LOCK TABLE statistics_version IN ACCESS EXCLUSIVE MODE")
            report = asyncio.create_task(_report(one_connection, path, world.people.manager))
            for _ in range(200):
                if await cases_db.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = 'cases' AND wait_event_type = 'Lock'"
                ):
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the report never reached cases-api's statistics")
            # The only connection of grants-api's pool is free for another request.
            meanwhile = await one_connection.get(
                f"/v1/grants/{world.grant_a}", headers=world.people.manager.headers
            )
            assert meanwhile.status_code == 200, meanwhile.text
            assert not report.done()
        response = await report
    assert response.status_code == 200, response.text
    assert response.json()["outcomes"]["status"] == "available"


async def test_without_a_statistics_client_the_outcomes_are_unavailable(
    grants: httpx.AsyncClient, world: World
) -> None:
    response = await _report(grants, _grant_path(world.grant_a), world.people.manager)

    assert response.status_code == 200, response.text
    assert response.json()["outcomes"] == {
        "status": "unavailable",
        "reason": "grants-api is not configured to read cases-api",
    }


def _stub_cases_api(status: int, body: dict[str, Any]) -> FastAPI:
    """A token endpoint and a statistics endpoint that always give the same answer."""
    stub = FastAPI()

    @stub.post("/token")
    async def token() -> dict[str, Any]:
        return {"access_token": "stub", "token_type": "Bearer", "expires_in": 300}

    @stub.get("/v1/statistics")
    async def statistics() -> JSONResponse:
        return JSONResponse(body, status_code=status)

    return stub


# A table whose "suppressed" cell still carries a count: not a table to pass on.
ZERO_FOR_SUPPRESSED = {
    "organisation_ids": [str(uuid.uuid4())],
    "period_start": "2025-01-01",
    "period_end": "2025-12-31",
    "dimensions": ["sex"],
    "unit": "persons",
    "multi_valued": [],
    "threshold": 5,
    "cells": [{"values": {"sex": "male"}, "count": 0, "suppressed": "primary"}],
    "margins": [],
    "total": None,
    "persons": None,
    "suppressed_cells": 1,
    "suppressed_margins": 0,
}

# A readable table, but of an organisation the report did not ask about.
ANOTHER_ORGANISATIONS = {
    **ZERO_FOR_SUPPRESSED,
    "cells": [{"values": {"sex": "male"}, "count": None, "suppressed": "primary"}],
}


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (503, {"title": "Service unavailable"}, "cases-api answered 503"),
        (500, {"title": "Internal error"}, "cases-api answered 500"),
        (403, {"code": "forbidden"}, "cases-api answered 403"),
        (200, ZERO_FOR_SUPPRESSED, "cases-api sent a table grants-api cannot read"),
        (200, ANOTHER_ORGANISATIONS, "cases-api sent a table other than the one asked for"),
    ],
)
async def test_a_failing_cases_api_leaves_the_outcomes_unavailable(
    grants_settings: GrantsSettings,
    world: World,
    status: int,
    body: dict[str, Any],
    reason: str,
) -> None:
    with serving(_stub_cases_api(status, body)) as stub_url:
        settings = _reading_cases(grants_settings, stub_url, stub_url, ("stub", "secret"))
        settings = settings.model_copy(update={"token_url": f"{stub_url}/token"})
        async for client in _grants_client(settings):
            response = await _report(client, _grant_path(world.grant_a), world.people.manager)

    assert response.status_code == 200, response.text
    assert response.json()["outcomes"] == {"status": "unavailable", "reason": reason}


def test_a_suppressed_cell_with_a_count_is_not_a_table() -> None:
    cell = ZERO_FOR_SUPPRESSED["cells"][0]  # type: ignore[index]
    with pytest.raises(ValidationError):
        StatisticsCell.model_validate(cell)
    published = StatisticsCell.model_validate({**cell, "count": None})
    assert (published.count, published.suppressed) == (None, "primary")
    assert StatisticsTable.model_validate({**ZERO_FOR_SUPPRESSED, "cells": []}).cells == []


# CSV injection ------------------------------------------------------------------------------


def test_cells_a_spreadsheet_would_run_are_defused() -> None:
    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert safe_cell("+A1") == "'+A1"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("-2+3") == "'-2+3"
    assert safe_cell("\tcmd") == "'\tcmd"
    assert safe_cell("-500.00") == "-500.00"
    assert safe_cell("12") == "12"
    assert safe_cell("female") == "female"
