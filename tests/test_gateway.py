"""The real stack through the real Envoy: routing, limits, problems, request ids, logs."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from baton.stack.personas import PersonaTokens
from baton.stack.runner import Stack
from baton.stack.services import SERVICES, ServiceSpec
from baton.testing import refused_by_gateway

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def gateway(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway_url, timeout=10.0) as client:
        yield client


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.route)
def test_every_service_is_healthy_through_its_prefix(
    gateway: httpx.Client, spec: ServiceSpec
) -> None:
    health = gateway.get(f"/{spec.route}/healthz")
    ready = gateway.get(f"/{spec.route}/readyz")
    assert health.status_code == 200
    assert health.headers["content-type"] == "application/json"
    # The prefix was stripped and the right service answered.
    assert health.json()["service"] == spec.name
    assert ready.status_code == 200
    assert ready.json()["migrations"] == "at-head"


def test_docs_load_their_openapi_under_the_public_prefix(gateway: httpx.Client) -> None:
    docs = gateway.get("/cases/docs")
    assert docs.status_code == 200
    assert "/cases/openapi.json" in docs.text
    spec = gateway.get("/cases/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["servers"] == [{"url": "/cases"}]


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_an_unknown_path_at_the_gateway_needs_a_token_first(gateway: httpx.Client) -> None:
    # The catch-all route requires a token too: an anonymous caller learns nothing.
    response = gateway.get("/nowhere/at/all")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_an_unknown_path_at_the_gateway_is_denied_even_with_a_token(
    gateway: httpx.Client, tokens: PersonaTokens
) -> None:
    # RBAC allows listed prefixes only; everything else is refused, with no reason given.
    response = gateway.get("/nowhere/at/all", headers=_bearer(tokens("caseworker")))
    assert refused_by_gateway(response, 403, "forbidden"), response.text


def test_an_unknown_path_in_a_service_is_a_404_problem(
    gateway: httpx.Client, tokens: PersonaTokens
) -> None:
    response = gateway.get("/grants/v1/no-such-thing", headers=_bearer(tokens("grant-manager")))
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    # The instance is the public path the client used.
    assert response.json()["instance"] == "/grants/v1/no-such-thing"


def test_a_body_over_one_mebibyte_is_refused_by_the_gateway(
    gateway: httpx.Client, stack: Stack
) -> None:
    response = gateway.post(
        "/cases/v1/anything",
        content=b"x" * (2 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "payload-too-large"
    # Envoy answered: the service never saw the request.
    assert "x-envoy-upstream-service-time" not in response.headers
    assert "/v1/anything" not in (stack.log_dir / "cases-api.log").read_text()


def test_a_body_under_the_limit_passes_to_the_service(
    gateway: httpx.Client, tokens: PersonaTokens
) -> None:
    response = gateway.post(
        "/cases/v1/anything",
        content=b"x" * (512 * 1024),
        headers={"content-type": "application/json", **_bearer(tokens("caseworker"))},
    )
    # The service itself answers (no such route), so the gateway let the body through.
    assert response.status_code == 404
    assert "x-envoy-upstream-service-time" in response.headers


def test_escaped_slashes_are_rejected_before_routing(gateway: httpx.Client) -> None:
    response = gateway.get("/cases%2Fhealthz")
    assert response.status_code in {400, 404}
    assert response.status_code != 200


def _wait_for_line(path: Path, needle: str, timeout: float = 10.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in path.read_text().splitlines():
            if needle in line:
                parsed: dict[str, object] = json.loads(line)
                return parsed
        time.sleep(0.2)
    raise AssertionError(f"no log line with {needle} in {path}")


def test_the_request_id_travels_from_client_to_service_log(
    gateway: httpx.Client, stack: Stack
) -> None:
    request_id = f"partner-{uuid.uuid4()}"
    response = gateway.get("/referrals/healthz", headers={"x-request-id": request_id})
    assert response.headers["x-request-id"] == request_id
    service_line = _wait_for_line(stack.log_dir / "referral-api.log", request_id)
    assert service_line["path"] == "/referrals/healthz"
    assert service_line["service"] == "referral-api"


def test_the_gateway_makes_a_request_id_when_none_is_sent(
    gateway: httpx.Client, stack: Stack
) -> None:
    response = gateway.get("/identity/healthz")
    request_id = response.headers["x-request-id"]
    assert uuid.UUID(request_id)
    assert _wait_for_line(stack.log_dir / "identity-api.log", request_id)["status"] == 200


def test_access_logs_are_json_without_query_strings(gateway: httpx.Client, stack: Stack) -> None:
    request_id = str(uuid.uuid4())
    gateway.get("/grants/healthz?name=Ardita&dob=1990-01-01", headers={"x-request-id": request_id})
    # Envoy flushes its access log about once a second.
    line = _wait_for_line(stack.log_dir / "gateway-access.log", request_id)
    assert line["path"] == "/grants/healthz"
    assert line["status"] == 200
    assert "Ardita" not in json.dumps(line)
    service_log = (stack.log_dir / "grants-api.log").read_text()
    assert "Ardita" not in service_log
