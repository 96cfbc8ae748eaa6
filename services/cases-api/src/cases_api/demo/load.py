"""Loading the synthetic programme (`python -m cases_api seed-demo`, run by `make run`).

One transaction per organisation, bound to it like any request, so row-level
security checks every row. Identities are sealed like any other: the demo's
database holds no plaintext name either. Loading twice adds nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence

from sqlalchemy import Table, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from baton.crypto import normalise_name
from baton.tenancy import bind_tenant
from cases_api.beneficiaries.models import Beneficiary
from cases_api.db import load_models, metadata
from cases_api.demo.programme import DemoProgramme, Row, generate
from cases_api.protection import IdentityVault

logger = logging.getLogger("cases_api.demo")
IDENTITY = "identity"
BATCH = 1_000


async def _insert(session: AsyncSession, table: Table, rows: Sequence[Row]) -> None:
    for start in range(0, len(rows), BATCH):
        await session.execute(insert(table), list(rows[start : start + BATCH]))


def _sealed(
    vault: IdentityVault, organisation: uuid.UUID, identities: Sequence[tuple[uuid.UUID, Row]]
) -> tuple[list[Row], list[Row]]:
    keys, sealed = [], []
    for beneficiary_id, document in identities:
        data_key, key_row = vault.new_key(beneficiary_id, organisation)
        keys.append(key_row.model_dump())
        name = normalise_name(f"{document['given_names']} {document['family_names']}")
        sealed.append(
            {
                "beneficiary_id": beneficiary_id,
                "organisation_id": organisation,
                "ciphertext": vault.seal(
                    data_key, IDENTITY, beneficiary_id, organisation, document
                ),
                "blind_index": vault.blind_index(name, document["date_of_birth"]),
                "version": 1,
                "updated_at": key_row.created_at,
            }
        )
    return keys, sealed


async def load_programme(
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: IdentityVault,
    programme: DemoProgramme | None = None,
) -> int:
    """Load every organisation's records that are not there yet; returns persons added."""
    load_models()
    data = programme or generate()
    tables = metadata.tables
    started, added = time.perf_counter(), 0
    for organisation, beneficiaries in data.beneficiaries.items():
        async with sessionmaker() as session, session.begin():
            await bind_tenant(session, organisation)
            first = beneficiaries[0]["id"]
            if await session.scalar(select(exists().where(col(Beneficiary.id) == first))):
                continue
            keys, identities = _sealed(vault, organisation, data.identities[organisation])
            await _insert(session, tables["beneficiary"], beneficiaries)
            await _insert(session, tables["beneficiary_key"], keys)
            await _insert(session, tables["beneficiary_identity"], identities)
            await _insert(session, tables["case_file"], data.cases[organisation])
            await _insert(session, tables["case_service"], data.services.get(organisation, []))
            await _insert(session, tables["assessment"], data.assessments.get(organisation, []))
            await _insert(
                session,
                tables["secondary_beneficiary"],
                data.family_members.get(organisation, []),
            )
            added += len(beneficiaries)
    logger.info(
        "demo programme loaded",
        extra={"persons": added, "seconds": round(time.perf_counter() - started, 2)},
    )
    return added
