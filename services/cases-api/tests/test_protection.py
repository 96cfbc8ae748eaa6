"""Identities are unreadable without their keys: at rest, copied, rotated, erased."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.exc import DBAPIError

from baton import crypto
from baton.settings import Environment
from baton.stack.databases import ServiceDatabase
from baton.testing import app_client
from cases_api.beneficiaries.models import BeneficiaryKey
from cases_api.commands import rewrap_all
from cases_api.config import CasesSettings
from cases_api.main import create_app
from cases_api.protection import IdentityVault
from cases_factories import (
    PLANTED,
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
    run_command,
)
from family_factories import PLANTED_NOTE, new_note, pg_dump

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


def _assert_closed(response: httpx.Response, status: int, code: str) -> None:
    """A problem with a stable code: no identity value, no trace, no plaintext fallback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert "Traceback" not in response.text
    for planted in PLANTED:
        assert planted not in response.text, planted


def _identity_reads(beneficiary_id: str) -> list[tuple[str, dict[str, str]]]:
    path = f"/v1/beneficiaries/{beneficiary_id}"
    return [(f"{path}/identity", PURPOSE), (path, {"include": "identity", **PURPOSE})]


@pytest.mark.parametrize("elsewhere", ["same organisation", "another organisation"])
async def test_a_ciphertext_moved_to_another_record_does_not_decrypt(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection, elsewhere: str
) -> None:
    worker = caller("ngo", ["caseworker"])
    insider = worker if elsewhere == "same organisation" else caller("ngo", ["caseworker"])
    source = await new_beneficiary(cases, worker, identity())
    target = await new_beneficiary(cases, insider, identity(given="Other", family="Person"))
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
    for path, params in _identity_reads(target["id"]):
        response = await cases.get(path, params=params, headers=insider.headers)
        _assert_closed(response, 500, "protected-data-integrity")
    intact = await cases.get(
        f"/v1/beneficiaries/{source['id']}/identity", params=PURPOSE, headers=worker.headers
    )
    assert intact.status_code == 200


async def test_a_ciphertext_of_another_kind_does_not_decrypt_under_the_same_key(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker, identity())
    case = (await new_case(cases, worker, beneficiary["id"])).json()
    note = await new_note(cases, worker, case["id"])
    # The note is sealed under the beneficiary's own data key: only the associated data
    # (what the ciphertext holds, for which row) tells it from the identity.
    await superuser.execute(
        "UPDATE beneficiary_identity i SET ciphertext = n.ciphertext "
        "FROM case_note n WHERE n.id = $1 AND i.beneficiary_id = $2",
        uuid.UUID(note["id"]),
        uuid.UUID(beneficiary["id"]),
    )
    for path, params in _identity_reads(beneficiary["id"]):
        response = await cases.get(path, params=params, headers=worker.headers)
        _assert_closed(response, 500, "protected-data-integrity")
        assert PLANTED_NOTE not in response.text


async def test_the_same_identity_is_never_sealed_the_same_way_twice(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    cases_settings: CasesSettings,
) -> None:
    worker = caller("ngo", ["caseworker"])
    twins = [uuid.UUID((await new_beneficiary(cases, worker, identity()))["id"]) for _ in range(2)]
    ciphertexts = [await _ciphertext(superuser, twin) for twin in twins]
    # The first record sealed again, with the very same identity.
    path = f"/v1/beneficiaries/{twins[0]}/identity"
    read = await cases.get(path, params=PURPOSE, headers=worker.headers)
    rewritten = await cases.put(
        path, json=identity(), headers=worker.with_headers(if_match=read.headers["etag"])
    )
    assert rewritten.status_code == 200, rewritten.text
    ciphertexts.append(await _ciphertext(superuser, twins[0]))

    assert len(set(ciphertexts)) == 3
    assert len({blob[1 : 1 + crypto.NONCE_BYTES] for blob in ciphertexts}) == 3  # fresh nonces
    # A data key of its own per record, not one per organisation or per identity.
    vault = IdentityVault(crypto.MasterKeyRing.load(cases_settings.master_keys_dir), None)
    rows = await superuser.fetch(
        "SELECT * FROM beneficiary_key WHERE beneficiary_id = ANY($1)", twins
    )
    data_keys = {
        vault.data_key(
            BeneficiaryKey(
                beneficiary_id=row["beneficiary_id"],
                organisation_id=row["organisation_id"],
                master_key_id=row["master_key_id"],
                wrapped_key=row["wrapped_key"],
            )
        )
        for row in rows
    }
    assert len(data_keys) == 2


async def _ciphertext(superuser: asyncpg.Connection, beneficiary_id: uuid.UUID) -> bytes:
    blob: bytes = await superuser.fetchval(
        "SELECT ciphertext FROM beneficiary_identity WHERE beneficiary_id = $1", beneficiary_id
    )
    return blob


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
    assert (again.rewrapped, again.skipped) == (0, first.skipped)
    rows = await superuser.fetch("SELECT beneficiary_id, master_key_id FROM beneficiary_key")
    rewrapped = {row["master_key_id"] for row in rows if row["beneficiary_id"] not in first.skipped}
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


async def test_an_interrupted_rotation_resumes_and_every_record_still_decrypts(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    cases_settings: CasesSettings,
    superuser: asyncpg.Connection,
    service_databases: dict[str, ServiceDatabase],
) -> None:
    # The lowest organisation id: its keys are the first that the rotation re-wraps.
    worker = caller("ngo", ["caseworker"], org_id=uuid.UUID(int=uuid.uuid4().int >> 32))
    created = [
        uuid.UUID((await new_beneficiary(cases, worker, identity()))["id"]) for _ in range(3)
    ]
    old_key = crypto.MasterKeyRing.load(cases_settings.master_keys_dir).current_key_id
    new_key = crypto.MasterKeyRing.add_key(cases_settings.master_keys_dir)

    async with _rotation_fails_after(superuser, rewrapped=2):
        with pytest.raises(DBAPIError, match="rotation interrupted"):
            await rewrap_all(cases_settings, batch_size=2)
    # The first batch was committed, the second rolled back with the fault.
    halfway = await _master_key_ids(superuser, created)
    assert sorted(halfway) == sorted([new_key, new_key, old_key])
    for beneficiary_id in created:
        read = await cases.get(
            f"/v1/beneficiaries/{beneficiary_id}/identity", params=PURPOSE, headers=worker.headers
        )
        assert read.status_code == 200, read.text

    # The operator runs the command again, as its help says.
    code, report = run_command(
        ["rotate-master-key", "--resume"],
        {
            "CASES_DATABASE_URL": service_databases["cases"].runtime_url,
            "CASES_MASTER_KEYS_DIR": str(cases_settings.master_keys_dir),
            "CASES_BLIND_INDEX_KEY_FILE": str(cases_settings.blind_index_key_file),
        },
    )
    assert report["rewrapped"] >= 1, report
    # Keys other tests left corrupt (or under a deleted master key) are reported, not fatal.
    assert code == (1 if report["corrupt"] or report["unavailable"] else 0), report
    assert await _master_key_ids(superuser, created) == [new_key] * 3

    # Without the old key, in a freshly started service, every record still opens.
    (cases_settings.master_keys_dir / f"{old_key}.key").unlink()
    async with app_client(create_app(cases_settings)) as restarted:
        for beneficiary_id in created:
            read = await restarted.get(
                f"/v1/beneficiaries/{beneficiary_id}/identity",
                params=PURPOSE,
                headers=worker.headers,
            )
            assert read.status_code == 200, read.text
            assert read.json()["identity"]["family_names"] == PLANTED_FAMILY


async def _master_key_ids(
    superuser: asyncpg.Connection, beneficiaries: list[uuid.UUID]
) -> list[str]:
    rows = await superuser.fetch(
        "SELECT master_key_id FROM beneficiary_key WHERE beneficiary_id = ANY($1)", beneficiaries
    )
    return [row["master_key_id"] for row in rows]


@asynccontextmanager
async def _rotation_fails_after(
    superuser: asyncpg.Connection, *, rewrapped: int
) -> AsyncIterator[None]:
    """A real fault underneath: the update of one key more than `rewrapped` fails.

    The count lives in a table, so a rolled-back batch does not count.
    """
    await superuser.execute("CREATE TABLE rewrap_fault (done integer NOT NULL)")
    await superuser.execute("INSERT INTO rewrap_fault VALUES (0)")
    await superuser.execute(
        f"""
        CREATE FUNCTION rewrap_fault() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
        BEGIN
            UPDATE rewrap_fault SET done = done + 1;
            IF (SELECT done FROM rewrap_fault) > {rewrapped} THEN
                RAISE EXCEPTION 'rotation interrupted';
            END IF;
            RETURN NEW;
        END $$
        """
    )
    await superuser.execute(
        "CREATE TRIGGER rewrap_fault BEFORE UPDATE ON beneficiary_key "
        "FOR EACH ROW EXECUTE FUNCTION rewrap_fault()"
    )
    try:
        yield
    finally:
        await superuser.execute("DROP TRIGGER rewrap_fault ON beneficiary_key")
        await superuser.execute("DROP FUNCTION rewrap_fault()")
        await superuser.execute("DROP TABLE rewrap_fault")


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


@pytest.mark.parametrize("ring", ["no master key at all", "not the record's master key"])
async def test_identity_reads_without_their_master_key_fail_closed(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    cases_settings: CasesSettings,
    tmp_path: Path,
    ring: str,
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker, identity())
    keys_dir = tmp_path / "master"
    if ring == "not the record's master key":
        crypto.MasterKeyRing.add_key(keys_dir)
    settings = cases_settings.model_copy(
        update={"environment": Environment.production, "master_keys_dir": keys_dir}
    )
    async with app_client(create_app(settings)) as keyless:
        for path, params in _identity_reads(beneficiary["id"]):
            response = await keyless.get(path, params=params, headers=worker.headers)
            _assert_closed(response, 503, "protected-data-unavailable")
            assert response.headers["retry-after"] == "30"
        # What needs no key is still served.
        plain = await keyless.get(f"/v1/beneficiaries/{beneficiary['id']}", headers=worker.headers)
        assert plain.status_code == 200
