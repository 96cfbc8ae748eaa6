"""The hand-off against the real cases-api and identity-api, over HTTP.

identity-api issues the intake client's token; cases-api (its own app on the
`cases` database) opens the case. An accepted referral becomes exactly one case,
whatever crashes or outages happen between the two services.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.types import ASGIApp

from baton.auth import TrustedIssuer
from baton.stack.databases import ServiceDatabase
from baton.testing import serving
from baton.testing_issuer import CallerFactory, TestIssuer
from cases_api.config import CasesSettings
from cases_api.main import create_app as create_cases_app
from identity_api.config import IdentitySettings
from identity_api.main import create_app as create_identity_app
from identity_factories import make_client, make_organisation
from referral_api.config import ReferralSettings
from referral_api.main import create_app
from referral_api.referrals.handoff import HANDOFF_TOPIC, INTAKE_PATH
from referral_api.worker import build_handlers
from referral_factories import (
    PLANTED_BIRTH_DATE,
    PLANTED_CONTACT,
    PLANTED_FAMILY,
    PLANTED_NEEDS,
    PLANTED_RISK,
    REFERRALS,
    Parties,
    consent,
    deliver,
    make_due,
    message_of,
    parties,
    step,
    submit,
)

ISSUER = "https://baton.test/identity"
PURPOSE = {"purpose": "case_management"}


@contextmanager
def serving_on(app: ASGIApp, port: int) -> Iterator[str]:
    """Like `baton.testing.serving`, on a port of our choosing: to restart a peer there."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    config = uvicorn.Config(app, loop="asyncio", lifespan="on", log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


@dataclass
class CasesApi:
    """cases-api served on a fixed port, which a test may stop and start again."""

    make_app: Callable[[], ASGIApp]
    port: int
    _running: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._running = serving_on(self.make_app(), self.port)
        self._running.__enter__()

    def stop(self) -> None:
        if self._running is not None:
            self._running.__exit__(None, None, None)
            self._running = None


@pytest.fixture(scope="module")
def identity_url(
    service_databases: dict[str, ServiceDatabase],
    external_issuer: TestIssuer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    settings = IdentitySettings.model_validate(
        {
            "database_url": service_databases["identity"].runtime_url,
            "issuer": ISSUER,
            "root_path": "",
            "signing_keys_dir": str(tmp_path_factory.mktemp("handoff-identity") / "keys"),
            "trusted_issuers": [external_issuer.trusted.model_dump(mode="json")],
        }
    )
    with serving(create_identity_app(settings)) as url:
        yield url


async def _intake_client(
    identity_url: str, issuer: TestIssuer, scopes: list[str]
) -> tuple[str, str]:
    """A client of the platform's organisation, as the referral service holds it."""
    claims = issuer.claims(org_id=uuid.uuid4(), org_kind="platform", roles=["platform_admin"])
    admin = {"Authorization": f"Bearer {issuer.sign(claims)}"}
    async with httpx.AsyncClient(base_url=identity_url) as http:
        organisation = await make_organisation(http, admin, kind="platform")
        client = await make_client(
            http, admin, organisation["id"], [], scopes=scopes, audiences=["cases-api"]
        )
    return str(client["client_id"]), str(client["client_secret"])


@pytest.fixture(scope="module")
async def intake_client(identity_url: str, external_issuer: TestIssuer) -> tuple[str, str]:
    return await _intake_client(identity_url, external_issuer, ["cases:intake"])


@pytest.fixture(scope="module")
def cases_api(
    service_databases: dict[str, ServiceDatabase],
    external_issuer: TestIssuer,
    identity_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CasesApi]:
    keys: Path = tmp_path_factory.mktemp("handoff-cases-keys")
    identity = TrustedIssuer(issuer=ISSUER, jwks_url=f"{identity_url}/.well-known/jwks.json")
    settings = CasesSettings.model_validate(
        {
            "database_url": service_databases["cases"].runtime_url,
            "trusted_issuers": [
                external_issuer.trusted.model_dump(mode="json"),
                identity.model_dump(mode="json"),
            ],
            "master_keys_dir": str(keys / "master"),
            "blind_index_key_file": str(keys / "blind-index.key"),
            "environment": "test",
            "root_path": "",
        }
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    server = CasesApi(lambda: create_cases_app(settings), port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def live_cases(cases_api: CasesApi) -> CasesApi:
    """cases-api, running (a test that stopped it started it again)."""
    return cases_api


def _with_intake(
    settings: ReferralSettings, cases_url: str, identity_url: str, client: tuple[str, str]
) -> ReferralSettings:
    return settings.model_copy(
        update={
            "cases_api_url": cases_url,
            "token_url": f"{identity_url}/v1/oauth/token",
            "intake_client_id": client[0],
            "intake_client_secret": SecretStr(client[1]),
            # A retried message waits: a test brings it forward when it wants it again.
            "outbox_backoff_seconds": 60.0,
            "outbox_max_backoff_seconds": 120.0,
        }
    )


@pytest.fixture
async def handoff_app(
    referral_settings: ReferralSettings,
    live_cases: CasesApi,
    identity_url: str,
    intake_client: tuple[str, str],
) -> AsyncIterator[FastAPI]:
    """referral-api whose worker reaches cases-api with the intake client's token."""
    app = create_app(_with_intake(referral_settings, live_cases.url, identity_url, intake_client))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def service(handoff_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=handoff_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        yield client


@pytest.fixture
async def cases_db(postgres_admin_url: str) -> AsyncIterator[asyncpg.Connection]:
    url = urlsplit(postgres_admin_url)._replace(path="/cases").geturl()
    connection = await asyncpg.connect(url)
    try:
        yield connection
    finally:
        await connection.close()


async def _accepted(
    service: httpx.AsyncClient, people: Parties, superuser: asyncpg.Connection
) -> tuple[str, asyncpg.Record]:
    referral = await submit(
        service,
        people.referrer,
        people.recipient,
        consent=consent(["identity", "contact", "needs"]),
    )
    accepted = await step(service, people.manager, referral["id"], "accept")
    assert accepted.status_code == 200, accepted.text
    return referral["id"], await message_of(superuser, HANDOFF_TOPIC, referral["id"])


async def _cases_of(cases_db: asyncpg.Connection, referral_id: str) -> list[uuid.UUID]:
    rows = await cases_db.fetch(
        "SELECT id FROM case_file WHERE referral_id = $1", uuid.UUID(referral_id)
    )
    return [row["id"] for row in rows]


async def test_acceptance_opens_a_case_with_the_packets_identity(
    service: httpx.AsyncClient,
    handoff_app: FastAPI,
    live_cases: CasesApi,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
) -> None:
    people = parties(caller)
    referral_id, message = await _accepted(service, people, superuser)
    row = await deliver(handoff_app, superuser, message["id"])
    assert row["processed_at"] is not None, row["last_error"]

    mine = (await service.get(f"{REFERRALS}/{referral_id}", headers=people.manager.headers)).json()
    assert mine["case_id"] is not None
    assert mine["handed_off_at"] is not None
    theirs = await service.get(f"{REFERRALS}/{referral_id}", headers=people.referrer.headers)
    assert theirs.json()["case_id"] is None
    assert theirs.json()["beneficiary_id"] is None

    # The recipient's caseworker finds the case and the identity in cases-api.
    async with httpx.AsyncClient(base_url=live_cases.url) as cases:
        case = await cases.get(f"/v1/cases/{mine['case_id']}", headers=people.caseworker.headers)
        assert case.status_code == 200, case.text
        assert case.json()["referral_id"] == referral_id
        assert case.json()["referral_source"] == "police"
        assert case.json()["risk_level"] == "high"
        beneficiary = f"/v1/beneficiaries/{mine['beneficiary_id']}"
        identity = await cases.get(
            f"{beneficiary}/identity", params=PURPOSE, headers=people.caseworker.headers
        )
        assert identity.status_code == 200, identity.text
        person = identity.json()["identity"]
        assert person["family_names"] == PLANTED_FAMILY
        assert person["date_of_birth"] == PLANTED_BIRTH_DATE
        assert person["phone"] == PLANTED_CONTACT
        # The needs summary travelled (the consent covers `needs`); the risk one did not.
        notes = await cases.get(
            f"/v1/cases/{mine['case_id']}/notes", params=PURPOSE, headers=people.manager.headers
        )
        assert notes.status_code == 200, notes.text
        texts = [(note["category"], note["text"]) for note in notes.json()["items"]]
        assert texts == [("general", PLANTED_NEEDS)]
        assert PLANTED_RISK not in notes.text
        attributes = (await cases.get(beneficiary, headers=people.caseworker.headers)).json()
        assert (attributes["sex"], attributes["nationality"]) == ("female", "MK")
        # The police follow the referral, never the case.
        police = await cases.get(f"/v1/cases/{mine['case_id']}", headers=people.referrer.headers)
        assert police.status_code in (403, 404)

    timeline = await service.get(
        f"{REFERRALS}/{referral_id}/timeline", headers=people.referrer.headers
    )
    assert timeline.json()["items"][-1]["action"] == "handed-off"
    released = await superuser.fetchrow(
        "SELECT subject, field_groups FROM packet_disclosure WHERE referral_id = $1",
        uuid.UUID(referral_id),
    )
    assert released is not None
    assert (released["subject"], released["field_groups"]) == (
        "referral-api:intake",
        ["identity", "contact", "needs"],
    )
    purge = await message_of(superuser, "referral.purge", referral_id)
    assert purge["available_at"] - purge["created_at"] > timedelta(days=30) - timedelta(seconds=1)


async def test_a_second_delivery_after_a_crash_opens_no_second_case(
    service: httpx.AsyncClient,
    handoff_app: FastAPI,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    cases_db: asyncpg.Connection,
) -> None:
    people = parties(caller)
    referral_id, message = await _accepted(service, people, superuser)
    context = handoff_app.state.worker_context
    handler = build_handlers(context)[HANDOFF_TOPIC]
    payload = {"referral_id": referral_id, "organisation_id": str(people.recipient)}
    # cases-api opens the case; we crash before our commit (the transaction rolls back).
    async with context.sessionmaker() as session:
        await handler(session, message["id"], payload)
        await session.rollback()
    assert len(await _cases_of(cases_db, referral_id)) == 1
    lost = await service.get(f"{REFERRALS}/{referral_id}", headers=people.manager.headers)
    assert lost.json()["case_id"] is None

    row = await deliver(handoff_app, superuser, message["id"])
    assert row["processed_at"] is not None, row["last_error"]
    # Once more, committed: the case reference is already there, nothing is called.
    async with context.sessionmaker() as session, session.begin():
        await handler(session, message["id"], payload)
    cases = await _cases_of(cases_db, referral_id)
    assert len(cases) == 1
    read = await service.get(f"{REFERRALS}/{referral_id}", headers=people.manager.headers)
    assert read.json()["case_id"] == str(cases[0])


async def test_cases_api_down_means_later_not_never(
    service: httpx.AsyncClient,
    handoff_app: FastAPI,
    live_cases: CasesApi,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    cases_db: asyncpg.Connection,
) -> None:
    people = parties(caller)
    referral_id, message = await _accepted(service, people, superuser)
    live_cases.stop()
    try:
        row = await deliver(handoff_app, superuser, message["id"])
    finally:
        live_cases.start()
    assert row["processed_at"] is None
    assert row["dead_at"] is None
    assert row["attempts"] == 1
    assert row["last_error"] == "cases-api unreachable (ConnectError)"
    assert row["available_at"] > row["created_at"] + timedelta(seconds=30)
    assert await _cases_of(cases_db, referral_id) == []

    await make_due(superuser, message["id"])
    row = await deliver(handoff_app, superuser, message["id"])
    assert row["processed_at"] is not None, row["last_error"]
    assert len(await _cases_of(cases_db, referral_id)) == 1


async def test_an_intake_that_is_refused_is_dead_lettered_for_operators(
    referral_settings: ReferralSettings,
    live_cases: CasesApi,
    identity_url: str,
    external_issuer: TestIssuer,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
) -> None:
    """A client without the intake scope is refused its token: retrying cannot help."""
    client = await _intake_client(identity_url, external_issuer, [])
    app = create_app(_with_intake(referral_settings, live_cases.url, identity_url, client))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
            people = parties(caller)
            _, message = await _accepted(http, people, superuser)
            row = await deliver(app, superuser, message["id"])
    assert row["dead_at"] is not None
    assert row["last_error"] == "the intake client was refused a token (400)"


async def test_an_intake_refused_with_409_is_dead_lettered_at_once(
    service: httpx.AsyncClient,
    handoff_app: FastAPI,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    cases_db: asyncpg.Connection,
) -> None:
    """Another organisation's case holds the referral id: retrying cannot help."""
    people = parties(caller)
    referral_id, message = await _accepted(service, people, superuser)
    elsewhere = {
        "referral_id": referral_id,
        "organisation_id": str(uuid.uuid4()),
        "beneficiary": {"sex": "unknown", "is_child": False},
        "case": {"assistance_started_on": "2026-11-25"},
    }
    cases = handoff_app.state.worker_context.cases
    taken = await cases.post(INTAKE_PATH, json=elsewhere)
    assert taken.status_code == 201, taken.text

    row = await deliver(handoff_app, superuser, message["id"])
    assert row["dead_at"] is not None
    assert (row["attempts"], row["processed_at"]) == (1, None)
    assert row["last_error"] == "cases-api refused the intake (409)"
    assert await _cases_of(cases_db, referral_id) == [uuid.UUID(taken.json()["case_id"])]
    mine = await service.get(f"{REFERRALS}/{referral_id}", headers=people.manager.headers)
    assert (mine.json()["case_id"], mine.json()["handed_off_at"]) == (None, None)


async def test_without_an_intake_client_the_hand_off_waits(
    referrals: httpx.AsyncClient,
    referral_app: FastAPI,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
) -> None:
    people = parties(caller)
    _, message = await _accepted(referrals, people, superuser)
    row = await deliver(referral_app, superuser, message["id"])
    assert (row["processed_at"], row["dead_at"]) == (None, None)
    assert row["last_error"] == "intake not configured"
