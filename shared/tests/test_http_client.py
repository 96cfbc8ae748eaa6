"""`baton.http.ServiceClient` against the real identity-api and a live upstream.

identity-api issues the tokens (in-process, served by uvicorn on a loopback port,
on its migrated database); the upstream is a small app on another port that
verifies those tokens against identity-api's JWKS, records every request it gets
and can be told to fail, stall or refuse.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from baton import jose
from baton.auth import TokenVerifier, TrustedIssuer, Unauthenticated
from baton.context import request_id_var
from baton.http import ClientCredentials, ServiceClient, TokenRequestFailed
from baton.logs import JsonFormatter
from baton.stack.databases import ServiceDatabase
from baton.testing import serving
from baton.testing_issuer import TestIssuer
from identity_api.config import IdentitySettings
from identity_api.main import create_app
from identity_factories import make_client, make_organisation

ISSUER = "https://baton.test/identity"
AUDIENCE = "cases-api"
TOKEN_PATH = "/v1/oauth/token"
TOKEN_TTL_SECONDS = 60  # the client refreshes min(30 s, 10 %) = 6 s early
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST", "PATCH"]


# Live servers ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: nothing listens there


class TokenEndpointCounter:
    """Wraps identity-api, counting the requests that reach its token endpoint."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == TOKEN_PATH:
            self.calls += 1
        await self.app(scope, receive, send)


@dataclass
class Identity:
    url: str
    counter: TokenEndpointCounter

    @property
    def token_requests(self) -> int:
        return self.counter.calls


@pytest.fixture(scope="module")
def identity(
    service_databases: dict[str, ServiceDatabase],
    external_issuer: TestIssuer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Identity]:
    settings = IdentitySettings.model_validate(
        {
            "database_url": service_databases["identity"].runtime_url,
            "issuer": ISSUER,
            "root_path": "",
            "signing_keys_dir": str(tmp_path_factory.mktemp("http-client") / "keys"),
            "trusted_issuers": [external_issuer.trusted.model_dump(mode="json")],
            "access_token_ttl_seconds": TOKEN_TTL_SECONDS,
        }
    )
    counter = TokenEndpointCounter(create_app(settings))
    with serving(counter) as url:
        yield Identity(url, counter)


@dataclass(frozen=True)
class Partner:
    """A client of identity-api, as a partner service would hold it."""

    client_id: str
    client_secret: str = field(repr=False)

    def credentials(self, identity: Identity, **changes: Any) -> ClientCredentials:
        fields: dict[str, Any] = {
            "token_url": f"{identity.url}{TOKEN_PATH}",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "audience": AUDIENCE,
        }
        return ClientCredentials.model_validate({**fields, **changes})


@pytest.fixture(scope="module")
async def partner(identity: Identity, external_issuer: TestIssuer) -> Partner:
    claims = external_issuer.claims(
        org_id=uuid.uuid4(), org_kind="platform", roles=["platform_admin"]
    )
    admin = {"Authorization": f"Bearer {external_issuer.sign(claims)}"}
    async with httpx.AsyncClient(base_url=identity.url) as http:
        organisation = await make_organisation(http, admin, kind="ngo")
        client = await make_client(
            http, admin, organisation["id"], ["caseworker"], scopes=["cases:intake"]
        )
    return Partner(str(client["client_id"]), str(client["client_secret"]))


# The upstream ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """How the upstream answers one request: status, delay before answering, headers."""

    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    token: str
    subject: str | None = None  # the verified client id; None if the token was refused
    scopes: list[str] = field(default_factory=list)


class Upstream:
    """A service that verifies identity-api's tokens and answers as it is told."""

    def __init__(self, jwks_url: str) -> None:
        self.url = ""
        self.jwks_url = jwks_url
        self.steps: deque[Step] = deque()
        self.hits: list[Hit] = []
        self.refused_tokens: set[str] = set()
        self.refuse_every_token = False
        self.app = self._build()

    def reset(self) -> None:
        self.steps.clear()
        self.hits.clear()
        self.refused_tokens.clear()
        self.refuse_every_token = False

    def answer(self, *steps: Step | int) -> None:
        """The next answers, in order; afterwards every request gets 200."""
        self.steps.extend(step if isinstance(step, Step) else Step(step) for step in steps)

    def refuse_tokens_seen(self) -> None:
        """Stop trusting every token sent so far, as after a key or client change."""
        self.refused_tokens.update(hit.token for hit in self.hits)

    def _build(self) -> FastAPI:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            issuer = TrustedIssuer(issuer=ISSUER, jwks_url=self.jwks_url)
            app.state.verifier = TokenVerifier([issuer], audience=AUDIENCE)
            try:
                yield
            finally:
                await app.state.verifier.aclose()

        app = FastAPI(lifespan=lifespan)

        @app.api_route("/things/{name}", methods=ALL_METHODS)
        async def thing(name: str, request: Request) -> Response:
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            hit = Hit(
                method=request.method,
                path=request.url.path,
                headers=dict(request.headers),
                body=await request.body(),
                token=token,
            )
            self.hits.append(hit)
            verifier: TokenVerifier = request.app.state.verifier
            try:
                principal = await verifier.verify(token)
            except Unauthenticated:
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            if self.refuse_every_token or token in self.refused_tokens:
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            hit.subject = principal.subject
            hit.scopes = sorted(principal.scopes)
            step = self.steps.popleft() if self.steps else Step()
            if step.delay:
                await asyncio.sleep(step.delay)
            return JSONResponse({"name": name}, status_code=step.status, headers=step.headers)

        return app


@pytest.fixture(scope="module")
def live_upstream(identity: Identity) -> Iterator[Upstream]:
    upstream = Upstream(f"{identity.url}/.well-known/jwks.json")
    with serving(upstream.app) as url:
        upstream.url = url
        yield upstream


@pytest.fixture
def upstream(live_upstream: Upstream) -> Upstream:
    live_upstream.reset()
    return live_upstream


ClientFactory = Callable[..., ServiceClient]


@pytest.fixture
async def make_service_client(
    identity: Identity, partner: Partner, upstream: Upstream
) -> AsyncIterator[ClientFactory]:
    """`make_service_client(**options)`: a client of the upstream with short backoffs."""
    made: list[ServiceClient] = []

    def make(**options: Any) -> ServiceClient:
        base_url = options.pop("base_url", upstream.url)
        credentials = options.pop("credentials", partner.credentials(identity))
        defaults: dict[str, Any] = {
            "max_retries": 2,
            "backoff_seconds": 0.01,
            "max_backoff_seconds": 0.05,
        }
        client = ServiceClient(base_url, credentials, **{**defaults, **options})
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


class ManualClock:
    """A monotonic clock the test moves, so token expiry needs no waiting."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


# Tokens ----------------------------------------------------------------------------------


async def test_one_token_is_fetched_and_reused(
    make_service_client: ClientFactory, upstream: Upstream, identity: Identity, partner: Partner
) -> None:
    client = make_service_client()
    before = identity.token_requests
    for name in ("a", "b", "c"):
        assert (await client.get(f"/things/{name}")).status_code == 200
    assert identity.token_requests - before == 1
    assert len({hit.token for hit in upstream.hits}) == 1
    # The upstream verified it: a real token of this client, for this audience only.
    assert [hit.subject for hit in upstream.hits] == [partner.client_id] * 3
    assert jose.unverified_claims(upstream.hits[0].token)["aud"] == AUDIENCE


async def test_concurrent_calls_share_one_token_fetch(
    make_service_client: ClientFactory, upstream: Upstream, identity: Identity
) -> None:
    client = make_service_client()
    before = identity.token_requests
    responses = await asyncio.gather(*(client.get(f"/things/{n}") for n in range(10)))
    assert [response.status_code for response in responses] == [200] * 10
    assert identity.token_requests - before == 1
    assert len({hit.token for hit in upstream.hits}) == 1


async def test_a_token_is_refreshed_shortly_before_it_expires(
    make_service_client: ClientFactory, upstream: Upstream, identity: Identity
) -> None:
    clock = ManualClock()
    client = make_service_client(clock=clock)
    before = identity.token_requests
    await client.get("/things/first")
    clock.now += TOKEN_TTL_SECONDS - 7  # 7 s left: more than the 6 s margin
    await client.get("/things/still-cached")
    assert identity.token_requests - before == 1
    clock.now += 2  # 5 s left: inside the margin
    await client.get("/things/refreshed")
    assert identity.token_requests - before == 2
    first, cached, refreshed = (hit.token for hit in upstream.hits)
    assert cached == first
    assert refreshed != first


async def test_scopes_and_audience_are_requested(
    make_service_client: ClientFactory, upstream: Upstream, identity: Identity, partner: Partner
) -> None:
    narrowed = make_service_client(
        credentials=partner.credentials(identity, scopes=["cases:intake"])
    )
    assert (await narrowed.get("/things/a")).status_code == 200
    assert upstream.hits[-1].scopes == ["cases:intake"]

    too_wide = make_service_client(
        credentials=partner.credentials(identity, scopes=["cases:stats"])
    )
    with pytest.raises(TokenRequestFailed) as scope_refused:
        await too_wide.get("/things/a")
    assert (scope_refused.value.status, scope_refused.value.error) == (400, "invalid_scope")

    elsewhere = make_service_client(
        credentials=partner.credentials(identity, audience="grants-api")
    )
    with pytest.raises(TokenRequestFailed) as audience_refused:
        await elsewhere.get("/things/a")
    assert audience_refused.value.error == "invalid_target"
    assert len(upstream.hits) == 1  # no call goes out without a token


async def test_a_wrong_secret_raises_invalid_client_without_showing_it(
    make_service_client: ClientFactory, upstream: Upstream, identity: Identity, partner: Partner
) -> None:
    wrong_secret = "bsec_" + uuid.uuid4().hex
    credentials = partner.credentials(identity, client_secret=wrong_secret)
    client = make_service_client(credentials=credentials)
    with pytest.raises(TokenRequestFailed) as refused:
        await client.get("/things/a")
    assert refused.value.error == "invalid_client"
    assert refused.value.status == 401
    shown = f"{refused.value!s} {refused.value!r} {credentials!r} {credentials} {client!r}"
    assert wrong_secret not in shown
    assert upstream.hits == []


async def test_an_unreachable_token_endpoint_raises_token_request_failed(
    make_service_client: ClientFactory, upstream: Upstream, partner: Partner, identity: Identity
) -> None:
    credentials = partner.credentials(
        identity, token_url=f"http://127.0.0.1:{_free_port()}{TOKEN_PATH}"
    )
    client = make_service_client(credentials=credentials, max_retries=1)
    with pytest.raises(TokenRequestFailed) as failed:
        await client.get("/things/a")
    assert failed.value.error is None
    assert isinstance(failed.value.__cause__, httpx.ConnectError)
    assert upstream.hits == []


async def test_a_refused_token_is_replaced_once_and_the_call_repeated(
    make_service_client: ClientFactory, upstream: Upstream, identity: Identity
) -> None:
    client = make_service_client()
    before = identity.token_requests
    await client.get("/things/warm-up")
    upstream.refuse_tokens_seen()
    # Even a POST without an idempotency key: a request refused for its token was not processed.
    response = await client.post("/things/created", json={"n": 1})
    assert response.status_code == 200
    assert identity.token_requests - before == 2
    warm_up, refused, repeated = upstream.hits
    assert refused.token == warm_up.token
    assert repeated.token != warm_up.token
    assert refused.subject is None
    assert repeated.subject is not None
    assert json.loads(repeated.body) == {"n": 1}


async def test_a_token_refused_twice_is_given_up(
    make_service_client: ClientFactory, upstream: Upstream, identity: Identity
) -> None:
    client = make_service_client()
    upstream.refuse_every_token = True
    before = identity.token_requests
    response = await client.get("/things/a")
    assert response.status_code == 401
    assert len(upstream.hits) == 2
    assert identity.token_requests - before == 2


# Retries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])
async def test_idempotent_methods_are_retried_on_unavailable(
    make_service_client: ClientFactory, upstream: Upstream, method: str
) -> None:
    client = make_service_client(max_retries=2)
    upstream.answer(503, 502)
    response = await client.request(method, "/things/a")
    assert response.status_code == 200
    assert [hit.method for hit in upstream.hits] == [method] * 3


async def test_retries_stop_after_the_last_attempt(
    make_service_client: ClientFactory, upstream: Upstream
) -> None:
    client = make_service_client(max_retries=2)
    upstream.answer(503, 504, 503, 503)
    response = await client.get("/things/a")
    assert response.status_code == 503
    assert len(upstream.hits) == 3


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_writes_without_an_idempotency_key_are_sent_once(
    make_service_client: ClientFactory, upstream: Upstream, method: str
) -> None:
    client = make_service_client(max_retries=2)
    upstream.answer(503)
    response = await client.request(method, "/things/a", json={"n": 1})
    assert response.status_code == 503
    assert len(upstream.hits) == 1


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_writes_with_an_idempotency_key_are_retried(
    make_service_client: ClientFactory, upstream: Upstream, method: str
) -> None:
    client = make_service_client(max_retries=2)
    upstream.answer(503, 502)
    key = str(uuid.uuid4())
    response = await client.request(
        method, "/things/a", json={"n": 1}, headers={"Idempotency-Key": key}
    )
    assert response.status_code == 200
    assert len(upstream.hits) == 3
    assert {hit.headers["idempotency-key"] for hit in upstream.hits} == {key}
    assert all(json.loads(hit.body) == {"n": 1} for hit in upstream.hits)


@pytest.mark.parametrize("status", [400, 404, 409, 422, 500])
async def test_other_errors_are_not_retried(
    make_service_client: ClientFactory, upstream: Upstream, status: int
) -> None:
    client = make_service_client(max_retries=2)
    upstream.answer(status)
    response = await client.get("/things/a")
    assert response.status_code == status
    assert len(upstream.hits) == 1


async def test_too_many_requests_waits_as_long_as_retry_after_says(
    make_service_client: ClientFactory, upstream: Upstream
) -> None:
    client = make_service_client(max_retries=2, max_retry_after_seconds=2)
    upstream.answer(Step(429, headers={"Retry-After": "1"}))
    started = time.monotonic()
    response = await client.get("/things/a")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.95  # backoff alone would be a few milliseconds
    assert len(upstream.hits) == 2


async def test_a_retry_after_beyond_the_cap_is_returned_not_waited(
    make_service_client: ClientFactory, upstream: Upstream
) -> None:
    client = make_service_client(max_retries=2, max_retry_after_seconds=2)
    upstream.answer(Step(429, headers={"Retry-After": "3600"}))
    started = time.monotonic()
    response = await client.get("/things/a")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3600"
    assert time.monotonic() - started < 1
    assert len(upstream.hits) == 1


async def test_a_keyed_write_still_in_progress_upstream_is_retried_after_retry_after(
    make_service_client: ClientFactory, upstream: Upstream
) -> None:
    client = make_service_client(max_retries=2, max_retry_after_seconds=2)
    upstream.answer(Step(409, headers={"Retry-After": "1"}))
    started = time.monotonic()
    response = await client.post(
        "/things/a", json={"n": 1}, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.95
    assert len(upstream.hits) == 2


async def test_a_conflict_without_key_or_retry_after_is_returned_at_once(
    make_service_client: ClientFactory, upstream: Upstream
) -> None:
    client = make_service_client(max_retries=2)
    upstream.answer(Step(409, headers={"Retry-After": "1"}), 409)
    unkeyed = await client.post("/things/a", json={"n": 1})
    assert unkeyed.status_code == 409
    keyed = await client.post(
        "/things/a", json={"n": 1}, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert keyed.status_code == 409  # a plain conflict: retrying would change nothing
    assert len(upstream.hits) == 2


def _http_logs(caplog: pytest.LogCaptureFixture, message: str) -> list[dict[str, Any]]:
    """The fields of `baton.http` records with this message."""
    return [
        vars(record)
        for record in caplog.records
        if record.name == "baton.http" and record.getMessage() == message
    ]


async def test_connection_refused_is_retried_then_raised(
    make_service_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_service_client(base_url=f"http://127.0.0.1:{_free_port()}", max_retries=2)
    with caplog.at_level(logging.INFO, logger="baton.http"), pytest.raises(httpx.ConnectError):
        await client.get("/things/a")
    retried = _http_logs(caplog, "upstream call retried")
    assert [record["attempt"] for record in retried] == [1, 2]
    assert [record["reason"] for record in retried] == ["ConnectError"] * 2
    (failed,) = _http_logs(caplog, "upstream call failed")
    assert failed["attempt"] == 3


async def test_a_write_without_key_is_not_retried_even_on_connection_errors(
    make_service_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_service_client(base_url=f"http://127.0.0.1:{_free_port()}", max_retries=2)
    with caplog.at_level(logging.INFO, logger="baton.http"), pytest.raises(httpx.ConnectError):
        await client.post("/things/a", json={"n": 1})
    assert _http_logs(caplog, "upstream call retried") == []
    (failed,) = _http_logs(caplog, "upstream call failed")
    assert failed["attempt"] == 1


async def test_the_read_timeout_is_honoured(
    make_service_client: ClientFactory, upstream: Upstream
) -> None:
    client = make_service_client(read_timeout=0.2, max_retries=0)
    upstream.answer(Step(delay=1.5))
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        await client.get("/things/slow")
    assert time.monotonic() - started < 1.0
    assert len(upstream.hits) == 1


async def test_a_read_timeout_on_get_is_retried(
    make_service_client: ClientFactory, upstream: Upstream
) -> None:
    client = make_service_client(read_timeout=0.2, max_retries=1)
    upstream.answer(Step(delay=1.5))
    response = await client.get("/things/slow-once")
    assert response.status_code == 200
    assert len(upstream.hits) == 2


async def test_a_post_that_timed_out_after_sending_is_not_sent_again(
    make_service_client: ClientFactory, upstream: Upstream
) -> None:
    client = make_service_client(read_timeout=0.2, max_retries=2)
    upstream.answer(Step(delay=1.5))
    with pytest.raises(httpx.ReadTimeout):
        await client.post("/things/slow", json={"n": 1})
    assert len(upstream.hits) == 1


# Request ids, logs, guards ---------------------------------------------------------------


async def test_the_request_id_of_the_context_is_forwarded_on_every_attempt(
    make_service_client: ClientFactory, upstream: Upstream
) -> None:
    client = make_service_client(max_retries=2)
    upstream.answer(503)
    context = request_id_var.set("chain-7f3a9c21")
    try:
        response = await client.get("/things/a")
    finally:
        request_id_var.reset(context)
    assert response.status_code == 200
    assert [hit.headers["x-request-id"] for hit in upstream.hits] == ["chain-7f3a9c21"] * 2


async def test_without_a_request_id_each_call_gets_its_own_kept_across_retries(
    make_service_client: ClientFactory, upstream: Upstream
) -> None:
    client = make_service_client(max_retries=2)
    upstream.answer(503)
    await client.get("/things/a")
    await client.get("/things/b")
    first, retried, second = (hit.headers["x-request-id"] for hit in upstream.hits)
    assert retried == first
    assert second != first
    assert uuid.UUID(first).version == uuid.UUID(second).version == 4


async def test_logs_carry_no_token_secret_or_query(
    make_service_client: ClientFactory,
    upstream: Upstream,
    identity: Identity,
    partner: Partner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = make_service_client(max_retries=2)
    upstream.answer(503)
    wrong_secret = "bsec_" + uuid.uuid4().hex
    refused = make_service_client(
        credentials=partner.credentials(identity, client_secret=wrong_secret)
    )
    with caplog.at_level(logging.DEBUG):
        response = await client.get("/things/logged", params={"search": "Ardita-Krasniqi"})
        with pytest.raises(TokenRequestFailed):
            await refused.get("/things/logged")
    assert response.status_code == 200
    formatter = JsonFormatter("test")
    # Every line of the process, httpx's and the servers' included, as it would be written.
    written = "\n".join(formatter.format(record) for record in caplog.records)
    for secret in (partner.client_secret, wrong_secret, *(hit.token for hit in upstream.hits)):
        assert secret not in written
    # Query strings: Baton's own lines. (httpx's INFO line and uvicorn's access line carry
    # the full URL; services quiet those loggers where logging is configured.)
    ours = "\n".join(formatter.format(r) for r in caplog.records if r.name == "baton.http")
    assert "/things/logged" in ours
    assert "Ardita-Krasniqi" not in ours
    # And the lines that should be there are.
    (call,) = _http_logs(caplog, "upstream call")
    assert (call["method"], call["path"], call["status"], call["attempt"]) == (
        "GET",
        "/things/logged",
        200,
        2,
    )
    (retry,) = _http_logs(caplog, "upstream call retried")
    assert (retry["attempt"], retry["reason"]) == (1, "503")
    (token_refused,) = _http_logs(caplog, "token request refused")
    assert token_refused["error"] == "invalid_client"


async def test_calls_elsewhere_and_borrowed_authorization_are_refused(
    make_service_client: ClientFactory, upstream: Upstream, identity: Identity
) -> None:
    client = make_service_client()
    before = identity.token_requests
    with pytest.raises(ValueError, match="relative"):
        await client.get("http://attacker.example/steal")
    with pytest.raises(ValueError, match="Authorization"):
        await client.get("/things/a", headers={"authorization": "Bearer someone-elses"})
    assert upstream.hits == []
    assert identity.token_requests == before


async def test_the_context_manager_closes_the_client(
    identity: Identity, partner: Partner, upstream: Upstream
) -> None:
    async with ServiceClient(upstream.url, partner.credentials(identity)) as client:
        assert (await client.get("/things/a")).status_code == 200
    with pytest.raises(RuntimeError, match="closed"):
        await client.get("/things/b")
    assert len(upstream.hits) == 1
