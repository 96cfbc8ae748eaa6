"""The accept → intake flow, end to end, as the partners' systems drive it.

Police submit (with an Idempotency-Key), the NGO's caseworker acknowledges, its
case manager accepts, and referral-api hands off to cases-api through its outbox;
a flow ends when the referral names its case. `connections` flows run at once.
wrk cannot chain calls, so this driver is asyncio with baton-client.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from baton.stack.personas import PersonaTokens
from baton_client import AsyncBatonClient, ClientCredentials, etag
from bench.scenarios import referral_body

POLL_SECONDS = 0.02  # the first look again after accepting; doubled each time
MAX_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class FlowLoad:
    flows: int
    seconds: float
    latencies_us: list[int]
    errors: int

    @property
    def flows_per_second(self) -> float:
        return self.flows / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> int:
        ordered = sorted(self.latencies_us)
        if not ordered:
            return 0
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _client(gateway_url: str, tokens: PersonaTokens, persona: str) -> AsyncBatonClient:
    known = tokens.persona(persona)
    credentials = ClientCredentials(known.client_id, known.client_secret)
    return AsyncBatonClient(gateway_url, credentials=credentials, timeout=30.0)


async def _drive(
    gateway_url: str, tokens: PersonaTokens, connections: int, seconds: float
) -> FlowLoad:
    police = _client(gateway_url, tokens, "referrer")
    caseworker = _client(gateway_url, tokens, "caseworker")
    manager = _client(gateway_url, tokens, "case-manager")
    recipient = tokens.persona("case-manager").organisation_id
    latencies: list[int] = []
    errors = 0
    stop_at = time.monotonic() + seconds

    async def step(client: AsyncBatonClient, path: str, action: str) -> None:
        current = await client.get(path)
        await client.post(f"{path}/{action}", if_match=etag(current))

    async def one_flow() -> None:
        submitted = await police.post("/referrals/v1/referrals", referral_body(recipient))
        path = f"/referrals/v1/referrals/{submitted.json()['id']}"
        await step(caseworker, path, "acknowledge")
        await step(manager, path, "accept")
        # The hand-off is asynchronous (the outbox): the NGO's system looks again, soon
        # at first, then less often (32 systems polling fast would be the load measured).
        pause, deadline = POLL_SECONDS, time.monotonic() + 60
        while time.monotonic() < deadline:
            if (await manager.get(path)).json()["case_id"]:
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_POLL_SECONDS)
        raise TimeoutError("the referral was not handed off within a minute")

    async def worker() -> None:
        nonlocal errors
        while time.monotonic() < stop_at:
            began = time.perf_counter()
            try:
                await asyncio.wait_for(one_flow(), timeout=60)
            except Exception:  # any failure of a flow is counted, never hidden
                errors += 1
                continue
            latencies.append(int((time.perf_counter() - began) * 1e6))

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(connections)))
    finally:
        for client in (police, caseworker, manager):
            await client.aclose()
    return FlowLoad(len(latencies), time.perf_counter() - started, latencies, errors)


def run(gateway_url: str, tokens: PersonaTokens, *, connections: int, seconds: float) -> FlowLoad:
    return asyncio.run(_drive(gateway_url, tokens, connections, seconds))
