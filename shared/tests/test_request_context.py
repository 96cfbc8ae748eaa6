"""Request ids: taken from the gateway when safe, made otherwise, echoed and logged."""

from __future__ import annotations

import json
import logging
import uuid

import httpx
import pytest

from baton.context import request_id_var
from baton.logs import JsonFormatter


async def test_a_request_id_is_made_when_none_is_sent(kit_client: httpx.AsyncClient) -> None:
    response = await kit_client.get("/healthz")
    assert uuid.UUID(response.headers["x-request-id"])


@pytest.mark.parametrize("path", ["/healthz", "/v1/nowhere", "/v1/crash"])
async def test_no_answer_is_kept_by_a_browser_or_proxy(
    kit_client: httpx.AsyncClient, path: str
) -> None:
    response = await kit_client.get(path)
    assert response.headers["cache-control"] == "no-store"


async def test_an_endpoint_may_say_otherwise(kit_client: httpx.AsyncClient) -> None:
    response = await kit_client.get("/v1/cacheable")
    assert response.headers["cache-control"] == "public, max-age=60"


async def test_the_gateway_request_id_is_kept(kit_client: httpx.AsyncClient) -> None:
    sent = str(uuid.uuid4())
    response = await kit_client.get("/healthz", headers={"x-request-id": sent})
    assert response.headers["x-request-id"] == sent


@pytest.mark.parametrize(
    "unsafe",
    ["short", "x" * 129, "abc def ghi", 'evil"}{"level":"error', "line\tbreak-attempt"],
)
async def test_an_unsafe_request_id_is_replaced(kit_client: httpx.AsyncClient, unsafe: str) -> None:
    response = await kit_client.get("/healthz", headers={"x-request-id": unsafe})
    assert response.headers["x-request-id"] != unsafe
    assert uuid.UUID(response.headers["x-request-id"])


async def test_the_access_line_has_the_request_id_and_no_query(
    kit_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    sent = str(uuid.uuid4())
    with caplog.at_level(logging.INFO, logger="baton.access"):
        await kit_client.get("/healthz?search=Ardita", headers={"x-request-id": sent})
    (record,) = [r for r in caplog.records if r.name == "baton.access"]
    line = json.loads(JsonFormatter("kit-probe").format(record))
    assert line["path"] == "/healthz"
    assert line["status"] == 200
    assert "Ardita" not in json.dumps(line)


def test_json_lines_carry_the_current_request_id() -> None:
    token = request_id_var.set("req-12345678")
    try:
        record = logging.LogRecord(
            "baton.test", logging.INFO, __file__, 1, "hello %s", ("x",), None
        )
        record.case_count = 3
        line = json.loads(JsonFormatter("cases-api").format(record))
    finally:
        request_id_var.reset(token)
    assert line["request_id"] == "req-12345678"
    assert line["message"] == "hello x"
    assert line["service"] == "cases-api"
    assert line["case_count"] == 3
    assert line["level"] == "info"
