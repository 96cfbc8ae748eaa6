"""Secrets for docker-compose: passwords and the URLs built from them, as files.

`make compose-secrets` writes them into `deploy/docker/secrets/` (never committed);
compose mounts each into the container that needs it, and the services read them
through `BATON_SECRETS_DIR`. `deploy/docker/secrets.example.md` lists every one.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from baton.stack.postgres import read_or_create_secret
from baton.stack.services import SERVICES

COMPOSE_DATABASE_HOST = "postgres:5432"
# Relative to the checkout, as docker-compose.yml names it.
SECRETS_DIRECTORY = Path("deploy/docker/secrets")
# Generated passwords that are not a service's database login.
OTHER_PASSWORDS = (
    "postgres_superuser_password",
    # The admin console of the `oidc` profile's demo Keycloak.
    "keycloak_admin_password",
)
# Filled by the operator once the clients exist (README, "Deploying on one host"):
# empty until then, so compose starts; referral-api keeps hand-offs waiting and donor
# reports go without case figures.
OPERATOR_SECRETS = (
    "referrals_intake_client_id",
    "referrals_intake_client_secret",
    "grants_stats_client_id",
    "grants_stats_client_secret",
)


def write_compose_secrets(directory: Path) -> list[Path]:
    """Create every missing secret file; existing ones are kept. Returns all of them."""
    written = []
    for name in OTHER_PASSWORDS:
        read_or_create_secret(directory / name)
        written.append(directory / name)
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
    for name in OPERATOR_SECRETS:
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
