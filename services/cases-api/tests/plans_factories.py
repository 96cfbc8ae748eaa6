"""Typed factories for plan-service and assessment tests."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx

from baton.db import utcnow
from cases_factories import Caller, new_beneficiary, new_case

# A provider name planted in rejected requests: problem bodies must not echo it.
PLANTED_PROVIDER = "Klinika Shpresa Durres"


def days_ago(days: int) -> date:
    return utcnow().date() - timedelta(days=days)


async def open_case(
    cases: httpx.AsyncClient, caller: Caller, *, started_days_ago: int = 400
) -> dict[str, Any]:
    """A new beneficiary of the caller's organisation and a case for them."""
    beneficiary = await new_beneficiary(cases, caller)
    started = days_ago(started_days_ago).isoformat()
    case: dict[str, Any] = (
        await new_case(cases, caller, beneficiary["id"], assistance_started_on=started)
    ).json()
    return case


async def close_case(cases: httpx.AsyncClient, manager: Caller, case: dict[str, Any]) -> None:
    path = f"/v1/cases/{case['id']}"
    etag = (await cases.get(path, headers=manager.headers)).headers["etag"]
    closed = await cases.post(
        f"{path}/closure",
        json={"outcome": "reintegrated", "closed_on": days_ago(1).isoformat()},
        headers=manager.with_headers(if_match=etag),
    )
    assert closed.status_code == 200, closed.text


def service_body(**fields: Any) -> dict[str, Any]:
    return {
        "service_type": "vocational_training",
        "planned_start": days_ago(30).isoformat(),
        "planned_end": days_ago(-60).isoformat(),
        "provider_name": "Qendra e Formimit Profesional",
        "cost_amount": "1250.5",
        "cost_currency": "EUR",
        **fields,
    }


async def new_service(
    cases: httpx.AsyncClient, caller: Caller, case_id: str, **fields: Any
) -> dict[str, Any]:
    response = await cases.post(
        f"/v1/cases/{case_id}/services", json=service_body(**fields), headers=caller.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def new_assessment(
    cases: httpx.AsyncClient, caller: Caller, case_id: str, assessed_on: date, **scores: int
) -> dict[str, Any]:
    response = await cases.post(
        f"/v1/cases/{case_id}/assessments",
        json={"assessed_on": assessed_on.isoformat(), "scores": scores},
        headers=caller.headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def rows_of_case(superuser: asyncpg.Connection, table: str, case_id: str) -> int:
    """Rows of `table` for the case, seen from underneath (a superuser ignores RLS)."""
    count: int = await superuser.fetchval(
        f"SELECT count(*) FROM {table} WHERE case_id = $1", uuid.UUID(case_id)
    )
    return count


async def audit_actions(superuser: asyncpg.Connection, resource_id: str) -> list[str]:
    rows = await superuser.fetch(
        "SELECT action FROM audit_event WHERE resource_id = $1 ORDER BY sequence",
        uuid.UUID(resource_id),
    )
    return [row["action"] for row in rows]
