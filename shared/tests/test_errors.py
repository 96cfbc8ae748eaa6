"""Every error is an RFC 9457 problem, and none echoes what the client sent."""

from __future__ import annotations

import httpx

from kit_probe import PLANTED_VALUE

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
