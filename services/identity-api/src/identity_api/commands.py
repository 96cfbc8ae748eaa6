"""identity-api's own commands: key rotation, demo personas, the first administrator."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from baton.auth import OrgKind
from baton.authz import AUDIENCES
from baton.db import command_session
from baton.server import Command
from identity_api import demo
from identity_api.clients import service as client_service
from identity_api.clients.schemas import ClientCreate
from identity_api.config import IdentitySettings
from identity_api.organisations.models import Organisation
from identity_api.tokens.keys import KeyStore

logger = logging.getLogger("identity_api.commands")


def _rotate_key(settings: IdentitySettings, args: argparse.Namespace) -> None:
    keys = KeyStore(settings.signing_keys_dir, settings.signing_algorithm)
    delay = settings.key_activation_delay_seconds if args.delay is None else args.delay
    key = keys.add(activation_delay_seconds=delay)
    removed = keys.prune(settings.access_token_ttl_seconds, settings.token_leeway_seconds)
    logger.info(
        "signing key added",
        extra={"kid": key.kid, "activates_in_seconds": delay, "pruned": removed},
    )


def _withdraw_key(settings: IdentitySettings, args: argparse.Namespace) -> None:
    keys = KeyStore(settings.signing_keys_dir, settings.signing_algorithm)
    try:
        keys.withdraw(args.kid)
    except KeyError:
        raise SystemExit(f"no signing key {args.kid!r} in {settings.signing_keys_dir}") from None
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    # Verifiers drop it when their JWKS cache next refreshes (JWKS_CACHE_SECONDS).
    logger.warning("signing key withdrawn", extra={"kid": args.kid})


def _withdraw_key_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kid", help="the key id (the `kid` of its tokens, its file name)")


def _rotate_key_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--delay", type=int, help="seconds before it signs (default: configured)")


async def _with_session(settings: IdentitySettings, work: Any) -> Any:
    async with command_session(settings, "identity-api-command") as session:
        return await work(session)


def _seed_demo(settings: IdentitySettings, args: argparse.Namespace) -> None:
    credentials = asyncio.run(_with_session(settings, demo.seed))
    demo.write_credentials(args.output, credentials)
    logger.info(
        "demo personas ready", extra={"personas": sorted(credentials), "file": str(args.output)}
    )


def _seed_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, required=True)


def _bootstrap_admin(settings: IdentitySettings, args: argparse.Namespace) -> None:
    async def work(session: Any) -> dict[str, str]:
        organisation = Organisation(
            name=args.organisation, kind=OrgKind.platform, country=args.country
        )
        session.add(organisation)
        await session.flush()
        issued = await client_service.create(
            session,
            organisation,
            ClientCreate(
                organisation_id=organisation.id,
                name="Platform administrator",
                roles=["platform_admin"],
                audiences=sorted(AUDIENCES),
            ),
        )
        return {"client_id": issued.client.client_id, "client_secret": issued.secret}

    # Printed once, to the operator's terminal; never logged.
    sys.stdout.write(json.dumps(asyncio.run(_with_session(settings, work))) + "\n")


def _bootstrap_admin_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--organisation", required=True, help="name of the operating organisation")
    parser.add_argument("--country", required=True, help="ISO 3166-1 alpha-2")


COMMANDS = (
    Command(
        "rotate-key",
        "add a signing key (published now, signing after the delay)",
        _rotate_key,
        _rotate_key_arguments,
    ),
    Command(
        "withdraw-key",
        "remove a compromised signing key now; tokens it signed are refused",
        _withdraw_key,
        _withdraw_key_arguments,
    ),
    Command(
        "seed-demo", "create the demo organisations and clients", _seed_demo, _seed_demo_arguments
    ),
    Command(
        "bootstrap-admin",
        "create the platform organisation and a platform_admin client; prints its secret once",
        _bootstrap_admin,
        _bootstrap_admin_arguments,
    ),
)
