"""The benchmark's data: the demo programme grown to a number of beneficiaries.

More persons come from cases-api's own `seed-demo` under other seeds, so they are
shaped like the demo (fifteen NGOs, cases, services, assessments, family members,
sealed identities) and loaded through row-level security like any tenant's data.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass

import asyncpg

from baton.stack.programme import NGO_TIRANA
from baton.stack.runner import Stack
from baton.stack.services import SERVICES

CHUNK = 25_000  # persons per seed-demo run: bounded memory, progress visible
FIRST_SEED = 1_000_000
CASES = next(spec for spec in SERVICES if spec.route == "cases")


async def _admin_fetch(
    stack: Stack, database: str, query: str, *args: object
) -> list[asyncpg.Record]:
    assert stack.postgres is not None, "the benchmark runs on the embedded PostgreSQL"
    connection = await asyncpg.connect(stack.postgres.admin_url(database))
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


def beneficiary_count(stack: Stack) -> int:
    rows = asyncio.run(_admin_fetch(stack, "cases", "SELECT count(*) FROM beneficiary"))
    return int(rows[0][0])


def grow(stack: Stack, beneficiaries: int, log: bool = True) -> float:
    """Load persons until the database holds `beneficiaries`; returns the seconds it took."""
    started = time.perf_counter()
    while (present := beneficiary_count(stack)) < beneficiaries:
        persons = min(CHUNK, beneficiaries - present)
        # A seed of its own per chunk: one seed's persons are the prefix of a longer run's.
        seed = FIRST_SEED + present
        result = stack.run_command(
            CASES, "seed-demo", "--seed", str(seed), "--persons", str(persons)
        )
        if result.returncode != 0:
            raise RuntimeError(f"seed-demo failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        added = json.loads(result.stdout.strip().splitlines()[-1])["persons_added"]
        if added == 0:
            raise RuntimeError(f"seed {seed} added nobody: the data set cannot grow")
        if log:
            print(f"  {present + added:,} beneficiaries", flush=True)
    asyncio.run(_admin_fetch(stack, "cases", "VACUUM ANALYZE"))
    return time.perf_counter() - started


@dataclass(frozen=True)
class Sample:
    """Records of the caseworker's organisation the scenarios read, picked at random."""

    case_ids: list[uuid.UUID]
    identified_beneficiary_ids: list[uuid.UUID]
    organisation_cases: int


def sample(stack: Stack, size: int = 2_000, seed: int = 7) -> Sample:
    organisation = NGO_TIRANA.id
    cases = asyncio.run(
        _admin_fetch(
            stack, "cases", "SELECT id FROM case_file WHERE organisation_id = $1", organisation
        )
    )
    identified = asyncio.run(
        _admin_fetch(
            stack,
            "cases",
            "SELECT beneficiary_id FROM beneficiary_identity WHERE organisation_id = $1",
            organisation,
        )
    )
    rng = random.Random(seed)
    return Sample(
        case_ids=rng.sample([row[0] for row in cases], min(size, len(cases))),
        identified_beneficiary_ids=rng.sample(
            [row[0] for row in identified], min(size, len(identified))
        ),
        organisation_cases=len(cases),
    )
