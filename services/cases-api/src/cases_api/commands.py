"""cases-api's own commands: verify the audit chain, rotate the master key."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlmodel import col

from baton import crypto, idempotency
from baton.db import Database, command_session
from baton.server import Command
from baton.tenancy import bind_tenant
from baton.vault import ensure_master_key
from cases_api.audit.service import verify_chain
from cases_api.beneficiaries.models import BeneficiaryKey
from cases_api.config import CasesSettings
from cases_api.demo.load import load_programme
from cases_api.demo.programme import PERSONS, SEED, generate
from cases_api.intake.models import IdempotencyKey
from cases_api.main import open_vault
from cases_api.protection import ProtectedDataCorrupt, ProtectedDataUnavailable

logger = logging.getLogger("cases_api.commands")


async def _verify_audit(settings: CasesSettings) -> int:
    async with command_session(settings, "cases-api-verify-audit") as session:
        report = await verify_chain(session)
    sys.stdout.write(
        json.dumps(
            {
                "intact": report.intact,
                "events_checked": report.events_checked,
                "first_broken_sequence": report.first_broken_sequence,
                "reason": report.reason,
            }
        )
        + "\n"
    )
    return 0 if report.intact else 1


def _run_verify_audit(settings: CasesSettings, _: argparse.Namespace) -> None:
    sys.exit(asyncio.run(_verify_audit(settings)))


@dataclass
class RewrapReport:
    rewrapped: int = 0
    # Data keys that failed their integrity check: left under their old master key,
    # which must then be kept; named by pseudonymous id for the operator to examine.
    corrupt: list[uuid.UUID] = field(default_factory=list)
    # Data keys under a master key no longer in the ring (deleted too early): skipped, so
    # that one lost key does not stop the rotation of every other record.
    unavailable: list[uuid.UUID] = field(default_factory=list)

    @property
    def skipped(self) -> list[uuid.UUID]:
        return self.corrupt + self.unavailable


async def rewrap_all(settings: CasesSettings, batch_size: int = 500) -> RewrapReport:
    """Re-wrap every data key under the current master key, organisation by organisation.

    Each batch commits on its own: an interrupted run resumes where it stopped, and
    every key stays readable throughout (old master keys are kept until the end).
    """
    vault = open_vault(settings)
    database = Database(settings, application_name="cases-api-rotate-master-key")
    report = RewrapReport()
    try:
        async with database.sessionmaker() as session:
            organisations: list[uuid.UUID] = list(
                (await session.scalars(select(func.tenant_organisations()))).all()
            )
            await session.commit()
        for organisation_id in organisations:
            while True:
                async with database.sessionmaker() as session, session.begin():
                    await bind_tenant(session, organisation_id)
                    query = select(BeneficiaryKey).where(
                        col(BeneficiaryKey.master_key_id) != vault.current_key_id()
                    )
                    if report.skipped:
                        query = query.where(
                            col(BeneficiaryKey.beneficiary_id).not_in(report.skipped)
                        )
                    rows = (
                        await session.scalars(
                            query.limit(batch_size).with_for_update(skip_locked=True)
                        )
                    ).all()
                    for row in rows:
                        try:
                            vault.rewrap(row)
                        except ProtectedDataCorrupt:
                            logger.error(
                                "data key failed its integrity check",
                                extra={"beneficiary_id": str(row.beneficiary_id)},
                            )
                            report.corrupt.append(row.beneficiary_id)
                        except ProtectedDataUnavailable:
                            logger.error(
                                "data key under a master key that is gone",
                                extra={
                                    "beneficiary_id": str(row.beneficiary_id),
                                    "master_key_id": row.master_key_id,
                                },
                            )
                            report.unavailable.append(row.beneficiary_id)
                        else:
                            report.rewrapped += 1
                if len(rows) < batch_size:
                    break
    finally:
        await database.dispose()
    return report


def _run_rotate(settings: CasesSettings, args: argparse.Namespace) -> None:
    if not args.resume:
        key_id = crypto.MasterKeyRing.add_key(settings.master_keys_dir)
        logger.info("master key added", extra={"master_key_id": key_id})
    report = asyncio.run(rewrap_all(settings))
    logger.info("data keys re-wrapped", extra={"count": report.rewrapped})
    summary = {
        "rewrapped": report.rewrapped,
        "corrupt": [str(c) for c in report.corrupt],
        "unavailable": [str(u) for u in report.unavailable],
    }
    sys.stdout.write(json.dumps(summary) + "\n")
    sys.exit(1 if report.skipped else 0)


def _rotate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--resume",
        action="store_true",
        help="re-wrap what an interrupted run left, without adding another key",
    )


def _run_init_keys(settings: CasesSettings, _: argparse.Namespace) -> None:
    """Create the first master key and the blind-index key where none exist yet.

    Never replaces a key: a new blind-index key would orphan every stored index,
    and master keys change only through rotation.
    """
    created = []
    master_key = ensure_master_key(settings.master_keys_dir)
    if master_key is not None:
        created.append(master_key)
    if not settings.blind_index_key_file.exists():
        crypto.BlindIndex.load_or_create(settings.blind_index_key_file)
        created.append("blind-index")
    logger.info("protection keys ready", extra={"keys_created": created})
    sys.stdout.write(json.dumps({"created": created}) + "\n")


async def _seed(settings: CasesSettings, seed: int, persons: int) -> int:
    database = Database(settings, application_name="cases-api-seed-demo")
    try:
        programme = generate(seed, persons)
        return await load_programme(database.sessionmaker, open_vault(settings), programme)
    finally:
        await database.dispose()


def _run_seed_demo(settings: CasesSettings, args: argparse.Namespace) -> None:
    added = asyncio.run(_seed(settings, args.seed, args.persons))
    sys.stdout.write(json.dumps({"persons_added": added}) + "\n")


def _seed_arguments(parser: argparse.ArgumentParser) -> None:
    # Benchmarks grow the data set with more persons under other seeds.
    parser.add_argument("--seed", type=int, default=SEED, help="another seed: other persons")
    parser.add_argument("--persons", type=int, default=PERSONS, help="persons to generate")


COMMANDS = (
    idempotency.purge_command(IdempotencyKey, "cases-api"),
    Command(
        "init-keys",
        "create the first master key and the blind-index key if absent (never replaces one)",
        _run_init_keys,
    ),
    Command(
        "seed-demo",
        "load the synthetic programme's beneficiaries and cases (once per seed)",
        _run_seed_demo,
        _seed_arguments,
    ),
    Command(
        "verify-audit",
        "check the audit log's hash chain; exit 1 and name the first broken link",
        _run_verify_audit,
    ),
    Command(
        "rotate-master-key",
        "add a master key and re-wrap every data key under it (no downtime)",
        _run_rotate,
        _rotate_arguments,
    ),
)
