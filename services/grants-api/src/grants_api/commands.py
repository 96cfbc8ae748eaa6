"""grants-api's own commands: the demo programme, purging expired idempotency keys."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from baton import idempotency
from baton.db import Database
from baton.server import Command
from grants_api.config import GrantsSettings
from grants_api.demo.load import LoadReport, load_demo
from grants_api.grants.models import IdempotencyKey


async def _seed(settings: GrantsSettings) -> LoadReport:
    database = Database(settings, application_name="grants-api-seed-demo")
    try:
        return await load_demo(database.sessionmaker, settings)
    finally:
        await database.dispose()


def _run_seed_demo(settings: GrantsSettings, _: argparse.Namespace) -> None:
    report = asyncio.run(_seed(settings))
    summary = {
        "programmes_added": report.programmes,
        "grants_added": report.grants,
        "funding_years_added": report.funding_years,
    }
    sys.stdout.write(json.dumps(summary) + "\n")


COMMANDS = (
    idempotency.purge_command(IdempotencyKey, "grants-api"),
    Command(
        "seed-demo",
        "load the demo programme: grants, money flows, reports, funding mix (once; fixed seed)",
        _run_seed_demo,
    ),
)
