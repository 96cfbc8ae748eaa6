"""Every error is an RFC 9457 problem, and none echoes what the client sent."""

from __future__ import annotations

import asyncio
import time

import httpx

from baton.app import create_service_app
from baton.stack.databases import ServiceDatabase
from baton.stack.postgres import free_port
from baton.testing import app_client
from kit_probe import KIT_INFO, PLANTED_VALUE, kit_settings, probe_router

PROBLEM = "application/problem+json"


async def test_malformed_json_is_a_422_problem_naming_the_place(
    kit_client: httpx.AsyncClient,
) -> None:
    response = await kit_client.post(
        "/v1/people", content=b'{"name": "x", ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "urn:baton:problem:validation-failed"
    assert problem["status"] == 422
    assert problem["errors"][0]["code"] == "json_invalid"
    assert problem["errors"][0]["location"][0] == "body"


async def test_invalid_fields_are_listed_without_their_values(
    kit_client: httpx.AsyncClient,
) -> None:
    response = await kit_client.post("/v1/people", json={"name": "", "birth_year": PLANTED_VALUE})
    assert response.status_code == 422
    locations = {tuple(error["location"]) for error in response.json()["errors"]}
    assert locations == {("body", "name"), ("body", "birth_year")}
    assert PLANTED_VALUE not in response.text


async def test_missing_body_field_is_named(kit_client: httpx.AsyncClient) -> None:
    response = await kit_client.post("/v1/people", json={"name": "A"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"location": ["body", "birth_year"], "message": "Field required", "code": "missing"}
    ]


async def test_unknown_path_is_a_404_problem(kit_client: httpx.AsyncClient) -> None:
    response = await kit_client.get("/v1/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "not-found"
    assert response.json()["instance"] == "/v1/nowhere"


async def test_wrong_method_is_a_405_problem(kit_client: httpx.AsyncClient) -> None:
    response = await kit_client.delete("/v1/people")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "method-not-allowed"
    assert "POST" in response.headers["allow"]


async def test_domain_error_keeps_its_code_and_status(kit_client: httpx.AsyncClient) -> None:
    response = await kit_client.post("/v1/conflicts")
    assert response.status_code == 409
    assert response.json() == {
        "type": "urn:baton:problem:conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "The record changed since you read it.",
        "instance": "/v1/conflicts",
        "code": "conflict",
        "request_id": response.headers["x-request-id"],
    }


async def test_unexpected_exception_is_a_500_problem_that_leaks_nothing(
    kit_client: httpx.AsyncClient,
) -> None:
    response = await kit_client.get("/v1/crash")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "internal-error"
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert PLANTED_VALUE not in response.text
    assert "RuntimeError" not in response.text


async def _database_answer(database_url: str, seconds: float, **settings: object) -> httpx.Response:
    app = create_service_app(KIT_INFO, kit_settings(database_url, **settings), [probe_router])
    async with app_client(app) as client:
        return await client.get("/v1/database-sleep", params={"seconds": seconds})


def _assert_retry_soon(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == "database-unavailable"
    assert "Error" not in response.text  # no exception names, no trace


async def test_a_database_that_is_not_there_is_a_503_problem_to_retry() -> None:
    nobody_listens = f"postgresql+asyncpg://baton:x@127.0.0.1:{free_port()}/baton"
    _assert_retry_soon(await _database_answer(nobody_listens, 0.0))


async def test_a_query_slower_than_the_statement_timeout_is_a_bounded_503(
    service_databases: dict[str, ServiceDatabase],
) -> None:
    url = service_databases["cases"].runtime_url
    started = time.perf_counter()
    answer = await _database_answer(url, 5.0, database_statement_timeout_ms=200)
    _assert_retry_soon(answer)
    assert time.perf_counter() - started < 4.0  # the 5 s query was cut off
    assert (await _database_answer(url, 0.0)).status_code == 200


async def test_an_exhausted_pool_answers_503_within_its_wait_not_after_the_queue(
    service_databases: dict[str, ServiceDatabase],
) -> None:
    # One connection (pool of 1, no overflow); a request waits for it at most 0.5 s.
    settings = kit_settings(
        service_databases["cases"].runtime_url,
        database_pool_size=1,
        database_connect_timeout_seconds=0.5,
    )
    app = create_service_app(KIT_INFO, settings, [probe_router])
    async with app_client(app) as client:
        holder = asyncio.create_task(client.get("/v1/database-sleep", params={"seconds": 3}))
        await asyncio.sleep(0.3)  # the holder has the only connection
        started = time.perf_counter()
        waiting = await client.get("/v1/database-sleep", params={"seconds": 0})
        waited = time.perf_counter() - started
        _assert_retry_soon(waiting)
        assert waited < 2.0  # bounded by the pool's wait, not by the 3 s holder
        assert (await holder).status_code == 200
        assert (await client.get("/v1/database-sleep")).status_code == 200
