"""One trace from the gateway's request to cases-api's intake, across referral-api's outbox.

referral-api (in-process) and cases-api (served over HTTP) trace into an in-memory
exporter; identity-api issues the intake client's token. The referral is accepted
with a `traceparent`, as the gateway forwards it; the hand-off runs later from the
outbox, and cases-api's intake span must still be in the accepting request's trace.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from baton import telemetry
from baton.auth import TrustedIssuer
from baton.outbox import TRACE_CONTEXT_KEY
from baton.stack.databases import ServiceDatabase
from baton.testing import serving, superuser_connection
from baton.testing_issuer import CallerFactory, TestIssuer, caller_factory
from cases_api.config import CasesSettings
from cases_api.main import create_app as create_cases_app
from identity_api.config import IdentitySettings
from identity_api.main import create_app as create_identity_app
from identity_factories import make_client, make_organisation
from referral_api.config import ReferralSettings
from referral_api.main import create_app as create_referral_app
from referral_api.referrals.handoff import HANDOFF_TOPIC, INTAKE_PATH
from referral_factories import consent, message_of, parties, step, submit

ISSUER = "https://baton.test/identity"
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
GATEWAY_SPAN_ID = "b7ad6b7169203331"
# What Envoy forwards: its own span as the parent, sampled.
TRACEPARENT = f"00-{TRACE_ID}-{GATEWAY_SPAN_ID}-01"


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


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
            "signing_keys_dir": str(tmp_path_factory.mktemp("tracing-identity") / "keys"),
            "trusted_issuers": [external_issuer.trusted.model_dump(mode="json")],
        }
    )
    with serving(create_identity_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def cases_url(
    service_databases: dict[str, ServiceDatabase],
    external_issuer: TestIssuer,
    identity_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    exporter: InMemorySpanExporter,
) -> Iterator[str]:
    keys: Path = tmp_path_factory.mktemp("tracing-cases-keys")
    identity = TrustedIssuer(issuer=ISSUER, jwks_url=f"{identity_url}/.well-known/jwks.json")
    settings = CasesSettings.model_validate(
        {
            "database_url": service_databases["cases"].runtime_url,
            "trusted_issuers": [
                external_issuer.trusted.model_dump(mode="json"),
                identity.model_dump(mode="json"),
            ],
            "master_keys_dir": str(keys / "master"),
            "blind_index_key_file": str(keys / "blind-index.key"),
            "environment": "test",
            "root_path": "",
        }
    )
    with telemetry.spans_exported_to(exporter):
        app = create_cases_app(settings)
    with serving(app) as url:
        yield url


async def _intake_client(identity_url: str, issuer: TestIssuer) -> tuple[str, str]:
    claims = issuer.claims(org_id=uuid.uuid4(), org_kind="platform", roles=["platform_admin"])
    admin = {"Authorization": f"Bearer {issuer.sign(claims)}"}
    async with httpx.AsyncClient(base_url=identity_url) as http:
        organisation = await make_organisation(http, admin, kind="platform")
        client = await make_client(
            http, admin, organisation["id"], [], scopes=["cases:intake"], audiences=["cases-api"]
        )
    return str(client["client_id"]), str(client["client_secret"])


@pytest.fixture
async def referral_app(
    service_databases: dict[str, ServiceDatabase],
    external_issuer: TestIssuer,
    identity_url: str,
    cases_url: str,
    tmp_path: Path,
    exporter: InMemorySpanExporter,
) -> AsyncIterator[FastAPI]:
    client_id, client_secret = await _intake_client(identity_url, external_issuer)
    settings = ReferralSettings.model_validate(
        {
            "database_url": service_databases["referrals"].runtime_url,
            "trusted_issuers": [external_issuer.trusted.model_dump(mode="json")],
            "master_keys_dir": str(tmp_path / "master"),
            "environment": "test",
            "run_outbox": False,
            "cases_api_url": cases_url,
            "token_url": f"{identity_url}/v1/oauth/token",
            "intake_client_id": client_id,
            "intake_client_secret": client_secret,
            "outbox_backoff_seconds": 60.0,
        }
    )
    with telemetry.spans_exported_to(exporter):
        app = create_referral_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def referrals(referral_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=referral_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        yield client


@pytest.fixture
def caller(external_issuer: TestIssuer) -> CallerFactory:
    return caller_factory(external_issuer)


@pytest.fixture
async def superuser(postgres_admin_url: str) -> AsyncIterator[asyncpg.Connection]:
    async with superuser_connection(postgres_admin_url, "referrals") as connection:
        yield connection


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def _span(
    exporter: InMemorySpanExporter, service: str, kind: SpanKind, timeout: float = 5.0
) -> ReadableSpan:
    """The one span of `service` and `kind` in our trace; served apps end theirs in their
    own thread, a moment after the response went out."""
    deadline = time.monotonic() + timeout
    while True:
        found = [
            span
            for span in exporter.get_finished_spans()
            if span.resource.attributes.get("service.name") == service
            and span.kind == kind
            and span.context is not None
            and _hex(span.context.trace_id, 32) == TRACE_ID
        ]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, [(span.name, span.kind) for span in found]
            return found[0]
        time.sleep(0.05)


def _parent_id(span: ReadableSpan) -> str:
    assert span.parent is not None
    return _hex(span.parent.span_id, 16)


def _span_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return _hex(span.context.span_id, 16)


async def test_the_hand_off_to_cases_api_joins_the_trace_of_the_accepting_request(
    referral_app: FastAPI,
    referrals: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    exporter: InMemorySpanExporter,
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient, consent=consent())
    accepted = await step(
        referrals, people.manager, referral["id"], "accept", traceparent=TRACEPARENT
    )
    assert accepted.status_code == 200, accepted.text

    # The outbox message carries the accepting request's trace context.
    message = await message_of(superuser, HANDOFF_TOPIC, referral["id"])
    stored = await superuser.fetchval(
        "SELECT payload->>$2 FROM outbox_message WHERE id = $1", message["id"], TRACE_CONTEXT_KEY
    )
    assert stored is not None
    assert stored.split("-")[1] == TRACE_ID
    # Ahead of whatever other tests left due, and handled alone.
    await superuser.execute(
        "UPDATE outbox_message SET available_at = now() - interval '100 years' WHERE id = $1",
        message["id"],
    )
    worker = dataclasses.replace(referral_app.state.outbox, batch_size=1)
    assert await worker.run_once() == 1
    row = await superuser.fetchrow("SELECT * FROM outbox_message WHERE id = $1", message["id"])
    assert row is not None
    assert row["processed_at"] is not None, row["last_error"]

    accepting = _span(exporter, "referral-api", SpanKind.SERVER)
    assert accepting.name == "POST /v1/referrals/{referral_id}/accept"
    assert _parent_id(accepting) == GATEWAY_SPAN_ID
    handoff = _span(exporter, "referral-api", SpanKind.CONSUMER)
    assert handoff.name == f"process {HANDOFF_TOPIC}"
    assert _parent_id(handoff) == _span_id(accepting)
    call = _span(exporter, "referral-api", SpanKind.CLIENT)
    assert (call.attributes or {})["url.path"] == INTAKE_PATH
    assert _parent_id(call) == _span_id(handoff)
    intake = _span(exporter, "cases-api", SpanKind.SERVER)
    assert (intake.attributes or {})["http.route"] == INTAKE_PATH
    assert (intake.attributes or {})["http.response.status_code"] == 201
    # cases-api continued the client span's context: W3C traceparent crossed the wire.
    assert _parent_id(intake) == _span_id(call)
