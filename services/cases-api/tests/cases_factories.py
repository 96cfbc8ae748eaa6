"""Typed factories for cases-api tests (a module, since conftest cannot be imported)."""

from __future__ import annotations

from typing import Any

import httpx

# Callers are minted by the kit's test issuer; re-exported for the tests of this service.
from baton.testing import run_service_command
from baton.testing_issuer import Caller as Caller
from baton.testing_issuer import CallerFactory as CallerFactory
from baton.testing_issuer import caller_factory as caller_factory

# Values planted in identities; tests assert they never appear where they must not.
PLANTED_GIVEN = "Mirela"
PLANTED_FAMILY = "Zhupaniqi"
PLANTED_BIRTH_DATE = "1994-07-19"
PLANTED_PHONE = "+355691234567"
PLANTED_DOCUMENT = "BA7734521"
PLANTED = (PLANTED_GIVEN, PLANTED_FAMILY, PLANTED_BIRTH_DATE, PLANTED_PHONE, PLANTED_DOCUMENT)


def identity(
    given: str = PLANTED_GIVEN,
    family: str | None = PLANTED_FAMILY,
    born: str | None = PLANTED_BIRTH_DATE,
) -> dict[str, Any]:
    return {
        "given_names": given,
        "family_names": family,
        "aliases": ["Mira"],
        "date_of_birth": born,
        "phone": PLANTED_PHONE,
        "address": "Rruga e Durresit 14, Tirana",
        "documents": [
            {
                "type": "passport",
                "number": PLANTED_DOCUMENT,
                "issuing_country": "AL",
                "status": "confiscated",
            }
        ],
    }


def beneficiary_body(
    with_identity: dict[str, Any] | None = None, **attributes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sex": "female",
        "birth_year": 1994,
        "is_child": False,
        "nationality": "AL",
        "countries_of_origin": ["AL"],
        "countries_of_exploitation": ["IT", "GR"],
        "languages": ["sq", "it"],
        **attributes,
    }
    if with_identity is not None:
        body["identity"] = with_identity
    return body


async def new_beneficiary(
    cases: httpx.AsyncClient, caller: Caller, with_identity: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await cases.post(
        "/v1/beneficiaries", json=beneficiary_body(with_identity), headers=caller.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def new_case(
    cases: httpx.AsyncClient, caller: Caller, beneficiary_id: str, **fields: Any
) -> httpx.Response:
    body = {
        "beneficiary_id": beneficiary_id,
        "assistance_started_on": "2026-09-01",
        "exploitation_forms": ["sexual", "labour"],
        "referral_source": "police",
        **fields,
    }
    response = await cases.post("/v1/cases", json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    return response


def run_command(command: list[str], env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """`python -m cases_api <command>` as an operator runs it: exit code and JSON report."""
    run = run_service_command("cases_api", command, env)
    assert run.report, run.stderr
    return run.code, run.report
