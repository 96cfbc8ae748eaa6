"""The gateway as the first wall: smuggled headers, donor path tricks, CORS, limits, admin.

A second Envoy, rendered from the same template, sends `/cases/` to an echo server:
whatever a client manages to push through the gateway, the echo server records.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from baton.stack.gateway import Upstream
from baton.stack.personas import PersonaTokens
from baton.stack.postgres import free_port
from baton.stack.processes import wait_until_answering
from baton.stack.runner import Stack
from baton.stack.services import SERVICES
from baton.testing_issuer import TestIssuer

pytestmark = pytest.mark.e2e

SMUGGLED = "smuggled-by-client"
SMUGGLED_HEADERS = [
    "x-jwt-payload",
    "x-org-id",
    "x-org-kind",
    "x-tenant-id",
    "x-user-id",
    "x-user-roles",
    "x-roles",
    "x-principal",
    "x-forwarded-user",
    "x-baton-principal",
    "x-envoy-original-path",
    "x-envoy-internal",
    "x-envoy-retry-on",
    "x-envoy-max-retries",
    "x-envoy-upstream-rq-timeout-ms",
    "x-envoy-expected-rq-timeout-ms",
    "x-envoy-decorator-operation",
]


@dataclass
class EchoServer:
    """Answers 200 with the request's headers, and keeps every request it saw."""

    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def start(self) -> None:
        echo = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                headers = {name.lower(): value for name, value in self.headers.items()}
                echo.seen.append((self.path, headers))
                body = json.dumps({"path": self.path, "headers": headers}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002 - quiet
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class EchoGateway:
    url: str
    echo: EchoServer
    admin_port: int


@pytest.fixture(scope="module")
def echo_gateway(stack: Stack) -> Iterator[EchoGateway]:
    """The real gateway configuration, with tight rate limits and `/cases/` to an echo server."""
    echo = EchoServer()
    echo.start()
    port, admin_port = free_port(), free_port()
    layout = stack.gateway_layout(
        listen_port=port,
        admin_port=admin_port,
        name="echo-gateway",
        upstreams={"cases": Upstream("127.0.0.1", echo.port)},
        token_requests_per_second=2,
        route_requests_per_second=20,
        caller_requests_per_second=2,
        # As behind a load balancer on a private network: the peer counts as internal,
        # so Envoy's own sanitising of x-envoy-* headers is off and only ours remains.
        internal_networks=["127.0.0.0/8"],
    )
    gateway = stack.launch_gateway(layout, name="echo-gateway")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/identity/healthz", what="echo gateway", managed=gateway)
        yield EchoGateway(url=url, echo=echo, admin_port=admin_port)
    finally:
        gateway.stop()
        echo.stop()


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _wait_for_bucket_refill() -> None:
    # Buckets hold two seconds of requests and refill every second.
    time.sleep(2.5)


def test_identity_headers_sent_by_a_client_never_reach_a_service(
    echo_gateway: EchoGateway, tokens: PersonaTokens
) -> None:
    headers = dict.fromkeys(SMUGGLED_HEADERS, SMUGGLED) | _bearer(tokens("caseworker"))
    response = httpx.get(f"{echo_gateway.url}/cases/v1/anything", headers=headers)
    assert response.status_code == 200
    received: dict[str, str] = response.json()["headers"]
    # The request did arrive, with the token the service must verify itself...
    assert received["authorization"] == headers["authorization"]
    assert response.json()["path"] == "/v1/anything"
    # ...and without one header value the client planted.
    assert not {name: value for name, value in received.items() if value == SMUGGLED}
    assert "x-jwt-payload" not in received


def test_the_gateway_sets_its_own_original_path_not_the_clients(
    echo_gateway: EchoGateway, tokens: PersonaTokens
) -> None:
    response = httpx.get(
        f"{echo_gateway.url}/cases/v1/x",
        headers={"x-envoy-original-path": "/grants/v1/x"} | _bearer(tokens("caseworker")),
    )
    assert response.json()["headers"].get("x-envoy-original-path") in {None, "/cases/v1/x"}


DONOR_PATH_TRICKS = [
    "/cases/v1/me",
    "/cases/../cases/v1/me",
    "/grants/../cases/v1/me",
    "/grants/%2E%2E/cases/v1/me",
    "/cases/./v1/me",
    "//cases/v1/me",
    "/cases//v1/me",
    "/CASES/v1/me",
    "/Cases/v1/me",
    "/cAsEs/v1/me",
    "/cases%2Fv1/me",
    "/cases%2fv1/me",
    "/cases/v1%2Fme",
    "/%63ases/v1/me",
    "/cases./v1/me",
    "/cases/v1/me.",
    "/cases/v1/me/",
    "/cases%00/v1/me",
    "/cases;/v1/me",
    "/cases/v1/me?x=/grants/",
    "/referrals/v1/me",
    "/referrals/../referrals/v1/me",
    "/REFERRALS/v1/me",
    "/referrals%2Fv1/me",
]


def _raw_get(base_url: str, path: str, headers: dict[str, str]) -> int:
    """GET `path` byte for byte (httpx would resolve `..` before Envoy ever saw it)."""
    url = httpx.URL(base_url)
    for _ in range(5):
        connection = http.client.HTTPConnection(url.host, url.port, timeout=5)
        try:
            connection.request("GET", path, headers=headers)
            status = connection.getresponse().status
        finally:
            connection.close()
        if status != 429:
            return status
        _wait_for_bucket_refill()
    raise AssertionError(f"{path}: still rate limited")


@pytest.mark.parametrize("persona", ["grant-manager", "donor-viewer"])
def test_donor_tokens_never_pass_the_gateway_to_victim_data(
    echo_gateway: EchoGateway, tokens: PersonaTokens, persona: str
) -> None:
    token = tokens(persona)
    before = len(echo_gateway.echo.seen)
    for path in DONOR_PATH_TRICKS:
        status = _raw_get(echo_gateway.url, path, _bearer(token))
        assert status in {400, 403, 404}, (path, status)
    assert echo_gateway.echo.seen[before:] == []


def test_an_ngo_token_does_pass_the_same_gateway(
    echo_gateway: EchoGateway, tokens: PersonaTokens
) -> None:
    # The control for the test above: the echo server is reachable at all.
    _wait_for_bucket_refill()  # the tricks above drained this address's bucket
    response = httpx.get(f"{echo_gateway.url}/cases/v1/me", headers=_bearer(tokens("caseworker")))
    assert response.status_code == 200
    assert response.json()["path"] == "/v1/me"


@pytest.mark.parametrize("persona", ["grant-manager", "donor-viewer"])
@pytest.mark.parametrize("route", ["cases", "referrals"])
def test_donor_tokens_are_refused_by_the_real_gateway_and_by_the_service(
    stack: Stack, tokens: PersonaTokens, persona: str, route: str
) -> None:
    token = tokens(persona)
    at_gateway = httpx.get(f"{stack.gateway_url}/{route}/v1/me", headers=_bearer(token))
    assert at_gateway.status_code == 403
    assert "x-envoy-upstream-service-time" not in at_gateway.headers
    spec = next(spec for spec in SERVICES if spec.route == route)
    direct = httpx.get(f"{stack.service_url(spec)}/v1/me", headers=_bearer(token))
    assert direct.status_code == 403
    assert direct.json()["code"] == "organisation-kind-refused"
    # The same donor token is good where donors belong.
    assert httpx.get(f"{stack.gateway_url}/grants/v1/me", headers=_bearer(token)).status_code == 200


ALLOWED_ORIGIN = "https://frontend.example.org"


def test_cors_preflight_is_answered_for_a_configured_origin_only(stack: Stack) -> None:
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type, idempotency-key",
    }
    allowed = httpx.options(
        f"{stack.gateway_url}/cases/v1/me", headers={"origin": ALLOWED_ORIGIN} | preflight
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "idempotency-key" in allowed.headers["access-control-allow-headers"]
    stranger = httpx.options(
        f"{stack.gateway_url}/cases/v1/me",
        headers={"origin": "https://evil.example.net"} | preflight,
    )
    assert "access-control-allow-origin" not in stranger.headers


def test_cors_headers_on_a_real_call_from_the_frontend(stack: Stack, tokens: PersonaTokens) -> None:
    response = httpx.get(
        f"{stack.gateway_url}/cases/v1/me",
        headers={"origin": ALLOWED_ORIGIN} | _bearer(tokens("caseworker")),
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "x-request-id" in response.headers["access-control-expose-headers"]


def _forged(index: int) -> dict[str, str]:
    """Headers a client could set to pass for another address or caller, different each time."""
    address = f"203.0.113.{index % 250 + 1}"
    return {
        "x-forwarded-for": address,
        "x-real-ip": address,
        "forwarded": f"for={address}",
        "x-org-id": str(uuid.uuid4()),
        "x-user-id": f"someone-{index}",
    }


def _statuses(url: str, requests: list[dict[str, str]]) -> list[int]:
    """One GET per header set, all at once (a slow machine must not refill a bucket
    meanwhile); the statuses in the order given."""
    with ThreadPoolExecutor(max_workers=min(len(requests), 50)) as pool:
        return [r.status_code for r in pool.map(lambda h: httpx.get(url, headers=h), requests)]


def test_the_token_endpoint_is_rate_limited_with_a_problem(echo_gateway: EchoGateway) -> None:
    _wait_for_bucket_refill()

    def guess(_: int) -> httpx.Response:
        return httpx.post(
            f"{echo_gateway.url}/identity/v1/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("guessing", "wrong-secret"),
        )

    assert guess(0).status_code == 401  # identity-api answers while tokens are left
    # At once, so that a slow identity-api does not let the bucket refill meanwhile.
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(guess, range(10)))
    limited = [answer for answer in answers if answer.status_code == 429]
    assert limited
    assert limited[0].headers["content-type"] == "application/problem+json"
    assert limited[0].headers["retry-after"] == "1"
    assert limited[0].json()["code"] == "rate-limited"
    _wait_for_bucket_refill()


def test_every_route_has_its_own_bucket(echo_gateway: EchoGateway) -> None:
    _wait_for_bucket_refill()
    statuses = _statuses(f"{echo_gateway.url}/grants/healthz", [{}] * 100)
    assert statuses[0] == 200
    assert 429 in statuses
    # Another route's bucket is untouched by the flood.
    assert httpx.get(f"{echo_gateway.url}/identity/healthz").status_code == 200
    _wait_for_bucket_refill()


def test_each_verified_caller_has_its_own_bucket_whatever_the_headers_say(
    echo_gateway: EchoGateway, external_issuer: TestIssuer, tokens: PersonaTokens
) -> None:
    _wait_for_bucket_refill()
    organisation = uuid.uuid4()

    def token(subject: str, org_id: uuid.UUID) -> dict[str, str]:
        claims = external_issuer.claims(org_id=org_id, org_kind="ngo", roles=["caseworker"])
        return _bearer(external_issuer.sign(claims | {"sub": subject}))

    # One caller floods with a fresh token each time and every header a client could
    # forge to pass for someone else; its bucket holds four (two a second).
    flood = [token("partner-sync", organisation) | _forged(i) for i in range(12)]
    # At the same moment: the same subject in another organisation, another subject of
    # the same organisation, and another issuer's caller, three requests each.
    others = (
        [token("partner-sync", uuid.uuid4())] * 3
        + [token("frontend-user", organisation)] * 3
        + [_bearer(tokens("caseworker"))] * 3
    )
    statuses = _statuses(f"{echo_gateway.url}/cases/v1/anything", flood + others)
    assert 200 in statuses[:12]
    assert 429 in statuses[:12]
    assert statuses[12:] == [200] * 9
    _wait_for_bucket_refill()


def test_an_address_is_limited_before_any_token_is_checked(echo_gateway: EchoGateway) -> None:
    _wait_for_bucket_refill()
    # Unverifiable tokens would cost a signature check each: the address's bucket runs
    # dry first, and forged forwarding headers (a new address each time) do not help.
    requests = [_bearer("not.a.token") | _forged(i) for i in range(100)]
    statuses = _statuses(f"{echo_gateway.url}/cases/v1/anything", requests)
    assert 401 in statuses
    assert 429 in statuses
    _wait_for_bucket_refill()


def _listening_addresses(port: int) -> set[str]:
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                addresses.add(address)
    return addresses


def test_the_admin_interface_listens_on_loopback_only(stack: Stack) -> None:
    assert httpx.get(f"http://127.0.0.1:{stack.admin_port}/ready").status_code == 200
    # 127.0.0.1, little-endian hex as the kernel prints it; nothing on 0.0.0.0 or ::.
    assert _listening_addresses(stack.admin_port) == {"0100007F"}
