"""`BatonClient` against a fake gateway: tokens, retries, keys, pages, problems, ETags."""

from __future__ import annotations

import json
import pickle
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import Response

from baton_client import (
    BatonClient,
    BatonProblem,
    ClientCredentials,
    FieldError,
    RetryPolicy,
    etag,
    replayed,
)
from fake_baton import CLIENT_ID, CREDENTIALS, ITEMS, QUICK, FakeBaton, problem, replay


@contextmanager
def client_of(fake: FakeBaton, **options: Any) -> Iterator[BatonClient]:
    options = {"credentials": CREDENTIALS, "retry": QUICK, **options}
    with BatonClient(fake.url, **options) as client:
        yield client


def test_a_token_is_fetched_once_and_sent_on_every_call(fake: FakeBaton) -> None:
    scoped = ClientCredentials(
        CLIENT_ID, CREDENTIALS.client_secret, scopes=["cases:intake"], audience="cases-api"
    )
    with client_of(fake, credentials=scoped) as baton:
        for _ in range(3):
            baton.get("/things/v1/status")
    assert fake.issued == ["token-1"]
    assert fake.token_forms == [
        {"grant_type": "client_credentials", "scope": "cases:intake", "audience": "cases-api"}
    ]
    assert [call.headers["authorization"] for call in fake.received] == ["Bearer token-1"] * 3


def test_a_token_is_renewed_before_it_expires(fake: FakeBaton) -> None:
    fake.token_lifetime = 1  # renewed after half of it
    with client_of(fake) as baton:
        baton.get("/things/v1/status")
        baton.get("/things/v1/status")
        time.sleep(0.6)
        baton.get("/things/v1/status")
    assert [call.headers["authorization"] for call in fake.received] == [
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-2",
    ]


def test_a_refused_token_is_fetched_anew_once(fake: FakeBaton) -> None:
    with client_of(fake) as baton:
        baton.get("/things/v1/status")
        fake.refused.add("token-1")  # a signing key withdrawn, say
        assert baton.get("/things/v1/status").status_code == 200
        assert fake.issued == ["token-1", "token-2"]

        fake.refuse_every_token = True
        with pytest.raises(BatonProblem) as refused:
            baton.get("/things/v1/status")
    assert refused.value.status == 401
    assert fake.issued == ["token-1", "token-2", "token-3"]  # one renewal, no loop


def test_wrong_credentials_are_a_problem_that_does_not_show_the_secret(fake: FakeBaton) -> None:
    wrong = ClientCredentials(CLIENT_ID, "not-the-secret")
    with client_of(fake, credentials=wrong) as baton, pytest.raises(BatonProblem) as refused:
        baton.get("/things/v1/status")
    assert (refused.value.status, refused.value.code) == (401, "invalid_client")
    assert "not-the-secret" not in str(refused.value) + repr(refused.value) + repr(wrong)
    assert fake.received == []


def test_a_post_retried_after_503_sends_the_same_key(fake: FakeBaton) -> None:
    fake.script("/things/v1/referrals", problem(503, "upstream-unavailable"))
    with client_of(fake) as baton:
        answer = baton.post("/things/v1/referrals", {"priority": "urgent"})
        baton.post("/things/v1/referrals", {"priority": "urgent"})
    assert answer.status_code == 201
    keys = [call.headers["idempotency-key"] for call in fake.calls_to("/things/v1/referrals")]
    assert keys[0] == keys[1] != keys[2]  # one key per logical call, kept across its tries
    assert uuid.UUID(keys[0]).version == 4


def test_a_key_in_progress_is_retried_after_the_time_asked(fake: FakeBaton) -> None:
    fake.script(
        "/things/v1/referrals",
        problem(409, "idempotency-key-in-progress", headers={"Retry-After": "1"}),
        replay(201, {"id": "referral-1"}),
    )
    started = time.monotonic()
    with client_of(fake) as baton:
        answer = baton.post("/things/v1/referrals", {}, idempotency_key="police-case-77")
    assert time.monotonic() - started >= 1.0
    assert replayed(answer)
    keys = [call.headers["idempotency-key"] for call in fake.calls_to("/things/v1/referrals")]
    assert keys == ["police-case-77", "police-case-77"]


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_a_read_is_retried_after_a_passing_failure(fake: FakeBaton, status: int) -> None:
    fake.script("/things/v1/status", problem(status, "passing"), problem(status, "passing"))
    with client_of(fake) as baton:
        assert baton.get("/things/v1/status").status_code == 200
    assert len(fake.calls_to("/things/v1/status")) == 3


def test_retries_stop_after_the_attempts_allowed(fake: FakeBaton) -> None:
    fake.script("/things/v1/status", *(problem(503, "upstream-unavailable") for _ in range(5)))
    with client_of(fake, retry=RetryPolicy(attempts=3, backoff=0.01)) as baton:
        with pytest.raises(BatonProblem) as failed:
            baton.get("/things/v1/status")
    assert failed.value.status == 503
    assert len(fake.calls_to("/things/v1/status")) == 3


def test_a_longer_wait_than_allowed_is_left_to_the_caller(fake: FakeBaton) -> None:
    fake.script("/things/v1/status", problem(429, "rate-limited", headers={"Retry-After": "120"}))
    with client_of(fake) as baton, pytest.raises(BatonProblem) as limited:
        baton.get("/things/v1/status")
    assert limited.value.retry_after == 120
    assert len(fake.calls_to("/things/v1/status")) == 1


def test_a_call_that_is_neither_idempotent_nor_keyed_is_never_retried(fake: FakeBaton) -> None:
    fake.script("/things/v1/case", problem(503, "upstream-unavailable"))
    with client_of(fake) as baton, pytest.raises(BatonProblem):
        baton.patch("/things/v1/case", {"status": "closed"})
    assert len(fake.calls_to("/things/v1/case")) == 1


class FailsToConnectFirst(httpx.HTTPTransport):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.failures:
            self.failures -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return super().handle_request(request)


def test_connection_failures_are_retried_and_the_callers_http_client_is_used(
    fake: FakeBaton,
) -> None:
    transport = FailsToConnectFirst(failures=2)  # the token request, then the POST
    with httpx.Client(transport=transport) as http, client_of(fake, http_client=http) as baton:
        assert baton.post("/things/v1/referrals", {}).status_code == 201
        assert not http.is_closed  # the caller's to close
    assert transport.failures == 0
    assert len(fake.calls_to("/things/v1/referrals")) == 1


def test_paginate_follows_the_cursor_over_every_page(fake: FakeBaton) -> None:
    with client_of(fake) as baton:
        items = list(baton.paginate("/things/v1/items", {"limit": 3}))
    assert items == ITEMS
    pages = fake.calls_to("/things/v1/items")
    assert [page.query for page in pages] == [
        {"limit": "3"},
        {"limit": "3", "cursor": "3"},
        {"limit": "3", "cursor": "6"},
    ]


def test_a_problem_is_raised_typed_and_without_the_request_or_token(fake: FakeBaton) -> None:
    body = {
        "type": "urn:baton:problem:validation-failed",
        "title": "Request validation failed",
        "status": 422,
        "code": "validation-failed",
        "detail": "1 field(s) failed validation; see `errors`.",
        "request_id": "req-42",
        "errors": [{"location": ["body", "given_names"], "message": "too long", "code": "long"}],
    }
    fake.script(
        "/things/v1/referrals",
        Response(json.dumps(body), status_code=422, media_type="application/problem+json"),
    )
    with client_of(fake) as baton, pytest.raises(BatonProblem) as rejected:
        baton.post("/things/v1/referrals?purpose=intake", {"given_names": "Lirije"})
    problem_ = rejected.value
    assert (problem_.status, problem_.code, problem_.request_id) == (
        422,
        "validation-failed",
        "req-42",
    )
    assert problem_.title == "Request validation failed"
    assert problem_.errors == (FieldError(("body", "given_names"), "too long", "long"),)
    assert vars(pickle.loads(pickle.dumps(problem_))) == vars(problem_)  # for task queues
    shown = str(problem_) + repr(problem_)
    assert "POST /things/v1/referrals -> 422 validation-failed" in shown
    for secret in ("Lirije", "token-1", "purpose=intake"):
        assert secret not in shown


def test_update_sends_the_etag_read_and_a_stale_one_is_refused(fake: FakeBaton) -> None:
    with client_of(fake) as baton:
        read = baton.get("/things/v1/record")
        updated = baton.update("/things/v1/record", {"note": "first"}, etag=etag(read))
        assert updated.json() == {"version": 2}
        with pytest.raises(BatonProblem) as stale:
            baton.update("/things/v1/record", {"note": "lost"}, etag=etag(read))
    assert stale.value.status == 412


def test_a_bearer_function_is_asked_again_once_when_refused(fake: FakeBaton) -> None:
    fake.issued.extend(["user-token-old", "user-token-new"])
    fake.refused.add("user-token-old")
    handed = iter(["user-token-old", "user-token-new"])
    with client_of(fake, credentials=None, token=lambda: next(handed)) as baton:
        assert baton.get("/things/v1/status").status_code == 200
    assert [call.headers["authorization"] for call in fake.received] == ["Bearer user-token-new"]
    assert fake.token_forms == []


def test_paths_stay_on_the_gateway(fake: FakeBaton) -> None:
    with client_of(fake) as baton, pytest.raises(ValueError, match="must start with '/'"):
        baton.get("https://elsewhere.example/steal")
    assert fake.issued == []
