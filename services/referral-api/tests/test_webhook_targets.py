"""Server-side request forgery: webhooks reach public https addresses only, checked
at registration and again at every send (DNS answers change)."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import ValidationError

from baton.settings import SECRETS_DIR_VARIABLE, load_settings
from baton.testing import serving
from referral_api.config import ReferralSettings
from referral_api.webhooks import targets
from referral_api.webhooks.delivery import Sender
from referral_api.webhooks.exceptions import WebhookTargetRefused
from webhook_factories import (
    ENDPOINTS,
    CallerFactory,
    Receiver,
    Service,
    attempt_rounds,
    deliveries,
    emit,
    new_endpoint,
    referral_event,
    stop_retries,
)
from webhook_factories import webhook_service as running_service

PUBLIC_V4 = ipaddress.ip_address("93.184.215.14")
PUBLIC_V6 = ipaddress.ip_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c")
Resolver = Callable[[str, int, float], Coroutine[Any, Any, list[targets.IPAddress]]]


def resolving_to(*addresses: str) -> Resolver:
    """A stand-in for DNS: every name resolves to these addresses."""

    async def resolve(host: str, port: int, seconds: float) -> list[targets.IPAddress]:  # noqa: ARG001
        return [ipaddress.ip_address(address) for address in addresses]

    return resolve


@pytest.fixture
async def strict(referral_settings: ReferralSettings) -> AsyncIterator[Service]:
    """referral-api as in production: private targets refused, https only."""
    async with running_service(referral_settings, allow_private_webhook_targets=False) as service:
        yield service


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(targets, "resolve", resolving_to(str(PUBLIC_V4)))


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://127.1.2.3:8443/hook",
        "https://10.1.2.3/hook",
        "https://172.16.0.9/hook",
        "https://192.168.1.20/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://0.0.0.0/hook",
        "https://224.0.0.251/hook",
        "https://100.64.0.1/hook",
        "https://[::1]/hook",
        "https://[::]/hook",
        "https://[fe80::1]/hook",
        "https://[fc00::1]/hook",
        "https://[ff02::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:a9fe:a9fe]/hook",
        "https://[64:ff9b::a00:1]/hook",
        "https://[2002:7f00:1::]/hook",
        "https://172.31.255.255/hook",
        "https://[fd00:ec2::254]/latest/meta-data/",
        # Loopback in the forms the C resolver reads (DNS here says public: never asked).
        "https://127.1/hook",
        "https://0x7f000001/hook",
        "https://2130706433/hook",
        "https://017700000001/hook",
        "https://0x7f.0.0.1/hook",
        "https://127.0.0.1./hook",
        "https://%31%32%37.0.0.1/hook",
        "https://[::ffff:7f00:1]/hook",
        "https://[::127.0.0.1]/hook",
        "https://[::ffff:0:127.0.0.1]/hook",
        "https://[fe80::1%25eth0]/hook",
        "https://[fec0::1]/hook",
        "http://localhost:8080/hook",
        "https://localhost/hook",
        "https://localhost./hook",
        "https://api.localhost/hook",
        "https://intranet/hook",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://printer.local/hook",
        # The gateway's admin interface (POST /quitquitquit stops it) and Baton's own
        # services and database, by address and by their names in the deployment.
        "https://127.0.0.1:9901/quitquitquit",
        "https://[::1]:9901/quitquitquit",
        "https://gateway:9901/quitquitquit",
        "https://identity-api:8000/v1/organisations",
        "https://cases-api:8000/v1/intake",
        "https://referral-api./v1/webhook-endpoints",
        "https://grants-api:8000/v1/grants",
        "https://postgres:5432/",
        "https://cases-api.baton.svc.cluster.local/v1/intake",
        "http://hooks.example.org/hook",
        "ftp://hooks.example.org/hook",
        "file:///etc/passwd",
        "gopher://hooks.example.org/_POST",
        "dict://hooks.example.org:11211/stats",
        "wss://hooks.example.org/hook",
        "data:text/plain,hook",
        "https://police:hunter2@hooks.example.org/hook",
        "https://token@hooks.example.org/hook",
        "https://hooks.example.org@127.0.0.1/hook",
        "not a url at all",
    ],
)
@pytest.mark.usefixtures("public_dns")
async def test_a_target_that_is_not_a_public_https_address_is_refused(
    strict: Service, caller: CallerFactory, url: str
) -> None:
    police = caller("government", ["referrer"])
    response = await strict.client.post(
        ENDPOINTS, json={"url": url, "event_types": ["*"]}, headers=police.headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["code"], problem["status"]) == ("webhook-target-refused", 422)
    assert problem["detail"].startswith("The webhook URL")
    # The problem never echoes the URL (it could carry a token).
    host = url.split("//")[-1].split("/")[0]
    assert not host or host not in response.text


@pytest.mark.parametrize(
    "answers",
    [("127.0.0.1",), ("10.0.0.5",), (str(PUBLIC_V4), "192.168.0.10"), ("169.254.169.254",), ()],
    ids=["loopback", "private", "one-of-several", "metadata", "unresolvable"],
)
async def test_a_name_resolving_to_a_private_address_is_refused(
    strict: Service, caller: CallerFactory, monkeypatch: pytest.MonkeyPatch, answers: tuple[str]
) -> None:
    monkeypatch.setattr(targets, "resolve", resolving_to(*answers))
    police = caller("government", ["referrer"])
    response = await strict.client.post(
        ENDPOINTS,
        json={"url": "https://hooks.example.org/baton", "event_types": ["*"]},
        headers=police.headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "webhook-target-refused"


@pytest.mark.usefixtures("public_dns")
async def test_a_public_https_target_is_accepted_and_an_update_is_checked_too(
    strict: Service, caller: CallerFactory
) -> None:
    police = caller("government", ["referrer"])
    created = await new_endpoint(strict.client, police, "https://hooks.example.org/baton")
    for url in (
        "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/baton",
        "https://93.184.215.14/",
        # Numbers inside a name, or an international name, are names: DNS decides.
        "https://2024.hooks.example.org/baton",
        "https://bücher.example.org/baton",
    ):
        assert (await new_endpoint(strict.client, police, url))["url"] == url
    refused = await strict.client.patch(
        f"{ENDPOINTS}/{created['id']}",
        json={"url": "https://169.254.169.254/latest/meta-data/"},
        headers=police.with_headers(if_match='"1"'),
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "webhook-target-refused"
    kept = await strict.client.get(f"{ENDPOINTS}/{created['id']}", headers=police.headers)
    assert (kept.json()["url"], kept.json()["version"]) == ("https://hooks.example.org/baton", 1)


async def test_the_target_is_checked_again_at_every_send(
    strict: Service,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    police = caller("government", ["referrer"])
    monkeypatch.setattr(targets, "resolve", resolving_to(str(PUBLIC_V4)))
    endpoint = await new_endpoint(strict.client, police, "https://hooks.example.org/baton")
    # The name now answers with a loopback address (DNS rebinding).
    monkeypatch.setattr(targets, "resolve", resolving_to("127.0.0.1"))
    await emit(strict.app, referral_event([police.org_id], "accepted"))
    await attempt_rounds(strict.app, superuser, police.org_id, 1)
    [delivery] = await deliveries(strict.client, police, endpoint["id"])
    assert (delivery["status"], delivery["attempts"]) == ("failed", 1)
    assert (delivery["last_error"], delivery["last_status_code"]) == ("target-refused", None)
    await stop_retries(superuser, police.org_id)


@pytest.mark.usefixtures("public_dns")
async def test_a_send_is_pinned_to_the_address_checked() -> None:
    pinned = await targets.pinned(
        "https://hooks.example.org:8443/baton?x=1", allow_private=False, seconds=1
    )
    assert pinned.url == httpx.URL("https://93.184.215.14:8443/baton?x=1")
    assert (pinned.server_name, pinned.host_header) == (
        "hooks.example.org",
        "hooks.example.org:8443",
    )


async def test_names_are_resolved_by_the_system_resolver() -> None:
    assert ipaddress.ip_address("127.0.0.1") in await targets.resolve("localhost", 443, 5)
    assert await targets.resolve("no-such-host.invalid", 443, 5) == []


@pytest.mark.parametrize(
    ("address", "public"),
    [
        (str(PUBLIC_V4), True),
        (str(PUBLIC_V6), True),
        ("8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.255.255.255", False),
        ("172.31.255.255", False),
        ("172.32.0.1", True),
        ("192.168.0.1", False),
        ("169.254.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd12:3456::1", False),
        ("ff05::2", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::808:808", True),
        ("2002:a00:1::", False),
        ("::7f00:1", False),
        ("::ffff:0:7f00:1", False),
        ("64:ff9b:1::a00:1", False),
        ("fec0::1", False),
        ("2001:4860:4860::8888", True),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert targets.is_public(ipaddress.ip_address(address)) is public


async def test_private_targets_and_plain_http_are_allowed_only_when_configured() -> None:
    for url in ("http://127.0.0.1:8080/hook", "http://localhost/hook", "https://10.0.0.2/"):
        await targets.check(url, allow_private=True, seconds=1)
        with pytest.raises(WebhookTargetRefused):
            await targets.check(url, allow_private=False, seconds=1)
    with pytest.raises(WebhookTargetRefused):
        await targets.check("ftp://127.0.0.1/", allow_private=True, seconds=1)


def test_private_targets_are_refused_by_default_and_never_allowed_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(SECRETS_DIR_VARIABLE, raising=False)
    monkeypatch.delenv("REFERRALS_ALLOW_PRIVATE_WEBHOOK_TARGETS", raising=False)
    # Settings are only read here: nothing connects to this database.
    monkeypatch.setenv("REFERRALS_DATABASE_URL", "postgresql+asyncpg://referrals@db/referrals")
    monkeypatch.setenv("REFERRALS_ENVIRONMENT", "production")
    assert load_settings(ReferralSettings).allow_private_webhook_targets is False
    monkeypatch.setenv("REFERRALS_ALLOW_PRIVATE_WEBHOOK_TARGETS", "true")
    # The service does not start at all: it fails while reading its settings.
    with pytest.raises(ValidationError, match="must not be true in production"):
        load_settings(ReferralSettings)
    monkeypatch.setenv("REFERRALS_ENVIRONMENT", "development")
    assert load_settings(ReferralSettings).allow_private_webhook_targets is True


async def test_a_pinned_send_keeps_the_name_in_the_host_header() -> None:
    receiver = Receiver()
    with serving(receiver.app()) as url:
        target = targets.Target(
            url=httpx.URL(f"{url}/hook"),
            server_name="hooks.example.org",
            host_header="hooks.example.org",
        )
        attempt = await Sender(5.0).post(target, b"{}", {"content-type": "application/json"})
    assert attempt.status_code == 204
    [request] = receiver.requests()
    assert request.headers["host"] == "hooks.example.org"


async def test_a_receiver_dripping_its_answer_is_cut_off_at_the_deadline() -> None:
    async def drip(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Each byte comes well within the read timeout; the whole answer never does.
        for byte in b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n":
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.close()

    server = await asyncio.start_server(drip, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    started = time.monotonic()
    async with server:
        target = targets.Target(url=httpx.URL(f"http://127.0.0.1:{port}/hook"))
        attempt = await Sender(0.3).post(target, b"{}", {"content-type": "application/json"})
    assert (attempt.status_code, attempt.error) == (None, "TimeoutError")
    assert time.monotonic() - started < 1.5
