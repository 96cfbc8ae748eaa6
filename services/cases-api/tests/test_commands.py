"""The operator's commands: first keys, purging old idempotency keys."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx

from baton.stack.databases import ServiceDatabase
from cases_factories import CallerFactory, beneficiary_body, run_command


def test_init_keys_creates_the_first_keys_and_never_replaces_one(
    tmp_path: Path, service_databases: dict[str, ServiceDatabase]
) -> None:
    env = {
        "CASES_DATABASE_URL": service_databases["cases"].runtime_url,
        "CASES_ENVIRONMENT": "production",
        "CASES_MASTER_KEYS_DIR": str(tmp_path / "master"),
        "CASES_BLIND_INDEX_KEY_FILE": str(tmp_path / "blind-index.key"),
    }
    code, first = run_command(["init-keys"], env)
    assert code == 0
    created = first["created"]
    assert isinstance(created, list)
    assert len(created) == 2
    assert "blind-index" in created
    keys = {path.name: path.read_bytes() for path in (tmp_path / "master").iterdir()}
    index_key = (tmp_path / "blind-index.key").read_bytes()
    assert (tmp_path / "blind-index.key").stat().st_mode & 0o777 == 0o600

    assert run_command(["init-keys"], env) == (0, {"created": []})
    assert {path.name: path.read_bytes() for path in (tmp_path / "master").iterdir()} == keys
    assert (tmp_path / "blind-index.key").read_bytes() == index_key


async def test_old_idempotency_keys_are_purged_and_fresh_ones_kept(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    service_databases: dict[str, ServiceDatabase],
) -> None:
    worker = caller("ngo", ["caseworker"])
    for key in ("old-key", "fresh-key"):
        response = await cases.post(
            "/v1/beneficiaries",
            json=beneficiary_body(),
            headers=worker.with_headers(idempotency_key=key),
        )
        assert response.status_code == 201
    await superuser.execute(
        "UPDATE idempotency_key SET created_at = now() - interval '25 hours' "
        "WHERE organisation_id = $1 AND key = 'old-key'",
        worker.org_id,
    )
    code, report = run_command(
        ["purge-idempotency-keys"],
        {"CASES_DATABASE_URL": service_databases["cases"].runtime_url},
    )
    assert code == 0
    purged = report["purged"]
    assert isinstance(purged, int)
    assert purged >= 1
    left = await superuser.fetch(
        "SELECT key FROM idempotency_key WHERE organisation_id = $1", worker.org_id
    )
    assert [row["key"] for row in left] == ["fresh-key"]
