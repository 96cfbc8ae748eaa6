"""Bodies no client should send are refused as problems, never as a 500."""

from __future__ import annotations

import httpx

from baton.testing import assert_malformed_bodies_refused


async def test_malformed_organisation_bodies_are_refused(
    identity: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # An object where the name (a string) belongs.
    await assert_malformed_bodies_refused(
        identity,
        "/v1/organisations",
        headers=admin,
        wrong_field=("name", {"given_names": "Ardita"}),
    )
