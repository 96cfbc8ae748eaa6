"""Bodies no client should send are refused as problems, never as a 500."""

from __future__ import annotations

import httpx

from baton.testing import assert_malformed_bodies_refused
from baton.testing_issuer import CallerFactory
from referral_factories import PLANTED_GIVEN, REFERRALS


async def test_malformed_referral_bodies_are_refused(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    # A string where the person packet belongs: the name must not come back.
    await assert_malformed_bodies_refused(
        referrals,
        REFERRALS,
        headers=caller("government", ["referrer"]).headers,
        wrong_field=("packet", PLANTED_GIVEN),
    )
