"""Backups of every service database, and their restore into a server (a fresh one, say).

A backup is a folder: a `pg_dump --format=custom` file per service database and
`manifest.json` (when, which server, each file's SHA-256, each database's Alembic
revision). It holds NO key material: the master, blind-index and signing keys live
in files outside PostgreSQL and are backed up separately, and kept apart (whoever
holds both can read every identity).

A restore checks every checksum first, refuses to write over a database that holds
anything (unless forced), provisions the roles and databases with the same code as
`make run`, and restores each dump as its schema owner (`pg_restore --no-owner
--role=<route>_owner`): the owner owns everything and the runtime role nothing, as
after migrations. Logins that already exist keep their passwords.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from baton.stack.databases import libpq_environment, provision
from baton.stack.postgres import EmbeddedPostgres, postgres_bin_dir, read_or_create_secret
from baton.stack.services import SERVICES

MANIFEST = "manifest.json"
KEYS_NOT_INCLUDED = (
    "NOT in this backup: identity-api's signing keys, cases-api's master keys and "
    "blind-index key, referral-api's master keys. Back them up separately."
)
# The key files each installation must back up beside the databases (variable, `make run`
# path under the data folder, docker-compose volume).
KEY_LOCATIONS = (
    ("identity-api signing keys", "IDENTITY_SIGNING_KEYS_DIR", "signing-keys", "signing-keys"),
    ("cases-api master keys", "CASES_MASTER_KEYS_DIR", "cases-keys/master", "cases-keys"),
    (
        "cases-api blind-index key",
        "CASES_BLIND_INDEX_KEY_FILE",
        "cases-keys/blind-index.key",
        "cases-keys",
    ),
    (
        "referral-api master keys",
        "REFERRALS_MASTER_KEYS_DIR",
        "referrals-keys/master",
        "referrals-keys",
    ),
)


# Dumped one after the other, each consistent on its own. referral-api hands accepted
# referrals to cases-api through its outbox, so it goes first: a hand-off in flight is sent
# again after a restore, and cases-api's intake (idempotent on the referral id) opens no
# second case.
DUMP_ORDER = ("identity", "referrals", "cases", "grants")
assert set(DUMP_ORDER) == {spec.route for spec in SERVICES}


class BackupRefused(Exception):
    """Nothing was changed; the message tells the operator why."""


class BackupFailed(Exception):
    """A PostgreSQL program failed part-way; the message holds its error."""


class DatabaseDump(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    sha256: str
    size_bytes: int
    alembic_revision: str | None


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["baton-backup/1"] = "baton-backup/1"
    created_at: datetime
    server_version: str
    pg_dump_version: str
    key_material: str = KEYS_NOT_INCLUDED
    databases: dict[str, DatabaseDump]


def dump_file_name(database: str) -> str:
    return f"{database}.dump"


def _run(program: str, *args: str, env: dict[str, str], stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(postgres_bin_dir() / program), *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise BackupFailed(f"{program} exited with {result.returncode}: {result.stderr[-2000:]}")
    return result.stdout.strip()


def _query(admin_url: str, database: str, sql: str, **variables: str) -> str:
    """One value from `sql` run by psql on `database` (`:'name'` takes a variable)."""
    settings = [f"{name}={value}" for name, value in variables.items()]
    return _run(
        "psql",
        "--no-psqlrc",
        "--quiet",
        "--tuples-only",
        "--no-align",
        *(arg for setting in settings for arg in ("-v", setting)),
        "-v",
        "ON_ERROR_STOP=1",
        "--file=-",
        env=libpq_environment(admin_url, database),
        stdin=sql,
    )


def alembic_revision(admin_url: str, database: str) -> str | None:
    present = _query(
        admin_url, database, "SELECT to_regclass('public.alembic_version') IS NOT NULL"
    )
    if present != "t":
        return None
    revision = _query(
        admin_url,
        database,
        "SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version",
    )
    return revision or None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def back_up(admin_url: str, output: Path) -> Manifest:
    """Dump every service database into `output` (new or empty) and write the manifest."""
    if output.exists() and any(output.iterdir()):
        raise BackupRefused(f"{output} is not empty: a backup never replaces another")
    # Pseudonymous case data is still sensitive: the folder and files are private.
    output.mkdir(parents=True, exist_ok=True)
    output.chmod(0o700)
    dumps: dict[str, DatabaseDump] = {}
    for database in DUMP_ORDER:
        path = output / dump_file_name(database)
        revision = alembic_revision(admin_url, database)
        _run(
            "pg_dump",
            "--format=custom",
            f"--file={path}",
            env=libpq_environment(admin_url, database),
        )
        path.chmod(0o600)
        dumps[database] = DatabaseDump(
            file=path.name,
            sha256=_sha256(path),
            size_bytes=path.stat().st_size,
            alembic_revision=revision,
        )
    manifest = Manifest(
        created_at=datetime.now(UTC),
        server_version=_query(admin_url, "postgres", "SHOW server_version"),
        pg_dump_version=_run("pg_dump", "--version", env=dict(os.environ)),
        databases=dumps,
    )
    # Written last: a folder without a manifest is an unfinished backup.
    manifest_path = output / MANIFEST
    manifest_path.write_text(manifest.model_dump_json(indent=2) + "\n")
    manifest_path.chmod(0o600)
    return manifest


def verify_backup(source: Path) -> Manifest:
    """The manifest, once every dump it names is present with its recorded checksum."""
    try:
        manifest = Manifest.model_validate_json((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupRefused(f"no {MANIFEST} in {source}: not a finished Baton backup") from None
    except ValidationError as exc:
        raise BackupRefused(f"{source / MANIFEST} is not a Baton backup manifest: {exc}") from None
    known = {spec.route for spec in SERVICES}
    for database, dump in manifest.databases.items():
        # Names come from the manifest: only our databases, only files inside the folder.
        if database not in known or dump.file != dump_file_name(database):
            raise BackupRefused(f"the manifest names an unknown database or file: {database}")
        path = source / dump.file
        if not path.is_file():
            raise BackupRefused(f"{path} is missing")
        if _sha256(path) != dump.sha256:
            raise BackupRefused(f"{path} does not match its SHA-256 in the manifest")
    return manifest


def holds_anything(admin_url: str, database: str) -> bool:
    """True if `database` exists with any table, sequence, function, type or schema of
    its own (a freshly provisioned database holds none)."""
    exists = _query(
        admin_url, "postgres", "SELECT count(*) FROM pg_database WHERE datname = :'db'", db=database
    )
    if exists == "0":
        return False
    user_schema = "nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_'"
    objects = _query(
        admin_url,
        database,
        f"""
        SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE {user_schema})
             + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE {user_schema})
             + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                 WHERE {user_schema} AND t.typtype IN ('e', 'd', 'r', 'm'))
             + (SELECT count(*) FROM pg_namespace WHERE {user_schema} AND nspname <> 'public')
        """,
    )
    return objects != "0"


def _stored_verifier(admin_url: str, role: str) -> str | None:
    verifier = _query(
        admin_url,
        "postgres",
        "SELECT rolpassword FROM pg_authid WHERE rolname = :'role'",
        role=role,
    )
    return verifier or None


def provision_keeping_passwords(
    root: Path, admin_url: str, database: str, secrets_dir: Path
) -> None:
    """`provision`, except that a login that exists keeps its password.

    provision.sql sets each role's password. A role that exists is given its own
    stored SCRAM verifier, which PostgreSQL keeps as it is: the target installation's
    services log in as before. A new role gets the password in `secrets_dir`
    (generated there if absent), as `make run` would.
    """
    with tempfile.TemporaryDirectory(prefix="baton-restore-") as kept:
        for role in (f"{database}_owner", f"{database}_app"):
            password = _stored_verifier(admin_url, role) or read_or_create_secret(
                secrets_dir / f"{role}.password"
            )
            fd = os.open(Path(kept) / f"{role}.password", os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(password)
        provision(root, admin_url, database, Path(kept))


def restore(
    root: Path, admin_url: str, source: Path, secrets_dir: Path, *, force: bool = False
) -> Manifest:
    """Restore every database of the backup in `source` into the server of `admin_url`.

    Nothing is changed unless every checksum matches and every target database is
    empty or absent (or `force`: then they are dropped first, their sessions ended).
    """
    manifest = verify_backup(source)
    occupied = [name for name in manifest.databases if holds_anything(admin_url, name)]
    if occupied and not force:
        raise BackupRefused(
            f"not empty on the target server: {', '.join(occupied)}; nothing was restored "
            "(--force drops them first)"
        )
    for database, dump in manifest.databases.items():
        if database in occupied:
            _query(admin_url, "postgres", 'DROP DATABASE :"db" WITH (FORCE)', db=database)
        provision_keeping_passwords(root, admin_url, database, secrets_dir)
        _run(
            "pg_restore",
            "--no-owner",
            f"--role={database}_owner",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={database}",
            str(source / dump.file),
            env=libpq_environment(admin_url, database),
        )
        restored_revision = alembic_revision(admin_url, database)
        if restored_revision != dump.alembic_revision:
            raise BackupFailed(
                f"{database} restored at revision {restored_revision}, "
                f"the manifest says {dump.alembic_revision}"
            )
    return manifest


@contextmanager
def embedded_server(data_dir: Path, *, for_restore: bool) -> Iterator[str]:
    """The admin URL of `make run`'s PostgreSQL in `data_dir`, started for the command
    if it is not running (and created, for a restore into a new installation)."""
    server = EmbeddedPostgres(data_dir / "postgres")
    if server.is_running():
        if for_restore:
            raise BackupRefused("Baton's PostgreSQL is running: stop `make run` before a restore")
        # The fourth line of postmaster.pid is the port it listens on.
        server.port = int((server.pgdata / "postmaster.pid").read_text().splitlines()[3])
        yield server.admin_url()
        return
    if not for_restore and not (server.pgdata / "PG_VERSION").exists():
        raise BackupRefused(f"no PostgreSQL in {server.data_dir}: nothing to back up")
    server.start()
    try:
        yield server.admin_url()
    finally:
        server.stop()


def _tell(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _tell_where_keys_live(data_dir: Path) -> None:
    for what, variable, local, volume in KEY_LOCATIONS:
        _tell(f"  {what:27} {variable:28} {data_dir / local}  (compose volume {volume})")


def _where(admin_url: str) -> str:
    parts = urlsplit(admin_url)
    return f"{parts.hostname}:{parts.port or 5432}"


def run_backup(output: Path, admin_url: str | None, data_dir: Path) -> int:
    """`python -m baton.stack backup`: exit 0, 1 (a program failed) or 2 (refused)."""
    try:
        if admin_url:
            manifest = back_up(admin_url, output)
        else:
            with embedded_server(data_dir, for_restore=False) as embedded_url:
                manifest = back_up(embedded_url, output)
    except BackupRefused as exc:
        _tell(f"Backup refused: {exc}")
        return 2
    except BackupFailed as exc:
        _tell(f"Backup failed: {exc}")
        return 1
    for name, dump in manifest.databases.items():
        _tell(f"{name:10} {dump.file:16} {dump.size_bytes:>12} bytes  {dump.alembic_revision}")
    _tell(f"Backed up into {output} (PostgreSQL {manifest.server_version}; {MANIFEST}).")
    _tell()
    _tell("!!! THE KEYS ARE NOT IN THIS BACKUP !!!")
    _tell("Identities, case notes, person packets and webhook secrets are encrypted under")
    _tell("keys kept in files, not in PostgreSQL. Without them this backup cannot be read.")
    _tell("Back them up separately, and store them apart from the database backups:")
    _tell_where_keys_live(data_dir)
    return 0


def run_restore(
    root: Path,
    source: Path,
    admin_url: str | None,
    data_dir: Path,
    secrets_dir: Path,
    *,
    force: bool,
) -> int:
    """`python -m baton.stack restore`: exit 0, 1 (a program failed) or 2 (refused)."""
    try:
        if admin_url:
            manifest = restore(root, admin_url, source, secrets_dir, force=force)
            target = _where(admin_url)
        else:
            with embedded_server(data_dir, for_restore=True) as embedded_url:
                manifest = restore(root, embedded_url, source, secrets_dir, force=force)
            target = f"the embedded PostgreSQL in {data_dir / 'postgres'}"
    except BackupRefused as exc:
        _tell(f"Restore refused: {exc}")
        return 2
    except BackupFailed as exc:
        _tell(f"Restore failed: {exc}")
        return 1
    for name, dump in manifest.databases.items():
        _tell(f"{name:10} restored at revision {dump.alembic_revision}")
    _tell(f"Restored the backup of {manifest.created_at:%Y-%m-%d %H:%M} UTC into {target}.")
    _tell(f"Existing logins kept their passwords; new ones are in {secrets_dir}.")
    _tell()
    _tell("!!! THE KEYS WERE NOT RESTORED !!!")
    _tell("Put the key folders back from their own backup before starting the services")
    _tell("(without the master keys no identity can be read), then run each service's")
    _tell("`migrate` (make run does):")
    _tell_where_keys_live(data_dir)
    return 0
