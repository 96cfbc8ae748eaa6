"""`python -m baton.stack run` (what `make run` does) and helpers around it."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TextIO

from pydantic import TypeAdapter

from baton.auth import TrustedIssuer
from baton.stack.backup import run_backup, run_restore
from baton.stack.compose import SECRETS_DIRECTORY, write_compose_secrets
from baton.stack.gateway import container_layout, render
from baton.stack.personas import PersonaTokens, UnknownPersona, load_personas, request_token
from baton.stack.processes import ProcessDied
from baton.stack.runner import Stack, StackOptions


class _Interrupted(Exception):
    pass


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    raise _Interrupted(signum)


def say(text: str = "", *, stream: TextIO = sys.stdout) -> None:
    stream.write(text + "\n")
    stream.flush()


def run(options: StackOptions) -> int:
    stack = Stack(options)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGINT, _raise_interrupted)
    try:
        say("Starting PostgreSQL, migrating, starting the services and the gateway…")
        stack.start()
        say(f"\nBaton is up. Gateway: {stack.gateway_url}")
        for route in ("identity", "cases", "referrals", "grants"):
            say(f"  {stack.gateway_url}/{route}/healthz   {stack.gateway_url}/{route}/docs")
        say("Demo personas (client id and secret in .data/demo-clients.json); a token for one:")
        say("  make -s token PERSONA=caseworker    # or case-manager, other-ngo-caseworker,")
        say("                                      # referrer, grant-manager, donor-viewer,")
        say("                                      # auditor, platform-admin, and the")
        say("                                      # service clients referral-service,")
        say("                                      # grants-service")
        say(f"Logs: {stack.log_dir}/   Stop: Ctrl-C")
        while True:
            dead = stack.dead_process()
            if dead is not None:
                raise ProcessDied(dead)
            time.sleep(0.5)
    except _Interrupted:
        say("\nStopping…")
        return 0
    except ProcessDied as exc:
        say(f"\nA process died, so Baton is stopping.\n{exc}", stream=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()


def print_demo_token(credentials_file: Path, persona: str, gateway: str) -> int:
    """Client-credentials grant for a demo persona, through the gateway."""
    if not credentials_file.exists():
        say(f"{credentials_file} not found: start Baton with `make run` first.", stream=sys.stderr)
        return 2
    try:
        credentials = PersonaTokens(gateway, load_personas(credentials_file)).persona(persona)
    except UnknownPersona as exc:
        say(str(exc), stream=sys.stderr)
        return 2
    response = request_token(gateway, credentials)
    if response.status_code != 200:
        say(f"token request failed: {response.status_code} {response.text}", stream=sys.stderr)
        return 1
    say(response.json()["access_token"])
    return 0


_ISSUERS = TypeAdapter(list[TrustedIssuer])


def external_issuers_from_environment() -> list[TrustedIssuer]:
    """`BATON_EXTERNAL_ISSUERS`: a JSON list of trusted OIDC issuers, for gateway and services."""
    raw = os.environ.get("BATON_EXTERNAL_ISSUERS", "").strip()
    return _ISSUERS.validate_json(raw) if raw else []


def cors_origins_from_environment() -> list[str]:
    """`BATON_CORS_ORIGINS`: comma-separated frontend origins, e.g. `https://app.example.org`."""
    raw = os.environ.get("BATON_CORS_ORIGINS", "")
    return [origin.strip() for origin in raw.split(",") if origin.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baton.stack")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the Baton checkout")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="start everything and wait for Ctrl-C")
    run_parser.add_argument(
        "--port", type=int, default=int(os.environ.get("BATON_GATEWAY_PORT", "8080"))
    )
    config_parser = commands.add_parser(
        "gateway-config", help="print the Envoy configuration for docker-compose"
    )
    config_parser.add_argument("--output", type=Path)
    config_parser.add_argument(
        "--public-url",
        default="http://127.0.0.1:8080",
        help="where clients reach the gateway; tokens' issuer is <url>/identity",
    )
    token_parser = commands.add_parser(
        "token", help="print an access token for a demo persona (make run must be up)"
    )
    token_parser.add_argument(
        "persona", help="caseworker, case-manager, referrer, grant-manager, …"
    )
    token_parser.add_argument(
        "--gateway",
        default=f"http://127.0.0.1:{os.environ.get('BATON_GATEWAY_PORT', '8080')}",
    )
    secrets_parser = commands.add_parser(
        "compose-secrets", help="generate docker-compose's secret files (kept if present)"
    )
    secrets_parser.add_argument("--dir", type=Path, default=SECRETS_DIRECTORY)
    # A superuser URL in the environment rather than on a command line, where `ps` shows it.
    admin_url = os.environ.get("BATON_ADMIN_DATABASE_URL")
    admin_help = (
        "a superuser URL of the server (default: $BATON_ADMIN_DATABASE_URL, "
        "else make run's embedded PostgreSQL)"
    )
    backup_parser = commands.add_parser(
        "backup", help="dump every service database into a new folder (keys NOT included)"
    )
    backup_parser.add_argument("--output", type=Path, required=True, help="a new or empty folder")
    backup_parser.add_argument("--admin-url", default=admin_url, help=admin_help)
    restore_parser = commands.add_parser(
        "restore", help="restore a backup's databases (checksums first; keys NOT included)"
    )
    restore_parser.add_argument("--input", type=Path, required=True, help="a backup folder")
    restore_parser.add_argument("--admin-url", default=admin_url, help=admin_help)
    restore_parser.add_argument(
        "--secrets-dir",
        type=Path,
        help="where passwords of logins the server lacks are written (default: .data/secrets)",
    )
    restore_parser.add_argument(
        "--force", action="store_true", help="drop target databases that are not empty"
    )
    args = parser.parse_args(argv)

    root: Path = args.root.resolve()
    if args.command == "gateway-config":
        layout = container_layout(
            public_url=args.public_url,
            external_issuers=external_issuers_from_environment(),
            cors_origins=cors_origins_from_environment(),
        )
        rendered = render(root, layout)
        if args.output:
            args.output.write_text(rendered)
        else:
            sys.stdout.write(rendered)
        return 0
    if args.command == "compose-secrets":
        for path in write_compose_secrets(args.dir):
            say(str(path))
        return 0
    data_dir = Path(os.environ.get("BATON_DATA_DIR", root / ".data")).resolve()
    if args.command == "token":
        return print_demo_token(data_dir / "demo-clients.json", args.persona, args.gateway)
    if args.command == "backup":
        return run_backup(args.output.resolve(), args.admin_url, data_dir)
    if args.command == "restore":
        secrets_dir = args.secrets_dir or data_dir / "secrets"
        return run_restore(
            root, args.input.resolve(), args.admin_url, data_dir, secrets_dir, force=args.force
        )
    return run(
        StackOptions(
            root=root,
            data_dir=data_dir,
            gateway_port=args.port,
            external_issuers=external_issuers_from_environment(),
            cors_origins=cors_origins_from_environment(),
        )
    )


if __name__ == "__main__":
    sys.exit(main())
