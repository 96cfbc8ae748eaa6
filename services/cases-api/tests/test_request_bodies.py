"""Bodies no client should send are refused as problems, never as a 500."""

from __future__ import annotations

import httpx

from baton.testing import assert_malformed_bodies_refused
from cases_factories import PLANTED_FAMILY, CallerFactory


async def test_malformed_beneficiary_bodies_are_refused(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    # A string where the identity object belongs: the name must not come back.
    await assert_malformed_bodies_refused(
        cases,
        "/v1/beneficiaries",
        headers=caller("ngo", ["caseworker"]).headers,
        wrong_field=("identity", PLANTED_FAMILY),
    )
