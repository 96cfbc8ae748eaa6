"""Hygiene, checked after every other end-to-end test of the session (the root conftest
moves `hygiene` tests last): no planted identity in any log, outbox or webhook body;
answers carrying identity are never cached; a server error shows no trace; no banners.

The module plants identities of its own through the real API first, and proves the
scan read the requests that carried them, so the scan can never pass on empty logs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import test_donor_leak
import test_referral_flow
from fastapi import FastAPI, Request, Response
from test_referral_flow import wait_for

from baton.stack.personas import PersonaTokens, request_token
from baton.stack.runner import Stack
from baton.stack.services import SERVICES
from baton.testing import serving, superuser_connection
from cases_factories import PLANTED as CASES_PLANTED
from cases_factories import beneficiary_body, identity
from referral_factories import PLANTED as REFERRAL_PLANTED
from referral_factories import PLANTED_RISK, packet, referral_body

pytestmark = [pytest.mark.e2e, pytest.mark.hygiene]

TAG = uuid.uuid4().hex[:8]
GIVEN, FAMILY = f"Hygjena{TAG}", f"Kujdesaj{TAG}"
PROBLEM = "application/problem+json"
PURPOSE = {"purpose": "case_management"}


def _planted_patterns() -> re.Pattern[str]:
    """Every identity value the session's e2e tests plant, this module's first."""
    flow = test_referral_flow.referral_body("")["packet"]["identity"]
    literal = [
        GIVEN,
        FAMILY,
        *CASES_PLANTED,
        *REFERRAL_PLANTED,
        PLANTED_RISK,
        flow["given_names"],
        flow["family_names"],
    ]
    # The donor-leak test tags its values per import: match any tag, not this import's.
    donor = [
        re.escape(value).replace(test_donor_leak.TAG, "[0-9a-f]{8}")
        for value in test_donor_leak.PLANTED.values()
        if test_donor_leak.TAG in value
    ]
    return re.compile("|".join([*map(re.escape, literal), *donor]))


PLANTED = _planted_patterns()


@dataclass
class Planting:
    """What the planting requests left: their ids, answers, and the webhooks they caused."""

    request_ids: dict[str, str] = field(default_factory=dict)
    answers: dict[str, httpx.Response] = field(default_factory=dict)
    webhook_bodies: list[bytes] = field(default_factory=list)
    referral_id: str = ""


def _headers(tokens: PersonaTokens, persona: str, planting: Planting, step: str) -> dict[str, str]:
    request_id = f"hygiene-{TAG}-{step}"
    planting.request_ids[step] = request_id
    return {
        "authorization": f"Bearer {tokens(persona)}",
        "x-request-id": request_id,
        # Stored answers are scanned too.
        "idempotency-key": request_id,
    }


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[str, list[bytes]]]:
    """A partner's webhook receiver that keeps every body it is sent."""
    bodies: list[bytes] = []
    app = FastAPI()

    @app.post("/hooks")
    async def hook(request: Request) -> Response:
        bodies.append(await request.body())
        return Response(status_code=204)

    with serving(app) as url:
        yield f"{url}/hooks", bodies


@pytest.fixture(scope="module")
def planted(
    stack: Stack, tokens: PersonaTokens, receiver: tuple[str, list[bytes]]
) -> Iterator[Planting]:
    """An identity recorded and read, a referral with its packet submitted, read and
    announced by webhook, and a validation error: all through the gateway."""
    planting = Planting()
    hook_url, planting.webhook_bodies = receiver
    with httpx.Client(base_url=stack.gateway_url, timeout=15) as gateway:
        created = gateway.post(
            "/cases/v1/beneficiaries",
            json=beneficiary_body(identity(given=GIVEN, family=FAMILY)),
            headers=_headers(tokens, "caseworker", planting, "create"),
        )
        assert created.status_code == 201, created.text
        planting.answers["identity"] = gateway.get(
            f"/cases/v1/beneficiaries/{created.json()['id']}/identity",
            params=PURPOSE,
            headers=_headers(tokens, "caseworker", planting, "identity"),
        )
        # A wrongly typed identity: the error names the field and echoes nothing.
        planting.answers["invalid"] = gateway.post(
            "/cases/v1/beneficiaries",
            json={"sex": FAMILY, "identity": GIVEN},
            headers=_headers(tokens, "caseworker", planting, "invalid"),
        )

        endpoint = gateway.post(
            "/referrals/v1/webhook-endpoints",
            json={"url": hook_url, "event_types": ["referral.requested"]},
            headers=_headers(tokens, "referrer", planting, "endpoint"),
        )
        assert endpoint.status_code == 201, endpoint.text
        sealed = packet()
        sealed["identity"] |= {"given_names": GIVEN, "family_names": FAMILY}
        ngo = uuid.UUID(tokens.persona("case-manager").organisation_id)
        submitted = gateway.post(
            "/referrals/v1/referrals",
            json=referral_body(ngo, packet=sealed),
            headers=_headers(tokens, "referrer", planting, "referral"),
        )
        assert submitted.status_code == 201, submitted.text
        planting.referral_id = submitted.json()["id"]
        planting.answers["packet"] = gateway.get(
            f"/referrals/v1/referrals/{planting.referral_id}/packet",
            headers=_headers(tokens, "referrer", planting, "packet"),
        )
        wait_for(lambda: any(planting.referral_id.encode() in b for b in planting.webhook_bodies))
        yield planting
        # Nothing more to send it: the receiver stops with this module.
        gateway.delete(
            f"/referrals/v1/webhook-endpoints/{endpoint.json()['id']}",
            headers={"authorization": f"Bearer {tokens('referrer')}"},
        )


def test_answers_carrying_identity_are_never_cached(
    stack: Stack, tokens: PersonaTokens, planted: Planting
) -> None:
    identity_read, packet_read = planted.answers["identity"], planted.answers["packet"]
    assert identity_read.json()["identity"]["given_names"] == GIVEN
    assert packet_read.json()["packet"]["identity"]["given_names"] == GIVEN
    token = request_token(stack.gateway_url, tokens.persona("caseworker"))
    assert token.status_code == 200
    for answer in (identity_read, packet_read, token):
        assert answer.headers["cache-control"] == "no-store", answer.request.url
    assert token.headers["pragma"] == "no-cache"


def test_a_validation_error_names_the_field_and_echoes_nothing(planted: Planting) -> None:
    invalid = planted.answers["invalid"]
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == PROBLEM
    assert ["body", "identity"] in [error["location"] for error in invalid.json()["errors"]]
    assert not PLANTED.search(invalid.text), invalid.text


async def test_a_server_error_shows_no_trace_and_no_identity(
    stack: Stack, tokens: PersonaTokens, planted: Planting
) -> None:
    if stack.postgres is None:
        pytest.skip("breaks the audit table of the embedded PostgreSQL")
    reading = planted.answers["identity"].request.url.path
    # A real failure underneath the service: the audit write of the identity read raises.
    async with superuser_connection(stack.postgres.admin_url(), "cases") as database:
        await database.execute(
            "CREATE FUNCTION hygiene_broken() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit log unavailable'; END $$"
        )
        await database.execute(
            "CREATE TRIGGER hygiene_broken BEFORE INSERT ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION hygiene_broken()"
        )
        try:
            async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=15) as gateway:
                failed = await gateway.get(
                    reading,
                    params=PURPOSE,
                    headers=_headers(tokens, "caseworker", planted, "error"),
                )
        finally:
            await database.execute("DROP TRIGGER hygiene_broken ON audit_event")
            await database.execute("DROP FUNCTION hygiene_broken()")
    planted.answers["error"] = failed
    assert failed.status_code == 500, failed.text
    assert failed.headers["content-type"] == PROBLEM
    assert failed.json()["code"] == "internal-error"
    assert failed.json()["request_id"] == planted.request_ids["error"]
    for tell in ("Traceback", 'File "', ".py", "asyncpg", "sqlalchemy", "audit log unavailable"):
        assert tell not in failed.text
    assert not re.search(r"[A-Z]\w*(Error|Exception)\b", failed.text), failed.text
    assert not PLANTED.search(failed.text)


def test_no_version_banners(stack: Stack, tokens: PersonaTokens, planted: Planting) -> None:
    server_info = httpx.get(f"http://127.0.0.1:{stack.admin_port}/server_info", timeout=5)
    version = re.search(r"/(\d+\.\d+\.\d+)/", server_info.json()["version"])
    assert version is not None, server_info.json()["version"]
    with httpx.Client(base_url=stack.gateway_url, timeout=15) as gateway:
        # The gateway's own answers: no token, a refused path, a body too large.
        local = [
            gateway.get("/nowhere"),
            gateway.get("/nowhere", headers={"authorization": f"Bearer {tokens('caseworker')}"}),
            gateway.post("/cases/v1/beneficiaries", content=b"[" * (2 * 1024 * 1024)),
        ]
    assert [answer.status_code for answer in local] == [401, 403, 413]
    for answer in [*local, *planted.answers.values()]:
        assert answer.headers.get_list("server") == ["baton-gateway"], answer.request.url
        assert "x-powered-by" not in answer.headers
        for name, value in answer.headers.items():
            assert version.group(1) not in value, name
            assert "uvicorn" not in value.lower(), name
        assert version.group(1) not in answer.text
    # Behind the gateway the services send no server header at all.
    for spec in SERVICES:
        direct = httpx.get(f"{stack.service_url(spec)}/healthz", timeout=5)
        assert direct.status_code == 200
        assert "server" not in direct.headers, spec.name


async def test_no_planted_identity_in_any_log_outbox_or_webhook(
    stack: Stack, planted: Planting
) -> None:
    if stack.postgres is None:
        pytest.skip("reads the outboxes of the embedded PostgreSQL as its superuser")
    # Envoy flushes its access log about once a second; the scan must read the planting.
    access_log = stack.log_dir / "gateway-access.log"
    wait_for(lambda: all(rid in access_log.read_text() for rid in planted.request_ids.values()))
    logs = {path.name: path.read_text(errors="replace") for path in _files(stack.log_dir)}
    service_logs = [text for name, text in logs.items() if name.endswith("-api.log")]
    for request_id in planted.request_ids.values():
        assert any(request_id in text for text in service_logs), request_id
    leaks = [
        f"{name}:{number}: {found.group()}"
        for name, text in logs.items()
        for number, line in enumerate(text.splitlines(), 1)
        if (found := PLANTED.search(line))
    ]

    rows = await _stored_rows(stack)
    assert rows["referrals.outbox_message"], "no outbox message was scanned"
    assert any(planted.referral_id in row for row in rows["referrals.webhook_delivery"])
    leaks += [
        f"{table}: {found.group()} in {row[:200]}"
        for table, texts in rows.items()
        for row in texts
        if (found := PLANTED.search(row))
    ]
    assert planted.webhook_bodies
    leaks += [
        f"webhook body: {body[:200]!r}"
        for body in planted.webhook_bodies
        if PLANTED.search(body.decode())
    ]
    assert not leaks, "planted identity found:\n" + "\n".join(leaks)


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_file())


async def _stored_rows(stack: Stack) -> dict[str, list[str]]:
    """Every row of every outbox, webhook and idempotency table (stored answers) of
    every service, as text."""
    assert stack.postgres is not None
    rows: dict[str, list[str]] = {}
    for spec in SERVICES:
        async with superuser_connection(stack.postgres.admin_url(), spec.route) as database:
            tables = await database.fetch(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' "
                "AND (table_name LIKE '%outbox%' OR table_name LIKE '%webhook%' "
                "OR table_name LIKE '%idempotency%')"
            )
            for table in tables:
                name = table["table_name"]
                found = await database.fetch(f'SELECT row_to_json(t)::text AS row FROM "{name}" t')
                rows[f"{spec.route}.{name}"] = [record["row"] for record in found]
    return rows
