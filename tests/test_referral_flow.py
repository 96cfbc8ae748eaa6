"""A referral's whole road through the real stack: police → NGO → case, signed webhooks.

Envoy, the four services and PostgreSQL run as in `make run`; a webhook receiver on
this machine plays the police's own system.
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
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from baton.stack.personas import PersonaTokens
from baton.stack.runner import Stack
from baton.testing import serving

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


class Gateway:
    def __init__(self, stack: Stack, tokens: PersonaTokens) -> None:
        self.url = stack.gateway_url
        self.tokens = tokens

    def __call__(self, persona: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.tokens(persona)}", **kwargs.pop("headers", {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=15, **kwargs)

    def step(self, persona: str, referral_id: str, action: str) -> httpx.Response:
        path = f"/referrals/v1/referrals/{referral_id}"
        etag = self(persona, "GET", path).headers["etag"]
        return self(persona, "POST", f"{path}/{action}", headers={"if-match": etag})


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
    stack: Stack, tokens: PersonaTokens, receiver: Receiver
) -> None:
    if stack.postgres is None:
        pytest.skip("counts referrals in the embedded PostgreSQL")
    call = Gateway(stack, tokens)
    ngo = tokens.persona("case-manager").organisation_id
    endpoint = call(
        "referrer",
        "POST",
        "/referrals/v1/webhook-endpoints",
        json={"url": receiver.url, "event_types": ["*"]},
    )
    assert endpoint.status_code == 201, endpoint.text
    verifier = Webhook(endpoint.json()["secret"])

    # The police system retries its submission: one key, three tries, one referral.
    body, key = referral_body(ngo), str(uuid.uuid4())
    answers = [
        call(
            "referrer",
            "POST",
            "/referrals/v1/referrals",
            json=body,
            headers={"idempotency-key": key},
        )
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    referral_id = answers[0].json()["id"]
    assert (
        asyncio.run(
            _count(stack, "referrals", "referral", "referrer_reference", body["referrer_reference"])
        )
        == 1
    )

    # Before acceptance the NGO sees the envelope, not the person.
    packet_path = f"/referrals/v1/referrals/{referral_id}/packet"
    assert call("caseworker", "GET", packet_path).status_code == 403
    assert (
        PACKET_NAME not in call("caseworker", "GET", f"/referrals/v1/referrals/{referral_id}").text
    )

    assert call.step("caseworker", referral_id, "acknowledge").status_code == 200
    assert call.step("case-manager", referral_id, "accept").status_code == 200

    # The hand-off opens the case in cases-api, with the packet's identity.
    referral = wait_for(
        lambda: (
            (r := call("case-manager", "GET", f"/referrals/v1/referrals/{referral_id}").json())
            and r["case_id"]
            and r
        )
    )
    case = call("caseworker", "GET", f"/cases/v1/cases/{referral['case_id']}")
    assert case.status_code == 200
    assert case.json()["referral_id"] == referral_id
    identity = call(
        "caseworker",
        "GET",
        f"/cases/v1/beneficiaries/{case.json()['beneficiary_id']}/identity",
        params={"purpose": "referral"},
    )
    assert identity.json()["identity"]["given_names"] == PACKET_NAME
    # The needs summary (within the consent) is the case's first note.
    notes = call(
        "caseworker",
        "GET",
        f"/cases/v1/cases/{referral['case_id']}/notes",
        params={"purpose": "referral"},
    )
    assert notes.status_code == 200, notes.text
    assert [note["text"] for note in notes.json()["items"]] == ["A safe place tonight"]

    # The police learn every step through signed webhooks...
    def events() -> list[str]:
        seen = []
        for headers, raw in receiver.received:
            payload = verifier.verify(raw, headers)  # raises on a bad signature
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
    with pytest.raises(WebhookVerificationError):
        verifier.verify(raw.replace(b"accepted", b"rejected") + b" ", headers)

    # The closed loop: status and timeline, never the case or the packet.
    status = call("referrer", "GET", f"/referrals/v1/referrals/{referral_id}")
    assert status.json()["status"] == "accepted"
    assert status.json()["case_id"] is None
    timeline = call("referrer", "GET", f"/referrals/v1/referrals/{referral_id}/timeline")
    assert timeline.status_code == 200
    assert call("referrer", "GET", f"/cases/v1/cases/{referral['case_id']}").status_code == 403
    assert call("referrer", "GET", packet_path).status_code == 403


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
    stack: Stack, tokens: PersonaTokens
) -> None:
    if stack.postgres is None:
        pytest.skip("counts cases in the embedded PostgreSQL")
    call = Gateway(stack, tokens)
    cases_api, referral_api = stack.process("cases-api"), stack.process("referral-api")
    submitted = call(
        "referrer",
        "POST",
        "/referrals/v1/referrals",
        json=referral_body(tokens.persona("case-manager").organisation_id),
    )
    referral_id = submitted.json()["id"]
    cases_api.stop()  # the hand-off cannot reach cases-api...
    try:
        assert call.step("case-manager", referral_id, "accept").status_code == 200
        time.sleep(2)  # ...the worker tries, fails and backs off
        referral_api.kill()  # ...and referral-api dies with the hand-off pending
    finally:
        cases_api.start()
    referral_api.start()
    stack.wait_until_ready()

    referral = wait_for(
        lambda: (
            (r := call("case-manager", "GET", f"/referrals/v1/referrals/{referral_id}").json())
            and r["case_id"]
            and r
        ),
        timeout=90,
    )
    opened = _count(stack, "cases", "case_file", "referral_id", uuid.UUID(referral_id))
    assert asyncio.run(opened) == 1
    assert call("caseworker", "GET", f"/cases/v1/cases/{referral['case_id']}").status_code == 200
