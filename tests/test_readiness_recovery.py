"""Losing PostgreSQL makes every service unready (503 problem); it recovers by itself."""

from __future__ import annotations

import time

import httpx
import pytest

from baton.stack.runner import Stack
from baton.stack.services import SERVICES

pytestmark = pytest.mark.e2e


def _readiness(client: httpx.Client) -> dict[str, httpx.Response]:
    return {spec.route: client.get(f"/{spec.route}/readyz") for spec in SERVICES}


def _wait_until_all(client: httpx.Client, status: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        statuses = {route: r.status_code for route, r in _readiness(client).items()}
        if set(statuses.values()) == {status}:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"expected every readyz at {status}, got {statuses}")
        time.sleep(0.25)


def test_readiness_follows_the_database_without_restarts(stack: Stack) -> None:
    if stack.postgres is None:
        pytest.skip("the stack runs on an external PostgreSQL; it cannot be stopped from here")
    pids_before = [managed.process.pid for managed in stack.processes if managed.process]
    with httpx.Client(base_url=stack.gateway_url, timeout=10.0) as client:
        _wait_until_all(client, 200)
        stack.postgres.stop()
        try:
            for route, response in _readiness(client).items():
                assert response.status_code == 503, route
                assert response.headers["content-type"] == "application/problem+json"
                assert response.json()["code"] == "database-unreachable"
                assert response.headers["retry-after"]
                assert client.get(f"/{route}/healthz").status_code == 200
        finally:
            stack.postgres.start()
        _wait_until_all(client, 200)
    assert [managed.process.pid for managed in stack.processes if managed.process] == pids_before
    assert stack.dead_process() is None
