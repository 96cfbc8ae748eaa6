"""A grant's money written through the API, and what lies underneath it, for the
finances tests."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from baton.testing_issuer import Caller, CallerFactory
from grants_factories import GrantParties, grant_parties, insert_grant

FINANCE_TABLES = ("tranche", "disbursement", "budget_line", "expenditure")
# Screening refuses it: descriptions describe work, never a person.
PHONE = "Paid after a call to 069 123 4567"


def money_path(grant_id: uuid.UUID, part: str) -> str:
    return f"/v1/grants/{grant_id}/{part}"


async def post(
    grants: httpx.AsyncClient,
    who: Caller,
    grant_id: uuid.UUID,
    part: str,
    body: dict[str, Any],
    *,
    key: str | None = None,
) -> httpx.Response:
    headers = who.with_headers(idempotency_key=key) if key else who.headers
    return await grants.post(money_path(grant_id, part), json=body, headers=headers)


async def created(
    grants: httpx.AsyncClient, who: Caller, grant_id: uuid.UUID, part: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await post(grants, who, grant_id, part, body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def put_budget(
    grants: httpx.AsyncClient,
    who: Caller,
    grant_id: uuid.UUID,
    lines: list[dict[str, Any]],
    *,
    etag: str | None,
) -> httpx.Response:
    headers = who.with_headers(if_match=etag) if etag is not None else who.headers
    return await grants.put(money_path(grant_id, "budget"), json={"lines": lines}, headers=headers)


def line(category: str, amount: str, description: str | None = None) -> dict[str, Any]:
    return {"category": category, "amount": amount, "description": description}


async def rows_of(
    superuser: asyncpg.Connection, table: str, grant_id: uuid.UUID
) -> list[asyncpg.Record]:
    """Every row of `table` for the grant, as they are stored (row-level security aside)."""
    return list(await superuser.fetch(f"SELECT * FROM {table} WHERE grant_id = $1", grant_id))


async def visible_counts(
    runtime: asyncpg.Connection, org_id: uuid.UUID, grant_id: uuid.UUID
) -> dict[str, int]:
    """How many of the grant's money rows each table shows the runtime role acting for `org_id`."""
    counts: dict[str, int] = {}
    async with runtime.transaction():
        await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(org_id))
        for table in FINANCE_TABLES:
            counts[table] = await runtime.fetchval(
                f"SELECT count(*) FROM {table} WHERE grant_id = $1", grant_id
            )
    return counts


async def new_grant(
    superuser: asyncpg.Connection, caller: CallerFactory, **changes: Any
) -> tuple[GrantParties, uuid.UUID]:
    people = grant_parties(caller)
    return people, await insert_grant(superuser, people, **changes)


def readers(people: GrantParties) -> tuple[Caller, ...]:
    return (people.manager, people.viewer, people.cofunder, people.recipient)


def outsiders(people: GrantParties) -> tuple[Caller, ...]:
    return (people.other_donor, people.other_ngo)


async def assert_hidden(
    grants: httpx.AsyncClient,
    outsiders: tuple[Caller, ...],
    path: str,
    method: str = "GET",
    body: dict[str, Any] | None = None,
) -> None:
    """Organisations that are no party get the grant's 404, as if it did not exist."""
    for outsider in outsiders:
        response = await grants.request(method, path, headers=outsider.headers, json=body)
        assert response.status_code == 404, (outsider, response.text)
        assert response.json()["code"] == "grant-not-found"


async def assert_refused(
    grants: httpx.AsyncClient,
    callers: tuple[Caller, ...],
    path: str,
    method: str = "GET",
    body: dict[str, Any] | None = None,
) -> None:
    """Callers whose role lacks the permission get 403 whatever the grant."""
    for who in callers:
        response = await grants.request(method, path, headers=who.headers, json=body)
        assert response.status_code == 403, (who, response.text)
        assert response.json()["code"] == "forbidden"


def tranche(amount: str, due_on: str = "2011-03-01", **more: Any) -> dict[str, Any]:
    return {"due_on": due_on, "amount": amount, **more}


def disbursement(
    amount: str | None, disbursed_on: str = "2011-02-01", **more: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"disbursed_on": disbursed_on, **more}
    if amount is not None:
        body["amount"] = amount
    return body


def expenditure(
    amount: str, start: str = "2011-01-01", end: str = "2011-06-30", **more: Any
) -> dict[str, Any]:
    return {
        "category": "services",
        "period_start": start,
        "period_end": end,
        "amount": amount,
        **more,
    }


def converted(amount: str | None, **conversion: str) -> dict[str, Any]:
    return disbursement(
        amount,
        **{
            "paid_amount": "1000.00",
            "paid_currency": "MKD",
            "exchange_rate": "0.01626016",
            "rate_date": "2011-01-31",
            **conversion,
        },
    )


async def money_on(
    grants: httpx.AsyncClient, people: GrantParties, grant_id: uuid.UUID
) -> list[dict[str, Any]]:
    """Three tranches (50,000.00), two of them paid (one in MKD), a full budget and
    expenditure in two categories; returns the tranches."""
    tranches = [
        await created(grants, people.manager, grant_id, "tranches", tranche(amount, due))
        for amount, due in (
            ("20000.00", "2011-01-15"),
            ("10000.00", "2012-01-15"),
            ("20000.00", "2011-07-15"),
        )
    ]
    await created(
        grants,
        people.manager,
        grant_id,
        "disbursements",
        disbursement("20000.00", "2011-01-20", tranche_id=tranches[0]["id"]),
    )
    await created(
        grants,
        people.manager,
        grant_id,
        "disbursements",
        converted(None, paid_amount="1000000.00", tranche_id=tranches[2]["id"]),
    )  # 16,260.16 EUR: the July tranche is paid in part
    budget = [
        line("services", "25000"),
        line("staff", "15000"),
        line("office_and_running_costs", "7000"),
        line("other", "3000"),
    ]
    assert (await put_budget(grants, people.manager, grant_id, budget, etag='"0"')).is_success
    for category, amount, start, end in (
        ("services", "12000.50", "2011-01-01", "2011-06-30"),
        ("staff", "7000.25", "2011-01-01", "2011-06-30"),
        ("services", "8000.00", "2011-07-01", "2011-12-31"),
    ):
        body = expenditure(amount, start, end, category=category)
        await created(grants, people.recipient, grant_id, "expenditures", body)
    return tranches
