"""A referral's whole road through the real stack: police → NGO → case, signed webhooks.

Envoy, the four services and PostgreSQL run as in `make run`; a webhook receiver on
this machine plays the police's own system. Every call goes through `baton_client`,
as a partner's would, so the client is proved against the real API.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Request, Response
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as ReferenceRefused

from baton.stack.personas import PersonaTokens
from baton.stack.runner import Stack
from baton.testing import serving
from baton_client import (
    BatonClient,
    BatonProblem,
    ClientCredentials,
    WebhookVerificationError,
    etag,
    replayed,
    verify_webhook,
)

pytestmark = pytest.mark.e2e

PACKET_NAME = "Lirije"


@dataclass
class Receiver:
    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """The police's system: accepts every webhook and keeps it."""
    kept = Receiver()
    app = FastAPI()

    @app.post("/hooks")
    async def hook(request: Request) -> Response:
        kept.received.append((dict(request.headers), await request.body()))
        return Response(status_code=204)

    with serving(app) as url:
        kept.url = f"{url}/hooks"
        yield kept


def wait_for(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.3)


class Partners:
    """One `BatonClient` per persona, with the persona's API client credentials."""

    def __init__(self, stack: Stack, tokens: PersonaTokens) -> None:
        self.url = stack.gateway_url
        self.tokens = tokens
        self.clients: dict[str, BatonClient] = {}

    def __call__(self, persona: str) -> BatonClient:
        if persona not in self.clients:
            known = self.tokens.persona(persona)
            credentials = ClientCredentials(known.client_id, known.client_secret)
            self.clients[persona] = BatonClient(self.url, credentials=credentials)
        return self.clients[persona]

    def step(self, persona: str, referral_id: str, action: str) -> httpx.Response:
        path = f"/referrals/v1/referrals/{referral_id}"
        client = self(persona)
        return client.post(f"{path}/{action}", if_match=etag(client.get(path)))

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture
def partners(stack: Stack, tokens: PersonaTokens) -> Iterator[Partners]:
    opened = Partners(stack, tokens)
    yield opened
    opened.close()


def refused(call: Callable[[], object]) -> int:
    """The status of the problem `call` raised."""
    with pytest.raises(BatonProblem) as problem:
        call()
    return problem.value.status


def referral_body(recipient: str) -> dict[str, Any]:
    return {
        "recipient_organisation_id": recipient,
        "referrer_reference": f"AL-ATU-{uuid.uuid4().hex[:8]}",
        "priority": "urgent",
        "urgency_reason": "exploiter_nearby",
        "requested_services": ["accommodation", "psychological"],
        "jurisdiction": "AL",
        "identification_stage": "presumed",
        "language": "sq",
        "interpreter_needed": False,
        "consent": {
            "basis": "consent",
            "scope": ["identity", "needs"],
            "recorded_at": "2026-11-24T08:00:00Z",
            "recorded_by": "officer-12",
        },
        "sex": "female",
        "countries_of_origin": ["AL"],
        "exploitation_forms": ["sexual"],
        "referral_source": "police",
        "packet": {
            "identity": {
                "given_names": PACKET_NAME,
                "family_names": "Demaj",
                "date_of_birth": "2001-05-09",
                "nationality": "AL",
            },
            "needs_summary": "A safe place tonight",
        },
    }


def test_police_to_case_with_signed_webhooks_and_a_closed_loop(
    stack: Stack, partners: Partners, receiver: Receiver, request: pytest.FixtureRequest
) -> None:
    if stack.postgres is None:
        pytest.skip("counts referrals in the embedded PostgreSQL")
    police, caseworker = partners("referrer"), partners("caseworker")
    case_manager = partners("case-manager")
    ngo = partners.tokens.persona("case-manager").organisation_id
    endpoint = police.post(
        "/referrals/v1/webhook-endpoints", {"url": receiver.url, "event_types": ["*"]}
    )
    assert endpoint.status_code == 201, endpoint.text
    secret = endpoint.json()["secret"]
    # The receiver stops with this module: later events must not keep trying it.
    registered = f"/referrals/v1/webhook-endpoints/{endpoint.json()['id']}"
    request.addfinalizer(lambda: police.delete(registered))

    # The police system retries its submission: one key, three tries, one referral.
    body, key = referral_body(ngo), str(uuid.uuid4())
    answers = [police.post("/referrals/v1/referrals", body, idempotency_key=key) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert [replayed(a) for a in answers] == [False, True, True]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    referral_id = answers[0].json()["id"]
    assert (
        asyncio.run(
            _count(stack, "referrals", "referral", "referrer_reference", body["referrer_reference"])
        )
        == 1
    )

    # Before acceptance the NGO sees the envelope, not the person.
    referral_path = f"/referrals/v1/referrals/{referral_id}"
    packet_path = f"{referral_path}/packet"
    assert refused(lambda: caseworker.get(packet_path)) == 403
    assert PACKET_NAME not in caseworker.get(referral_path).text

    assert partners.step("caseworker", referral_id, "acknowledge").status_code == 200
    assert partners.step("case-manager", referral_id, "accept").status_code == 200

    # The hand-off opens the case in cases-api, with the packet's identity.
    referral = wait_for(
        lambda: (r := case_manager.get(referral_path).json()) and r["case_id"] and r
    )
    case = caseworker.get(f"/cases/v1/cases/{referral['case_id']}")
    assert case.json()["referral_id"] == referral_id
    identity = caseworker.get(
        f"/cases/v1/beneficiaries/{case.json()['beneficiary_id']}/identity",
        params={"purpose": "referral"},
    )
    assert identity.json()["identity"]["given_names"] == PACKET_NAME
    assert identity.headers["cache-control"] == "no-store"
    # The needs summary (within the consent) is the case's first note.
    notes = caseworker.paginate(
        f"/cases/v1/cases/{referral['case_id']}/notes", {"purpose": "referral"}
    )
    assert [note["text"] for note in notes] == ["A safe place tonight"]

    # The police learn every step through signed webhooks...
    def events() -> list[str]:
        seen = []
        for headers, raw in receiver.received:
            payload = verify_webhook(secret, headers, raw)  # raises on a bad signature
            assert payload == Webhook(secret).verify(raw, headers)  # as the reference reads it
            if payload["data"]["referral_id"] == referral_id:
                seen.append(payload["type"])
        return seen

    expected = {
        "referral.requested",
        "referral.received",
        "referral.accepted",
        "referral.handed-off",
    }
    wait_for(lambda: expected <= set(events()))
    # ...and a forged or replayed-elsewhere body does not verify.
    headers, raw = receiver.received[-1]
    forged = raw.replace(b"accepted", b"rejected") + b" "
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, headers, forged)
    with pytest.raises(ReferenceRefused):
        Webhook(secret).verify(forged, headers)

    # The closed loop: status and timeline, never the case or the packet.
    status = police.get(referral_path).json()
    assert status["status"] == "accepted"
    assert status["case_id"] is None
    # Page by page (two entries each), as a partner's system would read a long one.
    timeline = list(police.paginate(f"{referral_path}/timeline", {"limit": 2}))
    assert [entry["to_status"] for entry in timeline][-1] == "accepted"
    assert len(timeline) > 2
    assert refused(lambda: police.get(f"/cases/v1/cases/{referral['case_id']}")) == 403
    assert refused(lambda: police.get(packet_path)) == 403


async def _count(stack: Stack, database: str, table: str, column: str, value: object) -> int:
    """Rows as PostgreSQL holds them, seen as its superuser (under every policy)."""
    assert stack.postgres is not None
    connection = await asyncpg.connect(stack.postgres.admin_url(database))
    try:
        count: int = await connection.fetchval(
            f"SELECT count(*) FROM {table} WHERE {column} = $1", value
        )
        return count
    finally:
        await connection.close()


def test_a_crash_between_acceptance_and_intake_loses_nothing_and_opens_one_case(
    stack: Stack, partners: Partners
) -> None:
    if stack.postgres is None:
        pytest.skip("counts cases in the embedded PostgreSQL")
    case_manager = partners("case-manager")
    cases_api, referral_api = stack.process("cases-api"), stack.process("referral-api")
    # Without a key of its own the client sends one it makes up.
    submitted = partners("referrer").post(
        "/referrals/v1/referrals",
        referral_body(partners.tokens.persona("case-manager").organisation_id),
    )
    assert "idempotency-key" in submitted.request.headers
    referral_id = submitted.json()["id"]
    cases_api.stop()  # the hand-off cannot reach cases-api...
    try:
        assert partners.step("case-manager", referral_id, "accept").status_code == 200
        time.sleep(2)  # ...the worker tries, fails and backs off
        referral_api.kill()  # ...and referral-api dies with the hand-off pending
    finally:
        cases_api.start()
    referral_api.start()
    stack.wait_until_ready()

    referral = wait_for(
        lambda: (
            (r := case_manager.get(f"/referrals/v1/referrals/{referral_id}").json())
            and r["case_id"]
            and r
        ),
        timeout=90,
    )
    opened = _count(stack, "cases", "case_file", "referral_id", uuid.UUID(referral_id))
    assert asyncio.run(opened) == 1
    assert partners("caseworker").get(f"/cases/v1/cases/{referral['case_id']}").status_code == 200
