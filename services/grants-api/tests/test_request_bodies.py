"""Bodies no client should send are refused as problems, never as a 500."""

from __future__ import annotations

import httpx

from baton.testing import assert_malformed_bodies_refused
from baton.testing_issuer import CallerFactory


async def test_malformed_grant_bodies_are_refused(
    grants: httpx.AsyncClient, caller: CallerFactory
) -> None:
    # A string where the list of co-funders (objects) belongs.
    await assert_malformed_bodies_refused(
        grants,
        "/v1/grants",
        headers=caller("donor", ["grant_manager"]).headers,
        wrong_field=("co_funders", "Foundation-Not-Echoed"),
    )
