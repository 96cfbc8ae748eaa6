"""referral-api's operator commands: the first master key (never a replacement), and
purging idempotency keys once their published period is over."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import httpx

from baton.stack.databases import ServiceDatabase
from baton.testing import run_service_command
from baton.testing_issuer import CallerFactory
from referral_factories import REFERRALS, parties, referral_body


def test_init_keys_creates_the_first_master_key_only_once(
    tmp_path: Path, service_databases: dict[str, ServiceDatabase]
) -> None:
    env = {
        "REFERRALS_DATABASE_URL": service_databases["referrals"].runtime_url,
        "REFERRALS_ENVIRONMENT": "production",
        "REFERRALS_MASTER_KEYS_DIR": str(tmp_path / "master"),
    }

    def init_keys() -> list[str]:
        run = run_service_command("referral_api", ["init-keys"], env)
        assert run.code == 0, run.stderr
        created: list[str] = run.report["created"]
        return created

    first = init_keys()
    assert len(first) == 1
    key_file = tmp_path / "master" / f"{first[0]}.key"
    content = key_file.read_bytes()
    assert init_keys() == []
    assert key_file.read_bytes() == content
    assert sorted(p.name for p in (tmp_path / "master").glob("*.key")) == [key_file.name]


async def test_expired_idempotency_keys_are_purged_and_live_ones_kept(
    referrals: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    service_databases: dict[str, ServiceDatabase],
) -> None:
    people = parties(caller)
    old, fresh = f"old-{uuid.uuid4()}", f"fresh-{uuid.uuid4()}"
    for key in (old, fresh):
        response = await referrals.post(
            REFERRALS,
            json=referral_body(people.recipient),
            headers=people.referrer.with_headers(idempotency_key=key),
        )
        assert response.status_code == 201, response.text
    # 23 hours is inside the published 24: such a key must survive any purge.
    await superuser.execute(
        "UPDATE idempotency_key SET created_at = now() - CASE key WHEN $2 THEN interval "
        "'25 hours' ELSE interval '23 hours' END WHERE organisation_id = $1",
        people.referrer.org_id,
        old,
    )
    env = {"REFERRALS_DATABASE_URL": service_databases["referrals"].runtime_url}

    too_short = run_service_command("referral_api", ["purge-idempotency-keys", "--hours", "1"], env)
    assert too_short.code != 0
    assert "at least 24" in too_short.stderr

    run = run_service_command("referral_api", ["purge-idempotency-keys"], env)
    assert run.code == 0, run.stderr
    assert run.report["purged"] >= 1
    left = await superuser.fetch(
        "SELECT key FROM idempotency_key WHERE organisation_id = $1", people.referrer.org_id
    )
    assert [row["key"] for row in left] == [fresh]
