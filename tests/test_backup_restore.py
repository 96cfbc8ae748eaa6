"""A backup of every database restores into a fresh server and the data is whole there:
identities decrypt with their master keys and with no others, the audit chain holds,
and ownership, grants and row-level security are what the migrations made."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from baton import crypto
from baton.migrations import MigrationTree
from baton.settings import Environment
from baton.stack.__main__ import main as stack_main
from baton.stack.backup import MANIFEST, BackupRefused, Manifest, restore
from baton.stack.databases import ServiceDatabase, provision
from baton.stack.postgres import EmbeddedPostgres, postgres_bin_dir
from baton.stack.services import SERVICES, ServiceSpec
from baton.testing import (
    REPOSITORY_ROOT,
    app_client,
    login_connection,
    run_service_command,
    superuser_connection,
)
from baton.testing_issuer import TestIssuer, caller_factory
from cases_api.config import CasesSettings
from cases_api.main import create_app
from cases_factories import PLANTED_DOCUMENT, PLANTED_FAMILY, identity, new_beneficiary, new_case

PURPOSE = {"purpose": "case_management"}


@dataclass(frozen=True)
class Restored:
    """The session's databases after a cases-api write, backed up and restored elsewhere."""

    source_admin_url: str
    target: EmbeddedPostgres
    backup_dir: Path
    backup_output: str
    databases: dict[str, ServiceDatabase]  # the target installation's logins
    keys_dir: Path  # cases-api's keys of the source installation, restored beside the data
    organisation_id: uuid.UUID
    beneficiary_id: str
    # Rows per table of each database: on the source at the backup, on the target after
    # the restore (before the tests here read identities, which audits them).
    source_rows: dict[str, dict[str, int]]
    restored_rows: dict[str, dict[str, int]]


def cases_settings(
    database: ServiceDatabase,
    keys_dir: Path,
    issuer: TestIssuer,
    environment: Environment = Environment.test,
) -> CasesSettings:
    return CasesSettings.model_validate(
        {
            "database_url": database.runtime_url,
            "migration_database_url": database.migration_url,
            "trusted_issuers": [issuer.trusted.model_dump(mode="json")],
            "master_keys_dir": str(keys_dir / "master"),
            "blind_index_key_file": str(keys_dir / "blind-index.key"),
            "environment": environment,
        }
    )


def stack_command(*args: str) -> tuple[int, str]:
    """`python -m baton.stack <args>` in-process: its exit code and what it printed."""
    printed = io.StringIO()
    with redirect_stdout(printed):
        code = stack_main(list(args))
    return code, printed.getvalue()


async def _row_counts(admin_url: str, database: str) -> dict[str, int]:
    async with superuser_connection(admin_url, database) as connection:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        return {
            row["tablename"]: await connection.fetchval(
                f'SELECT count(*) FROM "{row["tablename"]}"'
            )
            for row in tables
        }


@pytest.fixture(scope="module")
async def restored(
    service_databases: dict[str, ServiceDatabase],
    postgres_admin_url: str,
    external_issuer: TestIssuer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Restored]:
    keys_dir = tmp_path_factory.mktemp("cases-keys")
    organisation_id = uuid.uuid4()
    worker = caller_factory(external_issuer)("ngo", ["caseworker"], org_id=organisation_id)
    source = cases_settings(service_databases["cases"], keys_dir, external_issuer)
    async with app_client(create_app(source)) as cases:
        beneficiary = await new_beneficiary(cases, worker, identity())
        await new_case(cases, worker, beneficiary["id"])

    backup_dir = tmp_path_factory.mktemp("backups") / "nightly"
    code, output = await asyncio.to_thread(
        stack_command, "backup", "--output", str(backup_dir), "--admin-url", postgres_admin_url
    )
    assert code == 0, output
    target = EmbeddedPostgres(tmp_path_factory.mktemp("fresh-postgres"))
    await asyncio.to_thread(target.start)
    try:
        secrets_dir = tmp_path_factory.mktemp("target-secrets")
        await asyncio.to_thread(
            restore, REPOSITORY_ROOT, target.admin_url(), backup_dir, secrets_dir
        )
        routes = [spec.route for spec in SERVICES]
        source_rows = {route: await _row_counts(postgres_admin_url, route) for route in routes}
        restored_rows = {route: await _row_counts(target.admin_url(), route) for route in routes}
        yield Restored(
            source_admin_url=postgres_admin_url,
            target=target,
            backup_dir=backup_dir,
            backup_output=output,
            # As `make run` provisions on every start (the passwords are the ones the
            # restore generated into `secrets_dir`).
            databases={
                spec.route: provision(REPOSITORY_ROOT, target.admin_url(), spec.route, secrets_dir)
                for spec in SERVICES
            },
            keys_dir=keys_dir,
            organisation_id=organisation_id,
            beneficiary_id=beneficiary["id"],
            source_rows=source_rows,
            restored_rows=restored_rows,
        )
    finally:
        await asyncio.to_thread(target.destroy)


def test_the_backup_holds_a_manifest_and_the_dumps_and_no_key(restored: Restored) -> None:
    files = {path.name for path in restored.backup_dir.iterdir()}
    assert files == {MANIFEST} | {f"{spec.route}.dump" for spec in SERVICES}
    manifest_text = (restored.backup_dir / MANIFEST).read_text()
    assert "NOT in this backup" in json.loads(manifest_text)["key_material"]
    manifest = Manifest.model_validate_json(manifest_text)
    for spec in SERVICES:
        assert {manifest.databases[spec.route].alembic_revision} == MigrationTree(
            spec.module
        ).heads()
    assert manifest.server_version.startswith("18")
    assert "THE KEYS ARE NOT IN THIS BACKUP" in restored.backup_output
    assert "CASES_MASTER_KEYS_DIR" in restored.backup_output
    keys = [path.read_text().strip() for path in (restored.keys_dir / "master").glob("*.key")]
    keys.append((restored.keys_dir / "blind-index.key").read_text().strip())
    for spec in SERVICES:
        # The dump as SQL text (custom dumps are compressed): neither key is in it.
        sql = subprocess.run(
            [
                str(postgres_bin_dir() / "pg_restore"),
                "--file=-",
                str(restored.backup_dir / f"{spec.route}.dump"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "CREATE TABLE" in sql
        for key in keys:
            assert key not in sql


async def test_the_identity_decrypts_with_its_master_keys_after_the_restore(
    restored: Restored, external_issuer: TestIssuer
) -> None:
    settings = cases_settings(restored.databases["cases"], restored.keys_dir, external_issuer)
    worker = caller_factory(external_issuer)("ngo", ["caseworker"], org_id=restored.organisation_id)
    async with app_client(create_app(settings)) as cases:
        read = await cases.get(
            f"/v1/beneficiaries/{restored.beneficiary_id}/identity",
            params=PURPOSE,
            headers=worker.headers,
        )
        assert read.status_code == 200, read.text
        assert read.json()["identity"]["family_names"] == PLANTED_FAMILY
        assert read.json()["identity"]["documents"][0]["number"] == PLANTED_DOCUMENT
        listed = await cases.get("/v1/cases", headers=worker.headers)
        assert [case["beneficiary_id"] for case in listed.json()["items"]] == [
            restored.beneficiary_id
        ]


async def test_another_installations_master_key_cannot_read_it(
    restored: Restored, external_issuer: TestIssuer, tmp_path: Path
) -> None:
    crypto.MasterKeyRing.add_key(tmp_path / "master")
    crypto.BlindIndex.load_or_create(tmp_path / "blind-index.key")
    settings = cases_settings(
        restored.databases["cases"], tmp_path, external_issuer, Environment.production
    )
    worker = caller_factory(external_issuer)("ngo", ["caseworker"], org_id=restored.organisation_id)
    async with app_client(create_app(settings)) as cases:
        # The record is there; its identity stays closed.
        found = await cases.get(
            f"/v1/beneficiaries/{restored.beneficiary_id}", headers=worker.headers
        )
        assert found.status_code == 200
        refused = await cases.get(
            f"/v1/beneficiaries/{restored.beneficiary_id}/identity",
            params=PURPOSE,
            headers=worker.headers,
        )
    assert refused.status_code == 503
    assert refused.json()["code"] == "protected-data-unavailable"
    assert PLANTED_FAMILY not in refused.text


def test_the_restored_audit_chain_verifies(restored: Restored) -> None:
    run = run_service_command(
        "cases_api",
        ["verify-audit"],
        {"CASES_DATABASE_URL": restored.databases["cases"].runtime_url},
    )
    assert (run.code, run.report["intact"]) == (0, True), run.stderr
    assert run.report["events_checked"] >= 2  # at least our beneficiary and its case


async def _catalog(admin_url: str, database: str) -> dict[str, list[tuple[Any, ...]]]:
    """Who owns what, who may do what, and row-level security, in `database`."""
    sorted_acl = "(SELECT array_agg(item::text ORDER BY item::text) FROM unnest({}) item)"
    queries = {
        "relations": "SELECT c.relname, c.relkind, pg_get_userbyid(c.relowner), "
        f"{sorted_acl.format('c.relacl')}, c.relrowsecurity, c.relforcerowsecurity "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' ORDER BY 1",
        "functions": "SELECT p.proname, pg_get_userbyid(p.proowner), p.prosecdef, "
        f"{sorted_acl.format('p.proacl')} FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1",
        "policies": "SELECT tablename, policyname, roles::text, cmd, qual, with_check "
        "FROM pg_policies WHERE schemaname = 'public' ORDER BY 1, 2",
        "triggers": "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger "
        "WHERE NOT tgisinternal ORDER BY 1, 2",
        "schema": f"SELECT pg_get_userbyid(nspowner), {sorted_acl.format('nspacl')} "
        "FROM pg_namespace WHERE nspname = 'public'",
        "default privileges": "SELECT pg_get_userbyid(defaclrole), defaclobjtype, "
        f"{sorted_acl.format('defaclacl')} FROM pg_default_acl ORDER BY 1, 2",
    }
    async with superuser_connection(admin_url, database) as connection:
        return {
            name: [tuple(row.values()) for row in await connection.fetch(query)]
            for name, query in queries.items()
        }


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.route)
async def test_ownership_grants_and_row_level_security_are_as_migrations_made_them(
    restored: Restored, spec: ServiceSpec
) -> None:
    source = await _catalog(restored.source_admin_url, spec.route)
    target = await _catalog(restored.target.admin_url(), spec.route)
    assert target == source
    owners = {row[2] for row in target["relations"]} | {row[1] for row in target["functions"]}
    assert owners == {f"{spec.route}_owner"}  # never the runtime role, never the superuser
    assert restored.restored_rows[spec.route] == restored.source_rows[spec.route]
    assert restored.restored_rows[spec.route]["alembic_version"] == 1


async def test_the_runtime_role_still_sees_no_row_without_its_organisation(
    restored: Restored,
) -> None:
    forced = {
        row[0]
        for row in (await _catalog(restored.target.admin_url(), "cases"))["relations"]
        if row[4] and row[5]
    }
    assert {"beneficiary", "beneficiary_identity", "beneficiary_key", "case_file"} <= forced
    async with login_connection(restored.databases["cases"].runtime_url) as runtime:
        assert await runtime.fetchval("SELECT count(*) FROM beneficiary") == 0
        assert not await runtime.fetchval(
            "SELECT relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) "
            "FROM pg_class WHERE relname = 'beneficiary'"
        )
    async with superuser_connection(restored.target.admin_url(), "cases") as superuser:
        assert await superuser.fetchval("SELECT count(*) FROM beneficiary") >= 1


async def _database_oids(admin_url: str) -> dict[str, int]:
    async with superuser_connection(admin_url, "postgres") as connection:
        rows = await connection.fetch("SELECT datname, oid FROM pg_database")
        return {row["datname"]: row["oid"] for row in rows}


async def test_a_tampered_backup_is_refused_before_anything_changes(
    restored: Restored, tmp_path: Path
) -> None:
    tampered = tmp_path / "tampered"
    shutil.copytree(restored.backup_dir, tampered)
    dump = tampered / "cases.dump"
    content = bytearray(dump.read_bytes())
    content[len(content) // 2] ^= 0xFF
    dump.write_bytes(bytes(content))
    before = await _database_oids(restored.target.admin_url())

    code, output = await asyncio.to_thread(
        stack_command,
        "restore",
        "--input",
        str(tampered),
        "--admin-url",
        restored.target.admin_url(),
        "--force",
    )
    assert code == 2
    assert "cases.dump does not match its SHA-256" in output
    # Even forced, no database was dropped or re-created.
    assert await _database_oids(restored.target.admin_url()) == before


async def test_a_restore_over_data_needs_force_and_keeps_the_logins_passwords(
    restored: Restored, tmp_path: Path
) -> None:
    target_url = restored.target.admin_url()
    before = await _database_oids(target_url)
    with pytest.raises(BackupRefused, match="not empty on the target server"):
        await asyncio.to_thread(restore, REPOSITORY_ROOT, target_url, restored.backup_dir, tmp_path)
    assert await _database_oids(target_url) == before

    elsewhere = tmp_path / "other-secrets"
    await asyncio.to_thread(
        restore, REPOSITORY_ROOT, target_url, restored.backup_dir, elsewhere, force=True
    )
    after = await _database_oids(target_url)
    assert all(after[spec.route] != before[spec.route] for spec in SERVICES)  # re-created
    # The target's logins kept their passwords: none was generated, the old ones work.
    assert not elsewhere.exists()
    for spec in SERVICES:
        database = restored.databases[spec.route]
        for url in (database.runtime_url, database.migration_url):
            async with login_connection(url) as connection:
                assert await connection.fetchval("SELECT current_database()") == spec.route
