"""Identities are unreadable without their keys: at rest, copied, rotated, erased."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from baton import crypto
from baton.settings import Environment
from baton.testing import app_client
from cases_api.commands import rewrap_all
from cases_api.config import CasesSettings
from cases_api.main import create_app
from cases_factories import (
    PLANTED_BIRTH_DATE,
    PLANTED_DOCUMENT,
    PLANTED_FAMILY,
    PLANTED_GIVEN,
    PLANTED_PHONE,
    CallerFactory,
    beneficiary_body,
    identity,
    new_beneficiary,
    new_case,
)
from family_factories import pg_dump

PURPOSE = {"purpose": "case_management"}


async def test_a_database_dump_holds_no_identity_in_plain_text(
    cases: httpx.AsyncClient, caller: CallerFactory, postgres_admin_url: str
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker, identity())
    await new_case(cases, worker, beneficiary["id"])
    dump = pg_dump(postgres_admin_url, "cases")
    assert str(beneficiary["id"]) in dump  # the dump does hold the records
    for planted in (
        PLANTED_GIVEN,
        PLANTED_FAMILY,
        PLANTED_BIRTH_DATE,
        PLANTED_PHONE,
        PLANTED_DOCUMENT,
        "Rruga e Durresit",
    ):
        assert planted not in dump, planted
        assert planted.lower() not in dump.lower(), planted


async def test_a_ciphertext_moved_to_another_record_does_not_decrypt(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    source = await new_beneficiary(cases, worker, identity())
    target = await new_beneficiary(cases, worker, identity(given="Other", family="Person"))
    # Key and ciphertext both copied: the associated data still binds them to `source`.
    await superuser.execute(
        "UPDATE beneficiary_key t SET master_key_id = s.master_key_id, wrapped_key = s.wrapped_key "
        "FROM beneficiary_key s WHERE s.beneficiary_id = $1 AND t.beneficiary_id = $2",
        uuid.UUID(source["id"]),
        uuid.UUID(target["id"]),
    )
    await superuser.execute(
        "UPDATE beneficiary_identity t SET ciphertext = s.ciphertext "
        "FROM beneficiary_identity s WHERE s.beneficiary_id = $1 AND t.beneficiary_id = $2",
        uuid.UUID(source["id"]),
        uuid.UUID(target["id"]),
    )
    response = await cases.get(
        f"/v1/beneficiaries/{target['id']}/identity", params=PURPOSE, headers=worker.headers
    )
    assert response.status_code == 500
    assert response.json()["code"] == "protected-data-integrity"
    assert PLANTED_FAMILY not in response.text
    intact = await cases.get(
        f"/v1/beneficiaries/{source['id']}/identity", params=PURPOSE, headers=worker.headers
    )
    assert intact.status_code == 200


async def test_erasure_destroys_the_key_and_keeps_the_statistics_inputs(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    manager = caller("ngo", ["case_manager"], org_id=worker.org_id)
    beneficiary = await new_beneficiary(cases, worker, identity())
    case = (await new_case(cases, worker, beneficiary["id"])).json()
    path = f"/v1/beneficiaries/{beneficiary['id']}"
    before = (await cases.get(path, headers=worker.headers)).json()
    beneficiary_uuid = uuid.UUID(beneficiary["id"])
    wrapped = await superuser.fetchrow(
        "SELECT master_key_id, wrapped_key FROM beneficiary_key WHERE beneficiary_id = $1",
        beneficiary_uuid,
    )
    assert wrapped is not None

    assert (await cases.delete(f"{path}/identity", headers=worker.headers)).status_code == 403
    erased = await cases.delete(f"{path}/identity", headers=manager.headers)
    assert erased.status_code == 204

    gone = await cases.get(f"{path}/identity", params=PURPOSE, headers=worker.headers)
    assert gone.status_code == 410
    assert gone.json()["code"] == "identity-erased"
    for table in ("beneficiary_key", "beneficiary_identity"):
        left = await superuser.fetchval(
            f"SELECT count(*) FROM {table} WHERE beneficiary_id = $1", beneficiary_uuid
        )
        assert left == 0, table
    after = (await cases.get(path, headers=worker.headers)).json()
    counted = ("sex", "birth_year", "is_child", "nationality", "countries_of_exploitation")
    assert {k: after[k] for k in counted} == {k: before[k] for k in counted}
    assert after["has_identity"] is False
    assert after["erased_at"] is not None
    assert (await cases.get(f"/v1/cases/{case['id']}", headers=worker.headers)).status_code == 200
    again = await cases.delete(f"{path}/identity", headers=manager.headers)
    assert again.status_code == 410
    auditor = caller("ngo", ["auditor"], org_id=worker.org_id)
    events = (
        await cases.get(
            "/v1/audit-events", params={"resource_id": beneficiary["id"]}, headers=auditor.headers
        )
    ).json()["items"]
    assert events[-1]["action"] == "identity.erase"


async def test_master_key_rotation_rewraps_every_data_key_without_downtime(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    cases_settings: CasesSettings,
    superuser: asyncpg.Connection,
) -> None:
    worker = caller("ngo", ["caseworker"])
    created = [await new_beneficiary(cases, worker, identity()) for _ in range(3)]
    old_key = crypto.MasterKeyRing.load(cases_settings.master_keys_dir).current_key_id

    new_key = crypto.MasterKeyRing.add_key(cases_settings.master_keys_dir)
    # The running service reads old and new keys alike while the re-wrap runs.
    for beneficiary in created:
        read = await cases.get(
            f"/v1/beneficiaries/{beneficiary['id']}/identity",
            params=PURPOSE,
            headers=worker.headers,
        )
        assert read.status_code == 200
    first = await rewrap_all(cases_settings, batch_size=2)
    assert first.rewrapped >= 3
    # A resumed run finds nothing left but what failed its integrity check before.
    again = await rewrap_all(cases_settings)
    assert (again.rewrapped, again.corrupt) == (0, first.corrupt)
    rows = await superuser.fetch("SELECT beneficiary_id, master_key_id FROM beneficiary_key")
    rewrapped = {row["master_key_id"] for row in rows if row["beneficiary_id"] not in first.corrupt}
    assert rewrapped == {new_key}

    # The old master key can go; everything still decrypts, in a freshly started service.
    (cases_settings.master_keys_dir / f"{old_key}.key").unlink()
    async with app_client(create_app(cases_settings)) as restarted:
        for beneficiary in created:
            read = await restarted.get(
                f"/v1/beneficiaries/{beneficiary['id']}/identity",
                params=PURPOSE,
                headers=worker.headers,
            )
            assert read.status_code == 200, read.text


async def test_without_master_keys_identity_access_fails_closed(
    cases_settings: CasesSettings, caller: CallerFactory, tmp_path: Path
) -> None:
    settings = cases_settings.model_copy(
        update={
            "environment": Environment.production,
            "master_keys_dir": tmp_path / "empty",
            "blind_index_key_file": tmp_path / "absent.key",
        }
    )
    worker = caller("ngo", ["caseworker"])
    async with app_client(create_app(settings)) as cases:
        refused = await cases.post(
            "/v1/beneficiaries", json=beneficiary_body(identity()), headers=worker.headers
        )
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "30"
        assert refused.json()["code"] == "protected-data-unavailable"
        # Nothing half-written, and work without identities goes on.
        assert (await cases.get("/v1/beneficiaries", headers=worker.headers)).json()["items"] == []
        plain = await cases.post(
            "/v1/beneficiaries", json=beneficiary_body(), headers=worker.headers
        )
        assert plain.status_code == 201
    assert not (tmp_path / "empty").exists()  # production never invents a key
    with pytest.raises(crypto.MasterKeyUnavailable):
        crypto.MasterKeyRing.load(tmp_path / "empty")
