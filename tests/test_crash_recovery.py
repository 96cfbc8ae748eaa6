"""Crashes and outages with real processes (SIGKILL, no shutdown hook runs).

referral-api killed between sending a webhook and marking it sent; PostgreSQL killed
under a stream of keyed submissions; an external issuer's JWKS server down when a
gateway starts and while it runs. The stack is the session's: each test leaves it
ready again, whatever happens.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from test_referral_flow import Partners, referral_body, wait_for

from baton.stack.personas import PersonaTokens
from baton.stack.postgres import free_port
from baton.stack.processes import ManagedProcess, wait_until_answering
from baton.stack.runner import Stack
from baton.testing import refused_by_gateway, serving, superuser_connection
from baton.testing_issuer import TestIssuer
from baton_client import verify_webhook

pytestmark = pytest.mark.e2e


@dataclass
class KillingReceiver:
    """A partner's receiver: at the first delivery it kills referral-api before answering
    (once `armed`); every delivery is kept, later ones get 204."""

    url: str = ""
    armed: threading.Event = field(default_factory=threading.Event)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def webhook_ids(self) -> list[str]:
        return [headers["webhook-id"] for headers, _ in self.received]

    def payloads(self, secret: str) -> list[tuple[str, dict[str, Any]]]:
        """(webhook-id, payload) of every delivery, each signature checked."""
        return [
            (headers["webhook-id"], verify_webhook(secret, headers, raw))
            for headers, raw in self.received
        ]


@pytest.fixture
def killing_receiver(stack: Stack) -> Iterator[KillingReceiver]:
    kept = KillingReceiver()
    referral_api = stack.process("referral-api")
    app = FastAPI()

    @app.post("/hooks")
    async def hook(request: Request) -> Response:
        kept.received.append((dict(request.headers), await request.body()))
        if len(kept.received) == 1:
            # Not before the test has its own answers: the crash must not hit those.
            await asyncio.to_thread(kept.armed.wait, 30)
            await asyncio.to_thread(referral_api.kill)
        return Response(status_code=204)

    with serving(app) as url:
        kept.url = f"{url}/hooks"
        yield kept


def test_a_webhook_sent_when_referral_api_died_is_sent_again_under_its_id(
    stack: Stack, tokens: PersonaTokens, killing_receiver: KillingReceiver
) -> None:
    referral_api = stack.process("referral-api")
    with closing(Partners(stack, tokens)) as partners:
        police = partners("referrer")
        registered = police.post(
            "/referrals/v1/webhook-endpoints",
            {"url": killing_receiver.url, "event_types": ["referral.requested"]},
        )
        assert registered.status_code == 201, registered.text
        secret = registered.json()["secret"]
        endpoint = f"/referrals/v1/webhook-endpoints/{registered.json()['id']}"
        try:
            ngo = tokens.persona("case-manager").organisation_id
            referral_id = police.post("/referrals/v1/referrals", referral_body(ngo)).json()["id"]
            killing_receiver.armed.set()
            wait_for(lambda: referral_api.exit_code is not None, timeout=30)
            interrupted = killing_receiver.webhook_ids()[0]
            referral_api.start()
            stack.wait_until_ready()

            # At least once: the interrupted delivery comes again, under the same webhook-id...
            wait_for(lambda: killing_receiver.webhook_ids().count(interrupted) == 2, timeout=30)
            copies = [p for i, p in killing_receiver.payloads(secret) if i == interrupted]
            assert copies[0] == copies[1]
            # ...and nothing is lost: this referral's event arrives, every delivery succeeded.
            wait_for(
                lambda: (
                    referral_id
                    in {p["data"]["referral_id"] for _, p in killing_receiver.payloads(secret)}
                )
            )
            deliveries = {d["event_id"]: d for d in police.paginate(f"{endpoint}/deliveries")}
            assert set(deliveries) == set(killing_receiver.webhook_ids())
            assert {d["status"] for d in deliveries.values()} == {"succeeded"}
            # Sent, never marked: the attempt the crash cut short left no record at all.
            assert deliveries[interrupted]["attempts"] == 1
        finally:
            if referral_api.exit_code is not None:
                referral_api.start()
            stack.wait_until_ready()
            police.delete(endpoint)


SUBMITTERS, KEYS_EACH = 3, 3


@dataclass
class Stream:
    """Every answer the keyed submissions got, and what each key created in the end."""

    answers: list[httpx.Response] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)  # key -> referral id
    references: list[str] = field(default_factory=list)


async def _submit_until_answered(
    client: httpx.AsyncClient, stream: Stream, ngo: str, headers: dict[str, str]
) -> None:
    """A partner's system: each referral under its own key, retried with that same key
    (and body) after every 503 until it is answered."""
    for _ in range(KEYS_EACH):
        key, body = str(uuid.uuid4()), referral_body(ngo)
        stream.references.append(body["referrer_reference"])
        for _attempt in range(60):
            answer = await client.post(
                "/referrals/v1/referrals", json=body, headers={**headers, "idempotency-key": key}
            )
            stream.answers.append(answer)
            if answer.status_code != 503:
                break
            await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
        assert answer.status_code == 201, answer.text
        stream.created[key] = answer.json()["id"]


async def test_a_database_crash_mid_transaction_leaves_one_whole_referral_per_key(
    stack: Stack, tokens: PersonaTokens
) -> None:
    if stack.postgres is None:
        pytest.skip("kills the embedded PostgreSQL")
    postgres = stack.postgres
    pids_before = [managed.process.pid for managed in stack.processes if managed.process]
    headers = {"authorization": f"Bearer {tokens('referrer')}"}
    ngo = tokens.persona("case-manager").organisation_id
    stream = Stream()
    try:
        async with (
            httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client,
            superuser_connection(postgres.admin_url(), "referrals") as blocker,
            superuser_connection(postgres.admin_url(), "referrals") as watcher,
        ):
            # Inserts into `referral` wait behind this lock, each inside its transaction
            # (its Idempotency-Key already claimed), until PostgreSQL dies under them.
            await blocker.execute("BEGIN; LOCK TABLE referral IN SHARE ROW EXCLUSIVE MODE")
            submitters = asyncio.gather(
                *(_submit_until_answered(client, stream, ngo, headers) for _ in range(SUBMITTERS))
            )

            waiting = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'referrals' "
                "AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO referral (%'"
            )
            try:
                for _ in range(600):
                    if await watcher.fetchval(waiting) == SUBMITTERS:
                        break
                    await asyncio.sleep(0.05)
                else:
                    raise AssertionError("the submissions never reached the locked table")
                await asyncio.to_thread(postgres.kill)
                await asyncio.to_thread(postgres.start)
                await submitters
            finally:
                submitters.cancel()  # when this failed first: no submitter outlives the test
    finally:
        if not postgres.is_running():
            postgres.start()
        await asyncio.to_thread(stack.wait_until_ready)

    statuses = [answer.status_code for answer in stream.answers]
    assert statuses.count(503) >= SUBMITTERS, statuses  # each waiting transaction failed
    assert set(statuses) == {201, 503}, statuses  # never a 500
    for answer in stream.answers:
        if answer.status_code == 503:
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["code"] == "database-unavailable"
            assert int(answer.headers["retry-after"]) > 0
    ids = set(stream.created.values())
    assert len(ids) == len(stream.created) == SUBMITTERS * KEYS_EACH
    async with superuser_connection(postgres.admin_url(), "referrals") as database:
        referrals = await database.fetch(
            "SELECT id::text AS id, has_packet FROM referral WHERE referrer_reference = ANY($1)",
            stream.references,
        )
        assert {row["id"] for row in referrals} == ids
        assert all(row["has_packet"] for row in referrals)
        keys = await database.fetch(
            "SELECT key, status_code, response_body->>'id' AS id FROM idempotency_key "
            "WHERE key = ANY($1)",
            list(stream.created),
        )
        assert {row["key"]: (row["status_code"], row["id"]) for row in keys} == {
            key: (201, referral_id) for key, referral_id in stream.created.items()
        }
        # Each referral whole: its sealed packet, one timeline entry, one event to send.
        for query in (
            "SELECT referral_id::text FROM referral_packet WHERE referral_id::text = ANY($1)",
            "SELECT referral_id::text FROM referral_event WHERE referral_id::text = ANY($1)",
            "SELECT payload->>'referral_id' FROM outbox_message "
            "WHERE topic = 'referral.event' AND payload->>'referral_id' = ANY($1)",
        ):
            found = [row[0] for row in await database.fetch(query, list(ids))]
            assert sorted(found) == sorted(ids), query
    # The services lived through it: no process was restarted.
    assert [managed.process.pid for managed in stack.processes if managed.process] == pids_before
    assert stack.dead_process() is None


def _me(gateway_url: str, token: str) -> httpx.Response:
    # A refusal without keys takes Envoy a few seconds: it retries the JWKS fetch first.
    headers = {"authorization": f"Bearer {token}"}
    return httpx.get(f"{gateway_url}/cases/v1/me", headers=headers, timeout=15)


def _refused_at_the_gateway(answer: httpx.Response) -> bool:
    """Envoy answered itself (no service saw the request): 401, the challenge, no reason."""
    return 'error="invalid_token"' in answer.headers.get(
        "www-authenticate", ""
    ) and refused_by_gateway(answer, 401, "unauthenticated")


def _jwks_fetches_failed(admin_port: int) -> int:
    stats = httpx.get(
        f"http://127.0.0.1:{admin_port}/stats", params={"filter": "jwks_fetch_failed$"}, timeout=5
    )
    return sum(int(line.rsplit(":", 1)[1]) for line in stats.text.splitlines())


def test_without_the_issuers_jwks_the_gateway_fails_closed_and_recovers_when_it_returns(
    stack: Stack, tokens: PersonaTokens, external_issuer: TestIssuer
) -> None:
    """What Envoy does, as configured: at start it keeps the listener closed while the
    first JWKS fetch and its retries fail (`fast_listener: false`), then opens it anyway,
    without that issuer's keys. Its tokens are refused by Envoy itself (401
    `invalid_token`; each refusal waits for a fetch tried again) until the JWKS answers.
    Running, it keeps no stale keys: past the cache time a token signed by a key it knew
    is refused as well while the JWKS is down. Baton's own tokens are served throughout."""
    organisation = uuid.UUID(tokens.persona("case-manager").organisation_id)
    claims = external_issuer.claims(org_id=organisation, org_kind="ngo", roles=["case_manager"])
    known = external_issuer.sign(claims)
    port, admin_port = free_port(), free_port()
    layout = stack.gateway_layout(listen_port=port, admin_port=admin_port, name="jwks-gateway")
    url = f"http://127.0.0.1:{port}"
    gateway: ManagedProcess | None = None
    try:
        with external_issuer.unreachable():
            gateway = stack.launch_gateway(layout, name="jwks-gateway")
            wait_until_answering(f"{url}/identity/healthz", what="gateway", managed=gateway)
            assert _refused_at_the_gateway(_me(url, known))
            assert _jwks_fetches_failed(admin_port) > 0
            assert _me(url, tokens("case-manager")).status_code == 200
        wait_for(lambda: _me(url, known).status_code == 200, timeout=20)

        # A rotation while the issuer is down: its new key cannot be known yet.
        kid = f"rotated-{uuid.uuid4().hex[:8]}"
        with external_issuer.unreachable():
            external_issuer.add_key(kid)
            rotated = external_issuer.sign(claims, kid=kid)
            # Past the cache time (2 s here) the known key is dropped as well.
            wait_for(lambda: _refused_at_the_gateway(_me(url, known)), timeout=30)
            assert _refused_at_the_gateway(_me(url, rotated))
            assert _me(url, tokens("case-manager")).status_code == 200
        wait_for(lambda: _me(url, rotated).status_code == 200, timeout=20)
        assert _me(url, known).status_code == 200
    finally:
        if gateway is not None:
            gateway.stop()
        stack.wait_until_ready()
