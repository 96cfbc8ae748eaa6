"""`AsyncBatonClient` against a fake gateway: the same promises as the sync client."""

from __future__ import annotations

import asyncio
import time

import pytest

from baton_client import AsyncBatonClient, BatonProblem, etag
from fake_baton import CREDENTIALS, ITEMS, QUICK, FakeBaton, problem, replay


def client_of(fake: FakeBaton) -> AsyncBatonClient:
    return AsyncBatonClient(fake.url, credentials=CREDENTIALS, retry=QUICK)


async def test_concurrent_calls_share_one_token_and_a_refused_one_is_renewed_once(
    fake: FakeBaton,
) -> None:
    async with client_of(fake) as baton:
        await asyncio.gather(*(baton.get("/things/v1/status") for _ in range(5)))
        assert fake.issued == ["token-1"]
        fake.refused.add("token-1")
        assert (await baton.get("/things/v1/status")).status_code == 200
    assert fake.issued == ["token-1", "token-2"]
    assert fake.received[-1].headers["authorization"] == "Bearer token-2"


async def test_a_post_is_retried_with_its_key_after_503_and_409_in_progress(
    fake: FakeBaton,
) -> None:
    fake.script(
        "/things/v1/referrals",
        problem(503, "upstream-unavailable"),
        problem(409, "idempotency-key-in-progress", headers={"Retry-After": "1"}),
        replay(201, {"id": "referral-1"}),
    )
    started = time.monotonic()
    async with client_of(fake) as baton:
        answer = await baton.post("/things/v1/referrals", {"priority": "urgent"})
    assert time.monotonic() - started >= 1.0
    assert answer.json() == {"id": "referral-1"}
    keys = {call.headers["idempotency-key"] for call in fake.calls_to("/things/v1/referrals")}
    assert len(fake.calls_to("/things/v1/referrals")) == 3
    assert len(keys) == 1


async def test_paginate_iterates_every_page(fake: FakeBaton) -> None:
    async with client_of(fake) as baton:
        items = [item async for item in baton.paginate("/things/v1/items", {"limit": 3})]
    assert items == ITEMS
    assert len(fake.calls_to("/things/v1/items")) == 3


async def test_problems_and_stale_etags_are_raised(fake: FakeBaton) -> None:
    fake.script("/things/v1/case", problem(403, "forbidden", detail="Not your organisation's."))
    async with client_of(fake) as baton:
        with pytest.raises(BatonProblem) as denied:
            await baton.get("/things/v1/case")
        read = await baton.get("/things/v1/record")
        await baton.update("/things/v1/record", {"note": "first"}, etag=etag(read))
        with pytest.raises(BatonProblem) as stale:
            await baton.update("/things/v1/record", {"note": "lost"}, etag=etag(read))
    assert (denied.value.status, denied.value.code) == (403, "forbidden")
    assert denied.value.detail == "Not your organisation's."
    assert denied.value.request_id == "req-0001"
    assert stale.value.status == 412


async def test_a_bearer_coroutine_supplies_the_token(fake: FakeBaton) -> None:
    fake.issued.append("user-token")

    async def user_token() -> str:
        return "user-token"

    async with AsyncBatonClient(fake.url, token=user_token) as baton:
        await baton.get("/things/v1/status")
    assert fake.received[0].headers["authorization"] == "Bearer user-token"
    assert fake.token_forms == []
