"""Command line shared by the services: `python -m cases_api serve|migrate`."""

from __future__ import annotations

import argparse
import gc
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI

from baton.app import ServiceInfo
from baton.logs import configure_logging
from baton.settings import ServiceSettings, load_settings

logger = logging.getLogger("baton.server")


@dataclass(frozen=True)
class Command:
    """A service-specific command beside `serve` and `migrate`."""

    name: str
    help: str
    run: Callable[[Any, argparse.Namespace], None]  # (settings, parsed arguments)
    arguments: Callable[[argparse.ArgumentParser], None] | None = None


def main(
    info: ServiceInfo,
    settings_class: type[ServiceSettings],
    build_app: Callable[[ServiceSettings], FastAPI],
    argv: list[str] | None = None,
    extra_commands: Sequence[Command] = (),
) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {info.migrations.package}")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in extra_commands:
        command_parser = commands.add_parser(command.name, help=command.help)
        if command.arguments is not None:
            command.arguments(command_parser)
    serve = commands.add_parser("serve", help="serve the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, required=True)
    commands.add_parser("migrate", help="upgrade the service's database to the latest revision")
    args = parser.parse_args(argv)

    settings = load_settings(settings_class)
    configure_logging(info.name, settings.log_level)
    for command in extra_commands:
        if args.command == command.name:
            command.run(settings, args)
            return
    if args.command == "migrate":
        info.migrations.upgrade(settings.migrations_url)
        logger.info("database at head", extra={"heads": sorted(info.migrations.heads())})
        return
    app = build_app(settings)
    # What startup built lives as long as the process: out of the collector's sight, so a
    # full collection under load walks only what requests made (shorter pauses, lower p99).
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        # The gateway strips this prefix; the docs and OpenAPI `servers` put it back.
        root_path=settings.root_path,
        # Envoy keeps upstream connections open; outlive its idle timeout.
        timeout_keep_alive=75,
    )
