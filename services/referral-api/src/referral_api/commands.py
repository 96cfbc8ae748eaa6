"""referral-api's own commands: the first master key, the demo directory and referrals,
purging expired idempotency keys."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from baton import idempotency
from baton.db import Database
from baton.server import Command
from baton.vault import ensure_master_key
from referral_api.config import ReferralSettings
from referral_api.demo.load import LoadReport, load_demo
from referral_api.main import open_vault
from referral_api.referrals.models import IdempotencyKey


async def _seed(settings: ReferralSettings) -> LoadReport:
    database = Database(settings, application_name="referral-api-seed-demo")
    try:
        return await load_demo(database.sessionmaker, open_vault(settings), settings)
    finally:
        await database.dispose()


def _run_seed_demo(settings: ReferralSettings, _: argparse.Namespace) -> None:
    report = asyncio.run(_seed(settings))
    summary = {"providers_added": report.providers, "referrals_added": report.referrals}
    sys.stdout.write(json.dumps(summary) + "\n")


def _run_init_keys(settings: ReferralSettings, _: argparse.Namespace) -> None:
    """The first master key of packets and webhook secrets, if there is none (never replaced)."""
    created = ensure_master_key(settings.master_keys_dir)
    sys.stdout.write(json.dumps({"created": [created] if created else []}) + "\n")


COMMANDS = (
    idempotency.purge_command(IdempotencyKey, "referral-api"),
    Command(
        "init-keys",
        "create the first master key if absent (never replaces one)",
        _run_init_keys,
    ),
    Command(
        "seed-demo",
        "load the demo NGOs' directory entries and referrals (once; fixed seed)",
        _run_seed_demo,
    ),
)
