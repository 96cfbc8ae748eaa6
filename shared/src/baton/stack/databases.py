"""Per-service databases and login roles, and where each service finds its own.

Embedded (or with an admin URL): each service gets a database named after its
route, owned by `<route>_owner` (migrations) and used at run time by `<route>_app`
(data access only). No role can connect to another service's database.
External (`DATABASE_URL` or `<PREFIX>DATABASE_URL`): nothing is created; the
given URLs are used as they are.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from baton.stack.postgres import postgres_bin_dir, read_or_create_secret
from baton.stack.services import SERVICES, ServiceSpec


@dataclass(frozen=True)
class ServiceDatabase:
    database: str
    runtime_url: str  # postgresql+asyncpg://..., the service's own login
    migration_url: str  # the schema owner's login


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


PROVISION_SQL = Path("deploy/postgres/provision.sql")


def libpq_environment(url: str, database: str | None = None) -> dict[str, str]:
    """What PostgreSQL's programs (psql, pg_dump, pg_restore) need to reach `url`, or
    `database` on its server: in the environment, since `ps` shows a command line."""
    parts = urlsplit(url)
    return {
        **os.environ,
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": unquote(parts.username or "postgres"),
        "PGPASSWORD": unquote(parts.password or ""),
        "PGDATABASE": database or parts.path.lstrip("/") or "postgres",
    }


def provision(root: Path, admin_url: str, database: str, secrets_dir: Path) -> ServiceDatabase:
    """Create (idempotently) one service's database, owner and runtime roles.

    Runs `deploy/postgres/provision.sql` with psql, as docker-compose's init does.
    """
    owner, runtime = f"{database}_owner", f"{database}_app"
    owner_password = read_or_create_secret(secrets_dir / f"{owner}.password")
    runtime_password = read_or_create_secret(secrets_dir / f"{runtime}.password")
    result = subprocess.run(
        [
            str(postgres_bin_dir() / "psql"),
            "--quiet",
            "--no-psqlrc",
            *("-v", f"db={database}", "-v", f"owner={owner}", "-v", f"app={runtime}"),
            "-f",
            str(root / PROVISION_SQL),
        ],
        env={
            **libpq_environment(admin_url),
            "BATON_OWNER_PASSWORD": owner_password,
            "BATON_APP_PASSWORD": runtime_password,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"provisioning {database} failed: {result.stderr}")
    base = _with_database(admin_url, database)
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
