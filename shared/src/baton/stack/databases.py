"""Per-service databases and login roles, and where each service finds its own.

Embedded (or with an admin URL): each service gets a database named after its
route, owned by `<route>_owner` (migrations) and used at run time by `<route>_app`
(data access only). No role can connect to another service's database.
External (`DATABASE_URL` or `<PREFIX>DATABASE_URL`): nothing is created; the
given URLs are used as they are.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from baton.stack.postgres import read_or_create_secret
from baton.stack.services import SERVICES, ServiceSpec


@dataclass(frozen=True)
class ServiceDatabase:
    database: str
    runtime_url: str  # postgresql+asyncpg://..., the service's own login
    migration_url: str  # the schema owner's login


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def asyncpg_url(url: str) -> str:
    """The SQLAlchemy form of a PostgreSQL URL (driver `asyncpg`)."""
    parts = urlsplit(url)
    scheme = "postgresql+asyncpg" if parts.scheme in {"postgres", "postgresql"} else parts.scheme
    return urlunsplit(parts._replace(scheme=scheme))


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _with_login(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


async def _ensure_role(connection: asyncpg.Connection, role: str, password: str) -> None:
    exists = await connection.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    verb = "ALTER" if exists else "CREATE"
    await connection.execute(
        f"{verb} ROLE {_quote_ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
        f"NOBYPASSRLS PASSWORD {_quote_literal(password)}"
    )


async def provision(
    admin_url: str, database: str, secrets_dir: Path, *, public_url: str | None = None
) -> ServiceDatabase:
    """Create (idempotently) one service's database, owner and runtime roles.

    `public_url` is where services reach the server if not at `admin_url`'s address.
    """
    owner, runtime = f"{database}_owner", f"{database}_app"
    owner_password = read_or_create_secret(secrets_dir / f"{owner}.password")
    runtime_password = read_or_create_secret(secrets_dir / f"{runtime}.password")
    db = _quote_ident(database)
    admin = await asyncpg.connect(admin_url)
    try:
        await _ensure_role(admin, owner, owner_password)
        await _ensure_role(admin, runtime, runtime_password)
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await admin.execute(f"CREATE DATABASE {db} OWNER {_quote_ident(owner)}")
        # CONNECT is granted to PUBLIC by default: take it back everywhere.
        for shared_db in ("postgres", "template1"):
            await admin.execute(f"REVOKE CONNECT ON DATABASE {_quote_ident(shared_db)} FROM PUBLIC")
        await admin.execute(f"REVOKE ALL ON DATABASE {db} FROM PUBLIC")
        await admin.execute(
            f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {_quote_ident(owner)}, "
            f"{_quote_ident(runtime)}"
        )
    finally:
        await admin.close()

    in_database = await asyncpg.connect(_with_database(admin_url, database))
    try:
        await in_database.execute(
            f"""
            REVOKE ALL ON SCHEMA public FROM PUBLIC;
            ALTER SCHEMA public OWNER TO {_quote_ident(owner)};
            GRANT USAGE ON SCHEMA public TO {_quote_ident(runtime)};
            ALTER DEFAULT PRIVILEGES FOR ROLE {_quote_ident(owner)} IN SCHEMA public
                GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {_quote_ident(runtime)};
            ALTER DEFAULT PRIVILEGES FOR ROLE {_quote_ident(owner)} IN SCHEMA public
                GRANT USAGE, SELECT ON SEQUENCES TO {_quote_ident(runtime)};
            """
        )
    finally:
        await in_database.close()

    base = _with_database(public_url or admin_url, database)
    return ServiceDatabase(
        database=database,
        runtime_url=asyncpg_url(_with_login(base, runtime, runtime_password)),
        migration_url=asyncpg_url(_with_login(base, owner, owner_password)),
    )


def external_database(
    spec: ServiceSpec, environ: Mapping[str, str] = os.environ
) -> ServiceDatabase:
    """The URLs of a server Baton was pointed at, for one service; creates nothing.

    `<PREFIX>DATABASE_URL` wins; else `DATABASE_URL` with the service's database name.
    """
    own = environ.get(f"{spec.env_prefix}DATABASE_URL")
    shared = environ.get("DATABASE_URL")
    if own is None and shared is None:
        raise KeyError(f"neither {spec.env_prefix}DATABASE_URL nor DATABASE_URL is set")
    runtime = asyncpg_url(own if own is not None else _with_database(str(shared), spec.route))
    migration = environ.get(f"{spec.env_prefix}MIGRATION_DATABASE_URL")
    return ServiceDatabase(
        database=urlsplit(runtime).path.lstrip("/"),
        runtime_url=runtime,
        migration_url=asyncpg_url(migration) if migration else runtime,
    )


def uses_external_server(environ: Mapping[str, str] = os.environ) -> bool:
    """True when Baton was pointed at a server, so the embedded one must not start."""
    return "DATABASE_URL" in environ or any(
        f"{spec.env_prefix}DATABASE_URL" in environ for spec in SERVICES
    )
