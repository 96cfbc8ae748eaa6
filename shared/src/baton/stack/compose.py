"""Secrets for docker-compose: passwords and the URLs built from them, as files.

`make compose-secrets` writes them into `deploy/docker/secrets/` (never committed);
compose mounts each into the container that needs it, and the services read them
through `BATON_SECRETS_DIR`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from baton.stack.postgres import read_or_create_secret
from baton.stack.services import SERVICES

COMPOSE_DATABASE_HOST = "postgres:5432"


def write_compose_secrets(directory: Path) -> list[Path]:
    """Create every missing secret file; existing ones are kept. Returns all of them."""
    read_or_create_secret(directory / "postgres_superuser_password")
    written = [directory / "postgres_superuser_password"]
    for spec in SERVICES:
        prefix = spec.env_prefix.lower()
        logins = {
            f"{prefix}database_url": f"{spec.route}_app",
            f"{prefix}migration_database_url": f"{spec.route}_owner",
        }
        for url_name, role in logins.items():
            password = read_or_create_secret(directory / f"{role}_password")
            url_file = directory / url_name
            url_file.write_text(
                f"postgresql+asyncpg://{role}:{quote(password, safe='')}"
                f"@{COMPOSE_DATABASE_HOST}/{spec.route}"
            )
            written += [directory / f"{role}_password", url_file]
    # Filled by the operator once the hand-off's client exists (README, "Deploying"):
    # empty until then, so compose starts and referral-api keeps hand-offs waiting.
    # Likewise grants-api's statistics client: donor reports go without case figures.
    placeholders = (
        "referrals_intake_client_id",
        "referrals_intake_client_secret",
        "grants_stats_client_id",
        "grants_stats_client_secret",
    )
    for name in placeholders:
        placeholder = directory / name
        if not placeholder.exists():
            placeholder.write_text("")
        written.append(placeholder)
    # Compose bind-mounts each file as it is, and the containers run as their own
    # users: the files must be world-readable; the 0700 folder keeps the host's
    # other users out.
    directory.chmod(0o700)
    for path in written:
        path.chmod(0o644)
    return written
