"""Parties of a grant, and grants written straight into the database (as the
superuser, under row-level security's radar) so each area's tests start from one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import asyncpg

from baton.testing_issuer import Caller, CallerFactory


@dataclass(frozen=True)
class GrantParties:
    """A grant's world: the managing donor, a co-funder, the recipient NGO, outsiders."""

    manager: Caller  # grant_manager of the managing donor
    viewer: Caller  # donor_viewer of the managing donor
    cofunder: Caller  # grant_manager of the co-funding donor
    recipient: Caller  # case_manager of the recipient NGO
    recipient_worker: Caller  # caseworker of the recipient NGO (no grant permission)
    other_ngo: Caller  # case_manager of another NGO
    other_donor: Caller  # grant_manager of a donor that funds nothing here


def grant_parties(caller: CallerFactory) -> GrantParties:
    donor, cofunder, ngo = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    return GrantParties(
        manager=caller("donor", ["grant_manager"], org_id=donor),
        viewer=caller("donor", ["donor_viewer"], org_id=donor),
        cofunder=caller("donor", ["grant_manager"], org_id=cofunder),
        recipient=caller("ngo", ["case_manager"], org_id=ngo),
        recipient_worker=caller("ngo", ["caseworker"], org_id=ngo),
        other_ngo=caller("ngo", ["case_manager"]),
        other_donor=caller("donor", ["grant_manager"]),
    )


async def insert_grant(
    superuser: asyncpg.Connection,
    parties: GrantParties,
    *,
    status: str = "active",
    awarded: Decimal = Decimal("50000.00"),
    cofunded: Decimal = Decimal("20000.00"),
    currency: str = "EUR",
    planned_start: date = date(2011, 1, 1),
    planned_end: date = date(2012, 12, 31),
    programme_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """A grant from the managing donor (and the co-funder's share, if any) to the NGO."""
    grant_id = uuid.uuid4()
    donor, ngo = parties.manager.org_id, parties.recipient.org_id
    funders = [donor, parties.cofunder.org_id] if cofunded else [donor]
    await superuser.execute(
        """
        INSERT INTO grant_award (
            id, identifier, programme_id, managing_organisation_id, recipient_organisation_id,
            party_organisation_ids, title, description, currency, amount_applied_for,
            amount_awarded, award_date, planned_start, planned_end, actual_start,
            beneficiary_countries, status, version, budget_version, created_by,
            created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, 'Re/integration services', 'Shelter and case work',
                $7, $8, $8, $9, $10, $11, $10, '{AL}', $12, 1, 0, 'test', now(), now())
        """,
        grant_id,
        f"360G-test-{grant_id.hex[:12]}",
        programme_id,
        donor,
        ngo,
        [*funders, ngo],
        currency,
        awarded,
        planned_start if status != "draft" else None,
        planned_start,
        planned_end,
        status,
    )
    await superuser.execute(
        "INSERT INTO grant_funder (grant_id, organisation_id, amount) VALUES ($1, $2, $3)",
        grant_id,
        donor,
        awarded - cofunded,
    )
    if cofunded:
        await superuser.execute(
            "INSERT INTO grant_funder (grant_id, organisation_id, amount) VALUES ($1, $2, $3)",
            grant_id,
            parties.cofunder.org_id,
            cofunded,
        )
    return grant_id
