"""Loading the demo directory and referrals (`python -m referral_api seed-demo`).

Directory entries are shared and free of row-level security: one transaction per
entry. Referrals are loaded one organisation pair at a time, in a transaction
bound to the referrer like any request of its, so row-level security checks
every row; forwards' children come after their parents. Packets are sealed with
`referrals.packets.seal`, as a submission seals them: the demo's database holds
no plaintext name either. Loading twice adds nothing: an entry whose
organisation has one already, and a pair whose first referral is there, are
skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Table, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from baton.tenancy import bind_tenant
from baton.vault import EnvelopeVault
from referral_api.config import ReferralSettings
from referral_api.db import load_models, metadata
from referral_api.demo.directory import DirectoryEntry
from referral_api.demo.programme import Batch, DemoReferrals, Row, generate
from referral_api.directory.models import Provider
from referral_api.referrals import clocks, handoff, packets
from referral_api.referrals.models import Referral
from referral_api.referrals.schemas import PersonPacket

logger = logging.getLogger("referral_api.demo")
BATCH = 1_000


@dataclass(frozen=True)
class LoadReport:
    providers: int
    referrals: int


async def _insert(session: AsyncSession, table: Table, rows: Sequence[Row]) -> None:
    for start in range(0, len(rows), BATCH):
        await session.execute(insert(table), list(rows[start : start + BATCH]))


def _sealed(vault: EnvelopeVault, row: Row, packet: PersonPacket) -> Row:
    sealed = packets.seal(vault, Referral(**row), packet)
    return {**sealed.model_dump(), "created_at": row["created_at"]}


async def _load_entry(session: AsyncSession, entry: DirectoryEntry) -> bool:
    organisation = entry.organisation.id
    taken = exists().where(col(Provider.organisation_id) == organisation)
    if await session.scalar(select(taken)):
        return False  # the NGO keeps an entry of its own already: it stays as it is
    tables = metadata.tables
    await _insert(session, tables["provider"], [entry.provider])
    await _insert(session, tables["provider_service"], entry.services)
    await _insert(session, tables["provider_capacity"], entry.capacities)
    return True


async def _load_batch(
    session: AsyncSession, vault: EnvelopeVault, settings: ReferralSettings, batch: Batch
) -> bool:
    await bind_tenant(session, batch.referrer)
    first = batch.referrals[0]["id"]
    if await session.scalar(select(exists().where(col(Referral.id) == first))):
        return False
    tables = metadata.tables
    sealed = [_sealed(vault, row, packet) for row, packet in batch.packets]
    await _insert(session, tables["referral"], batch.referrals)
    await _insert(session, tables["referral_packet"], sealed)
    await _insert(session, tables["referral_event"], batch.events)
    await _insert(session, tables["packet_disclosure"], batch.disclosures)
    for row, clock, due in batch.deadlines:
        await clocks.schedule(session, Referral(**row), clock, due)
    for row in batch.purges:
        await handoff.schedule_purge(session, settings, Referral(**row))
    return True


async def load_demo(
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: EnvelopeVault,
    settings: ReferralSettings,
    programme: DemoReferrals | None = None,
) -> LoadReport:
    """Load the entries and referrals that are not there yet; returns what was added."""
    load_models()
    data = programme or generate(settings)
    started, providers, referrals = time.perf_counter(), 0, 0
    for entry in data.directory:
        async with sessionmaker() as session, session.begin():
            providers += await _load_entry(session, entry)
    for batch in data.batches:
        async with sessionmaker() as session, session.begin():
            if await _load_batch(session, vault, settings, batch):
                referrals += len(batch.referrals)
    logger.info(
        "demo referrals loaded",
        extra={
            "providers": providers,
            "referrals": referrals,
            "seconds": round(time.perf_counter() - started, 2),
        },
    )
    return LoadReport(providers, referrals)
